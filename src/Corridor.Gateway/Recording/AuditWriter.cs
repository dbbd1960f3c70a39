using System.Threading.Channels;
using Corridor.Core.Audit;
using Corridor.Core.Policy;
using Corridor.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Recording;

/// <summary>
/// How the audit writer batches: at most <see cref="BatchSize"/> entries per transaction, gathered for up to
/// <see cref="FlushInterval"/>; and where batches the store refuses wait (<see cref="SpoolPath"/>: the ledger's spool
/// folder in the gateway; none, retried in memory only, when null).
/// </summary>
internal sealed record AuditWriterOptions(int BatchSize = 256, TimeSpan? FlushInterval = null, string? SpoolPath = null)
{
    public TimeSpan EffectiveFlushInterval => FlushInterval ?? TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// Takes audit entries (the gateway's decisions) off the request path and appends them to the hash-chained log in batches,
/// one transaction per batch, in the order they were enqueued. A decision is queued as it was decided
/// (<see cref="DecisionToAudit"/>) and its record worked out here, as its batch is gathered, so the request that was
/// decided does not pay for its trace and details. A batch the store refuses, or does not take within
/// <see cref="StoreDeadline.Timeout"/> (a database that stopped answering), goes to the spool on local disk
/// (<see cref="AuditWriterOptions.SpoolPath"/>, <see cref="AuditSpool"/>), so a crash or a stop while the store is away
/// does not lose it. While the spool holds batches, new batches join them there without trying the store, so records
/// reach the chain in the order they were enqueued and no batch waits on a store that is away; a replay in the
/// background, every <see cref="SpoolRetryInterval"/>, appends the spool once the store answers, and batches go to the
/// store again once it is empty. Without a spool (or when the spool refuses too) a failed batch is retried in memory
/// until it lands. A retry never appends a batch the log already holds (<see cref="ICorridorStore.AppendAuditAgainAsync"/>).
/// On shutdown every queued entry is written, or spooled, before the process exits (one neither takes after several tries
/// is logged as critical). Entries still gathering when the process crashes (at most <see cref="AuditWriterOptions.FlushInterval"/>
/// and one write) are lost: no response waits for its decision's record.
/// <code>
/// auditWriter.Enqueue(new DecisionToAudit(decisionId, requestId, input, policy));
/// </code>
/// </summary>
internal sealed partial class AuditWriter(ICorridorStore store, AuditWriterOptions options, TimeProvider time, ILogger<AuditWriter> logger, StopDeadline? stop = null)
    : BackgroundService
{
    private const int ShutdownAttempts = 5;
    private static readonly TimeSpan SpoolRetryInterval = TimeSpan.FromSeconds(1);
    private readonly StopDeadline _stop = stop ?? StopDeadline.None(time);
    // The bound of a retry the spool refused: the store's alone, since nothing else can keep the batch.
    private readonly StopDeadline _storeOnly = StopDeadline.None(time);
    private readonly SpoolRetries<AuditEntry, AuditSpool>? _spool = options.SpoolPath is { } path ? new(new AuditSpool(path), store, new SpoolLog(
        (e, count, folder) => LogSpooled(logger, e, count, folder),
        (e, count, folder) => LogSpoolFailed(logger, e, count, folder),
        (from, to, e) => LogSpoolFileSetAside(logger, e, from, to)), time) : null;


    // Not SingleReader: that channel cannot count its items, and the batching reads Count.
    private readonly Channel<Queued> _queue = Channel.CreateUnbounded<Queued>();

    // The spool's replay, in the background so that a store that does not answer never holds up the writer (or its stop).
    private readonly CancellationTokenSource _stopReplay = new();
    private Task _replaying = Task.CompletedTask;

    // Enqueued and not yet in the store (queued or in the batch being written).
    private long _pending;
    private long _written;

    public long Written => Interlocked.Read(ref _written);

    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Batches waiting in the spool for the store to take them.</summary>
    public int SpoolFiles => _spool?.Spool.Files ?? 0;

    /// <summary>Whether batches may be waiting in the spool, so that new ones join them there (false without a spool).</summary>
    internal bool SpoolMayHoldBatches => _spool is { MayHoldBatches: true };

    /// <summary>Queues an entry; never blocks. Returns false only once the writer has shut down.</summary>
    public bool Enqueue(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Enqueue(new Queued(entry, null), entry.Action, entry.Subject);
    }

    /// <summary>Queues a decision, its record to be worked out by the writer; never blocks. False once the writer has shut down.</summary>
    public bool Enqueue(DecisionToAudit decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        return Enqueue(new Queued(null, decision), AuditActions.Decision, decision.DecisionId);
    }

    private bool Enqueue(Queued queued, string action, string subject)
    {
        Interlocked.Increment(ref _pending);
        if (_queue.Writer.TryWrite(queued))
        {
            return true;
        }

        Interlocked.Decrement(ref _pending);
        LogEnqueueAfterShutdown(action, subject);
        return false;
    }

    /// <summary>
    /// The entry to write. A decision whose record cannot be worked out (a fault in this code, not in the input: deciding
    /// fails closed) is still written, with the error in place of its trace, so the log has a record for every decision.
    /// </summary>
    private AuditEntry Materialize(Queued queued)
    {
        if (queued.Entry is { } entry)
        {
            return entry;
        }
        var decision = queued.Decision!;
        try
        {
            return decision.ToEntry();
        }
        catch (Exception e)
        {
            LogDecisionRecordFailed(e, decision.DecisionId);
            return new AuditEntry(decision.Time, AuditActors.Gateway, AuditActions.Decision, decision.DecisionId, AuditDetails.Write(json =>
            {
                json.WriteString("request_id", decision.RequestId);
                json.WriteString("error", $"the decision's record could not be worked out: {e.GetType().Name}");
            }));
        }
    }

    /// <summary>Waits until every entry enqueued so far is in the store (the spool's included).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (Interlocked.Read(ref _pending) > 0 || _spool is { IsEmpty: false })
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), time, cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AuditEntry>(options.BatchSize);
        var reader = _queue.Reader;
        Task<bool>? waiting = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                waiting ??= reader.WaitToReadAsync(stoppingToken).AsTask();
                if (_spool is { MayHoldBatches: true })
                {
                    // Wake now and then while idle, to append what the spool holds once the store is back (new batches
                    // join the spool meanwhile, so older entries go first).
                    StartReplay();
                    await Task.WhenAny(waiting, Task.Delay(SpoolRetryInterval, time, stoppingToken));
                    stoppingToken.ThrowIfCancellationRequested();
                    if (!waiting.IsCompleted)
                    {
                        continue;
                    }
                }

