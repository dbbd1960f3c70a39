using Corridor.Core.Admission;

namespace Corridor.Core.Tests.Admission;

public sealed class LocalAdmissionCountersTests
{
    private readonly FakeClock _clock = new();
    private readonly LocalAdmissionCounters _counters;

    public LocalAdmissionCountersTests() => _counters = new LocalAdmissionCounters(_clock);

    private static AdmissionRequest Request(Limits? tenant = null, Limits? key = null, long tokens = 0, decimal cost = 0m, bool stream = false, double factor = 1.0, string keyId = "key_a", double share = 1.0) =>
        new("acme", tenant ?? Limits.None, keyId, key ?? Limits.None, tokens, cost, stream, factor, share);

    [Fact]
    public void RequestsPerMinute_RefusesTheRequestOverTheLimit_WithRetryAfterAndHeadersValues()
    {
        var limits = new Limits { RequestsPerMinute = 3 };
        for (var i = 0; i < 3; i++)
        {
            var ok = _counters.TryAdmit(Request(key: limits), out var ticket);
            Assert.True(ok.Admitted);
            Assert.Equal(3 - 1 - i, ok.Requests.Remaining);
            _counters.Settle(ref ticket, 0, 0m);
        }

        var refused = _counters.TryAdmit(Request(key: limits), out var none);

        Assert.Equal(AdmissionVerdict.RequestRateExceeded, refused.Verdict);
        Assert.Equal(LimitScope.Key, refused.Scope);
        Assert.Equal(TimeSpan.FromSeconds(20), refused.RetryAfter);
        Assert.Equal(new RateStatus(3, 0, TimeSpan.FromSeconds(60)), refused.Requests);
        Assert.False(none.IsHeld);

        _clock.Advance(TimeSpan.FromSeconds(20));
        Assert.True(_counters.TryAdmit(Request(key: limits), out _).Admitted);
    }

    [Fact]
    public void TheTenantsLimit_CountsEveryKeyOfTheTenant()
    {
        var tenant = new Limits { RequestsPerMinute = 2 };

        Assert.True(_counters.TryAdmit(Request(tenant, keyId: "key_a"), out _).Admitted);
        Assert.True(_counters.TryAdmit(Request(tenant, keyId: "key_b"), out _).Admitted);
        var refused = _counters.TryAdmit(Request(tenant, keyId: "key_c"), out _);

        Assert.Equal(AdmissionVerdict.RequestRateExceeded, refused.Verdict);
        Assert.Equal(LimitScope.Tenant, refused.Scope);
    }

    [Fact]
    public void ARefusedRequest_TakesNothingFromTheOtherSubjectsLimits()
    {
        var tenant = new Limits { RequestsPerMinute = 1 };
        var key = new Limits { DailyHardBudget = 1m };

        var refused = _counters.TryAdmit(Request(tenant, key, cost: 2m), out _);
        Assert.Equal(AdmissionVerdict.BudgetExhausted, refused.Verdict);
        Assert.Equal(LimitScope.Key, refused.Scope);

        Assert.True(_counters.TryAdmit(Request(tenant, key, cost: 0.5m), out _).Admitted);
        Assert.Equal(0.5m, _counters.Find(LimitScope.Tenant, "acme")!.Reserved);
    }

    [Fact]
    public void TokensPerMinute_ReserveUpFront_AndSettlementGivesBackWhatWasNotUsed()
    {
        var limits = new Limits { TokensPerMinute = 1000 };

        Assert.True(_counters.TryAdmit(Request(key: limits, tokens: 600), out var first).Admitted);
        var refused = _counters.TryAdmit(Request(key: limits, tokens: 600), out _);
        Assert.Equal(AdmissionVerdict.TokenRateExceeded, refused.Verdict);
        Assert.Equal(TimeSpan.FromSeconds(12), refused.RetryAfter);

        _counters.Settle(ref first, 100, 0m);

        var second = _counters.TryAdmit(Request(key: limits, tokens: 600), out _);
        Assert.True(second.Admitted);
        Assert.Equal(300, second.Tokens.Remaining);
    }

