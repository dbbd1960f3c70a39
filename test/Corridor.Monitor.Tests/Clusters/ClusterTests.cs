using Corridor.Monitor.Scoring;
using Corridor.Monitor.Tests.Scoring;

namespace Corridor.Monitor.Tests.Clusters;

public sealed class ClusterTests
{
    [Fact]
    public void LightAccountsSharingATemplateAndACadence_AreOneCluster_ScoredAsOne()
    {
        var monitor = new DistillationMonitor();
        SendSplitHarvest(monitor);
        monitor.Flush();
        var cluster = monitor.Snapshot().Clusters.OrderByDescending(c => c.Members.Count).First();
        Assert.True(cluster.HighestLevel >= EnforcementLevel.Flag);
        Assert.Equal(6, cluster.Members.Count(m => m.Kind == SubjectKind.Key));
        Assert.Equal(6, cluster.Members.Count(m => m.Kind == SubjectKind.Tenant));
        Assert.Contains(cluster.Reasons, r => r.Signal is Signal.SharedTemplate or Signal.SynchronisedCadence);
        Assert.True(monitor.GetEnforcement("tenant-light-3", "key-light-3").Level >= EnforcementLevel.Flag);
    }

    /// <summary>One scheduler, six accounts in six tenants: each slot two or three of them send within a few seconds.</summary>
    internal static void SendSplitHarvest(DistillationMonitor monitor) => SendSplitHarvest(monitor, 0, 400, 6);

    /// <summary>Slots <paramref name="from"/> to <paramref name="to"/> (15 minutes each) of the split harvest, by its first <paramref name="accounts"/> accounts.</summary>
    internal static void SendSplitHarvest(DistillationMonitor monitor, int from, int to, int accounts)
    {
        var random = new Random(2 + from);
        var task = from * 6;
        for (var slot = from; slot < to; slot++)
        {
            var at = TestRequests.Start.AddMinutes(15 * slot);
            for (var account = 0; account < accounts; account++)
            {
                if ((slot + account) % 3 == 0 || random.NextDouble() < 0.15)
                {
                    monitor.Observe(MonitorTests.Harvest(task++, $"key-light-{account}", $"tenant-light-{account}", at.AddSeconds(random.Next(0, 6)), ip: $"198.51.{100 + account}.9"));
                }
            }
        }
    }

    /// <summary>
    /// What the gateway stores from the monitor's automatic changes: one row per subject with its level and members,
    /// gone when its level goes to none.
    /// </summary>
    internal static Dictionary<SubjectRef, (EnforcementLevel Level, string Members)> Stored(RecordingSink sink)
    {
        var rows = new Dictionary<SubjectRef, (EnforcementLevel, string)>();
        foreach (var change in sink.Changes.Where(c => c.Cause == LevelChangeCause.Automatic))
        {
            if (change.To == EnforcementLevel.None)
            {
                rows.Remove(change.Subject);
            }
            else
            {
                rows[change.Subject] = (change.To, string.Join(' ', change.Members));
            }
        }

        return rows;
    }

    /// <summary>The clusters whose level is in force, as the monitor enforces them.</summary>
    private static Dictionary<SubjectRef, (EnforcementLevel Level, string Members)> InForce(DistillationMonitor monitor) =>
        monitor.Snapshot().Clusters.Where(c => c.Active && c.CurrentLevel > EnforcementLevel.None)
            .ToDictionary(c => SubjectRef.Cluster(c.Id), c => (c.CurrentLevel, string.Join(' ', c.Members)));