                var more = await waiting;
                waiting = null;
                if (!more)
                {
                    break;
                }

                // Let a batch gather for a moment so bursts become one transaction.
                if (reader.Count < options.BatchSize)
                {
                    await Task.Delay(options.EffectiveFlushInterval, time, stoppingToken);
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }

            while (batch.Count < options.BatchSize && reader.TryRead(out var queued))
            {
                batch.Add(Materialize(queued));
            }

            await WriteAsync(batch, stoppingToken);
            batch.Clear();
        }
    }

    /// <summary>Appends what the spool holds, in the background, unless a replay is under way or the spool is known empty.</summary>
    private void StartReplay()
    {
        if (_spool is { MayHoldBatches: true } spool && _replaying.IsCompleted)
        {
            _replaying = Task.Run(async () => Interlocked.Add(ref _written, await spool.ReplayAsync(_stopReplay.Token)));
        }
    }

    /// <summary>
    /// Stops the loop, then writes whatever is still queued: done here rather than at the end of <see cref="ExecuteAsync"/>
    /// so the queue is drained even when the host stops before the loop ever ran. Waits for the loop's batch even when the
    /// host's shutdown deadline has passed (the server may have spent it on streams in flight): the base class would stop
    /// waiting then, and the process would exit with that batch unwritten. The loop's write is bounded once stopping
    /// (<see cref="ShutdownAttempts"/>), as the drain's is.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(CancellationToken.None);
        _queue.Writer.TryComplete();
        var stopping = new CancellationToken(canceled: true);
        var batch = new List<AuditEntry>(options.BatchSize);
        while (_queue.Reader.TryRead(out var queued))
        {
            batch.Add(Materialize(queued));
            if (batch.Count == options.BatchSize)
            {
                await WriteAsync(batch, stopping);
                batch.Clear();
            }
        }

        await WriteAsync(batch, stopping);

        // What the spool holds stays there for the next start. A replay stuck on a store that does not answer is not
        // waited for past the store's deadline, nor the stop's: its file stays, and an append it made after all is not made
        // twice. Its cancellation is not waited for either (Npgsql's waits on the server, StoreDeadline.CancelApart).
        StoreDeadline.CancelApart(_stopReplay);
        await StoreDeadline.WaitOrLeaveAsync(_replaying, time, _stop.StoreTimeout);
    }

    public override void Dispose()
    {
        _stopReplay.Dispose();
        base.Dispose();
    }

    private async Task WriteAsync(List<AuditEntry> batch, CancellationToken stoppingToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        // Older batches wait in the spool (the store is away, or was a moment ago): this one goes after them, at once.
        if (_spool is { MayHoldBatches: true } && await _spool.TrySaveAsync(batch, storeError: null))
        {
            Interlocked.Add(ref _pending, -batch.Count);
            return;
        }

        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Not cancelled by shutdown, only bounded by the store's deadline (the first try, begun before the stop or after,
                // by the stop's too: the batch then goes to the spool; one the spool refused too keeps its tries at the store's
                // bound). A failed attempt (one given up on at the deadline included) may still have committed, so a retry, or a
                // replay of the spool, appends only what the log does not hold already.
                await StoreDeadline.RunAsync(token => attempt == 1 ? store.AppendAuditAsync(batch, token) : store.AppendAuditAgainAsync(batch, token), time,
                    attempt == 1 ? _stop : _storeOnly, CancellationToken.None);
                Interlocked.Add(ref _written, batch.Count);
                Interlocked.Add(ref _pending, -batch.Count);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (_spool is not null && await _spool.TrySaveAsync(batch, e))
                {
                    Interlocked.Add(ref _pending, -batch.Count);
                    return;
                }

                LogWriteFailed(e, batch.Count, attempt);
                if (stoppingToken.IsCancellationRequested && attempt >= ShutdownAttempts)
                {
                    LogEntriesLost(batch.Count);
                    Interlocked.Add(ref _pending, -batch.Count);
                    return;
                }

                await Task.Delay(delay, time, CancellationToken.None);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>An entry ready to write, or a decision whose entry the writer works out.</summary>
    private readonly record struct Queued(AuditEntry? Entry, DecisionToAudit? Decision);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "Appending {Count} audit records failed (attempt {Attempt}); retrying")]
    private partial void LogWriteFailed(Exception exception, int count, int attempt);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Critical, Message = "Shutting down with {Count} audit records that could not be written")]
    private partial void LogEntriesLost(int count);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Critical, Message = "An audit record ({Action} {Subject}) arrived after the audit writer shut down and was not written")]
    private partial void LogEnqueueAfterShutdown(string action, string subject);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Error, Message = "The store refused {Count} audit records; kept in the spool {Folder} until it is back")]
    private static partial void LogSpooled(ILogger logger, Exception exception, int count, string folder);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Critical, Message = "Could not spool {Count} audit records to {Folder}; retrying the store")]
    private static partial void LogSpoolFailed(ILogger logger, Exception exception, int count, string folder);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Critical, Message = "The audit spool file {Path} cannot be read; set aside as {SetAsidePath} so the files after it are written. Its records are not in the log")]
    private static partial void LogSpoolFileSetAside(ILogger logger, Exception exception, string path, string setAsidePath);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Error, Message = "The audit record of decision {DecisionId} could not be worked out; it is written with the error instead of its trace")]
    private partial void LogDecisionRecordFailed(Exception exception, string decisionId);
}
