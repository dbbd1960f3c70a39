using Corridor.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Authentication;

/// <summary>
/// Keeps the key cache in step with the store and writes last-used times now and then. The cache reloads when the store's
/// revision moves, checked every <see cref="RefreshInterval"/>, and at once when a shared store announces a change made by
/// another replica or the command line (<see cref="IStoreChangeNotifications"/>); the poll catches what a lost notification missed.
/// </summary>
internal sealed partial class StoreSync(KeyCache keys, ICorridorStore store, TimeProvider time, ILogger<StoreSync> logger) : BackgroundService
{
    internal static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LastUsedInterval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastUsedDue = time.GetUtcNow() + LastUsedInterval;
        var notifications = store as IStoreChangeNotifications;
        var changed = notifications?.WaitForChangeAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            var tick = Task.Delay(RefreshInterval, time, stoppingToken);
            await (changed is null ? Task.WhenAny(tick) : Task.WhenAny(changed, tick));
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            // Taken before the refresh, so a change committed while it runs wakes the next one.
            if (changed is { IsCompleted: true })
            {
                changed = notifications!.WaitForChangeAsync(stoppingToken);
            }

            try
            {
                await keys.RefreshAsync(force: false, stoppingToken);
                if (time.GetUtcNow() >= lastUsedDue)
                {
                    lastUsedDue = time.GetUtcNow() + LastUsedInterval;
                    await keys.FlushLastUsedAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogSyncFailed(e);
            }
        }
        await keys.FlushLastUsedAsync(CancellationToken.None);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Refreshing keys from the store failed; serving from the cached keys")]
    private partial void LogSyncFailed(Exception exception);
}
