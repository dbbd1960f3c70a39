using Corridor.Core.Admission;

namespace Corridor.Core.Tests.Admission;

/// <summary>
/// Budget slices held by a replica that stops beating (killed, frozen) come back to the book after the expiry
/// (docs/limits-and-budgets.md, "Several gateways"): two replicas, each with its own <see cref="LeaseHoldings"/>, on one
/// <see cref="MemoryLeaseBook"/> whose clock is the fake clock (the database's), the worker's steps done by hand.
/// </summary>
public sealed class LeaseExpiryTests
{
    private static readonly LeaseSubject Month = new(LimitScope.Tenant, "acme", LeaseKind.MonthBudget);
    private static readonly LeaseSizing Sizing = new();
    private readonly FakeClock _clock = new();
    private readonly MemoryLeaseBook _book;
    private readonly LeaseHoldings _a;
    private readonly LeaseHoldings _b;

    public LeaseExpiryTests()
    {
        _book = new MemoryLeaseBook(_clock);
        (_a, _b) = (new LeaseHoldings(_clock, Sizing), new LeaseHoldings(_clock, Sizing));
    }

    private LeaseKey MonthKey => new(Month, LeasePeriods.Of(LeaseKind.MonthBudget, _clock.GetUtcNow()));

    [Fact]
    public void AReplicaKilledHoldingSlices_LeavesTheWholeRemainingBudgetToTheOther_AfterTheExpiry()
    {
        Assert.Equal(12m, SpendUntilRefused(_a, "a", 12)); // a leased two slices of 10 and holds 8 of them unspent
        Assert.Equal(20m, _book.Taken(MonthKey));
        // a is killed: it beats no more. b spends all the book still has.
        Assert.Equal(80m, SpendUntilRefused(_b, "b"));

        Run(_b, "b", Sizing.Expiry - TimeSpan.FromSeconds(1));
        Assert.Equal(0m, SpendUntilRefused(_b, "b")); // within the expiry a's slices are still taken
        Run(_b, "b", TimeSpan.FromSeconds(2));

        Assert.Equal(8m, SpendUntilRefused(_b, "b"));
        Assert.Equal(100m, _book.Taken(MonthKey));
        GiveAllBack(_b, "b");
        Assert.Equal(100m, _book.Taken(MonthKey)); // exactly what was spent
    }

    [Fact]
    public void AFrozenReplicaThatThaws_IsFenced_SpendsNothingOfItsOldSlices_AndRegistersAgain()
    {
        Assert.Equal(3m, SpendUntilRefused(_a, "a", 3)); // a holds 7 of a slice of 10
        Assert.Equal(LeaseAnswer.Spent, _a.TrySpend(Month, 100m, 1m, out _));

        // a freezes. Half the expiry after its last confirmed heartbeat it stops spending on its own...
        _clock.Advance(Sizing.Fence);
        Assert.Equal(LeaseAnswer.Wait, _a.TrySpend(Month, 100m, 1m, out _));
        // ...and after the expiry b's worker gives its 6 unspent back (a's last report said 7: the spend after it counts twice).
        Run(_b, "b", Sizing.Expiry);
        Assert.Equal(3m, _book.Taken(MonthKey));

        // a thaws: its old slices stay unspent; its first heartbeat learns it was fenced.
        Assert.Equal(LeaseAnswer.Wait, _a.TrySpend(Month, 100m, 1m, out _));
        Assert.False(LeaseWorkerSteps.Beat(_a, _book, "a", _clock));
        _a.Fenced();
        Assert.Equal(0m, _a.Held(Month));
        LeaseWorkerSteps.Register(_a, _book, "a2", _clock);

        // It leases anew under its new registration.
        Assert.Equal(LeaseAnswer.Wait, _a.TrySpend(Month, 100m, 1m, out _));
        LeaseWorkerSteps.Pump(_a, _book, "a2", _clock);
        Assert.Equal(LeaseAnswer.Spent, _a.TrySpend(Month, 100m, 1m, out _));
        Assert.Equal(3m + 10m, _book.Taken(MonthKey));
        Assert.Equal(9m, _a.Held(Month));
        GiveAllBack(_a, "a2");
        // a spent 5; the book counts 4: the one spent after a's last report went back with its slices (the bound).
        Assert.Equal(4m, _book.Taken(MonthKey));
    }

