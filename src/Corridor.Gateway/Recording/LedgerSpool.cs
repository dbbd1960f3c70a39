using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Corridor.Core.Metering;
using Corridor.Storage;

namespace Corridor.Gateway.Recording;

/// <summary>
/// Ledger batches the store could not take, kept on local disk until it can: one file per batch, written whole
/// (to a temporary name, flushed to disk, renamed, and the folder synced) so a crash leaves either the batch or nothing. Files are replayed
/// oldest first and deleted once stored; the store ignores request ids it already has, so a replay after a crash
/// between the write and the delete never doubles a row. A file that cannot be read as rows the store would take (a
/// damaged disk, a hand edit) is set aside, renamed with <see cref="SetAsideExtension"/>, so the files after it still flow.
/// </summary>
internal sealed class LedgerSpool(string folder) : IBatchSpool<LedgerEntry>
{
    private const string Extension = ".ledger.json";

    /// <summary>Added to the name of a file set aside: no longer replayed, kept for the operator.</summary>
    public const string SetAsideExtension = SpoolFiles.SetAsideExtension;

    private long _setAside;

    public string Folder { get; } = folder;

    public bool IsEmpty => Files == 0;

    /// <summary>Batches waiting in the folder.</summary>
    public int Files => Count("*" + Extension);

    /// <summary>Files set aside in the folder, by this process or an earlier one, until the operator moves them.</summary>
    public int SetAsideFiles => Count("*" + Extension + SetAsideExtension);

    /// <summary>Files this process set aside.</summary>
    public long SetAside => Interlocked.Read(ref _setAside);

    private int Count(string pattern) => SpoolFiles.Count(Folder, pattern);

    public Task SaveAsync(IReadOnlyList<LedgerEntry> batch, CancellationToken cancellationToken) =>
        SpoolFiles.SaveAsync(Folder, Extension, [.. batch], LedgerSpoolJson.Default.LedgerEntryArray, cancellationToken);

    /// <summary>
    /// Writes the saved batches to the store, oldest first, deleting each once stored; stops at the first failure of the
    /// store. A file that cannot be read, or holds rows no store takes (no request id, model or endpoint; its other rows are
    /// written), is set aside and told to <paramref name="setAside"/> (its path, the new one, why), and the next one is
    /// written: left in place, it would fail every replay and keep every file after it from the store.
    /// Returns the rows stored.
    /// </summary>
    public Task<int> ReplayAsync(ICorridorStore store, StoreCall bounded, Action<string, string, Exception> setAside, CancellationToken cancellationToken) =>
        SpoolFiles.ReplayAsync(Folder, Extension, LedgerSpoolJson.Default.LedgerEntryArray, async batch =>
        {
            // A row the store would refuse whatever its state (SqliteStore's journal, PostgreSQL's NOT NULLs) would fail
            // the file's every replay: the others are written, and the file set aside.
            var storable = Array.FindAll(batch, e => e is { RequestId: not null, Model: not null, Endpoint: not null });
            if (storable.Length > 0)
            {
                await bounded(token => store.AppendLedgerAsync(storable, token));
            }
            return (storable.Length, storable.Length < batch.Length
                ? new InvalidDataException($"{batch.Length - storable.Length} of its {batch.Length} rows lack their request id, model or endpoint; the others are written")
                : null);
        }, (path, reason) => SetAsideFile(path, reason, setAside), cancellationToken);

    private void SetAsideFile(string path, Exception reason, Action<string, string, Exception> setAside)
    {
        var aside = SpoolFiles.SetAside(path);
        Interlocked.Increment(ref _setAside);
        setAside(path, aside, reason);
    }
}

/// <summary>
/// The files of the spools (<see cref="LedgerSpool"/>, <see cref="AuditSpool"/>), which share a folder, each kind under
/// its own extension: one file per batch, written whole (to a temporary name, flushed to disk, renamed, and the folder
/// synced) so a crash leaves either the batch or nothing, under a name that sorts in the order batches were saved.
/// </summary>
internal static class SpoolFiles
{
    /// <summary>Added to the name of a file set aside: no longer replayed, kept for the operator.</summary>
    public const string SetAsideExtension = ".damaged";

