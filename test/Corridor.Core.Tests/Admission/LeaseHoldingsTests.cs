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
            if (Spend(replica, book, clock, Requests, 100m, 1m))
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
                Pump(replicas[random.Next(2)], book, clock);
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
        Assert.True(Spend(a, book, clock, Requests, 10m, 1m)); // a leases the whole minute and spends one
        var admittedByB = 0;
        while (admittedByB < 100 && Spend(b, book, clock, Requests, 10m, 1m))
        {
            admittedByB++;
        }
        Assert.Equal(0, admittedByB);

        clock.Advance(TimeSpan.FromSeconds(6));
        Pump(a, book, clock); // gives back 4 of its 9 unused: it keeps half a slice for its own next requests
        clock.Advance(TimeSpan.FromSeconds(1.1)); // past b's dry retry
        // b knows the book ran dry this minute: its first try is refused as over the limit, and asks the book again.
        Assert.Equal(LeaseAnswer.Exhausted, b.TrySpend(Requests, 10m, 1m, out _));
        Pump(b, book, clock);
        while (admittedByB < 100 && Spend(b, book, clock, Requests, 10m, 1m))
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
            replica.Granted(want, book.Lease(want.Key, want.Limit, want.Amount, "a"));
        }
        Assert.Equal(0m, replica.Held(Requests));
        Assert.Equal(LeaseAnswer.Wait, replica.TrySpend(Requests, 10m, 1m, out var second));
        Assert.Equal(first + 1, second);
    }

    [Fact]
    public void TheBook_NeverGrantsBeyondTheLimit_AndCountsSpendBeyondReservations()
    {
        var book = new MemoryLeaseBook();
        book.Register("a");
        var key = new LeaseKey(DayBudget, 1);
        Assert.Equal(6m, book.Lease(key, 10m, 6m, "a"));
        Assert.Equal(4m, book.Lease(key, 10m, 6m, "a"));
        Assert.Equal(0m, book.Lease(key, 10m, 1m, "a"));
        book.Return(new LeaseReturn(key, 3m), "a");
        Assert.Equal(7m, book.Taken(key));
        book.Return(new LeaseReturn(key, -1.5m), "a"); // settled beyond reservations
        Assert.Equal(8.5m, book.Taken(key));
        Assert.Equal(1.5m, book.Lease(key, 10m, 6m, "a"));
    }

    [Fact]
    public void AReturnSentAgain_AfterItsAnswerWasLost_IsAppliedOnce()
    {
        var book = new MemoryLeaseBook();
        book.Register("a");
        var key = new LeaseKey(DayBudget, 1);
        book.Lease(key, 10m, 8m, "a");
        var back = new LeaseReturn(key, 3m);

        book.Return(back, "a");
        book.Return(back, "a");
        book.Return(new LeaseReturn(key, 1m), "a");

        Assert.Equal(4m, book.Taken(key));
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
                Pump(replicas[random.Next(2)], book, clock);
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

    [Fact]
    public void SpendsOnFourThreads_WhileTheWorkerScansWithoutPause_AreEachCountedOnceInTheBook()
    {
        var clock = new FakeClock();
        var book = new MemoryLeaseBook();
        var replica = new LeaseHoldings(clock, new LeaseSizing());
        var subjects = Enumerable.Range(0, 64).Select(i => new LeaseSubject(LimitScope.Tenant, $"tenant_{i}", LeaseKind.DayBudget)).ToArray();
        const decimal limit = 2_000m; // slices of 200: leases, top-ups and idle give-backs all the while
        var spent = new decimal[4][];
        using var start = new Barrier(5);
        var done = 0;
        var scans = 0;

        // The lease worker, scanning, leasing and giving back as fast as it can; its clock runs on, so slices go idle.
        var worker = new Thread(() =>
        {
            start.SignalAndWait(TestTimeout);
            while (Volatile.Read(ref done) < spent.Length)
            {
                Pump(replica, book, clock);
                scans++;
                if (scans < 300_000)
                {
                    clock.Advance(TimeSpan.FromMilliseconds(100)); // within the day: 300,000 scans are 8 h 20 min
                }
            }
        });
        var spenders = Enumerable.Range(0, spent.Length).Select(thread => new Thread(() =>
        {
            var random = new Random(thread);
            var mine = spent[thread] = new decimal[subjects.Length];
            start.SignalAndWait(TestTimeout);
            for (var i = 0; i < 20_000; i++)
            {
                var at = random.Next(subjects.Length);
                LeaseAnswer answer;
                long period;
                while ((answer = replica.TrySpend(subjects[at], limit, 1m, out period)) == LeaseAnswer.Wait)
                {
                    Thread.Yield(); // as a request waits for its slice
                }
                if (answer != LeaseAnswer.Spent)
                {
                    continue;
                }
                mine[at] += 1m;
                // As settlement does: some requests were refused after all, some cost more than they reserved.
                var correction = random.Next(10) switch { 0 => -1m, 1 => 0.5m, _ => 0m };
                if (correction != 0)
                {
                    replica.Correct(subjects[at], period, correction);
                    mine[at] += correction;
                }
            }
            Interlocked.Increment(ref done);
        })).ToList();
        spenders.ForEach(s => s.Start());
        worker.Start();
        Assert.All(spenders, s => Assert.True(s.Join(TestTimeout)));
        Assert.True(worker.Join(TestTimeout));

        foreach (var back in replica.TakeReturns(all: true))
        {
            book.Return(back, LeaseWorkerSteps.Id(replica));
        }
        var day = LeasePeriods.Of(LeaseKind.DayBudget, clock.GetUtcNow());
        var total = 0m;
        for (var i = 0; i < subjects.Length; i++)
        {
            var expected = spent.Sum(thread => thread[i]);
            Assert.Equal(expected, book.Taken(new LeaseKey(subjects[i], day)));
            total += expected;
        }
        Assert.True(total > 60_000m, $"only {total} spent: the spenders were mostly refused");
        Assert.True(scans > 10, $"only {scans} scans ran alongside the spends");
    }

    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Tries once; when the replica holds too little and a lease is due, leases (as the worker would) and tries again.</summary>
    private static bool Spend(LeaseHoldings replica, MemoryLeaseBook book, TimeProvider clock, LeaseSubject subject, decimal limit, decimal units)
    {
        var answer = replica.TrySpend(subject, limit, units, out _);
        if (answer == LeaseAnswer.Wait)
        {
            Pump(replica, book, clock);
            answer = replica.TrySpend(subject, limit, units, out _);
        }
        Pump(replica, book, clock);
        return answer == LeaseAnswer.Spent;
    }

    private static void Pump(LeaseHoldings replica, MemoryLeaseBook book, TimeProvider clock) =>
        LeaseWorkerSteps.Pump(replica, book, LeaseWorkerSteps.Id(replica), clock);
}
