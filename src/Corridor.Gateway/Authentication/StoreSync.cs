using Corridor.Gateway.Recording;
using Corridor.Gateway.Translation;
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
/// <para>
/// The reasoning key the store keeps follows the same way: a rotation moves the revision, and when the cache reloaded at a
/// revision the seal has not, the seal takes up the store's keys (<see cref="ReasoningSeal.TakeUp"/>), without a restart.
/// </para>
/// </summary>
internal sealed partial class StoreSync(KeyCache keys, ICorridorStore store, TimeProvider time, ILogger<StoreSync> logger, StopDeadline? stop = null,
    ReasoningSeal? seal = null)
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
                if (seal is { FromStore: true } && keys.Revision != seal.StoreRevision)
                {
                    // The cache read the revision before the keys are read here, so a rotation committed after it moves it
                    // again and is read at the next refresh.
                    var revision = keys.Revision;
                    var secret = await StoreDeadline.RunAsync(token => store.GetSecretAsync(GatewaySecrets.ReasoningKey, token), time, stoppingToken);
                    if (!seal.TakeUp(secret, revision))
                    {
                        LogReasoningKeyUnusable();
                    }
                }
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

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "The reasoning key the store keeps now is not one (cut short); signing and sealing with the keys held until then")]
    private partial void LogReasoningKeyUnusable();

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Refreshing keys from the store failed; serving from the cached keys")]
    private partial void LogSyncFailed(Exception exception);
}
