using System.Text.Json;
using System.Text.Json.Serialization;
using Corridor.Core.Metering;
using Corridor.Storage;

namespace Corridor.Gateway.Recording;

/// <summary>
/// Ledger batches the store could not take, kept on local disk until it can: one file per batch, written whole
/// (to a temporary name, flushed to disk, renamed, and the folder synced) so a crash leaves either the batch or nothing. Files are replayed
/// oldest first and deleted once stored; the store ignores request ids it already has, so a replay after a crash
/// between the write and the delete never doubles a row.
/// </summary>
internal sealed class LedgerSpool(string folder)
{
    private const string Extension = ".ledger.json";
    private long _sequence;

    public string Folder { get; } = folder;

    public bool IsEmpty => !Directory.Exists(Folder) || !Directory.EnumerateFiles(Folder, "*" + Extension).Any();

    public async Task SaveAsync(IReadOnlyList<LedgerEntry> batch, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        // Names sort in the order batches were saved: UTC ticks, then a counter within this process.
        var name = $"{DateTime.UtcNow.Ticks:D19}-{Environment.ProcessId}-{Interlocked.Increment(ref _sequence):D10}";
        var temporary = Path.Combine(Folder, name + ".tmp");
        await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
        {
            await JsonSerializer.SerializeAsync(file, [.. batch], LedgerSpoolJson.Default.LedgerEntryArray, cancellationToken);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, Path.Combine(Folder, name + Extension));
        // The rows count as durable once this returns: the new name must survive a power cut too.
        FolderSync.Sync(Folder);
    }

    /// <summary>Writes the saved batches to the store, oldest first, deleting each once stored; stops at the first failure. Returns the rows stored.</summary>
    public async Task<int> ReplayAsync(ICorridorStore store, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Folder))
        {
            return 0;
        }

        var stored = 0;
        foreach (var path in Directory.EnumerateFiles(Folder, "*" + Extension).Order(StringComparer.Ordinal).ToList())
        {
            LedgerEntry[] batch;
            await using (var file = File.OpenRead(path))
            {
                batch = await JsonSerializer.DeserializeAsync(file, LedgerSpoolJson.Default.LedgerEntryArray, cancellationToken) ?? [];
            }

            await store.AppendLedgerAsync(batch, cancellationToken);
            File.Delete(path);
            stored += batch.Length;
        }

        return stored;
    }
}

[JsonSerializable(typeof(LedgerEntry[]))]
internal sealed partial class LedgerSpoolJson : JsonSerializerContext;
