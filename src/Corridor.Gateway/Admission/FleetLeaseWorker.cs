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
/// period, idle give-backs and pruning), gives back what is due, asks for what is wanted and reports the grants. It
/// registers the replica with the book and beats every second (<see cref="HeartbeatInterval"/>) (and right after a budget grant)
/// with what it holds unspent of budgets; when the book says the registration expired it drops those slices and
/// registers again; every third of the expiry it has the book give back what replicas that stopped beating held. At
/// shutdown it gives back everything unused and leaves the book. Its first work, before any lease, starts the book's rows of this day and
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

    /// <summary>
    /// How often the replica tells the book it is alive and what it holds of budgets (also right after a budget grant):
    /// every second, and at least four times within the expiry, so twice within the fence.
    /// </summary>
    internal static TimeSpan HeartbeatInterval(LeaseSizing sizing) => TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, sizing.Expiry.Ticks / 4));

    // Returns the book did not take (unreachable): tried again at every wake, so the book never keeps what was given back.
    // Each under the registration it was taken in: one sent after that registration expired gives nothing back (the
    // book took the slice back already).
    private readonly List<(string Replica, LeaseReturn Back)> _unreturned = [];
    private readonly TimeSpan _reclaimInterval = counters.Holdings.Sizing.Expiry / 3;
    private string? _replica;
    private long _lastPrune;
    private long _lastBeat;
    private long _lastReclaim;

    /// <summary>Registers the fleet's counters and this worker when the store is shared by a fleet; else the local counters.</summary>
    public static void AddAdmissionCounters(IServiceCollection services, ICorridorStore store, LeaseSizing sizing)
    {
        if (store.LeaseBook is not { } book)
        {
            services.AddSingleton<IAdmissionCounters>(sp => new LocalAdmissionCounters(sp.GetRequiredService<TimeProvider>()));
            return;
        }
        services.AddSingleton(book);
        services.AddSingleton(sp => new FleetAdmissionCounters(sp.GetRequiredService<TimeProvider>(), sizing));
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
        if (_replica is { } replica && _unreturned.Count == 0)
        {
            // Everything given back: the book need not count anything for this replica. (A return the book did not take
            // leaves the registration to expire: the book then takes back what the replica last reported.)
            try
            {
                await StoreDeadline.RunAsync(token => book.LeaveAsync(replica, token).AsTask(), time, _stop, CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogBookFailed(e, "leaving");
            }
        }
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
        if (!all && _replica is null && !await RegisterAsync(cancellationToken))
        {
            return;
        }
        foreach (var back in counters.Holdings.TakeReturns(all))
        {
            _unreturned.Add((_replica ?? "", back));
        }
        for (var i = 0; i < _unreturned.Count; i++)
        {
            try
            {
                // Sent again after a failure, a return keeps its id: if the book applied it and only the answer was lost,
                // it is not applied twice.
                var (replica, back) = _unreturned[i];
                await StoreDeadline.RunAsync(token => book.ReturnAsync(back, replica, token).AsTask(), time, _stop, cancellationToken);
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
        var budgetGranted = false;
        var registered = _replica!;
        foreach (var want in counters.Holdings.TakeWants())
        {
            if (failed)
            {
                counters.Holdings.Failed(want);
                continue;
            }
            try
            {
                var granted = await StoreDeadline.RunAsync(token => book.LeaseAsync(want.Key, want.Limit, want.Amount, registered, token).AsTask(), time, cancellationToken);
                counters.Holdings.Granted(want, granted);
                budgetGranted |= granted > 0 && LeaseArithmetic.IsBudget(want.Key.Subject.Kind);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Unreachable: nothing granted; the next request that needs a slice asks again (and is told to retry).
                LogBookFailed(e, "leasing");
                counters.Holdings.Failed(want);
                failed = true;
            }
        }
        if (budgetGranted || time.GetElapsedTime(_lastBeat) >= HeartbeatInterval(counters.Holdings.Sizing))
        {
            await HeartbeatAsync(cancellationToken);
        }
        await ReclaimAsync(cancellationToken);
    }

    /// <summary>Registers this replica under a new id; its budget slices can be spent from once the book confirmed it.</summary>
    private async Task<bool> RegisterAsync(CancellationToken cancellationToken)
    {
        var replica = Guid.NewGuid().ToString("N");
        var sent = time.GetTimestamp();
        try
        {
            await StoreDeadline.RunAsync(token => book.RegisterAsync(replica, token).AsTask(), time, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The registration may have been made with only its answer lost: it holds nothing and expires.
            LogBookFailed(e, "registering");
            return false;
        }
        _replica = replica;
        _lastBeat = sent;
        counters.Holdings.Confirmed(sent);
        return true;
    }

    /// <summary>
    /// Tells the book this replica is alive and what it holds unspent of budgets (its slices, and what it gave back that
    /// the book has not taken yet); the book confirms, or says the registration expired: the book took the slices back,
    /// so this replica drops them and registers again.
    /// </summary>
    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        var replica = _replica!;
        var held = counters.Holdings.Unspent().ToList();
        foreach (var (from, back) in _unreturned)
        {
            if (from == replica && back.Unused > 0 && LeaseArithmetic.IsBudget(back.Key.Subject.Kind))
            {
                held.Add(new LeaseHeld(back.Key, back.Unused));
            }
        }
        var sent = _lastBeat = time.GetTimestamp();
        bool alive;
        try
        {
            alive = await StoreDeadline.RunAsync(token => book.HeartbeatAsync(replica, Merged(held), token).AsTask(), time, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogBookFailed(e, "beating");
            return;
        }
        if (alive)
        {
            counters.Holdings.Confirmed(sent);
            return;
        }
        LogFenced(replica, counters.Holdings.Sizing.Expiry.TotalSeconds);
        counters.Holdings.Fenced();
        _replica = null;
        await RegisterAsync(cancellationToken);
    }

    /// <summary>Gives back what replicas that stopped beating held (any replica may; the book does it once).</summary>
    private async Task ReclaimAsync(CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        if (_lastReclaim != 0 && time.GetElapsedTime(_lastReclaim, now) < _reclaimInterval)
        {
            return;
        }
        _lastReclaim = now;
        try
        {
            await StoreDeadline.RunAsync(token => book.ReclaimAsync(counters.Holdings.Sizing.Expiry, token).AsTask(), time, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogBookFailed(e, "reclaiming");
        }
    }

    /// <summary>One row per budget row (a slice and a return not taken yet may both be of one).</summary>
    private static List<LeaseHeld> Merged(List<LeaseHeld> held) =>
        held.GroupBy(h => h.Key).Select(g => new LeaseHeld(g.Key, g.Sum(h => h.Unspent))).ToList();

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

    [LoggerMessage(EventId = 5103, Level = LogLevel.Warning,
        Message = "The fleet's lease book took back this replica's budget slices (registration {Replica} not seen for {ExpirySeconds} s: frozen, or the book unreachable); it registers again and leases anew")]
    private partial void LogFenced(string replica, double expirySeconds);
}
