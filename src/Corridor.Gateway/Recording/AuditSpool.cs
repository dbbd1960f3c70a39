using System.Text.Json.Serialization;
using Corridor.Core.Audit;
using Corridor.Storage;

namespace Corridor.Gateway.Recording;

/// <summary>
/// Audit batches the store could not take, kept on local disk (beside the ledger's spool, <see cref="SpoolFiles"/>) until it
/// can, so that neither a crash nor a stop while the store is away loses them. The entries are kept, not sealed records:
/// each takes its place in the chain when it is appended. Files are replayed oldest first through
/// <see cref="ICorridorStore.AppendAuditAgainAsync"/>, which appends nothing the log already holds (a crash between the
/// append and the delete, or an append whose outcome was unknown when it was spooled), and deleted once stored. A file
/// that cannot be read is set aside, as the ledger's are.
/// </summary>
internal sealed class AuditSpool(string folder) : IBatchSpool<AuditEntry>
{
    private const string Extension = ".audit.json";

    public string Folder { get; } = folder;

    public bool IsEmpty => Files == 0;

    /// <summary>Batches waiting in the folder.</summary>
    public int Files => SpoolFiles.Count(Folder, "*" + Extension);

    public Task SaveAsync(IReadOnlyList<AuditEntry> batch, CancellationToken cancellationToken) =>
        SpoolFiles.SaveAsync(Folder, Extension, [.. batch], AuditSpoolJson.Default.AuditEntryArray, cancellationToken);

    /// <summary>
    /// Appends the saved batches, oldest first, deleting each once stored; stops at the first failure of the store. A file
    /// that cannot be read, or holds an entry no store takes (a field missing), is set aside and told to
    /// <paramref name="setAside"/> (its path, the new one, why). Returns the entries stored.
    /// </summary>
    public Task<int> ReplayAsync(ICorridorStore store, StoreCall bounded, Action<string, string, Exception> setAside, CancellationToken cancellationToken) =>
        SpoolFiles.ReplayAsync(Folder, Extension, AuditSpoolJson.Default.AuditEntryArray, async batch =>
        {
            if (Array.FindIndex(batch, e => e is not { Actor: not null, Action: not null, Subject: not null, Details: not null }) is var bad and >= 0)
            {
                return (0, new InvalidDataException($"entry {bad} lacks a field"));
            }
            await bounded(token => store.AppendAuditAgainAsync(batch, token));
            return (batch.Length, null);
        }, (path, reason) => setAside(path, SpoolFiles.SetAside(path), reason), cancellationToken);
}

[JsonSerializable(typeof(AuditEntry[]))]
internal sealed partial class AuditSpoolJson : JsonSerializerContext;