    [Fact]
    public void ATokenGiveBack_ReturnsWhatTheRequestTook_WhenTheLimitChangedWhileItRan()
    {
        var limits = new Limits { TokensPerMinute = 1000 };
        Assert.True(_counters.TryAdmit(Request(key: limits, tokens: 600), out var early).Admitted);
        // The monitor throttles the key to a quarter (250 a minute) while that request runs; this one fills the window.
        Assert.True(_counters.TryAdmit(Request(key: limits, tokens: 100, factor: 0.25), out _).Admitted);

        // The early request used 100 of its 600: the 500 it gives back are 30 s of the window as it took them (at 1000 a
        // minute), not 120 s at the throttled rate, which would empty the window of the throttled key's own take.
        _counters.Settle(ref early, 100, 0m);

        var throttled = _counters.TryAdmit(Request(key: limits, tokens: 200, factor: 0.25), out _);
        Assert.Equal(AdmissionVerdict.TokenRateExceeded, throttled.Verdict);
        Assert.Equal(TimeSpan.FromSeconds(18), throttled.RetryAfter);
    }

    [Fact]
    public void ARequestNeedingMoreTokensThanAWholeMinute_IsRefusedAsAboveTheLimit()
    {
        var refused = _counters.TryAdmit(Request(key: new Limits { TokensPerMinute = 1000 }, tokens: 1001), out _);

        Assert.Equal(AdmissionVerdict.TokensAboveLimit, refused.Verdict);
        Assert.Equal(TimeSpan.Zero, refused.RetryAfter);
    }

    [Fact]
    public void ABatchRequest_IsRefusedAtItsShareOfTheKeysRequestsPerMinute_WhileALiveOneIsAdmittedUpToTheLimit()
    {
        var limits = new Limits { RequestsPerMinute = 4 };
        Assert.True(_counters.TryAdmit(Request(key: limits, share: 0.5), out _).Admitted);
        Assert.True(_counters.TryAdmit(Request(key: limits, share: 0.5), out _).Admitted);

        var batch = _counters.TryAdmit(Request(key: limits, share: 0.5), out var none);
        Assert.Equal(AdmissionVerdict.RequestRateExceeded, batch.Verdict);
        Assert.Equal(LimitScope.Key, batch.Scope);
        // Two of four taken (30 s of the minute); a third would reach 45 s, 15 s past the share's 30 s.
        Assert.Equal(TimeSpan.FromSeconds(15), batch.RetryAfter);
        Assert.False(none.IsHeld);

        Assert.True(_counters.TryAdmit(Request(key: limits), out _).Admitted);
        Assert.True(_counters.TryAdmit(Request(key: limits), out _).Admitted);
        Assert.Equal(AdmissionVerdict.RequestRateExceeded, _counters.TryAdmit(Request(key: limits), out _).Verdict);

        // The live requests count for the batch too: 15 s on, three of four are held (45 s), so the batch's next request
        // (15 s more) waits until only one is (15 s, and its own makes 30 s): 30 s.
        _clock.Advance(TimeSpan.FromSeconds(15));
        var waiting = _counters.TryAdmit(Request(key: limits, share: 0.5), out _);
        Assert.Equal(TimeSpan.FromSeconds(30), waiting.RetryAfter);
        _clock.Advance(waiting.RetryAfter);
        Assert.True(_counters.TryAdmit(Request(key: limits, share: 0.5), out _).Admitted);
    }

    [Fact]
    public void ABatchRequest_IsRefusedAtItsShareOfTheTenantsRequestsPerMinute_AcrossItsKeys()
    {
        var tenant = new Limits { RequestsPerMinute = 4 };
        Assert.True(_counters.TryAdmit(Request(tenant, share: 0.5, keyId: "key_a"), out _).Admitted);
        Assert.True(_counters.TryAdmit(Request(tenant, share: 0.5, keyId: "key_b"), out _).Admitted);

        var batch = _counters.TryAdmit(Request(tenant, share: 0.5, keyId: "key_c"), out _);
        Assert.Equal(AdmissionVerdict.RequestRateExceeded, batch.Verdict);
        Assert.Equal(LimitScope.Tenant, batch.Scope);
        Assert.Equal(TimeSpan.FromSeconds(15), batch.RetryAfter);

        Assert.True(_counters.TryAdmit(Request(tenant, keyId: "key_c"), out _).Admitted);
        Assert.True(_counters.TryAdmit(Request(tenant, keyId: "key_a"), out _).Admitted);
    }

