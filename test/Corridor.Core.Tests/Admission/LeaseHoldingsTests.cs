using Corridor.Core.Admission;

namespace Corridor.Core.Tests.Admission;

/// <summary>
/// Two replicas, each with its own <see cref="LeaseHoldings"/>, share one lease book. The bound
/// (docs/limits-and-budgets.md, "Several replicas"): in a UTC minute the fleet admits at most the limit; a hard budget's
/// spend exceeds it only by what settled requests cost beyond their reservations.
/// </summary>
public sealed class LeaseHoldingsTests
{
    private static readonly LeaseSubject Requests = new(LimitScope.Tenant, "acme", LeaseKind.Requests);
    private static readonly LeaseSubject DayBudget = new(LimitScope.Tenant, "acme", LeaseKind.DayBudget);

    [Fact]
    public void TwoReplicasUnderSustainedDemand_AdmitExactlyTheLimitInAMinute()
    {
        var clock = new FakeClock();
        var book = new MemoryLeaseBook();
        var replicas = new[] { new LeaseHoldings(clock, new LeaseSizing()), new LeaseHoldings(clock, new LeaseSizing()) };
        var admitted = 0;
        for (var i = 0; i < 1000; i++)
        {
            var replica = replicas[i % 2];
            if (Spend(replica, book, Requests, 100m, 1m))
            {
                admitted++;
            }
            clock.Advance(TimeSpan.FromMilliseconds(50)); // 1000 attempts in 50 s: one minute
        }
        Assert.Equal(100, admitted);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void TwoReplicasWithLeasesArrivingLate_NeverAdmitMoreThanTheLimitInAnyMinute(int seed)
    {
        var clock = new FakeClock();
        var book = new MemoryLeaseBook();
        var random = new Random(seed);
        var replicas = new[] { new LeaseHoldings(clock, new LeaseSizing()), new LeaseHoldings(clock, new LeaseSizing()) };
        var perMinute = new Dictionary<long, int>();
        for (var i = 0; i < 20_000; i++)
        {
            var replica = replicas[random.Next(2)];
            if (replica.TrySpend(Requests, 60m, 1m, out var period) == LeaseAnswer.Spent)
            {
                perMinute[period] = perMinute.GetValueOrDefault(period) + 1;
            }
            // The background worker runs now and then, for one replica at a time: leases arrive late and out of turn.
            if (random.Next(5) == 0)
            {
                Pump(replicas[random.Next(2)], book);
            }
            clock.Advance(TimeSpan.FromMilliseconds(random.Next(1, 40)));
        }
        Assert.True(perMinute.Count > 5);
        Assert.All(perMinute.Values, count => Assert.InRange(count, 0, 60));
    }

    [Fact]
    public void AnIdleReplica_GivesItsSliceBackForTheOtherToSpend()
    {
        var clock = new FakeClock();
        var book = new MemoryLeaseBook();
        var sizing = new LeaseSizing { SliceShare = 1.0, IdleReturn = TimeSpan.FromSeconds(5) };
        var (a, b) = (new LeaseHoldings(clock, sizing), new LeaseHoldings(clock, sizing));
        Assert.True(Spend(a, book, Requests, 10m, 1m)); // a leases the whole minute and spends one
        var admittedByB = 0;
        while (admittedByB < 100 && Spend(b, book, Requests, 10m, 1m))
        {
            admittedByB++;
        }
        Assert.Equal(0, admittedByB);

        clock.Advance(TimeSpan.FromSeconds(6));
        Pump(a, book); // gives back 4 of its 9 unused: it keeps half a slice for its own next requests
        clock.Advance(TimeSpan.FromSeconds(1.1)); // past b's dry retry
        // b knows the book ran dry this minute: its first try is refused as over the limit, and asks the book again.
        Assert.Equal(LeaseAnswer.Exhausted, b.TrySpend(Requests, 10m, 1m, out _));
        Pump(b, book);
        while (admittedByB < 100 && Spend(b, book, Requests, 10m, 1m))
        {
            admittedByB++;
        }
        Assert.Equal(4, admittedByB);
        Assert.Equal(LeaseAnswer.Spent, a.TrySpend(Requests, 10m, 1m, out _));
    }

    [Fact]
    public void ALeaseArrivingAfterItsMinute_IsNotSpentInTheNext()
    {
        var clock = new FakeClock();
        var book = new MemoryLeaseBook();
        var replica = new LeaseHoldings(clock, new LeaseSizing());
        Assert.Equal(LeaseAnswer.Wait, replica.TrySpend(Requests, 10m, 1m, out var first));
        var wants = replica.TakeWants();
        clock.Advance(TimeSpan.FromMinutes(1));
        foreach (var want in wants)
        {
            replica.Granted(want, book.Lease(want.Key, want.Limit, want.Amount));
        }
        Assert.Equal(0m, replica.Held(Requests));
        Assert.Equal(LeaseAnswer.Wait, replica.TrySpend(Requests, 10m, 1m, out var second));
        Assert.Equal(first + 1, second);
    }

    [Fact]
    public void TheBook_NeverGrantsBeyondTheLimit_AndCountsSpendBeyondReservations()
    {
        var book = new MemoryLeaseBook();
        var key = new LeaseKey(DayBudget, 1);
        Assert.Equal(6m, book.Lease(key, 10m, 6m));
        Assert.Equal(4m, book.Lease(key, 10m, 6m));
        Assert.Equal(0m, book.Lease(key, 10m, 1m));
        book.Return(key, 3m);
        Assert.Equal(7m, book.Taken(key));
        book.Return(key, -1.5m); // settled beyond reservations
        Assert.Equal(8.5m, book.Taken(key));
        Assert.Equal(1.5m, book.Lease(key, 10m, 6m));
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.0, 2)]
    [InlineData(0.2, 3)]
    [InlineData(0.2, 4)]
    public void TwoReplicasSpendingOneHardBudget_OvershootByNoMoreThanTheExcessOverReservations(double underReservedShare, int seed)
    {
        var clock = new FakeClock();
        var book = new MemoryLeaseBook();
        var random = new Random(seed);
        var replicas = new[] { new LeaseHoldings(clock, new LeaseSizing()), new LeaseHoldings(clock, new LeaseSizing()) };
        var inFlight = new List<(LeaseHoldings Replica, long Period, decimal Reserved)>();
        var spent = 0m;
        var excess = 0m;
        var budget = 10m;
        for (var i = 0; i < 5000; i++)
        {
            var replica = replicas[random.Next(2)];
            var worstCase = 0.001m * random.Next(10, 300);
            if (replica.TrySpend(DayBudget, budget, worstCase, out var period) == LeaseAnswer.Spent)
            {
                inFlight.Add((replica, period, worstCase));
            }
            if (inFlight.Count > 0 && random.Next(2) == 0)
            {
                var settled = inFlight[random.Next(inFlight.Count)];
                inFlight.Remove(settled);
                var actual = random.NextDouble() < underReservedShare ? settled.Reserved * 1.5m : settled.Reserved * (decimal)random.NextDouble();
                settled.Replica.Correct(DayBudget, settled.Period, actual - settled.Reserved);
                spent += actual;
                excess += Math.Max(0m, actual - settled.Reserved);
            }
            if (random.Next(4) == 0)
            {
                Pump(replicas[random.Next(2)], book);
            }
            clock.Advance(TimeSpan.FromMilliseconds(random.Next(1, 2000)));
            Assert.True(spent + inFlight.Sum(f => f.Reserved) <= budget + excess,
                $"committed {spent + inFlight.Sum(f => f.Reserved)} above {budget} + {excess}");
        }
        Assert.True(spent > budget * 0.9m, $"only {spent} of {budget} spent");
        if (underReservedShare == 0)
        {
            Assert.True(spent <= budget);
        }
    }

    /// <summary>Tries once; when the replica holds too little and a lease is due, leases (as the worker would) and tries again.</summary>
    private static bool Spend(LeaseHoldings replica, MemoryLeaseBook book, LeaseSubject subject, decimal limit, decimal units)
    {
        var answer = replica.TrySpend(subject, limit, units, out _);
        if (answer == LeaseAnswer.Wait)
        {
            Pump(replica, book);
            answer = replica.TrySpend(subject, limit, units, out _);
        }
        Pump(replica, book);
        return answer == LeaseAnswer.Spent;
    }

    /// <summary>What the background worker does: give back what is due, carry the wants to the book, report the grants.</summary>
    private static void Pump(LeaseHoldings replica, MemoryLeaseBook book)
    {
        foreach (var back in replica.TakeReturns())
        {
            book.Return(back.Key, back.Unused);
        }
        foreach (var want in replica.TakeWants())
        {
            replica.Granted(want, book.Lease(want.Key, want.Limit, want.Amount));
        }
    }
}