    [Fact]
    public void AClusterThatGrows_IsStoredAsItsNewVersion_AndItsPredecessorNoLongerAtItsLevel()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions(), sink);
        SendSplitHarvest(monitor, 0, 400, 5);
        monitor.Flush();
        var first = Assert.Single(InForce(monitor));
        Assert.Equal(first, Assert.Single(Stored(sink), r => r.Key.Kind == SubjectKind.Cluster));

        // A sixth account joins the scheduler: the group is a new version, holding the level of the one it grew from.
        SendSplitHarvest(monitor, 400, 800, 6);
        monitor.Flush();
        var grown = Assert.Single(InForce(monitor));
        Assert.NotEqual(first.Key, grown.Key);
        Assert.Contains("key:key-light-5", grown.Value.Members, StringComparison.Ordinal);
        Assert.Equal(EnforcementLevel.None, monitor.Snapshot().Clusters.Single(c => c.Id == first.Key.Id).CurrentLevel);

        // The store has what is enforced: the new version with its six accounts, and no longer the five-account predecessor.
        Assert.Equal(InForce(monitor), Stored(sink).Where(r => r.Key.Kind == SubjectKind.Cluster).ToDictionary());
    }

    [Fact]
    public void AClusterNoLongerLinked_KeepsItsLevel_AndCoolsOffThroughTheHysteresis()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions { MaxKeys = 16, DownDwell = TimeSpan.FromHours(1) }, sink);
        SendSplitHarvest(monitor);
        monitor.Flush();
        var (cluster, (reached, _)) = Assert.Single(InForce(monitor));
        Assert.True(reached >= EnforcementLevel.Flag);

        // Ordinary traffic from many other keys evicts the harvesters' behaviour state: nothing links them any more.
        var end = TestRequests.Start.AddMinutes(15 * 400);
        for (var i = 0; i < 40; i++)
        {
            monitor.Observe(MonitorTests.Chat(i, $"key-shop-{i}", $"tenant-shop-{i}", end.AddSeconds(i)));
        }

        monitor.Flush();
        Assert.DoesNotContain(monitor.Snapshot().Clusters, c => c.Active && c.Id != cluster.Id && c.CurrentLevel > EnforcementLevel.None);

        // Unlinked, the cluster keeps its level for now, as a subject's does when its score falls...
        Assert.Equal(reached, monitor.Standing(cluster)!.Automatic);
        Assert.Contains(monitor.Snapshot().Clusters, c => c.Id == cluster.Id && c.Active && c.CurrentLevel == reached);
        Assert.Equal(InForce(monitor), Stored(sink).Where(r => r.Key.Kind == SubjectKind.Cluster).ToDictionary());

        // ...and steps down one level per dwell, each step stored, until it applies to no one.
        for (var hour = 1; hour <= 24; hour++)
        {
            monitor.Tick(end.AddHours(hour));
        }

        Assert.Equal(EnforcementLevel.None, monitor.Standing(cluster)!.Automatic);
        var steps = sink.Changes.Where(c => c.Subject == cluster && c.To < c.From).ToList();
        Assert.Equal((int)reached, steps.Count);
        Assert.All(steps, s => Assert.Equal(s.From - 1, s.To));
        Assert.DoesNotContain(Stored(sink), r => r.Key == cluster);
        Assert.NotEqual(cluster, monitor.GetEnforcement("tenant-light-0", "key-light-0").Source);
    }

    [Fact]
    public void AClusterWhoseMembersChange_AtTheSameLevel_IsStoredWithItsNewMembers()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions(), sink);
        SendSplitHarvest(monitor);
        monitor.Flush();
        var before = Assert.Single(InForce(monitor));
        Assert.Contains("tenant:tenant-light-0", before.Value.Members, StringComparison.Ordinal);

        // One of the tenants also sends from a key outside the cluster: it is no longer wholly in it, so no longer a member.
        for (var i = 0; i < 5; i++)
        {
            monitor.Observe(MonitorTests.Chat(i, "key-other", "tenant-light-0", TestRequests.Start.AddMinutes((15 * 400) + i)));
        }

        SendSplitHarvest(monitor, 400, 440, 6);
        monitor.Flush();
        var after = Assert.Single(InForce(monitor));
        Assert.Equal(before.Key, after.Key);
        Assert.DoesNotContain("tenant:tenant-light-0", after.Value.Members, StringComparison.Ordinal);
        Assert.Equal(InForce(monitor), Stored(sink).Where(r => r.Key.Kind == SubjectKind.Cluster).ToDictionary());
    }

    [Fact]
    public void AClusterPin_KeepsHoldingTheMembersItWasMadeOver_WhenTheClusterLosesOne()
    {
        var monitor = new DistillationMonitor();
        SendSplitHarvest(monitor);
        monitor.Flush();
        var found = monitor.Snapshot().Clusters.Single(c => c.Active && c.CurrentLevel > EnforcementLevel.None);
        var cluster = SubjectRef.Cluster(found.Id);
        Assert.Contains(SubjectRef.Tenant("tenant-light-0"), found.Members);
        Assert.True(monitor.Pin(cluster, EnforcementLevel.Suspend, "analyst", "hydra confirmed", TestRequests.Start.AddDays(5)));

        // The tenant sends from a new key of its own: the group no longer wholly holds the tenant, but the pin, made over it, does.
        for (var i = 0; i < 5; i++)
        {
            monitor.Observe(MonitorTests.Chat(i, "key-other", "tenant-light-0", TestRequests.Start.AddMinutes((15 * 400) + i)));
        }

        SendSplitHarvest(monitor, 400, 440, 6);
        monitor.Flush();
        Assert.DoesNotContain(SubjectRef.Tenant("tenant-light-0"), monitor.Snapshot().Clusters.Single(c => c.Id == found.Id).Members);
        Assert.Equal(found.Members, monitor.Standing(cluster)!.Members);
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Suspend, cluster), monitor.GetEnforcement("tenant-light-0", "key-other"));

        // Unpinned, the cluster's automatic level applies to the members it has now.
        Assert.True(monitor.Unpin(cluster, "analyst", "done", TestRequests.Start.AddDays(6)));
        Assert.NotEqual(cluster, monitor.GetEnforcement("tenant-light-0", "key-other").Source);
    }

    [Fact]
    public void TenantsThatOnlyShareAPromptTemplate_AreNotACluster()
    {
        // Six shops on the same chatbot product: same system prompt skeleton, same canned customer phrases.
        var monitor = new DistillationMonitor();
        for (var i = 0; i < 3000; i++)
        {
            var shop = i % 6;
            monitor.Observe(MonitorTests.Chat(i, $"key-shop-{shop}", $"tenant-shop-{shop}", TestRequests.Start.AddHours(9).AddMinutes(i * 1.3)));
        }

        monitor.Flush();
        Assert.Empty(monitor.Snapshot().Clusters);
    }

    /// <summary>
    /// Two unrelated tenants, each harvest-like on its own (own prompts, network and client), whose requests run at 02:00 on
    /// three nights, a minute apart, within seconds of each other's: as <paramref name="batch"/> requests, run by Corridor's
    /// batch runner, or as live ones.
    /// </summary>
    private static DistillationMonitor SendNightlyJobs(string? batch)
    {
        var monitor = new DistillationMonitor();
        (string Tenant, string Ask, string Agent, string Ip)[] tenants =
        [
            ("tenant-north", "Think step by step and show all your reasoning in detail.", "north-jobs/1.0", "198.51.100.20"),
            ("tenant-south", "Explain your reasoning process fully, step by step, showing your work.", "south-pipeline/3.2", "203.0.113.40"),
        ];
        var task = 0;
        for (var night = 0; night < 3; night++)
        {
            for (var minute = 0; minute < 60; minute++)
            {
                for (var t = 0; t < tenants.Length; t++)
                {
                    var (tenant, ask, agent, ip) = tenants[t];
                    var at = TestRequests.Start.AddDays(night).AddHours(2).AddMinutes(minute).AddSeconds(5 * t);
                    var body = TestRequests.Chat($"{TestRequests.Task((t * 50_000) + task++)}\n\n{ask}", maxTokens: 4096, temperature: 0.7);
                    monitor.Observe(TestRequests.Features(body, at, $"key-{tenant}", tenant, input: 90, output: 1800, ip: ip, userAgent: agent,
                        batch: batch is null ? null : $"{batch}-{tenant}-{night}"));
                }
            }
        }

        monitor.Flush();
        return monitor;
    }

    [Fact]
    public void TwoTenantsBatchesRunningInTheSameBins_AreNotLinkedByCadence()
    {
        static bool Linked(DistillationMonitor monitor) => monitor.Snapshot().Clusters.Any(c =>
            c.Members.Contains(SubjectRef.Key("key-tenant-north")) && c.Members.Contains(SubjectRef.Key("key-tenant-south")));

        // Sent live, requests that keep firing together are evidence of one scheduler: with both profiles harvest-like, a cluster.
        var live = SendNightlyJobs(batch: null);
        Assert.True(Linked(live));
        Assert.Contains(live.Snapshot().Clusters.Single().Reasons, r => r.Signal == Signal.SynchronisedCadence);

        // Run by Corridor's batch runner, their timing is Corridor's: nothing links them, and each is still scored on its content.
        var batches = SendNightlyJobs(batch: "batch");
        Assert.False(Linked(batches));
        foreach (var key in new[] { "key-tenant-north", "key-tenant-south" })
        {
            var subject = batches.Snapshot().Subjects.Single(s => s.Subject == SubjectRef.Key(key));
            Assert.Contains(subject.Reasons, r => r.Signal == Signal.CotElicitation);
            Assert.DoesNotContain(subject.Reasons, r => r.Signal == Signal.MachineCadence);
        }
    }
}

