using Corridor.Core.Admission;

namespace Corridor.Core.Tests.Admission;

/// <summary>
/// Two replicas' <see cref="FleetAdmissionCounters"/> on one lease book, pumped as the gateway's lease worker does, with a
/// fake clock that starts on a whole minute: the limits hold for the sum of both (docs/limits-and-budgets.md, "Several
/// gateways").
/// </summary>
public sealed class FleetAdmissionCountersTests
{
    private readonly FakeClock _clock = new();
    private readonly MemoryLeaseBook _book = new();

    private static AdmissionRequest Request(Limits? tenant = null, Limits? key = null, long tokens = 0, decimal cost = 0m, bool stream = false, string keyId = "key_a", double share = 1.0) =>
        new("acme", tenant ?? Limits.None, keyId, key ?? Limits.None, tokens, cost, stream, LimitShare: share);

    private FleetAdmissionCounters Replica(LeaseSizing? sizing = null) => new(_clock, sizing ?? new LeaseSizing());

    [Fact]
    public void TwoReplicas_AdmitTheTenantsRequestsPerMinuteOnceBetweenThem()
    {
        var replicas = new[] { Replica(), Replica() };
        var limits = new Limits { RequestsPerMinute = 20 };
        var verdicts = new List<AdmissionVerdict>();
        for (var i = 0; i < 100; i++)
        {
            var replica = replicas[i % 2];
            verdicts.Add(replica.TryAdmit(Request(limits, keyId: $"key_{i % 3}"), out var ticket).Verdict);
            replica.Settle(ref ticket, 0, 0m);
            Pump(replica);
            _clock.Advance(TimeSpan.FromMilliseconds(300)); // 100 requests in 30 s, one minute
        }

        Assert.Equal(20, verdicts.Count(v => v == AdmissionVerdict.Admitted));
        Assert.Contains(AdmissionVerdict.AllowancePending, verdicts);
        Assert.Equal(AdmissionVerdict.RequestRateExceeded, verdicts[^1]);
        Assert.Equal(20m, _book.Taken(new LeaseKey(new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.Requests), LeasePeriods.Minute(_clock.GetUtcNow()))));
    }

    [Fact]
    public void ARefusalForTheFleet_SaysWhenTheMinuteIsWholeAgain()
    {
        var replica = Replica();
        var limits = new Limits { RequestsPerMinute = 2 };
        Admit(replica, Request(key: limits));
        Admit(replica, Request(key: limits));
        Pump(replica);
        _clock.Advance(TimeSpan.FromSeconds(15));

        var refused = replica.TryAdmit(Request(key: limits), out var none);

        Assert.Equal(AdmissionVerdict.RequestRateExceeded, refused.Verdict);
        Assert.Equal(LimitScope.Key, refused.Scope);
        Assert.Equal(TimeSpan.FromSeconds(45), refused.RetryAfter);
        Assert.Equal(new RateStatus(2, 0, TimeSpan.FromSeconds(45)), refused.Requests);
        Assert.False(none.IsHeld);
    }

    [Fact]
    public void ABatchRequest_IsRefusedAtItsShareOfTheReplicasWindow_AndGivesBackWhatItTookOfTheSlices()
    {
        var replica = Replica();
        var limits = new Limits { RequestsPerMinute = 4 };
        Admit(replica, Request(key: limits, share: 0.5));
        Admit(replica, Request(key: limits, share: 0.5));
        Pump(replica);

        var batch = replica.TryAdmit(Request(key: limits, share: 0.5), out var none);

        Assert.Equal(AdmissionVerdict.RequestRateExceeded, batch.Verdict);
        Assert.Equal(TimeSpan.FromSeconds(15), batch.RetryAfter);
        Assert.False(none.IsHeld);
        // The live requests get the other half, the slice the refused batch request had spent from included.
        Admit(replica, Request(key: limits));
        Admit(replica, Request(key: limits));
        Pump(replica);
        Assert.Equal(AdmissionVerdict.RequestRateExceeded, replica.TryAdmit(Request(key: limits), out _).Verdict);
    }

    [Fact]
    public void AReplicaHoldingNoSlice_AsksItsWorkerAndSaysRetryInASecond_ThenAdmitsFromTheLease()
    {
        var replica = Replica();
        var limits = new Limits { RequestsPerMinute = 100 };

        var pending = replica.TryAdmit(Request(limits), out var none);

        Assert.Equal(AdmissionVerdict.AllowancePending, pending.Verdict);
        Assert.Equal(TimeSpan.FromSeconds(1), pending.RetryAfter);
        Assert.False(none.IsHeld);
        Assert.True(replica.WantsDue.Wait(0), "the worker was not woken");
        Pump(replica);
        Assert.Equal(AdmissionVerdict.Admitted, replica.TryAdmit(Request(limits), out _).Verdict);
        Assert.Equal(9m, replica.Holdings.Held(new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.Requests)));
    }

    [Fact]
    public void ASubjectBusyAtAMinutesEnd_IsAdmittedAtTheNextMinutesStartWithoutWaitingForALease()
    {
        var replica = Replica();
        var limits = new Limits { RequestsPerMinute = 60, TokensPerMinute = 10_000 };
        Admit(replica, Request(limits, tokens: 100));
        _clock.Advance(TimeSpan.FromSeconds(56));
        Admit(replica, Request(limits, tokens: 100));
        Pump(replica); // within the last 5 s: the next minute's slices are leased ahead

        _clock.Advance(TimeSpan.FromSeconds(4.5));

        Assert.Equal(AdmissionVerdict.Admitted, replica.TryAdmit(Request(limits, tokens: 100), out _).Verdict);
    }

    [Fact]
    public void ASubjectQuietForAWholeMinute_IsStillLeasedTheFollowingMinuteAhead()
    {
        var replica = Replica();
        var limits = new Limits { RequestsPerMinute = 60 };
        Admit(replica, Request(limits));
        _clock.Advance(TimeSpan.FromSeconds(10));
        Pump(replica);
        _clock.Advance(TimeSpan.FromSeconds(106)); // 1:56, the last seconds of the minute after the one it spent in
        Pump(replica);
        _clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(AdmissionVerdict.Admitted, replica.TryAdmit(Request(limits), out _).Verdict);
    }

    [Fact]
    public void AnIdleReplica_GivesBackAllButHalfASlice_SoAQuietTenantIsStillAdmittedAtOnce()
    {
        var (a, b) = (Replica(new LeaseSizing { SliceShare = 0.5 }), Replica(new LeaseSizing { SliceShare = 0.5 }));
        var limits = new Limits { RequestsPerMinute = 10 };
        var minute = new LeaseKey(new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.Requests), LeasePeriods.Minute(_clock.GetUtcNow()));
        Admit(a, Request(limits));
        Pump(a);
        Assert.Equal(5m, _book.Taken(minute)); // a holds a slice of 5, one request spent

        _clock.Advance(TimeSpan.FromSeconds(6));
        Pump(a);

        Assert.Equal(4m, _book.Taken(minute)); // one spent, three kept (half a slice of 5, rounded up), one given back
        Assert.Equal(AdmissionVerdict.Admitted, a.TryAdmit(Request(limits), out _).Verdict);
        var admittedByB = 0;
        for (var i = 0; i < 20; i++)
        {
            admittedByB += b.TryAdmit(Request(limits), out _).Admitted ? 1 : 0;
            Pump(b);
        }
        Assert.Equal(6, admittedByB);
    }

    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.0, 2)]
    [InlineData(0.25, 3)]
    [InlineData(0.25, 4)]
    public void TwoReplicasOnOneDailyBudget_CommitNoMoreThanIt_AndSpendBeyondOnlyWhatRequestsCostAboveTheirReservations(double underReservedShare, int seed)
    {
        var random = new Random(seed);
        var replicas = new[] { Replica(), Replica() };
        var tenant = new Limits { DailyHardBudget = 5m };
        var key = new Limits { MonthlyHardBudget = 4m };
        var inFlight = new List<(FleetAdmissionCounters Replica, AdmissionTicket Ticket)>();
        var (spent, excess) = (0m, 0m);
        var exhausted = 0;
        for (var i = 0; i < 4000; i++)
        {
            var replica = replicas[random.Next(2)];
            var verdict = replica.TryAdmit(Request(tenant, key, cost: 0.001m * random.Next(10, 200)), out var ticket);
            if (verdict.Admitted)
            {
                inFlight.Add((replica, ticket));
            }
            exhausted += verdict.Verdict == AdmissionVerdict.BudgetExhausted ? 1 : 0;
            if (inFlight.Count > 0 && random.Next(2) == 0)
            {
                var (owner, held) = inFlight[random.Next(inFlight.Count)];
                inFlight.Remove((owner, held));
                var actual = random.NextDouble() < underReservedShare ? held.ReservedCost * 1.5m : Math.Round(held.ReservedCost * (decimal)random.NextDouble(), 6);
                owner.Settle(ref held, 0, actual);
                spent += actual;
                excess += Math.Max(0m, actual - held.ReservedCost);
            }
            if (random.Next(3) == 0)
            {
                Pump(replicas[random.Next(2)]);
            }
            _clock.Advance(TimeSpan.FromMilliseconds(random.Next(1, 1500)));
            var committed = spent + inFlight.Sum(f => f.Ticket.ReservedCost);
            Assert.True(committed <= 4m + excess, $"committed {committed} above the key's 4 + {excess}");
        }
        Assert.True(exhausted > 0);
        Assert.True(spent > 3m, $"only {spent} of 4 spent");

        // Everything settled and given back: the book holds exactly what was spent.
        foreach (var (owner, held) in inFlight)
        {
            var ticket = held;
            owner.Settle(ref ticket, 0, 0m);
        }
        foreach (var replica in replicas)
        {
            foreach (var back in replica.Holdings.TakeReturns(all: true))
            {
                _book.Return(back, LeaseWorkerSteps.Id(replica.Holdings));
            }
        }
        var month = LeasePeriods.Of(LeaseKind.MonthBudget, _clock.GetUtcNow());
        Assert.Equal(spent, _book.Taken(new LeaseKey(new LeaseSubject(LimitScope.Key, "key_a", LeaseKind.MonthBudget), month)));
    }

    [Fact]
    public void ARequestTheLocalCountersRefuse_GivesBackWhatItTookFromTheFleetsSlices()
    {
        var replica = Replica();
        var limits = new Limits { RequestsPerMinute = 100, ConcurrentStreams = 1, DailyHardBudget = 10m };
        var requests = new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.Requests);
        var budget = new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.DayBudget);
        var stream = Admit(replica, Request(limits, cost: 0.5m, stream: true));
        var (heldRequests, heldBudget) = (replica.Holdings.Held(requests), replica.Holdings.Held(budget));

        var refused = replica.TryAdmit(Request(limits, cost: 0.5m, stream: true), out _);

        Assert.Equal(AdmissionVerdict.ConcurrentStreamsExceeded, refused.Verdict);
        Assert.Equal(heldRequests, replica.Holdings.Held(requests));
        Assert.Equal(heldBudget, replica.Holdings.Held(budget));

        replica.Settle(ref stream, 0, 0.2m);
        Assert.Equal(heldBudget + 0.3m, replica.Holdings.Held(budget));
    }

    [Fact]
    public void AReplicaLackingSeveralSlices_AsksForThemAllAtOnce_AndTakesNothingMeanwhile()
    {
        var replica = Replica();
        var tenant = new Limits { RequestsPerMinute = 100, TokensPerMinute = 10_000 };
        var key = new Limits { DailyHardBudget = 10m };

        var pending = replica.TryAdmit(Request(tenant, key, tokens: 100, cost: 0.5m), out var none);

        Assert.Equal(AdmissionVerdict.AllowancePending, pending.Verdict);
        Assert.Equal(LimitScope.Tenant, pending.Scope);
        Assert.False(none.IsHeld);
        Assert.Equal(
            [(LimitScope.Tenant, LeaseKind.Requests), (LimitScope.Tenant, LeaseKind.Tokens), (LimitScope.Key, LeaseKind.DayBudget)],
            replica.Holdings.TakeWants().Select(w => (w.Key.Subject.Scope, w.Key.Subject.Kind)).Order());
    }

    [Fact]
    public void ARefusalForGood_OutranksASliceOnItsWay()
    {
        var replica = Replica();
        var key = new Limits { DailyHardBudget = 1m };
        // The key's day budget runs dry on this replica: the book grants 1 of the 2 asked.
        Assert.Equal(AdmissionVerdict.AllowancePending, replica.TryAdmit(Request(key: key, cost: 2m), out _).Verdict);
        Pump(replica);

        // The tenant's first request here waits for a slice, but the key's budget refuses it for good.
        var refused = replica.TryAdmit(Request(new Limits { RequestsPerMinute = 100 }, key, cost: 2m), out var none);

        Assert.Equal(AdmissionVerdict.BudgetExhausted, refused.Verdict);
        Assert.Equal(LimitScope.Key, refused.Scope);
        Assert.Equal(BudgetPeriod.Day, refused.Period);
        Assert.False(none.IsHeld);
        Assert.Equal(LeaseKind.Requests, Assert.Single(replica.Holdings.TakeWants()).Key.Subject.Kind);
    }

    [Fact]
    public void ARefusalForGood_OfTheTenant_TakesNothingFromTheKeysSlices()
    {
        var replica = Replica();
        var (tenant, key) = (new Limits { DailyHardBudget = 1m }, new Limits { RequestsPerMinute = 100 });
        Admit(replica, Request(tenant, key, cost: 1m));
        Pump(replica); // the top-up of the tenant's budget finds it spent: dry
        var requests = new LeaseSubject(LimitScope.Key, "key_a", LeaseKind.Requests);
        var held = replica.Holdings.Held(requests);

        var refused = replica.TryAdmit(Request(tenant, key, cost: 1m), out _);

        Assert.Equal(AdmissionVerdict.BudgetExhausted, refused.Verdict);
        Assert.Equal(LimitScope.Tenant, refused.Scope);
        Assert.Equal(held, replica.Holdings.Held(requests));
        Assert.Empty(replica.Holdings.TakeWants());
    }

    [Fact]
    public void TokensUsedBeyondTheEstimate_AreChargedToTheFleetsMinute()
    {
        var replica = Replica();
        var limits = new Limits { TokensPerMinute = 1000 };
        var tokens = new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.Tokens);
        var ticket = Admit(replica, Request(limits, tokens: 100));
        var held = replica.Holdings.Held(tokens);

        replica.Settle(ref ticket, 130, 0m);

        Assert.Equal(held - 30m, replica.Holdings.Held(tokens));
        Assert.False(ticket.IsHeld);
    }

    [Fact]
    public void TheLedgersSpend_SeedsTheBooksRowsOfTodayAndThisMonth()
    {
        var replica = Replica();
        var today = DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime);
        replica.Restore([
            new RecordedSpend("acme", "key_a", today, 1.5m),
            new RecordedSpend("acme", null, today, 0.5m),
            new RecordedSpend("acme", "key_a", today.AddDays(-1), 2m),
            new RecordedSpend("acme", "key_a", today.AddMonths(-1), 9m),
        ]);

        var seeds = replica.TakeSeeds().ToDictionary(s => (s.Key.Subject.Scope, s.Key.Subject.Kind), s => s.Value);

        Assert.Equal(2m, seeds[(LimitScope.Tenant, LeaseKind.DayBudget)]);
        Assert.Equal(1.5m, seeds[(LimitScope.Key, LeaseKind.DayBudget)]);
        Assert.Equal(4m, seeds[(LimitScope.Tenant, LeaseKind.MonthBudget)]);
        Assert.Equal(3.5m, seeds[(LimitScope.Key, LeaseKind.MonthBudget)]);
        Assert.Empty(replica.TakeSeeds());
        Assert.Equal(4m, replica.Find(LimitScope.Tenant, "acme")!.MonthSpent);
    }

    /// <summary>Admits, pumping the replica's leases once if it had to ask for a slice.</summary>
    private AdmissionTicket Admit(FleetAdmissionCounters replica, AdmissionRequest request)
    {
        var result = replica.TryAdmit(request, out var ticket);
        if (result.Verdict == AdmissionVerdict.AllowancePending)
        {
            Pump(replica);
            result = replica.TryAdmit(request, out ticket);
        }
        Assert.Equal(AdmissionVerdict.Admitted, result.Verdict);
        return ticket;
    }

    /// <summary>What the gateway's lease worker does at each wake.</summary>
    private void Pump(FleetAdmissionCounters replica) =>
        LeaseWorkerSteps.Pump(replica.Holdings, _book, LeaseWorkerSteps.Id(replica.Holdings), _clock);
}
