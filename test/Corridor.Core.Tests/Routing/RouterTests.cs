using Corridor.Core.Catalog;
using Corridor.Core.Routing;

namespace Corridor.Core.Tests.Routing;

public sealed class RouterTests
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly VendorConfig Vendor = new("v", VendorKind.OpenAI, "https://v.example/v1");
    private static readonly ModelConfig Model = new("m", "v", ModelCapabilities.Chat, 1000);

    private static DeploymentEntry Deployment(string id, decimal input, decimal output) =>
        new(new DeploymentConfig(id, "m", "sg", input, output), Model, Vendor);

    private static readonly DeploymentEntry A = Deployment("a", 3, 15);
    private static readonly DeploymentEntry B = Deployment("b", 1, 2);
    private static readonly DeploymentEntry C = Deployment("c", 2, 8);

    private readonly Dictionary<string, DeploymentHealth> _health = new()
    {
        ["a"] = new(3, TimeSpan.FromSeconds(30)),
        ["b"] = new(3, TimeSpan.FromSeconds(30)),
        ["c"] = new(3, TimeSpan.FromSeconds(30)),
    };

    private string[] Order(RoutingStrategy strategy, IReadOnlyDictionary<string, int>? weights = null, int seed = 1) =>
        [.. Router.Order([A, B, C], new ModelRouting(strategy, weights), d => _health[d.Id], Now, new Random(seed)).Select(d => d.Id)];

    [Fact]
    public void Priority_KeepsTheAllowedOrder()
    {
        Assert.Equal(["a", "b", "c"], Order(RoutingStrategy.Priority));
    }

    [Fact]
    public void LowestCost_PutsTheCheapestBlendedPriceFirst()
    {
        Assert.Equal(["b", "c", "a"], Order(RoutingStrategy.LowestCost));
    }

    [Fact]
    public void LowestLatency_TriesUnmeasuredFirst_ThenFastest()
    {
        _health["a"].RecordSuccess(TimeSpan.FromMilliseconds(300), Now);
        _health["c"].RecordSuccess(TimeSpan.FromMilliseconds(100), Now);

        Assert.Equal(["b", "c", "a"], Order(RoutingStrategy.LowestLatency));
    }

    [Fact]
    public void LowestLatency_FollowsRecentObservations()
    {
        var health = new DeploymentHealth(3, TimeSpan.FromSeconds(30));
        health.RecordSuccess(TimeSpan.FromMilliseconds(100), Now);
        health.RecordSuccess(TimeSpan.FromMilliseconds(500), Now.AddMinutes(10));

        Assert.True(health.LatencyMs > 450, $"old observations should have decayed, got {health.LatencyMs}");
    }

    [Fact]
    public void LowestLatency_TriesADeploymentMeasuredSlowAgain_SoOneThatRecoveredWinsItsTrafficBack()
    {
        // a was slow during an incident; it has recovered (50 ms) but only a request sent to it can tell.
        _health["a"].RecordSuccess(TimeSpan.FromMilliseconds(2000), Now);
        _health["b"].RecordSuccess(TimeSpan.FromMilliseconds(100), Now);
        _health["c"].RecordSuccess(TimeSpan.FromMilliseconds(150), Now);
        var latency = new Dictionary<string, double> { ["a"] = 50, ["b"] = 100, ["c"] = 150 };
        var firsts = new List<string>();
        for (var second = 1; second <= 600; second++)
        {
            var now = Now.AddSeconds(second);
            var first = Router.Order([A, B, C], new ModelRouting(RoutingStrategy.LowestLatency), d => _health[d.Id], now, new Random(second))[0];
            firsts.Add(first.Id);
            _health[first.Id].RecordSuccess(TimeSpan.FromMilliseconds(latency[first.Id]), now);
        }

        var lastMinute = firsts[^60..];
        Assert.True(lastMinute.Count(f => f == "a") >= 55, $"a was first {lastMinute.Count(f => f == "a")} times in the last minute");
        // Exploring costs little: a deployment not measured lately gets one request now and then, not a share of traffic.
        Assert.True(firsts.Count(f => f == "c") <= 10, $"c was first {firsts.Count(f => f == "c")} times");
    }

    [Fact]
    public void Weighted_DrawsTheFirstByWeight_AndKeepsTheRestAsFallbacks()
    {
        var weights = new Dictionary<string, int> { ["a"] = 0, ["b"] = 3, ["c"] = 1 };
        var firsts = Enumerable.Range(0, 4000).Select(seed => Order(RoutingStrategy.Weighted, weights, seed)).ToList();

        Assert.DoesNotContain(firsts, o => o[0] == "a");
        var shareOfB = firsts.Count(o => o[0] == "b") / 4000.0;
        Assert.InRange(shareOfB, 0.70, 0.80);
        Assert.All(firsts, o => Assert.Equal(3, o.Distinct().Count()));
    }

    [Fact]
    public void Weighted_WithTheDrawnDeploymentsBreakerOpen_DrawsAmongTheOthersByWeight_NeverADrainedOne()
    {
        // a is drained (weight 0); b, the heavy one, is failing. Its share must go to c, the only other one with weight,
        // not to a because a comes first in priority order.
        var weights = new Dictionary<string, int> { ["a"] = 0, ["b"] = 3, ["c"] = 1 };
        for (var i = 0; i < 3; i++)
        {
            _health["b"].RecordFailure(Now);
        }

        var firsts = Enumerable.Range(0, 1000).Select(seed => Order(RoutingStrategy.Weighted, weights, seed)).ToList();

        Assert.All(firsts, o => Assert.Equal(["c", "a", "b"], o));
    }

    [Fact]
    public void OpenBreaker_GoesLast_AndNothingIsAdded()
    {
        for (var i = 0; i < 3; i++)
        {
            _health["a"].RecordFailure(Now);
        }

        Assert.Equal(["b", "c", "a"], Order(RoutingStrategy.Priority));
    }

    [Fact]
    public void Breaker_OpensAfterThreshold_ThenLetsOneProbeThrough()
    {
        var health = new DeploymentHealth(2, TimeSpan.FromSeconds(30));
        health.RecordFailure(Now);
        Assert.True(health.TryEnter(Now));
        health.RecordFailure(Now);

        Assert.False(health.TryEnter(Now.AddSeconds(29)));
        Assert.True(health.TryEnter(Now.AddSeconds(31)));
        Assert.False(health.TryEnter(Now.AddSeconds(31)));

        health.RecordSuccess(TimeSpan.FromMilliseconds(50), Now.AddSeconds(32));
        Assert.True(health.TryEnter(Now.AddSeconds(32)));
        Assert.False(health.IsOpen(Now.AddSeconds(32)));
    }

    [Fact]
    public void TheCondition_FollowsTheBreaker_ClosedOpenHalfOpenProbingClosed()
    {
        var health = new DeploymentHealth(2, TimeSpan.FromSeconds(30));
        Assert.Equal(DeploymentCondition.Unobserved, health.Condition(Now));

        health.RecordFailure(Now);
        Assert.Equal((BreakerState.Closed, 1), (health.Condition(Now).State, health.Condition(Now).ConsecutiveFailures));
        health.RecordFailure(Now);
        Assert.Equal(new DeploymentCondition(BreakerState.Open, 2, Now.AddSeconds(30), false, null, null), health.Condition(Now.AddSeconds(29)));
        Assert.Equal(new DeploymentCondition(BreakerState.HalfOpen, 2, null, false, null, null), health.Condition(Now.AddSeconds(30)));
        Assert.True(health.TryEnter(Now.AddSeconds(31), out var probe));
        Assert.True(health.Condition(Now.AddSeconds(31)).Probing);

        health.RecordSuccess(probe, TimeSpan.FromMilliseconds(40), Now.AddSeconds(32));
        Assert.Equal(new DeploymentCondition(BreakerState.Closed, 0, null, false, 40, Now.AddSeconds(32)), health.Condition(Now.AddSeconds(33)));
    }

    [Fact]
    public void AProbeThatLearntNothing_IsGivenBack_SoTheNextRequestProbes()
    {
        var health = new DeploymentHealth(1, TimeSpan.FromSeconds(30));
        health.RecordFailure(Now);
        Assert.True(health.TryEnter(Now.AddSeconds(31), out var probe));
        Assert.NotEqual(0, probe.Id);
        Assert.False(health.TryEnter(Now.AddSeconds(31), out _));

        probe.Dispose();

        Assert.True(health.TryEnter(Now.AddSeconds(32), out var next));
        Assert.NotEqual(probe.Id, next.Id);
        // Only the probe's own holder gives it back: the first probe's end, again, does not free the second.
        probe.Dispose();
        Assert.False(health.TryEnter(Now.AddSeconds(32), out _));
        // Once a probe's outcome is recorded, ending it changes nothing.
        health.RecordFailure(Now.AddSeconds(33));
        next.Dispose();
        Assert.False(health.TryEnter(Now.AddSeconds(34), out _));
        Assert.True(health.TryEnter(Now.AddSeconds(64), out var third));
        health.RecordSuccess(TimeSpan.FromMilliseconds(5), Now.AddSeconds(64));
        third.Dispose();
        Assert.True(health.TryEnter(Now.AddSeconds(64), out var none));
        Assert.Equal(0, none.Id);
    }

    [Fact]
    public void AnOutcomeThatBeganBeforeTheBreakerOpened_DoesNotChangeIt()
    {
        var clock = new FakeClock(Now);
        var health = new DeploymentHealth(2, TimeSpan.FromSeconds(30));
        // A long stream is let through while the breaker is closed; two later requests fail and open it.
        Assert.True(health.TryEnter(clock.GetUtcNow(), out var longStream));
        for (var i = 0; i < 2; i++)
        {
            Assert.True(health.TryEnter(clock.GetUtcNow(), out var failing));
            health.RecordFailure(failing, clock.GetUtcNow());
        }
        Assert.True(health.IsOpen(clock.GetUtcNow()));

        // The stream ends well while the breaker is open: it does not close it.
        clock.Advance(TimeSpan.FromSeconds(10));
        health.RecordSuccess(longStream, TimeSpan.FromMilliseconds(100), clock.GetUtcNow());
        Assert.True(health.IsOpen(clock.GetUtcNow()));
        Assert.False(health.TryEnter(clock.GetUtcNow()));

        // Half-open: a stale success or failure arriving while the probe is out neither closes the breaker nor frees the probe.
        clock.Advance(TimeSpan.FromSeconds(25));
        Assert.True(health.TryEnter(clock.GetUtcNow(), out var probe));
        Assert.NotEqual(0, probe.Id);
        health.RecordSuccess(longStream, TimeSpan.FromMilliseconds(100), clock.GetUtcNow());
        health.RecordFailure(longStream, clock.GetUtcNow());
        Assert.False(health.TryEnter(clock.GetUtcNow()));
        Assert.True(health.IsOpen(clock.GetUtcNow()));

        // The probe's own outcome decides; then only requests let through after it count.
        health.RecordSuccess(probe, TimeSpan.FromMilliseconds(100), clock.GetUtcNow());
        Assert.False(health.IsOpen(clock.GetUtcNow()));
        Assert.True(health.TryEnter(clock.GetUtcNow(), out var afterClose));
        health.RecordFailure(longStream, clock.GetUtcNow());
        health.RecordFailure(afterClose, clock.GetUtcNow());
        Assert.False(health.IsOpen(clock.GetUtcNow()));
    }

    [Fact]
    public void RetryBudget_BoundsRetriesToAShareOfRequests()
    {
        var budget = new RetryBudget(ratio: 0.1, floor: 0, cap: 1000);
        for (var i = 0; i < 1000; i++)
        {
            budget.OnRequest();
        }
        var retries = 0;
        while (budget.TryRetry(Now))
        {
            retries++;
        }

        Assert.Equal(100, retries);
    }

    [Fact]
    public void RetryBudget_Floor_RefillsWithTime_WhateverTheTraffic()
    {
        // No deposits at all: only the floor of 10 retries in any 10 s.
        var budget = new RetryBudget(ratio: 0, floor: 10, cap: 100);
        var retries = 0;
        while (budget.TryRetry(Now))
        {
            retries++;
        }
        Assert.Equal(10, retries);

        // Spent in an outage: a retry comes back each second (half of one by 0.5 s), and a whole window refills no more than the floor.
        Assert.False(budget.TryRetry(Now.AddSeconds(0.5)));
        Assert.Equal(5, Drain(budget, Now.AddSeconds(5.5)));
        Assert.Equal(10, Drain(budget, Now.AddMinutes(10)));

        // The deposits are spent first and the reserve only after them.
        var deposited = new RetryBudget(ratio: 1, floor: 2, cap: 100);
        deposited.OnRequest();
        Assert.Equal(3, Drain(deposited, Now));
    }

    private static int Drain(RetryBudget budget, DateTimeOffset at)
    {
        var retries = 0;
        while (budget.TryRetry(at))
        {
            retries++;
        }
        return retries;
    }
}