    [Fact]
    public void ABatchRequest_IsRefusedAtItsShareOfTokensPerMinute_OfTenantAndKey()
    {
        var limits = new Limits { TokensPerMinute = 1000 };
        Assert.True(_counters.TryAdmit(Request(tenant: limits, share: 0.5, tokens: 300), out _).Admitted);

        var tenant = _counters.TryAdmit(Request(tenant: limits, share: 0.5, tokens: 300), out _);
        Assert.Equal(AdmissionVerdict.TokenRateExceeded, tenant.Verdict);
        Assert.Equal(LimitScope.Tenant, tenant.Scope);
        // 300 of 1000 is 18 s of the minute; 600 would be 36 s, 6 s past the share's 30 s.
        Assert.Equal(TimeSpan.FromSeconds(6), tenant.RetryAfter);
        Assert.True(_counters.TryAdmit(Request(tenant: limits, share: 0.5, tokens: 200), out _).Admitted);
        Assert.True(_counters.TryAdmit(Request(tenant: limits, tokens: 500), out _).Admitted);

        Assert.True(_counters.TryAdmit(Request(key: limits, share: 0.5, tokens: 500, keyId: "key_b"), out _).Admitted);
        var key = _counters.TryAdmit(Request(key: limits, share: 0.5, tokens: 1, keyId: "key_b"), out _);
        Assert.Equal(AdmissionVerdict.TokenRateExceeded, key.Verdict);
        Assert.Equal(LimitScope.Key, key.Scope);
        Assert.True(_counters.TryAdmit(Request(key: limits, tokens: 500, keyId: "key_b"), out _).Admitted);
    }

    [Fact]
    public void ABatchRequestNeedingMoreTokensThanItsShareOfAWholeMinute_IsRefusedAsAboveTheLimit()
    {
        var limits = new Limits { TokensPerMinute = 1000 };

        var batch = _counters.TryAdmit(Request(key: limits, share: 0.5, tokens: 501), out _);
        Assert.Equal(AdmissionVerdict.TokensAboveLimit, batch.Verdict);
        Assert.Equal(TimeSpan.Zero, batch.RetryAfter);
        Assert.True(_counters.TryAdmit(Request(key: limits, tokens: 501), out _).Admitted);
    }

    [Fact]
    public void ABatchRequest_WithAShareOfOne_IsAdmittedAsALiveOne()
    {
        var limits = new Limits { RequestsPerMinute = 4, TokensPerMinute = 1000 };
        for (var i = 0; i < 4; i++)
        {
            Assert.True(_counters.TryAdmit(Request(key: limits, share: 1.0, tokens: 250), out _).Admitted);
        }

        var batch = _counters.TryAdmit(Request(key: limits, share: 1.0, tokens: 250), out _);
        Assert.Equal(AdmissionVerdict.RequestRateExceeded, batch.Verdict);
        Assert.Equal(TimeSpan.FromSeconds(15), batch.RetryAfter);
        Assert.Equal(AdmissionVerdict.TokensAboveLimit, _counters.TryAdmit(Request(key: new Limits { TokensPerMinute = 1000 }, share: 1.0, tokens: 1001, keyId: "key_b"), out _).Verdict);
    }