public sealed class ClusterEnforcementTests
{
    private static readonly SubjectRef[] Members = [SubjectRef.Key("key-m1"), SubjectRef.Key("key-m2"), SubjectRef.Tenant("tenant-m2")];

    [Fact]
    public void APinnedCluster_HoldsItsMembers_AndUnpinningReleasesThem()
    {
        var monitor = new DistillationMonitor();
        var cluster = SubjectRef.Cluster("cl-7");
        Assert.True(monitor.Restore(cluster, EnforcementLevel.None, TestRequests.Start, Members));
        Assert.Equal(EnforcementLevel.None, monitor.GetEnforcement("tenant-m1", "key-m1").Level);

        Assert.True(monitor.Pin(cluster, EnforcementLevel.Suspend, "analyst", "confirmed hydra", TestRequests.Start));
        var decision = monitor.GetEnforcement("tenant-m1", "key-m1");
        Assert.Equal(EnforcementLevel.Suspend, decision.Level);
        Assert.Equal(cluster, decision.Source);
        Assert.Equal(EnforcementLevel.Suspend, monitor.GetEnforcement("tenant-m2", "key-other").Level); // through its tenant
        Assert.Equal(EnforcementLevel.None, monitor.GetEnforcement("tenant-x", "key-x").Level);

        Assert.True(monitor.Unpin(cluster, "analyst", "cleared", TestRequests.Start));
        Assert.Equal(EnforcementLevel.None, monitor.GetEnforcement("tenant-m1", "key-m1").Level);
    }

