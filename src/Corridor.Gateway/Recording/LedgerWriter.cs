using System.Threading.Channels;
using Corridor.Core.Metering;
using Corridor.Gateway.Configuration;
using Corridor.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Recording;

/// <summary>
/// Takes ledger rows off the request path and writes them to the store in batches. A batch the store refuses goes to the
/// spool on local disk (<see cref="LedgerOptions.SpoolPath"/>) and is written from there when the store answers again,
/// checked before every batch and every <see cref="SpoolRetryInterval"/> (the store ignores request ids it already has,
/// so a retry never doubles a row). Without a spool a failed batch is retried in memory until it lands. On shutdown
/// every queued row is written, or spooled, before the process exits.
/// </summary>
internal sealed partial class LedgerWriter(ICorridorStore store, LedgerOptions options, TimeProvider time, ILogger<LedgerWriter> logger) : BackgroundService
{
    private static readonly TimeSpan SpoolRetryInterval = TimeSpan.FromSeconds(1);
    private readonly LedgerSpool? _spool = options.SpoolPath is { } path ? new LedgerSpool(path) : null;

    // Not SingleReader: that channel's reader cannot count (Count throws NotSupportedException), and the
    // batching below, Pending and FlushAsync all need the count.
    private readonly Channel<LedgerEntry> _queue = Channel.CreateUnbounded<LedgerEntry>();
    private long _written;

    public long Written => Interlocked.Read(ref _written);

    public int Pending => _queue.Reader.Count;

    /// <summary>True while a batch is being written (or retried).</summary>
    public bool InFlight => Volatile.Read(ref _inFlight) > 0;

    /// <summary>
    /// How far the store is behind: the age of the oldest row recorded but not yet written (the batch being written, else
    /// the head of the queue), taken from when its request ended; zero when every row is written. Rows in the spool are
    /// on local disk and count as written here; the store's own reachability is reported apart (<c>/readyz</c>).
    /// </summary>
    public TimeSpan Lag
    {
        get
        {
            var oldest = Interlocked.Read(ref _inFlightSinceTicks);
            if (oldest == 0 && _queue.Reader.TryPeek(out var head))
            {
                oldest = RecordedAt(head);
            }
            return oldest == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(0, time.GetUtcNow().UtcTicks - oldest));
        }
    }

    private long _inFlightSinceTicks;

    private static long RecordedAt(LedgerEntry entry) => entry.Time.UtcTicks + (entry.LatencyMs * TimeSpan.TicksPerMillisecond);

    public void Enqueue(LedgerEntry entry) => _queue.Writer.TryWrite(entry);

    /// <summary>Waits until every row enqueued so far is in the store.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        while (_queue.Reader.Count > 0 || Volatile.Read(ref _inFlight) > 0 || _spool is { IsEmpty: false })
        {
            await Task.Delay(TimeSpan.FromMilliseconds(10), time, cancellationToken);
        }
    }

    private int _inFlight;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<LedgerEntry>(options.BatchSize);
        var reader = _queue.Reader;
        while (true)
        {
            try
            {
                if (_spool is null)
                {
                    if (!await reader.WaitToReadAsync(stoppingToken))
                    {
                        return;
                    }
                }
                else
                {
                    // Wake now and then while idle, to write what the spool holds once the store is back.
                    var ready = reader.WaitToReadAsync(stoppingToken).AsTask();
                    await Task.WhenAny(ready, Task.Delay(SpoolRetryInterval, time, stoppingToken));
                    stoppingToken.ThrowIfCancellationRequested();
                    await ReplaySpoolAsync();
                    if (!ready.IsCompleted)
                    {
                        continue;
                    }
                    if (!await ready)
                    {
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                break;
            }
            Volatile.Write(ref _inFlight, 1);
            // Let a batch gather for a moment so bursts become one transaction.
            if (reader.Count < options.BatchSize)
            {
                try
                {
                    await Task.Delay(options.EffectiveFlushInterval, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                }
            }
            while (batch.Count < options.BatchSize && reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }
            Interlocked.Exchange(ref _inFlightSinceTicks, batch.Count > 0 ? RecordedAt(batch[0]) : 0);
            await WriteAsync(batch, stoppingToken);
            Interlocked.Exchange(ref _inFlightSinceTicks, 0);
            batch.Clear();
            Volatile.Write(ref _inFlight, 0);
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
        // Shutting down: drain everything that is queued.
        _queue.Writer.TryComplete();
        while (reader.TryRead(out var entry))
        {
            batch.Add(entry);
            if (batch.Count == options.BatchSize)
            {
                await WriteAsync(batch, CancellationToken.None);
                batch.Clear();
            }
        }
        await WriteAsync(batch, CancellationToken.None);
    }

    private async Task WriteAsync(List<LedgerEntry> batch, CancellationToken stoppingToken)
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
                await store.AppendLedgerAsync(batch, CancellationToken.None);
                Interlocked.Add(ref _written, batch.Count);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                if (_spool is not null && await TrySpoolAsync(batch, e))
                {
                    return;
                }
                LogWriteFailed(e, batch.Count, attempt);
                if (stoppingToken.IsCancellationRequested && attempt >= 5)
                {
                    LogRowsLost(batch.Count);
                    return;
                }
                await Task.Delay(delay, time, CancellationToken.None);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>Saves a refused batch to the spool; false (retry in memory) when even the local disk refuses it.</summary>
    private async Task<bool> TrySpoolAsync(List<LedgerEntry> batch, Exception storeError)
    {
        try
        {
            await _spool!.SaveAsync(batch, CancellationToken.None);
            LogSpooled(storeError, batch.Count, _spool.Folder);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogSpoolFailed(e, batch.Count, _spool!.Folder);
            return false;
        }
    }

    private async Task ReplaySpoolAsync()
    {
        if (_spool is null || _spool.IsEmpty)
        {
            return;
        }
        try
        {
            var stored = await _spool.ReplayAsync(store, CancellationToken.None);
            Interlocked.Add(ref _written, stored);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Still unreachable: the files wait for the next try.
        }
    }

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "The store refused {Count} ledger rows; kept in the spool {Folder} until it is back")]
    private partial void LogSpooled(Exception exception, int count, string folder);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Critical, Message = "Could not spool {Count} ledger rows to {Folder}; retrying the store")]
    private partial void LogSpoolFailed(Exception exception, int count, string folder);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Writing {Count} ledger rows failed (attempt {Attempt}); retrying")]
    private partial void LogWriteFailed(Exception exception, int count, int attempt);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Critical, Message = "Shutting down with {Count} ledger rows that could not be written")]
    private partial void LogRowsLost(int count);
}
