using Corridor.Core.Admission;
using Corridor.Gateway.Recording;
using Corridor.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Admission;

/// <summary>
/// Carries a fleet replica's leases between its <see cref="LeaseHoldings"/> and the shared <see cref="ILeaseBook"/>, off
/// the request path: it wakes when a request asked for a slice (and every <see cref="Tick"/> for slices of the next
/// period, idle give-backs and pruning), gives back what is due, asks for what is wanted and reports the grants. At
/// shutdown it gives back everything unused. Its first work, before any lease, starts the book's rows of this day and
/// month from the ledger's spend when the book has none yet. Each call to the book waits at most
/// <see cref="StoreDeadline.Timeout"/>: a database that stops answering fails a lease in seconds rather than the driver's
/// timeouts, and a stop gives up its returns within that bound instead of spending the shutdown deadline on them.
/// </summary>
internal sealed partial class FleetLeaseWorker(FleetAdmissionCounters counters, ILeaseBook book, TimeProvider time, ILogger<FleetLeaseWorker> logger,
    StopDeadline? stop = null)
    : BackgroundService
{
    internal static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);
    private readonly StopDeadline _stop = stop ?? StopDeadline.None(time);

    // Returns the book did not take (unreachable): tried again at every wake, so the book never keeps what was given back.
    private readonly List<LeaseReturn> _unreturned = [];
    private long _lastPrune;

    /// <summary>Registers the fleet's counters and this worker when the store is shared by a fleet; else the local counters.</summary>
    public static void AddAdmissionCounters(IServiceCollection services, ICorridorStore store)
    {
        if (store.LeaseBook is not { } book)
        {
            services.AddSingleton<IAdmissionCounters>(sp => new LocalAdmissionCounters(sp.GetRequiredService<TimeProvider>()));
            return;
        }
        services.AddSingleton(book);
        services.AddSingleton(sp => new FleetAdmissionCounters(sp.GetRequiredService<TimeProvider>(), new LeaseSizing()));
        services.AddSingleton<IAdmissionCounters>(sp => sp.GetRequiredService<FleetAdmissionCounters>());
        services.AddHostedService<FleetLeaseWorker>();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await SeedAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await counters.WantsDue.WaitAsync(Tick, stoppingToken);
                await PumpAsync(all: false, stoppingToken);
                await PruneAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Requests still in flight keep their reservations taken in the book: it errs on the side of the limit. The give-backs
        // are bounded by the store deadline alone, not by the host's shutdown token: requests in flight may have spent the
        // whole shutdown deadline, and a give-back cancelled then failed the stop (exit code 1) and left a day's or a month's
        // budget slices taken in the book until the period ends; a book that answers takes them in milliseconds, one that
        // does not costs one try, until the stop's deadline at most (StopDeadline).
        await PumpAsync(all: true, CancellationToken.None);
    }

    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        var seeds = counters.TakeSeeds();
        for (var i = 0; i < seeds.Count; i++)
        {
            try
            {
                var seed = seeds[i];
                await StoreDeadline.RunAsync(token => book.SeedAsync(seed.Key, seed.Value, token).AsTask(), time, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogBookFailed(e, "seeding");
                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
                i--;
            }
        }
    }

    /// <summary>Gives back what is due (all unused at shutdown), then leases what is wanted.</summary>
    internal async Task PumpAsync(bool all, CancellationToken cancellationToken)
    {
        _unreturned.AddRange(counters.Holdings.TakeReturns(all));
        for (var i = 0; i < _unreturned.Count; i++)
        {
            try
            {
                // Sent again after a failure, a return keeps its id: if the book applied it and only the answer was lost,
                // it is not applied twice.
                var back = _unreturned[i];
                await StoreDeadline.RunAsync(token => book.ReturnAsync(back, token).AsTask(), time, _stop, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogBookFailed(e, "giving back");
                _unreturned.RemoveRange(0, i);
                break;
            }
            if (i == _unreturned.Count - 1)
            {
                _unreturned.Clear();
            }
        }
        if (all)
        {
            return;
        }
        var failed = false;
        foreach (var want in counters.Holdings.TakeWants())
        {
            if (failed)
            {
                counters.Holdings.Failed(want);
                continue;
            }
            try
            {
                counters.Holdings.Granted(want, await StoreDeadline.RunAsync(token => book.LeaseAsync(want.Key, want.Limit, want.Amount, token).AsTask(), time, cancellationToken));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Unreachable: nothing granted; the next request that needs a slice asks again (and is told to retry).
                LogBookFailed(e, "leasing");
                counters.Holdings.Failed(want);
                failed = true;
            }
        }
    }

    private async Task PruneAsync(CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (_lastPrune != 0 && time.GetElapsedTime(_lastPrune, now) < PruneInterval)
        {
            return;
        }
        _lastPrune = now;
        var utc = time.GetUtcNow();
        try
        {
            // The period before the current one stays: a replica whose clock is a little behind may still spend from it.
            foreach (var kind in Enum.GetValues<LeaseKind>())
            {
                await StoreDeadline.RunAsync(token => book.PruneAsync(kind, LeasePeriods.Of(kind, utc) - 1, token).AsTask(), time, cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogBookFailed(e, "pruning");
        }
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning,
        Message = "The fleet's lease book could not be reached ({Work}); replicas spend what they hold and refuse beyond it until it answers")]
    private partial void LogBookFailed(Exception exception, string work);
}