    [Fact]
    public void AClusterPutBackAgain_TakesTheMembersTheStoreHasNow()
    {
        var monitor = new DistillationMonitor();
        var cluster = SubjectRef.Cluster("cl-3");
        Assert.True(monitor.Restore(cluster, EnforcementLevel.Throttle, TestRequests.Start, [SubjectRef.Key("key-m1"), SubjectRef.Key("key-m2")]));

        // As a replica following the fleet's leader sees it: the same cluster, with its tenant now among its members.
        Assert.True(monitor.Restore(cluster, EnforcementLevel.Throttle, TestRequests.Start, Members));
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Throttle, cluster), monitor.GetEnforcement("tenant-m2", "key-other"));

        // Other keys under the same id: the key that left is released, the one that came is held.
        Assert.True(monitor.Restore(cluster, EnforcementLevel.Suspend, TestRequests.Start, [SubjectRef.Key("key-m1"), SubjectRef.Key("key-m3")]));
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Suspend, cluster), monitor.GetEnforcement("tenant-m3", "key-m3"));
        Assert.Equal(EnforcementLevel.None, monitor.GetEnforcement("tenant-m2", "key-m2").Level);
        Assert.Equal([SubjectRef.Key("key-m1"), SubjectRef.Key("key-m3")], monitor.Standing(cluster)!.Members);
    }

    [Fact]
    public void ARestoredClusterPinnedDown_KeepsItsAutomaticLevel_ForWhenThePinGoes()
    {
        var monitor = new DistillationMonitor();
        var cluster = SubjectRef.Cluster("cl-4");
        Assert.True(monitor.Restore(cluster, EnforcementLevel.Throttle, TestRequests.Start, Members));
        Assert.True(monitor.Pin(cluster, EnforcementLevel.None, "analyst", "contracted evaluation", TestRequests.Start));
        Assert.Equal(EnforcementLevel.None, monitor.GetEnforcement("tenant-m1", "key-m1").Level);

        // A cluster pass: nothing links the members again, so the cluster is scored from their own profiles (none yet).
        monitor.Observe(MonitorTests.Chat(0, "key-x", "tenant-x", TestRequests.Start.AddMinutes(1)));
        monitor.Flush();
        Assert.Equal(EnforcementLevel.Throttle, monitor.Standing(cluster)!.Automatic);

        // Unpinned, its automatic level applies again, and cools off from there through the hysteresis.
        Assert.True(monitor.Unpin(cluster, "analyst", "evaluation over", TestRequests.Start.AddMinutes(2)));
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Throttle, cluster), monitor.GetEnforcement("tenant-m1", "key-m1"));
    }

    [Fact]
    public void AClusterPin_HoldsTheMembersItWasStoredAndAuditedWith()
    {
        var monitor = new DistillationMonitor();
        var cluster = SubjectRef.Cluster("cl-7");
        Assert.True(monitor.Restore(cluster, EnforcementLevel.Flag, TestRequests.Start, Members));

        // The store's row (what the pin's audit record lists) has a member this monitor had not seen in the cluster yet.
        Assert.True(monitor.Pin(cluster, EnforcementLevel.Suspend, "analyst", "hydra", TestRequests.Start, [.. Members, SubjectRef.Key("key-m3")]));
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Suspend, cluster), monitor.GetEnforcement("tenant-m3", "key-m3"));
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Suspend, cluster), monitor.GetEnforcement("tenant-m1", "key-m1"));
        Assert.Contains(SubjectRef.Key("key-m3"), monitor.Standing(cluster)!.Members);
    }

    [Fact]
    public void ARestoredClusterLevel_AppliesToItsMembers_ThenCoolsOffWithoutEvidence()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions { DownDwell = TimeSpan.FromHours(1) }, sink);
        var cluster = SubjectRef.Cluster("cl-4.2");
        Assert.False(monitor.Restore(cluster, EnforcementLevel.Throttle, TestRequests.Start));
        Assert.True(monitor.Restore(cluster, EnforcementLevel.Throttle, TestRequests.Start, Members));
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Throttle, cluster), monitor.GetEnforcement("tenant-m1", "key-m1"));
        Assert.Empty(sink.Changes);

        // The members send ordinary chat; no evidence links them again, so the cluster is scored from their own profiles.
        for (var i = 0; i < 300; i++)
        {
            monitor.Observe(MonitorTests.Chat(i, key: i % 2 == 0 ? "key-m1" : "key-m2", tenant: i % 2 == 0 ? "tenant-m1" : "tenant-m2", at: TestRequests.Start.AddMinutes(5 * i)));
        }

        monitor.Tick(TestRequests.Start.AddDays(2));
        Assert.Equal(EnforcementLevel.None, monitor.GetEnforcement("tenant-m1", "key-m1").Level);
        Assert.Contains(sink.Changes, c => c.Subject == cluster && c.From == EnforcementLevel.Throttle && c.To == EnforcementLevel.Flag);

        // Ids given to new clusters continue after the restored lineage.
        var later = new DistillationMonitor();
        Assert.True(later.Restore(SubjectRef.Cluster("cl-9"), EnforcementLevel.Flag, TestRequests.Start, Members));
        ClusterTests.SendSplitHarvest(later);
        later.Flush();
        var found = later.Snapshot().Clusters.Where(c => c.Id != "cl-9").ToList();
        Assert.NotEmpty(found);
        Assert.All(found, c => Assert.True(int.Parse(c.Id[3..].Split('.')[0], System.Globalization.CultureInfo.InvariantCulture) >= 10, c.Id));
    }
}
