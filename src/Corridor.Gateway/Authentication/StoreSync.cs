using Corridor.Gateway.Recording;
using Corridor.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Authentication;

/// <summary>
/// Keeps the key cache in step with the store and writes last-used times now and then. The cache reloads when the store's
/// revision moves, checked every <see cref="RefreshInterval"/>, and at once when a shared store announces a change made by
/// another replica or the command line (<see cref="IStoreChangeNotifications"/>); the poll catches what a lost notification missed.
/// Each refresh and each write of last-used times waits for the store at most <see cref="StoreDeadline.Timeout"/>: a database
/// that stops answering then fails a refresh in seconds (the grace period counts on from the last one that answered), the
/// next refresh after it answers again comes within that bound, and a stop does not wait on it for the driver's timeouts.
/// </summary>
internal sealed partial class StoreSync(KeyCache keys, ICorridorStore store, TimeProvider time, ILogger<StoreSync> logger, StopDeadline? stop = null)
    : BackgroundService
{
    internal static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan LastUsedInterval = TimeSpan.FromSeconds(30);
    private readonly StopDeadline _stop = stop ?? StopDeadline.None(time);

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
                await StoreDeadline.RunAsync(token => keys.RefreshAsync(force: false, token), time, stoppingToken);
                if (time.GetUtcNow() >= lastUsedDue)
                {
                    lastUsedDue = time.GetUtcNow() + LastUsedInterval;
                    await StoreDeadline.RunAsync(keys.FlushLastUsedAsync, time, stoppingToken);
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
        try
        {
            // Not past the stop's deadline (StopDeadline).
            await StoreDeadline.RunAsync(keys.FlushLastUsedAsync, time, _stop, CancellationToken.None);
        }
        catch (Exception e)
        {
            // Last-used times are a convenience for operators; a stop does not wait for (or fail on) a store that is away.
            LogLastUsedNotWritten(e);
        }
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Writing the keys' last-used times at shutdown failed; they are not kept")]
    private partial void LogLastUsedNotWritten(Exception exception);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Refreshing keys from the store failed; serving from the cached keys")]
    private partial void LogSyncFailed(Exception exception);
}
