using Corridor.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Batches;

/// <summary>
/// Removes from the store what batches no longer keep (docs/batches.md, "Retention"): files past their <c>expires_at</c>
/// and the stored requests and answers of ended batches past their retention; and stored Responses API answers past theirs
/// (docs/responses.md, "Stored responses"); at start and then every <see cref="Interval"/>. Expiry itself does not wait for it: from the moment a file expires it is not found and not
/// counted toward <c>batches.maxTenantBytes</c>; the sweep gives the disk back. Every gateway sweeps; with PostgreSQL
/// several may sweep at once, each removal being one statement that removes a row once.
/// </summary>
internal sealed partial class BatchRetentionSweep(ICorridorStore store, TimeProvider time, ILogger<BatchRetentionSweep> logger) : BackgroundService
{
    /// <summary>How often the store is swept.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var removed = await store.RemoveExpiredBatchDataAsync(time.GetUtcNow(), stoppingToken);
                if (removed.Files > 0 || removed.Batches > 0)
                {
                    LogSwept(removed.Files, removed.Batches);
                }
                if (await store.RemoveExpiredResponsesAsync(time.GetUtcNow(), stoppingToken) is > 0 and var responses)
                {
                    LogResponsesSwept(responses);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (NotSupportedException e) when (e.TargetSite?.DeclaringType?.IsInterface == true)
            {
                // A store without batches (the interface's default): nothing ever expires.
                return;
            }
            catch (Exception e)
            {
                // The store is away (or refused): what expired stays hidden, and goes at a later sweep.
                LogSweepFailed(e);
            }
            try
            {
                await Task.Delay(Interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(EventId = 4211, Level = LogLevel.Information, Message = "Batch retention: removed {Files} expired files and the requests and answers of {Batches} batches")]
    private partial void LogSwept(int files, int batches);

    [LoggerMessage(EventId = 4213, Level = LogLevel.Information, Message = "Response retention: removed {Responses} expired stored responses")]
    private partial void LogResponsesSwept(int responses);

    [LoggerMessage(EventId = 4212, Level = LogLevel.Warning, Message = "Batch retention: sweeping the store failed; trying again at the next sweep")]
    private partial void LogSweepFailed(Exception exception);
}