    private static long s_sequence;

    /// <summary>Writes <paramref name="items"/> to a new file; once this returns, the file survives a crash and a power cut.</summary>
    public static async Task SaveAsync<T>(string folder, string extension, T[] items, JsonTypeInfo<T[]> json, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(folder);
        // Names sort in the order batches were saved: UTC ticks, then a counter within this process.
        var name = $"{DateTime.UtcNow.Ticks:D19}-{Environment.ProcessId}-{Interlocked.Increment(ref s_sequence):D10}{extension}";
        var temporary = Path.Combine(folder, name + ".tmp");
        await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
        {
            await JsonSerializer.SerializeAsync(file, items, json, cancellationToken);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, Path.Combine(folder, name));
        // The batch counts as durable once this returns: the new name must survive a power cut too.
        FolderSync.Sync(folder);
    }

    /// <summary>
    /// Replays the files of one kind, oldest first, after removing abandoned temporaries: each file's batch goes to
    /// <paramref name="write"/>, which stores what it can and returns how many it stored and, when the file must not be
    /// replayed again, why (else the file is deleted). A file that cannot be read, or that <paramref name="write"/> gives a
    /// reason for, goes to <paramref name="setAside"/>. A failure of the store stops the replay where it is. Returns the items stored.
    /// </summary>
    public static async Task<int> ReplayAsync<T>(string folder, string extension, JsonTypeInfo<T[]> json,
        Func<T[], Task<(int Stored, Exception? SetAsideBecause)>> write, Action<string, Exception> setAside, CancellationToken cancellationToken)
    {
        RemoveAbandoned(folder);
        var stored = 0;
        foreach (var path in Waiting(folder, extension))
        {
            T[] batch;
            try
            {
                batch = await ReadAsync(path, json, cancellationToken);
            }
            catch (JsonException e)
            {
                setAside(path, e);
                continue;
            }

            var (written, because) = await write(batch);
            stored += written;
            if (because is null)
            {
                File.Delete(path);
            }
            else
            {
                setAside(path, because);
            }
        }

        return stored;
    }

    /// <summary>The files of one kind waiting in the folder, oldest first.</summary>
    public static List<string> Waiting(string folder, string extension) =>
        Directory.Exists(folder) ? [.. Directory.EnumerateFiles(folder, "*" + extension).Order(StringComparer.Ordinal)] : [];

    /// <summary>How old a temporary file must be to count as abandoned: a batch's file is written in well under a second.</summary>
    public static readonly TimeSpan AbandonedAfter = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Deletes the temporary files of saves a crash cut short (older than <see cref="AbandonedAfter"/>, so that a save in
    /// progress in another process on the folder keeps its own). Their batches never counted as durable: nothing waited on them.
    /// </summary>
    public static void RemoveAbandoned(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return;
        }
        var before = DateTime.UtcNow - AbandonedAfter;
        foreach (var temporary in Directory.EnumerateFiles(folder, "*.tmp"))
        {
            try
            {
                if (File.GetLastWriteTimeUtc(temporary) < before)
                {
                    File.Delete(temporary);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for the next replay.
            }
        }
    }

    public static int Count(string folder, string pattern) => Directory.Exists(folder) ? Directory.EnumerateFiles(folder, pattern).Count() : 0;

    /// <summary>A file's batch; <see cref="JsonException"/> when the file cannot be read as one.</summary>
    public static async Task<T[]> ReadAsync<T>(string path, JsonTypeInfo<T[]> json, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync(file, json, cancellationToken) ?? [];
    }

    /// <summary>Renames the file so it is no longer replayed; returns its new path.</summary>
    public static string SetAside(string path)
    {
        var aside = path + SetAsideExtension;
        File.Move(path, aside);
        return aside;
    }
}

[JsonSerializable(typeof(LedgerEntry[]))]
internal sealed partial class LedgerSpoolJson : JsonSerializerContext;
