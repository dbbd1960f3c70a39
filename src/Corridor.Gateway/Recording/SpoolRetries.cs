using Corridor.Storage;

namespace Corridor.Gateway.Recording;

/// <summary>A spool of batches the store refused (<see cref="LedgerSpool"/>, <see cref="AuditSpool"/>).</summary>
internal interface IBatchSpool<T>
{
    string Folder { get; }

    bool IsEmpty { get; }

    Task SaveAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken);

    /// <summary>
    /// Writes the saved batches to the store, oldest first, each store call through <paramref name="bounded"/>; tells
    /// <paramref name="setAside"/> of each file set aside. Returns the items stored.
    /// </summary>
    Task<int> ReplayAsync(ICorridorStore store, StoreCall bounded, Action<string, string, Exception> setAside, CancellationToken cancellationToken);
}

/// <summary>Runs one call to the store within its bound (<see cref="StoreDeadline"/>), passing it the token to heed.</summary>
internal delegate Task StoreCall(Func<CancellationToken, Task> call);

/// <summary>What a writer logs about its spool: a batch spooled, a batch the disk refused too, a file set aside (its path, the new one, why).</summary>
internal sealed record SpoolLog(
    Action<Exception, int, string> Spooled,
    Action<Exception, int, string> SaveFailed,
    Action<string, string, Exception> SetAside);

/// <summary>
/// A writer's side of its spool, the same for the ledger's rows and the audit log's entries: saves a batch the store
/// refused, and writes what the spool holds once the store answers again. It remembers whether the spool may hold
/// batches (true at start, since a crash or a stop may have left some, and after a batch was saved; false once a replay
/// left it empty), so a writer under steady load does not list the folder before every batch.
/// A replay may run beside the writer's saves (the ledger's runs in the background): a batch saved while a replay ends
/// keeps the spool marked as holding batches.
/// <para>
/// Each store call of a replay waits at most <see cref="StoreDeadline.Timeout"/>, as the writers' own batches do, and is
/// cancelled apart (<see cref="StoreDeadline.CancelApart"/>): before, a replay under way when the store stopped answering
/// waited for the driver's own command timeout (Npgsql: 30 s), and Npgsql then sends its cancel request, which waits on the
/// server, on the thread that found the timeout, a thread-pool thread.
/// </para>
/// </summary>
internal sealed class SpoolRetries<T, TSpool>(TSpool spool, ICorridorStore store, SpoolLog log, TimeProvider time)
    where TSpool : IBatchSpool<T>
{
    private readonly Lock _gate = new();
    private volatile bool _mayHoldBatches = true;

    public TSpool Spool => spool;

    public bool MayHoldBatches => _mayHoldBatches;

    public bool IsEmpty => spool.IsEmpty;

    /// <summary>Notes that batches may have gone the spool's way (a failure elsewhere hands its rows to the writer).</summary>
    public void NoteMayHoldBatches()
    {
        lock (_gate)
        {
            _mayHoldBatches = true;
        }
    }

    /// <summary>
    /// Saves a batch the store refused (<paramref name="storeError"/>, logged) or one that joins older batches waiting in
    /// the spool (null); false (the caller retries the store in memory) when even the local disk refuses it.
    /// </summary>
    public async Task<bool> TrySaveAsync(IReadOnlyList<T> batch, Exception? storeError)
    {
        try
        {
            await spool.SaveAsync(batch, CancellationToken.None);
            // After the file is in place: a replay ending meanwhile either sees the file or is overruled here.
            NoteMayHoldBatches();
            if (storeError is not null)
            {
                log.Spooled(storeError, batch.Count, spool.Folder);
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.SaveFailed(e, batch.Count, spool.Folder);
            return false;
        }
    }

    /// <summary>
    /// Writes what the spool holds, if it may hold anything; returns the items stored (0 while the store still refuses).
    /// <paramref name="cancellationToken"/> stops it between (or during) files, which stay in the spool.
    /// </summary>
    public async Task<int> ReplayAsync(CancellationToken cancellationToken = default)
    {
        if (!_mayHoldBatches)
        {
            return 0;
        }
        try
        {
            var stored = await spool.ReplayAsync(store, call => StoreDeadline.RunAsync(call, time, cancellationToken), log.SetAside, cancellationToken);
            lock (_gate)
            {
                _mayHoldBatches = !spool.IsEmpty;
            }
            return stored;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Still unreachable: the files wait for the next try.
            return 0;
        }
    }
}