    [Fact]
    public void ConcurrentStreams_AreHeldUntilSettled()
    {
        var limits = new Limits { ConcurrentStreams = 2 };
        Assert.True(_counters.TryAdmit(Request(limits, stream: true), out var a).Admitted);
        Assert.True(_counters.TryAdmit(Request(limits, stream: true), out _).Admitted);
        Assert.True(_counters.TryAdmit(Request(limits, stream: false), out _).Admitted);

        Assert.Equal(AdmissionVerdict.ConcurrentStreamsExceeded, _counters.TryAdmit(Request(limits, stream: true), out _).Verdict);

        _counters.Settle(ref a, 0, 0m);
        Assert.True(_counters.TryAdmit(Request(limits, stream: true), out _).Admitted);
    }

    [Fact]
    public void AStreamOrBudgetRefusal_ShowsWhereTheRatesStand_TheTighterOfTenantAndKey()
    {
        var tenant = new Limits { RequestsPerMinute = 10, TokensPerMinute = 1000, ConcurrentStreams = 1 };
        var key = new Limits { RequestsPerMinute = 4, DailyHardBudget = 1m };
        Assert.True(_counters.TryAdmit(Request(tenant, key, tokens: 100, stream: true), out _).Admitted);

        var stream = _counters.TryAdmit(Request(tenant, key, tokens: 100, stream: true), out var none);
        var budget = _counters.TryAdmit(Request(tenant, key, tokens: 100, cost: 2m), out _);

        Assert.Equal(AdmissionVerdict.ConcurrentStreamsExceeded, stream.Verdict);
        Assert.False(none.IsHeld);
        Assert.Equal(new RateStatus(4, 3, TimeSpan.FromSeconds(15)), stream.Requests);
        Assert.Equal(new RateStatus(1000, 900, TimeSpan.FromSeconds(6)), stream.Tokens);
        Assert.Equal(AdmissionVerdict.BudgetExhausted, budget.Verdict);
        Assert.Equal(stream.Requests, budget.Requests);
        Assert.Equal(stream.Tokens, budget.Tokens);
    }

    [Fact]
    public void HardBudget_AdmitsOnlyWhileSpentPlusReservedPlusWorstCaseFits()
    {
        var limits = new Limits { DailyHardBudget = 1.00m };

        Assert.True(_counters.TryAdmit(Request(limits, cost: 0.40m), out var a).Admitted);
        Assert.True(_counters.TryAdmit(Request(limits, cost: 0.40m), out var b).Admitted);
        var refused = _counters.TryAdmit(Request(limits, cost: 0.40m), out _);
        Assert.Equal(AdmissionVerdict.BudgetExhausted, refused.Verdict);
        Assert.Equal(BudgetPeriod.Day, refused.Period);
        Assert.True(_counters.TryAdmit(Request(limits, cost: 0.20m), out var c).Admitted);

        _counters.Settle(ref a, 0, 0.10m);
        _counters.Settle(ref b, 0, 0.15m);
        _counters.Settle(ref c, 0, 0.05m);

        var usage = _counters.Find(LimitScope.Tenant, "acme")!;
        Assert.Equal(0.30m, usage.DaySpent);
        Assert.Equal(0.30m, usage.MonthSpent);
        Assert.Equal(0m, usage.Reserved);
        Assert.True(_counters.TryAdmit(Request(limits, cost: 0.70m), out _).Admitted);
        Assert.False(_counters.TryAdmit(Request(limits, cost: 0.01m), out _).Admitted);
    }

    [Fact]
    public void MonthlyBudget_OutlivesTheDay_DailyBudgetDoesNot()
    {
        var limits = new Limits { DailyHardBudget = 1m, MonthlyHardBudget = 1.5m };
        Assert.True(_counters.TryAdmit(Request(limits, cost: 1m), out var a).Admitted);
        _counters.Settle(ref a, 0, 1m);
        Assert.Equal(BudgetPeriod.Day, _counters.TryAdmit(Request(limits, cost: 0.5m), out _).Period);

        _clock.Advance(TimeSpan.FromDays(1));

        Assert.True(_counters.TryAdmit(Request(limits, cost: 0.5m), out var b).Admitted);
        _counters.Settle(ref b, 0, 0.5m);
        var refused = _counters.TryAdmit(Request(limits, cost: 0.01m), out _);
        Assert.Equal(AdmissionVerdict.BudgetExhausted, refused.Verdict);
        Assert.Equal(BudgetPeriod.Month, refused.Period);

        _clock.Advance(TimeSpan.FromDays(31));
        Assert.True(_counters.TryAdmit(Request(limits, cost: 1m), out _).Admitted);
    }

