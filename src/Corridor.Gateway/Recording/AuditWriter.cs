using System.Threading.Channels;
using Corridor.Core.Audit;
using Corridor.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Recording;

/// <summary>How the audit writer batches: at most <see cref="BatchSize"/> entries per transaction, gathered for up to <see cref="FlushInterval"/>.</summary>
internal sealed record AuditWriterOptions(int BatchSize = 256, TimeSpan? FlushInterval = null)
{
    public TimeSpan EffectiveFlushInterval => FlushInterval ?? TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// Takes audit entries (the gateway's decisions) off the request path and appends them to the hash-chained log in batches,
/// one transaction per batch, in the order they were enqueued. A failed batch is retried until it lands; on shutdown every
/// queued entry is written before the process exits (a store that still refuses after several tries is logged as critical).
/// <code>
/// auditWriter.Enqueue(new AuditEntry(time.GetUtcNow(), AuditActors.Gateway, AuditActions.Decision, requestId, details));
/// </code>
/// </summary>
internal sealed partial class AuditWriter(ICorridorStore store, AuditWriterOptions options, TimeProvider time, ILogger<AuditWriter> logger) : BackgroundService
{
    private const int ShutdownAttempts = 5;

    // Not SingleReader: that channel cannot count its items, and the batching reads Count.
    private readonly Channel<AuditEntry> _queue = Channel.CreateUnbounded<AuditEntry>();

    // Enqueued and not yet in the store (queued or in the batch being written).
    private long _pending;
    private long _written;

    public long Written => Interlocked.Read(ref _written);

    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Queues an entry; never blocks. Returns false only once the writer has shut down.</summary>
    public bool Enqueue(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Interlocked.Increment(ref _pending);
        if (_queue.Writer.TryWrite(entry))
        {
            return true;
        }

        Interlocked.Decrement(ref _pending);
        LogEnqueueAfterShutdown(entry.Action, entry.Subject);
        return false;
    }

    /// <summary>Waits until every entry enqueued so far is in the store.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (Interlocked.Read(ref _pending) > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), time, cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AuditEntry>(options.BatchSize);
        var reader = _queue.Reader;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await reader.WaitToReadAsync(stoppingToken))
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

            while (batch.Count < options.BatchSize && reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }

            await WriteAsync(batch, stoppingToken);
            batch.Clear();
        }
    }

    /// <summary>
    /// Stops the loop, then writes whatever is still queued: done here rather than at the end of <see cref="ExecuteAsync"/>
    /// so the queue is drained even when the host stops before the loop ever ran.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        _queue.Writer.TryComplete();
        var stopping = new CancellationToken(canceled: true);
        var batch = new List<AuditEntry>(options.BatchSize);
        while (_queue.Reader.TryRead(out var entry))
        {
            batch.Add(entry);
            if (batch.Count == options.BatchSize)
            {
                await WriteAsync(batch, stopping);
                batch.Clear();
            }
        }

        await WriteAsync(batch, stopping);
    }

    private async Task WriteAsync(List<AuditEntry> batch, CancellationToken stoppingToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Not cancelled by shutdown: a batch that started must land.
                await store.AppendAuditAsync(batch, CancellationToken.None);
                Interlocked.Add(ref _written, batch.Count);
                Interlocked.Add(ref _pending, -batch.Count);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
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

    [LoggerMessage(EventId = 3101, Level = LogLevel.Error, Message = "Appending {Count} audit records failed (attempt {Attempt}); retrying")]
    private partial void LogWriteFailed(Exception exception, int count, int attempt);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Critical, Message = "Shutting down with {Count} audit records that could not be written")]
    private partial void LogEntriesLost(int count);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Critical, Message = "An audit record ({Action} {Subject}) arrived after the audit writer shut down and was not written")]
    private partial void LogEnqueueAfterShutdown(string action, string subject);
}
