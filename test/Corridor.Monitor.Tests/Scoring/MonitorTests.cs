using Corridor.Monitor.Features;
using Corridor.Monitor.Scoring;

namespace Corridor.Monitor.Tests.Scoring;

internal sealed class RecordingSink : IMonitorSink
{
    public List<LevelChange> Changes { get; } = [];

    public List<(string Operation, Exception Exception)> Failures { get; } = [];

    public bool ThrowOnChange { get; init; }

    public void LevelChanged(LevelChange change)
    {
        Changes.Add(change);
        if (ThrowOnChange)
        {
            throw new InvalidOperationException("sink is broken");
        }
    }

    public void Failed(string operation, Exception exception) => Failures.Add((operation, exception));
}

public sealed class MonitorTests
{
    private static readonly double[] Temperatures = [0.2, 0.7, 1.0];

    internal static RequestFeatures Harvest(int i, string key = "key-h", string tenant = "tenant-h", DateTimeOffset? at = null, string ip = "203.0.113.10") =>
        TestRequests.Features(TestRequests.Chat($"{TestRequests.Task(i)}\n\nThink step by step and show all your reasoning in detail.", maxTokens: 8192, temperature: Temperatures[i % 3], n: i % 5 == 0 ? 4 : 1),
            at ?? TestRequests.Start.AddMinutes(10 * i), key, tenant, input: 90, output: 1800, ip: ip, userAgent: "harvester/1.0");

    internal static RequestFeatures Chat(int i, string key = "key-b", string tenant = "tenant-b", DateTimeOffset? at = null)
    {
        var history = i % 3 == 0 ? null : new List<(string, string)> { ("user", "where is my order?"), ("assistant", "It ships tomorrow.") };
        string[] asks = ["thanks!", "can I change the address?", "where is my order?", "ok"];
        return TestRequests.Features(TestRequests.Chat(asks[i % 4], system: "You are the support assistant of a shop. Be brief.", maxTokens: 300, temperature: 0.2, history: history),
            at ?? TestRequests.Start.AddHours(9).AddMinutes(7 * i), key, tenant, input: 350, output: 40, userAgent: "shop-app/2.1");
    }

