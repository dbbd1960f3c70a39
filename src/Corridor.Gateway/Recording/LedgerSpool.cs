using System.Text.Json;
using System.Text.Json.Serialization;
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
internal sealed class LedgerSpool(string folder)
{
    private const string Extension = ".ledger.json";

    /// <summary>Added to the name of a file set aside: no longer replayed, kept for the operator.</summary>
    public const string SetAsideExtension = ".damaged";

    private long _sequence;
    private long _setAside;

    public string Folder { get; } = folder;

    public bool IsEmpty => Files == 0;

    /// <summary>Batches waiting in the folder.</summary>
    public int Files => Count("*" + Extension);

    /// <summary>Files set aside in the folder, by this process or an earlier one, until the operator moves them.</summary>
    public int SetAsideFiles => Count("*" + Extension + SetAsideExtension);

    /// <summary>Files this process set aside.</summary>
    public long SetAside => Interlocked.Read(ref _setAside);

    private int Count(string pattern) => Directory.Exists(Folder) ? Directory.EnumerateFiles(Folder, pattern).Count() : 0;

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

    /// <summary>
    /// Writes the saved batches to the store, oldest first, deleting each once stored; stops at the first failure of the
    /// store. A file that cannot be read, or holds rows no store takes (no request id, model or endpoint; its other rows are
    /// written), is set aside and told to <paramref name="setAside"/> (its path, the new one, why), and the next one is
    /// written: left in place, it would fail every replay and keep every file after it from the store.
    /// Returns the rows stored.
    /// </summary>
    public async Task<int> ReplayAsync(ICorridorStore store, Action<string, string, Exception> setAside, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Folder))
        {
            return 0;
        }

        var stored = 0;
        foreach (var path in Directory.EnumerateFiles(Folder, "*" + Extension).Order(StringComparer.Ordinal).ToList())
        {
            LedgerEntry[] batch;
            try
            {
                await using var file = File.OpenRead(path);
                batch = await JsonSerializer.DeserializeAsync(file, LedgerSpoolJson.Default.LedgerEntryArray, cancellationToken) ?? [];
            }
            catch (JsonException e)
            {
                SetAsideFile(path, e, setAside);
                continue;
            }

            // A row the store would refuse whatever its state (SqliteStore's journal, PostgreSQL's NOT NULLs) would fail
            // the file's every replay: the others are written, and the file set aside.
            var storable = Array.FindAll(batch, e => e is { RequestId: not null, Model: not null, Endpoint: not null });
            if (storable.Length > 0)
            {
                await store.AppendLedgerAsync(storable, cancellationToken);
            }

            if (storable.Length < batch.Length)
            {
                SetAsideFile(path, new InvalidDataException($"{batch.Length - storable.Length} of its {batch.Length} rows lack their request id, model or endpoint; the others are written"), setAside);
            }
            else
            {
                File.Delete(path);
            }

            stored += storable.Length;
        }

        return stored;
    }

    private void SetAsideFile(string path, Exception reason, Action<string, string, Exception> setAside)
    {
        var aside = path + SetAsideExtension;
        File.Move(path, aside);
        Interlocked.Increment(ref _setAside);
        setAside(path, aside, reason);
    }
}

[JsonSerializable(typeof(LedgerEntry[]))]
internal sealed partial class LedgerSpoolJson : JsonSerializerContext;