    [Fact]
    public void AReturnThenAKill_IsNotGivenBackTwice()
    {
        Assert.Equal(2m, SpendUntilRefused(_a, "a", 2)); // a holds 8 of a slice of 10
        _clock.Advance(Sizing.IdleReturn);
        Assert.True(LeaseWorkerSteps.Beat(_a, _book, "a", _clock));
        Assert.Equal(8m, _book.Held("a", MonthKey));
        foreach (var back in _a.TakeReturns())
        {
            _book.Return(back, "a"); // idle: gives back all but half a slice
        }
        Assert.Equal(7m, _book.Taken(MonthKey));
        Assert.Equal(5m, _book.Held("a", MonthKey));

        // a is killed before its next heartbeat; after the expiry b's worker gives back what a held, once.
        Run(_b, "b", Sizing.Expiry + TimeSpan.FromSeconds(1));
        Assert.Equal(2m, _book.Taken(MonthKey));
        Assert.Equal(98m, SpendUntilRefused(_b, "b"));
        GiveAllBack(_b, "b");
        Assert.Equal(100m, _book.Taken(MonthKey));
    }

    [Fact]
    public void AReturnArrivingAfterItsReplicaWasReclaimed_GivesBackNothing_ButSpendBeyondReservationsStillCounts()
    {
        Assert.Equal(2m, SpendUntilRefused(_a, "a", 2));
        _a.Correct(Month, LeasePeriods.Of(LeaseKind.MonthBudget, _clock.GetUtcNow()), 9m); // settled 9 beyond its reservation
        var returns = _a.TakeReturns(all: true);
        Assert.Equal(-1m, Assert.Single(returns).Unused);
        var late = new LeaseReturn(MonthKey, 4m);

        // a stops beating; its returns reach the book only after b's worker reclaimed a's 8 reported unspent.
        Run(_b, "b", Sizing.Expiry + TimeSpan.FromSeconds(1));
        Assert.Equal(2m, _book.Taken(MonthKey));
        _book.Return(late, "a");
        _book.Return(returns[0], "a");

        Assert.Equal(3m, _book.Taken(MonthKey));
        Assert.False(_book.Heartbeat("a", []));
    }

    [Fact]
    public void ARegistrationThatBeats_IsNotReclaimed_AndAGrantCountsAsHeldAtOnce()
    {
        LeaseWorkerSteps.Register(_a, _book, "a", _clock);
        Assert.Equal(10m, _book.Lease(MonthKey, 100m, 10m, "a"));
        Assert.Equal(10m, _book.Held("a", MonthKey)); // a killed before its next heartbeat still has it counted
        Assert.Equal(0m, _book.Lease(MonthKey, 100m, 10m, "unknown")); // a replica the book does not know is granted nothing

        for (var i = 0; i < 30; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            Assert.True(_book.Heartbeat("a", [new LeaseHeld(MonthKey, 10m)]));
            _book.Reclaim(Sizing.Expiry);
        }
        Assert.Equal(10m, _book.Taken(MonthKey));

        _book.Leave("a"); // a graceful stop, after its returns
        _clock.Advance(Sizing.Expiry * 2);
        _book.Reclaim(Sizing.Expiry);
        Assert.Equal(10m, _book.Taken(MonthKey));
    }

    /// <summary>Spends 1 at a time (leasing as the worker does) until refused after a lease or <paramref name="most"/> spent; returns what was spent.</summary>
    private decimal SpendUntilRefused(LeaseHoldings replica, string id, int most = int.MaxValue)
    {
        var spent = 0m;
        while (spent < most)
        {
            var answer = replica.TrySpend(Month, 100m, 1m, out _);
            if (answer != LeaseAnswer.Spent)
            {
                // A lease is due (on a slice spent, or the book asked again after its dry retry): the worker runs.
                LeaseWorkerSteps.Pump(replica, _book, id, _clock);
                answer = replica.TrySpend(Month, 100m, 1m, out _);
            }
            if (answer != LeaseAnswer.Spent)
            {
                return spent;
            }
            spent++;
            LeaseWorkerSteps.Pump(replica, _book, id, _clock);
        }
        return spent;
    }

    /// <summary>Lets <paramref name="replica"/>'s worker run for <paramref name="span"/>: a heartbeat and a reclaim every second.</summary>
    private void Run(LeaseHoldings replica, string id, TimeSpan span)
    {
        for (var run = TimeSpan.Zero; run < span; run += TimeSpan.FromSeconds(1))
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            LeaseWorkerSteps.Pump(replica, _book, id, _clock);
            _book.Reclaim(Sizing.Expiry);
        }
    }

    private void GiveAllBack(LeaseHoldings replica, string id)
    {
        foreach (var back in replica.TakeReturns(all: true))
        {
            _book.Return(back, id);
        }
    }
}