    [Fact]
    public void AHarvester_IsFlagged_WithItsReasons_AndTheLevelChangesAreRaised()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions(), sink);
        for (var i = 0; i < 200; i++)
        {
            monitor.Observe(Harvest(i));
        }

        Assert.True(monitor.GetLevel(SubjectRef.Key("key-h")) >= EnforcementLevel.Flag);
        Assert.True(monitor.GetLevel(SubjectRef.Tenant("tenant-h")) >= EnforcementLevel.Flag);
        var decision = monitor.GetEnforcement("tenant-h", "key-h");
        Assert.True(decision.Level >= EnforcementLevel.Flag);
        Assert.NotNull(decision.Source);

        var report = monitor.Snapshot().Subjects.Single(s => s.Subject == SubjectRef.Key("key-h"));
        Assert.NotNull(report.FirstFlagAt);
        Assert.InRange(report.FirstFlagRequest, 1, 200);
        Assert.Contains(report.Reasons.Take(3), r => r.Signal == Signal.CotElicitation);
        Assert.Equal(report.PeakScore, report.Reasons.Sum(r => r.Contribution), 2);

        var changes = sink.Changes.Where(c => c.Subject == SubjectRef.Key("key-h")).ToList();
        Assert.Equal(EnforcementLevel.None, changes[0].From);
        Assert.All(changes, c => Assert.Equal(LevelChangeCause.Automatic, c.Cause));
        Assert.All(changes.Zip(changes.Skip(1)), p => Assert.Equal(p.First.To, p.Second.From));
    }

    [Fact]
    public void AConversationalApp_StaysUnflagged()
    {
        var monitor = new DistillationMonitor();
        for (var i = 0; i < 2000; i++)
        {
            monitor.Observe(Chat(i));
        }

        Assert.Equal(EnforcementLevel.None, monitor.GetEnforcement("tenant-b", "key-b").Level);
        Assert.DoesNotContain(monitor.Snapshot().Subjects, s => s.HighestLevel >= EnforcementLevel.Flag);
    }

    [Fact]
    public void OneHarvestingClient_OnALegitimateKey_StillShows()
    {
        var monitor = new DistillationMonitor();
        for (var i = 0; i < 600; i++)
        {
            // Three of the app's requests for each harvested one, on the same key.
            monitor.Observe(Chat(i, key: "key-shared", tenant: "tenant-s", at: TestRequests.Start.AddMinutes(5 * i)));
            if (i % 3 == 0)
            {
                monitor.Observe(Harvest(i, key: "key-shared", tenant: "tenant-s", at: TestRequests.Start.AddMinutes((5 * i) + 2)));
            }
        }

        Assert.True(monitor.GetLevel(SubjectRef.Key("key-shared")) >= EnforcementLevel.Flag);
    }

    [Fact]
    public void Pins_OverrideTheScores_BothWays_UntilRemoved()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions(), sink);
        var at = TestRequests.Start;
        Assert.True(monitor.Pin(SubjectRef.Key("key-h"), EnforcementLevel.None, "analyst@corridor", "known research partner", at));
        for (var i = 0; i < 200; i++)
        {
            monitor.Observe(Harvest(i));
        }

        Assert.Equal(EnforcementLevel.None, monitor.GetLevel(SubjectRef.Key("key-h")));
        Assert.True(monitor.Unpin(SubjectRef.Key("key-h"), "analyst@corridor", "partnership ended", at.AddDays(2)));
        Assert.True(monitor.GetLevel(SubjectRef.Key("key-h")) >= EnforcementLevel.Flag);

        Assert.True(monitor.Pin(SubjectRef.Key("key-b"), EnforcementLevel.Suspend, "analyst@corridor", "confirmed case", at));
        Assert.Equal(EnforcementLevel.Suspend, monitor.GetEnforcement("tenant-b", "key-b").Level);
        Assert.Contains(sink.Changes, c => c.Cause == LevelChangeCause.Pinned && c.To == EnforcementLevel.Suspend && c.Actor == "analyst@corridor");
        Assert.Contains(sink.Changes, c => c.Cause == LevelChangeCause.Unpinned && c.Subject == SubjectRef.Key("key-h"));
        Assert.False(monitor.Unpin(SubjectRef.Key("nobody"), "analyst", null, at));
    }

    [Fact]
    public void Failures_NeverReachTheCaller_AndAreCounted()
    {
        var sink = new RecordingSink { ThrowOnChange = true };
        var monitor = new DistillationMonitor(new MonitorOptions(), sink);
        for (var i = 0; i < 100; i++)
        {
            monitor.Observe(Harvest(i));
        }

        monitor.Observe(default(RequestFeatures));
        monitor.Observe(new RequestFeatures { KeyId = "k", TenantId = "t", TimestampMs = long.MinValue, Temperature = float.NaN });
        monitor.Observe(new RequestFeatures { KeyId = "k", TenantId = "t", TimestampMs = long.MaxValue, OutputTokens = -5, N = -3 });
        monitor.Observe(TestRequests.Metadata(TestRequests.Start, "k2", "t2"), TestRequests.Utf8("{broken"));

        var stats = monitor.Stats;
        Assert.True(stats.Failures > 0);
        Assert.Equal(stats.Failures, sink.Failures.Count);
        Assert.Equal(1, stats.Ignored);
    }

    [Fact]
    public void AFloodOfAMillionDistinctKeysAndPrompts_StaysWithinTheBounds()
    {
        var options = new MonitorOptions { MaxKeys = 2_000, MaxTenants = 1_000, MaxClients = 2_000, MaxPairs = 5_000, MaxFrames = 4_000, MaxSources = 4_000, MaxClusters = 100, MaxRecords = 500 };
        var monitor = new DistillationMonitor(options);
        var body = new byte[256];
        long peak = 0;
        for (var i = 0; i < 1_000_000; i++)
        {
            // Every request a new key and a new prompt; sources and agents from small pools so indexes fill up too.
            var features = new RequestFeatures
            {
                TimestampMs = TestRequests.Start.ToUnixTimeMilliseconds() + (i * 10L),
                KeyId = $"flood-key-{i}",
                TenantId = $"flood-tenant-{i / 3}",
                SourceNetworkHash = (ulong)(i % 5000) + 1,
                UserAgentHash = (ulong)(i % 7) + 1,
                ContentHash = (ulong)i * 0x9E3779B97F4A7C15UL,
                HeadHash = (ulong)(i % 50_000) + 1,
                TailHash = (ulong)(i % 3) + 1,
                SkeletonHash = (ulong)i + 1,
                InputTokens = 100,
                OutputTokens = 500,
                Status = 200,
                Temperature = 0.7f,
                Flags = RequestTraits.Served | RequestTraits.BodyRead,
                UserTurns = 1,
            };
            monitor.Observe(features);
            if (i % 100_000 == 99_999)
            {
                peak = Math.Max(peak, monitor.Stats.EstimatedBytes);
            }
        }

        var stats = monitor.Stats;
        Assert.Equal(1_000_000, stats.Observed);
        Assert.Equal(0, stats.Failures);
        Assert.True(stats.Keys <= options.MaxKeys);
        Assert.True(stats.Tenants <= options.MaxTenants);
        Assert.True(stats.Pairs <= options.MaxPairs);
        Assert.True(stats.Frames <= options.MaxFrames);
        Assert.True(stats.Sources <= 2 * options.MaxSources);
        Assert.True(stats.Clusters <= options.MaxClusters);
        Assert.True(stats.Records <= 2 * options.MaxRecords);
        Assert.True(stats.Evictions > 900_000);

        // The counted size is bounded by the capacities, not by the traffic: well under 64 MB for these capacities.
        Assert.True(peak < 64L * 1024 * 1024, $"estimated {peak} bytes");
        Assert.True(stats.EstimatedBytes <= peak * 1.1);
    }

    [Fact]
    public void TheDefaultCapacities_BoundMemoryToAFewHundredMegabytes()
    {
        var options = new MonitorOptions();
        long perSubject = SubjectState.SizeBytes;
        var subjects = (long)(options.MaxKeys + options.MaxTenants + options.MaxClients) * perSubject;
        var clusters = (options.MaxPairs * 96L) + ((options.MaxFrames + (2L * options.MaxSources)) * (64 + 48 + (64 * 16)));
        Assert.True(subjects + clusters < 512L * 1024 * 1024, $"{subjects + clusters} bytes");
    }
}