    [Fact]
    public void SettlingTwice_ChargesOnce()
    {
        Assert.True(_counters.TryAdmit(Request(stream: true, cost: 0.5m, key: new Limits { DailyHardBudget = 10m }), out var ticket).Admitted);

        _counters.Settle(ref ticket, 10, 0.25m);
        _counters.Settle(ref ticket, 10, 0.25m);

        var usage = _counters.Find(LimitScope.Key, "key_a")!;
        Assert.Equal(0.25m, usage.DaySpent);
        Assert.Equal(0m, usage.Reserved);
        Assert.Equal(0, usage.Streams);
    }

    [Fact]
    public void SoftBudget_AlertsOncePerPeriod()
    {
        var limits = new Limits { DailySoftBudget = 1m };
        var alerts = new List<BudgetAlerts>();
        for (var i = 0; i < 4; i++)
        {
            Assert.True(_counters.TryAdmit(Request(key: limits), out var ticket).Admitted);
            alerts.Add(_counters.Settle(ref ticket, 0, 0.4m));
        }

        Assert.Equal([BudgetAlerts.None, BudgetAlerts.None, BudgetAlerts.KeyDay, BudgetAlerts.None], alerts);
        Assert.Equal(_clock.GetUtcNow(), _counters.Find(LimitScope.Key, "key_a")!.DailySoftAlertAt);

        _clock.Advance(TimeSpan.FromDays(1));
        Assert.Null(_counters.Find(LimitScope.Key, "key_a")!.DailySoftAlertAt);
        Assert.True(_counters.TryAdmit(Request(key: limits), out var next).Admitted);
        Assert.Equal(BudgetAlerts.KeyDay, _counters.Settle(ref next, 0, 1m));
    }

    [Fact]
    public void LimitFactor_ScalesRateAndStreamLimitsButNotBudgets()
    {
        var limits = new Limits { RequestsPerMinute = 8, ConcurrentStreams = 4, DailyHardBudget = 1m };

        Assert.True(_counters.TryAdmit(Request(key: limits, factor: 0.25, stream: true, cost: 1m), out _).Admitted);
        var second = _counters.TryAdmit(Request(key: limits, factor: 0.25), out _);
        Assert.Equal(AdmissionVerdict.RequestRateExceeded, _counters.TryAdmit(Request(key: limits, factor: 0.25), out _).Verdict);
        Assert.True(second.Admitted);
        Assert.Equal(2, second.Requests.Limit);
        Assert.Equal(AdmissionVerdict.ConcurrentStreamsExceeded, _counters.TryAdmit(Request(key: limits, factor: 0.25, stream: true), out _).Verdict);
    }

    [Fact]
    public void Restore_AddsTodaysSpendToTheDayAndThisMonthsToTheMonth()
    {
        var today = DateOnly.FromDateTime(_clock.GetUtcNow().UtcDateTime);
        _counters.Restore(
        [
            new RecordedSpend("acme", "key_a", today, 0.5m),
            new RecordedSpend("acme", "key_b", today.AddDays(-1), 0.25m),
            new RecordedSpend("acme", null, today.AddMonths(-1), 9m),
        ]);

        var tenant = _counters.Find(LimitScope.Tenant, "acme")!;
        Assert.Equal(0.5m, tenant.DaySpent);
        Assert.Equal(0.75m, tenant.MonthSpent);
        Assert.Equal(0.5m, _counters.Find(LimitScope.Key, "key_a")!.DaySpent);
        Assert.Equal(AdmissionVerdict.BudgetExhausted, _counters.TryAdmit(Request(new Limits { MonthlyHardBudget = 1m }, cost: 0.3m), out _).Verdict);
    }
}
