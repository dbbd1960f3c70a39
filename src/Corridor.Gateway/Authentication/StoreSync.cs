using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Authentication;

/// <summary>Keeps the key cache in step with the store and writes last-used times now and then.</summary>
internal sealed partial class StoreSync(KeyCache keys, TimeProvider time, ILogger<StoreSync> logger) : BackgroundService
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LastUsedInterval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastUsedDue = time.GetUtcNow() + LastUsedInterval;
        using var timer = new PeriodicTimer(RefreshInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await keys.RefreshAsync(force: false, stoppingToken);
                    if (time.GetUtcNow() >= lastUsedDue)
                    {
                        lastUsedDue = time.GetUtcNow() + LastUsedInterval;
                        await keys.FlushLastUsedAsync(stoppingToken);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogSyncFailed(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        await keys.FlushLastUsedAsync(CancellationToken.None);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Refreshing keys from the store failed; serving from the cached keys")]
    private partial void LogSyncFailed(Exception exception);
}
