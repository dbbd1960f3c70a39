using Corridor.Core.Metering;
using Corridor.Gateway.Configuration;
using Corridor.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Recording;

/// <summary>
/// Writes ledger rows to the store by group commit: rows gather while a batch is being written, and the next batch takes
/// all of them in one transaction (at most <see cref="LedgerOptions.BatchSize"/> rows each). <see cref="Enqueue"/> returns
/// a task that completes once the row is durable, shared by every row of its batch, so the request pipeline can hold a
/// response's final bytes until then (docs/durability.md) and many waiting responses are released together.
/// A batch the store refuses, or does not take within <see cref="StoreTimeout"/> (a database that stopped answering
/// rather than refusing), goes to the spool on local disk (<see cref="LedgerOptions.SpoolPath"/>), flushed to disk
/// before its rows count as durable. While the spool holds batches, new batches join them there without trying the
/// store, so responses never wait on a store that is away and rows reach it oldest first: a replay in the background,
/// every <see cref="SpoolRetryInterval"/>, writes the spool to the store once it answers (the store ignores request ids
/// it already has, so a retry never doubles a row), and batches go to the store again once the spool is empty.
/// When neither the store nor the spool takes a batch its waiters are released anyway (holding clients does not make
/// the rows safer) and the batch is retried in memory until it lands. On shutdown every queued row is written, or spooled.
/// </summary>
internal sealed partial class LedgerWriter(ICorridorStore store, LedgerOptions options, TimeProvider time, ILogger<LedgerWriter> logger, StopDeadline? stop = null)
    : BackgroundService
{
    private static readonly TimeSpan SpoolRetryInterval = TimeSpan.FromSeconds(1);
    private readonly StopDeadline _stop = stop ?? StopDeadline.None(time);
    // The bound of a retry the spool refused: the store's alone, since nothing else can keep the batch.
    private readonly StopDeadline _storeOnly = StopDeadline.None(time);

    /// <summary>
    /// How long a response's row waits for the store before it goes to the spool instead (<see cref="StoreDeadline"/>):
    /// without it, every response waited for the driver's own timeouts on a database that stopped answering.
    /// </summary>
    internal static readonly TimeSpan StoreTimeout = StoreDeadline.Timeout;
    private static readonly Task<bool> Durable = Task.FromResult(true);
    private readonly SpoolRetries<LedgerEntry, LedgerSpool>? _retries = options.SpoolPath is { } path ? new(new LedgerSpool(path), store, new SpoolLog(
        (e, count, folder) => LogSpooled(logger, e, count, folder),
        (e, count, folder) => LogSpoolFailed(logger, e, count, folder),
        (from, to, e) => LogSpoolFileSetAside(logger, e, from, to)), time) : null;

    // The batch gathering and the task its rows wait on, swapped together under the lock so that a row is always
    // released by the batch that holds it. Two lists alternate, so a steady load allocates only one task per batch.
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _ready = new(0);
    private List<LedgerEntry> _gathering = new(options.BatchSize);
    private List<LedgerEntry> _spare = new(options.BatchSize);
    private TaskCompletionSource<bool> _durable = NewDurable();
    private bool _closed;

    // The spool's replay, in the background so that a store slow to fail never holds up a batch.
    private readonly CancellationTokenSource _stopReplay = new();
    private Task _replaying = Task.CompletedTask;

    private int _inFlight;
    private bool _soloInFlight;
    private long _written;
    private long _commits;
    private long _lost;

    public long Written => Interlocked.Read(ref _written);

    /// <summary>Rows given up at shutdown because neither the store nor the spool took them.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Batches waiting in the spool (files), and files set aside there because they could not be read (by this process or an earlier one); zeros without a spool.</summary>
    public (int Files, int SetAside) Spool => _retries?.Spool is { } spool ? (spool.Files, spool.SetAsideFiles) : (0, 0);

    /// <summary>Whether batches may be waiting in the spool, so that new ones join them there (false without a spool).</summary>
    internal bool SpoolMayHoldBatches => _retries is { MayHoldBatches: true };

    /// <summary>Spool files this process set aside because they could not be read.</summary>
    public long SpoolSetAside => _retries?.Spool.SetAside ?? 0;

    /// <summary>True while a batch is being written (or retried).</summary>
    public bool InFlight => Volatile.Read(ref _inFlight) > 0;

    /// <summary>
    /// How far the store is behind: the age of the oldest row recorded but not yet written (the batch being written, else
    /// the first row gathering for the next), taken from when its request ended; zero when every row is written. Rows in the
    /// spool are on local disk and count as written here; the store's own reachability is reported apart (<c>/readyz</c>).
    /// </summary>
    public TimeSpan Lag
    {
        get
        {
            var oldest = Interlocked.Read(ref _inFlightSinceTicks);
            if (oldest == 0)
            {
                lock (_gate)
                {
                    oldest = _gathering.Count > 0 ? RecordedAt(_gathering[0]) : 0;
                }
            }
            return oldest == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(0, time.GetUtcNow().UtcTicks - oldest));
        }
    }

    private long _inFlightSinceTicks;

    private static long RecordedAt(LedgerEntry entry) => entry.Time.UtcTicks + (entry.LatencyMs * TimeSpan.TicksPerMillisecond);

    /// <summary>Store writes so far (transactions, spooled batches, and rows the journal took at once, each a write of one); <see cref="Written"/> over this is the mean batch.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    public int Pending
    {
        get
        {
            lock (_gate)
            {
                return _gathering.Count + _inFlight + (_soloInFlight ? 1 : 0);
            }
        }
    }

    /// <summary>How long responses waited for their rows to be durable (recorded by the pipeline).</summary>
    public CommitWaits Waits { get; } = new();

    /// <summary>
    /// Queues a row. The task completes with true once the row is in the store or in the spool on disk, with false when it
    /// could not be made durable (the store and the spool both refuse, or the writer has shut down).
    /// With <paramref name="mayWriteAlone"/> (the pipeline's: no other request in flight), a row that finds the writer
    /// idle and nothing gathering is written at once by its own request (<see cref="WriteAloneAsync"/>): it would be a
    /// batch of one anyway, and waking the writer's thread and being woken back cost that request more than the commit
    /// (tens of microseconds on SQLite's prepared statements, blocking the calling thread that long). Under load every
    /// row goes to the writer, whose wake-up is what lets a batch gather (bench/README.md, "Fifth round").
    /// Before all that, a store whose durable point is a cheap local copy (<see cref="ICorridorStore.TryAppendLedger"/>: the
    /// embedded store's journal) takes the row at once, and the task returned is already complete: no batch, no thread
    /// hand-off, no wait (bench/README.md, "Eighth round").
    /// </summary>
    public Task<bool> Enqueue(LedgerEntry entry, bool mayWriteAlone = false)
    {
        ArgumentNullException.ThrowIfNull(entry);
        // Also once the writer has stopped: a request cut off at the shutdown deadline can end after it, and the store
        // outlives the writer.
        if (store.TryAppendLedger(entry))
        {
            Interlocked.Increment(ref _written);
            Interlocked.Increment(ref _commits);
            return Durable;
        }
        var first = false;
        Task<bool>? durable = null; // stays null when this request writes the row alone
        lock (_gate)
        {
            if (_closed)
            {
                // Counted, so that the exit code says rows were lost (docs/shutdown.md).
                Interlocked.Increment(ref _lost);
                durable = Task.FromResult(false);
            }
            else if (mayWriteAlone && _inFlight == 0 && !_soloInFlight && _gathering.Count == 0 && _retries is not { MayHoldBatches: true })
            {
                _soloInFlight = true;
            }
            else
            {
                _gathering.Add(entry);
                first = _gathering.Count == 1;
                durable = _durable.Task;
            }
        }
        if (durable is null)
        {
            return WriteAloneAsync(entry);
        }
        if (first)
        {
            _ready.Release();
        }
        else if (durable.IsCompleted && !durable.Result)
        {
            LogEnqueueAfterShutdown(entry.RequestId);
        }
        return durable;
    }

    /// <summary>
    /// Writes one row on its request's own flow. When the store refuses it (or does not answer in time), the row goes to
    /// the spool, and the writer's next batches after it; without a spool (or when the disk refuses it too) it joins the
    /// next batch, whose writer retries it as any other.
    /// </summary>
    private async Task<bool> WriteAloneAsync(LedgerEntry entry)
    {
        Exception? failure = null;
        try
        {
            await AppendAsync([entry], _stop);
            Interlocked.Increment(ref _written);
            Interlocked.Increment(ref _commits);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogWriteAloneFailed(e, entry.RequestId);
            failure = e;
        }
        finally
        {
            lock (_gate)
            {
                _soloInFlight = false;
                // The store failed: no other row tries it alone, and the writer's batches go to the spool after this one.
                if (failure is not null)
                {
                    _retries?.NoteMayHoldBatches();
                }
            }
        }
        if (failure is null)
        {
            return true;
        }
        if (_retries is not null && await _retries.TrySaveAsync([entry], failure))
        {
            Interlocked.Increment(ref _commits);
            return true;
        }
        return await Enqueue(entry);
    }

    /// <summary>
    /// Appends <paramref name="rows"/>, waiting for the store no longer than <paramref name="bound"/> allows (a
    /// <see cref="TimeoutException"/> then): <see cref="StoreTimeout"/>, and with the stop's <see cref="StopDeadline"/> no
    /// later than the stop's deadline, even a write begun before the stop. The store is asked to cancel, but a driver may not
    /// give up at once (opening a connection to a server that does not answer), so the wait ends at the deadline whatever
    /// the store does. A write given up on may still commit: its rows, spooled meanwhile, are then skipped when the spool is
    /// written (the store ignores request ids it holds).
    /// </summary>
    private Task AppendAsync(IReadOnlyList<LedgerEntry> rows, StopDeadline bound) =>
        StoreDeadline.RunAsync(token => store.AppendLedgerAsync(rows, token), time, bound);

    /// <summary>Waits until every row enqueued so far is in the store.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (Pending > 0 || _retries is { IsEmpty: false })
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), time, cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The store opened (and replayed its journal) before logging was set up: what it set aside is logged now.
        foreach (var setAside in store.LedgerJournalSetAside)
        {
            LogJournalSegmentSetAside(logger, setAside);
        }

        StartReplay();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (_retries is null)
                {
                    await _ready.WaitAsync(stoppingToken);
                }
                else
                {
                    // Wake now and then while idle, to write what the spool holds once the store is back.
                    var ready = await _ready.WaitAsync(SpoolRetryInterval, stoppingToken);
                    StartReplay();
                    if (!ready)
                    {
                        continue;
                    }
                }
                // Optionally let a batch gather a little longer (ledger.flushIntervalMs): fewer, larger transactions for
                // that much more latency. The default is 0: a batch is what arrived while the previous one was written.
                if (options.EffectiveFlushInterval > TimeSpan.Zero)
                {
                    await Task.Delay(options.EffectiveFlushInterval, time, stoppingToken);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
            await WriteGatheredAsync(stoppingToken);
        }
    }

    /// <summary>Takes every gathered row as one batch, writes it, and releases the responses waiting on it.</summary>
    private async Task WriteGatheredAsync(CancellationToken stoppingToken)
    {
        List<LedgerEntry> batch;
        TaskCompletionSource<bool> durable;
        lock (_gate)
        {
            if (_gathering.Count == 0)
            {
                return;
            }
            batch = _gathering;
            durable = _durable;
            _gathering = _spare;
            _durable = NewDurable();
            _inFlight = batch.Count;
        }
        Interlocked.Exchange(ref _inFlightSinceTicks, RecordedAt(batch[0]));
        for (var start = 0; start < batch.Count; start += options.BatchSize)
        {
            var chunk = start == 0 && batch.Count <= options.BatchSize ? batch : batch.GetRange(start, Math.Min(options.BatchSize, batch.Count - start));
            await WriteAsync(chunk, durable, stoppingToken);
        }
        Interlocked.Exchange(ref _inFlightSinceTicks, 0);
        Release(durable, true);
        batch.Clear();
        lock (_gate)
        {
            _spare = batch;
            _inFlight = 0;
        }
    }

    /// <summary>Writes what the spool holds, in the background, unless a replay is under way or the spool is known empty.</summary>
    private void StartReplay()
    {
        if (_retries is { MayHoldBatches: true } retries && _replaying.IsCompleted)
        {
            _replaying = Task.Run(async () => Interlocked.Add(ref _written, await retries.ReplayAsync(_stopReplay.Token)));
        }
    }

    private async Task WriteAsync(List<LedgerEntry> batch, TaskCompletionSource<bool> durable, CancellationToken stoppingToken)
    {
        // Older batches wait in the spool (the store is away, or was a moment ago): this one goes after them, at once.
        if (_retries is { MayHoldBatches: true } && await _retries.TrySaveAsync(batch, storeError: null))
        {
            Interlocked.Increment(ref _commits);
            return;
        }
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // At the stop, the first try (begun before the stop or after) waits for the store until the stop's deadline at
                // most, then the batch goes to the spool; one the spool refused too has only the store to keep it, and keeps its
                // tries at the store's bound.
                await AppendAsync(batch, attempt == 1 ? _stop : _storeOnly);
                Interlocked.Add(ref _written, batch.Count);
                Interlocked.Increment(ref _commits);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (_retries is not null && await _retries.TrySaveAsync(batch, e))
                {
                    Interlocked.Increment(ref _commits);
                    return;
                }
                if (!durable.Task.IsCompleted)
                {
                    Release(durable, false);
                    LogReleasedNotDurable(batch.Count);
                }
                LogWriteFailed(e, batch.Count, attempt);
                if (stoppingToken.IsCancellationRequested && attempt >= 5)
                {
                    LogRowsLost(batch.Count);
                    Interlocked.Add(ref _lost, batch.Count);
                    return;
                }
                await Task.Delay(delay, time, CancellationToken.None);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>
    /// Waits for the drain even when the host's shutdown timeout has already passed (the server may have used all of it
    /// on streams in flight): the base class would stop waiting then, and the process would exit with rows in memory.
    /// The drain itself is bounded: a batch that neither the store nor the spool takes is given up after a few tries.
    /// The drain is done here, not at the end of <see cref="ExecuteAsync"/>: a host stopped before the loop ever ran (it
    /// runs on a task of its own, which a stop right after the start cancels before it begins) would otherwise leave the
    /// rows gathered unwritten and every row enqueued later waiting for ever.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(CancellationToken.None);
        // Shutting down (the server has stopped, so no request waits any more): drain what gathered.
        lock (_gate)
        {
            _closed = true;
        }
        await WriteGatheredAsync(new CancellationToken(canceled: true));
        // What the spool holds stays there for the next start. A replay stuck on a store that does not answer is not
        // waited for past the store's deadline, nor the stop's: its file stays, and a row it stored after all is not stored
        // twice. Its cancellation is not waited for either (Npgsql's waits on the server, StoreDeadline.CancelApart).
        StoreDeadline.CancelApart(_stopReplay);
        await StoreDeadline.WaitOrLeaveAsync(_replaying, time, _stop.StoreTimeout);
    }

    public override void Dispose()
    {
        _ready.Dispose();
        _stopReplay.Dispose();
        base.Dispose();
    }

    // The waiting responses resume inline, on the writer's thread, one after another (each writes its final bytes to its
    // socket, which does not block), and the writer then takes the next batch, which gathered meanwhile. Under load the
    // writer so runs from batch to batch without waiting to be scheduled again, and responses without a thread hand-off
    // each; on a busy machine every wake-up of a thread waits its turn for a core, which is what the commit wait would be.
    private static TaskCompletionSource<bool> NewDurable() => new();

    private static void Release(TaskCompletionSource<bool> durable, bool result) => durable.TrySetResult(result);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "The store refused {Count} ledger rows; kept in the spool {Folder} until it is back")]
    private static partial void LogSpooled(ILogger logger, Exception exception, int count, string folder);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Critical, Message = "Could not spool {Count} ledger rows to {Folder}; retrying the store")]
    private static partial void LogSpoolFailed(ILogger logger, Exception exception, int count, string folder);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Critical, Message = "The ledger spool file {Path} cannot be read; set aside as {SetAsidePath} so the files after it are written. Its rows are not in the ledger")]
    private static partial void LogSpoolFileSetAside(ILogger logger, Exception exception, string path, string setAsidePath);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Critical, Message = "A damaged ledger journal segment was set aside: {Detail}")]
    private static partial void LogJournalSegmentSetAside(ILogger logger, string detail);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Writing {Count} ledger rows failed (attempt {Attempt}); retrying")]
    private partial void LogWriteFailed(Exception exception, int count, int attempt);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Critical, Message = "Shutting down with {Count} ledger rows that could not be written")]
    private partial void LogRowsLost(int count);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Critical, Message = "Neither the store nor the spool took {Count} ledger rows; their responses are released before the rows are durable")]
    private partial void LogReleasedNotDurable(int count);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Warning, Message = "Writing the ledger row of {RequestId} alone failed; it goes to the spool (or, without one, to the writer's next batch)")]
    private partial void LogWriteAloneFailed(Exception exception, string requestId);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Critical, Message = "The ledger row of {RequestId} arrived after the ledger writer shut down and was not written")]
    private partial void LogEnqueueAfterShutdown(string requestId);
}
