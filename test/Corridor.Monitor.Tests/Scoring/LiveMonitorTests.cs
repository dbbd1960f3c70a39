using Corridor.Monitor.Scoring;

namespace Corridor.Monitor.Tests.Scoring;

/// <summary>What the live gateway adds to event-time scoring: a periodic tick, levels put back after a restart, and a subject's standing.</summary>
public sealed class LiveMonitorTests
{
    private static readonly MonitorOptions ShortDwell = new() { DownDwell = TimeSpan.FromHours(1) };

    [Fact]
    public void Tick_LetsASilentSubjectCoolOff_ThroughTheHysteresis()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(ShortDwell, sink);
        for (var i = 0; i < 200; i++)
        {
            monitor.Observe(MonitorTests.Harvest(i));
        }

        var key = SubjectRef.Key("key-h");
        var reached = monitor.GetLevel(key);
        Assert.True(reached >= EnforcementLevel.Flag);
        var last = TestRequests.Start.AddMinutes(10 * 199);

        // Without traffic nothing moves; ticks over the following weeks decay its counters and step it down, one level per dwell.
        for (var hour = 1; hour <= 24 * 21; hour++)
        {
            monitor.Tick(last.AddHours(hour));
        }

        Assert.Equal(EnforcementLevel.None, monitor.GetLevel(key));
        var steps = sink.Changes.Where(c => c.Subject == key && c.To < c.From).ToList();
        Assert.Equal((int)reached, steps.Count);
        Assert.All(steps, s => Assert.Equal(s.From - 1, s.To));
    }

    [Fact]
    public void Tick_ScoresSubjectsWithUnscoredRequests()
    {
        var monitor = new DistillationMonitor(new MonitorOptions { ScoreEveryRequests = 1000, ScoreInterval = TimeSpan.FromDays(1) });
        monitor.Observe(MonitorTests.Harvest(0));
        for (var i = 1; i < 150; i++)
        {
            monitor.Observe(MonitorTests.Harvest(i, at: TestRequests.Start.AddSeconds(i)));
        }

        // Only the first request was scored (at a score too low for any level); the tick scores the rest.
        Assert.Equal(EnforcementLevel.None, monitor.GetLevel(SubjectRef.Key("key-h")));
        monitor.Tick(TestRequests.Start.AddSeconds(151));
        Assert.True(monitor.GetLevel(SubjectRef.Key("key-h")) >= EnforcementLevel.Watch);
    }

    [Fact]
    public void Restore_PutsBackAnAutomaticLevel_WithoutRaisingAChange_AndScoresMoveItLater()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(ShortDwell, sink);
        var key = SubjectRef.Key("key-r");

        Assert.True(monitor.Restore(key, EnforcementLevel.Throttle, TestRequests.Start));
        Assert.False(monitor.Restore(SubjectRef.Cluster("cl-1"), EnforcementLevel.Flag, TestRequests.Start));
        Assert.Equal(EnforcementLevel.Throttle, monitor.GetEnforcement("tenant-r", "key-r").Level);
        Assert.Empty(sink.Changes);
        Assert.Equal(EnforcementLevel.Throttle, monitor.Standing(key)!.Automatic);

        // Benign traffic from the key brings it down through the hysteresis, one level per dwell.
        for (var i = 0; i < 400; i++)
        {
            monitor.Observe(MonitorTests.Chat(i, key: "key-r", tenant: "tenant-r", at: TestRequests.Start.AddMinutes(10 * i)));
        }

        Assert.True(monitor.GetLevel(key) < EnforcementLevel.Throttle);
        Assert.Contains(sink.Changes, c => c.Subject == key && c.From == EnforcementLevel.Throttle && c.To == EnforcementLevel.Flag);
    }

    [Fact]
    public void ARestoredLevel_OfASubjectThatStaysSilent_CoolsOffThroughTheHysteresis()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(ShortDwell, sink);
        var key = SubjectRef.Key("key-s");
        var tenant = SubjectRef.Tenant("tenant-s");
        Assert.True(monitor.Restore(key, EnforcementLevel.Suspend, TestRequests.Start));
        Assert.True(monitor.Restore(tenant, EnforcementLevel.Flag, TestRequests.Start));

        // No request after the restart: nothing to rescore from, so the ticks score it 0 and it steps down one level a dwell.
        monitor.Tick(TestRequests.Start.AddMinutes(30));
        Assert.Equal(EnforcementLevel.Suspend, monitor.GetLevel(key));
        for (var hour = 1; hour <= 12; hour++)
        {
            monitor.Tick(TestRequests.Start.AddHours(hour));
        }

        Assert.Equal(EnforcementLevel.None, monitor.GetLevel(key));
        Assert.Equal(EnforcementLevel.None, monitor.GetLevel(tenant));
        var steps = sink.Changes.Where(c => c.Subject == key).ToList();
        Assert.Equal([EnforcementLevel.Throttle, EnforcementLevel.Flag, EnforcementLevel.Watch, EnforcementLevel.None], steps.Select(s => s.To));
        Assert.All(steps, s => Assert.Equal(LevelChangeCause.Automatic, s.Cause));
    }

    [Fact]
    public void Standing_ShowsThePinAndTheAutomaticLevelApart()
    {
        var monitor = new DistillationMonitor();
        for (var i = 0; i < 200; i++)
        {
            monitor.Observe(MonitorTests.Harvest(i));
        }

        var key = SubjectRef.Key("key-h");
        Assert.True(monitor.Pin(key, EnforcementLevel.None, "analyst", "known evaluation run", TestRequests.Start));
        var standing = monitor.Standing(key)!;
        Assert.Equal(EnforcementLevel.None, standing.Level);
        Assert.Equal(EnforcementLevel.None, standing.Pinned);
        Assert.True(standing.Automatic >= EnforcementLevel.Flag);
        Assert.True(standing.PeakScore >= 0.4);
        Assert.NotEmpty(standing.Reasons);
        Assert.Null(monitor.Standing(SubjectRef.Key("never-seen")));
    }

    [Fact]
    public void APin_StaysEnforced_WhenItsSubjectsWatchRecordIsEvicted()
    {
        var monitor = new DistillationMonitor(new MonitorOptions { MaxRecords = 16 });
        var key = SubjectRef.Key("key-p");

        // The key sat at watch (a record among the watched) when an analyst suspended it.
        Assert.True(monitor.Restore(key, EnforcementLevel.Watch, TestRequests.Start));
        Assert.True(monitor.Pin(key, EnforcementLevel.Suspend, "analyst", "harvest confirmed", TestRequests.Start));

        // Many other keys reach watch: the oldest watch records make room for them.
        for (var i = 0; i < 40; i++)
        {
            Assert.True(monitor.Restore(SubjectRef.Key($"key-w{i}"), EnforcementLevel.Watch, TestRequests.Start.AddMinutes(i)));
        }

        Assert.Equal(EnforcementLevel.Suspend, monitor.GetLevel(key));
        Assert.Equal(EnforcementLevel.Suspend, monitor.GetEnforcement("tenant-p", "key-p").Level);
        Assert.Equal(EnforcementLevel.Suspend, monitor.Standing(key)!.Level);
    }

    [Fact]
    public void APinnedSubjectsAutomaticLevel_KeepsBeingPublished_SoWhatIsStoredHoldsWhenThePinGoes()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions { DownDwell = TimeSpan.FromHours(1) }, sink);
        var key = SubjectRef.Key("key-e");
        Assert.True(monitor.Restore(key, EnforcementLevel.Suspend, TestRequests.Start));
        Assert.True(monitor.Pin(key, EnforcementLevel.None, "analyst", "contracted evaluation run", TestRequests.Start));

        // Silent under its pin, it cools off one step per dwell: each step is published as an automatic change.
        for (var hour = 0; hour <= 5; hour++)
        {
            monitor.Tick(TestRequests.Start.AddHours(hour).AddMinutes(hour));
        }

        Assert.Equal(EnforcementLevel.None, monitor.Standing(key)!.Automatic);
        Assert.Equal(
            [(EnforcementLevel.Suspend, EnforcementLevel.Throttle), (EnforcementLevel.Throttle, EnforcementLevel.Flag), (EnforcementLevel.Flag, EnforcementLevel.Watch), (EnforcementLevel.Watch, EnforcementLevel.None)],
            sink.Changes.Where(c => c.Subject == key && c.Cause == LevelChangeCause.Automatic).Select(c => (c.From, c.To)));

        Assert.True(monitor.Unpin(key, "analyst", "run over", TestRequests.Start.AddHours(6)));
        Assert.Equal(EnforcementLevel.None, monitor.GetLevel(key));
    }

    [Fact]
    public void AfterARestart_APinnedSubjectThatSentThenFellSilent_CoolsOffUnderItsPin_SoTheUnpinAppliesItsCurrentLevel()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions { DownDwell = TimeSpan.FromHours(1) }, sink);
        var key = SubjectRef.Key("key-e");

        // What a restart puts back: the stored automatic suspension, then the pin (down to none) over it.
        Assert.True(monitor.Restore(key, EnforcementLevel.Suspend, TestRequests.Start));
        Assert.True(monitor.Pin(key, EnforcementLevel.None, "analyst", "contracted evaluation run", TestRequests.Start));

        // The key sends a little ordinary traffic after the restart (so it has behaviour state again), then falls silent.
        for (var i = 0; i < 4; i++)
        {
            monitor.Observe(MonitorTests.Chat(i, key: "key-e", tenant: "tenant-e", at: TestRequests.Start.AddMinutes(i + 1)));
        }

        for (var hour = 1; hour <= 12; hour++)
        {
            monitor.Tick(TestRequests.Start.AddHours(hour));
        }

        // Its automatic level cooled off under the pin, and each step was published for the store.
        Assert.Equal(EnforcementLevel.None, monitor.Standing(key)!.Automatic);
        Assert.Equal(EnforcementLevel.None, StoredLevel(sink, key));
        Assert.True(monitor.Unpin(key, "analyst", "run over", TestRequests.Start.AddHours(13)));
        Assert.Equal(EnforcementLevel.None, monitor.GetLevel(key));
    }

    [Fact]
    public void ASuspension_IsNeverEvicted_WhenTheRecordsHoldOnlySuspensions()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions
        {
            MaxRecords = 16,
            Thresholds = new LevelThresholds { Watch = 0.1, Flag = 0.15, Throttle = 0.2, Suspend = 0.25 },
        }, sink);
        for (var i = 0; i < 16; i++)
        {
            Assert.True(monitor.Restore(SubjectRef.Key($"key-s{i}"), EnforcementLevel.Suspend, TestRequests.Start.AddMinutes(i)));
        }

        // A seventeenth subject reaches suspend through its own traffic: the store records it, and keeps the sixteen others.
        var harvester = SubjectRef.Key("key-h");
        for (var i = 0; i < 400 && monitor.GetLevel(harvester) < EnforcementLevel.Suspend; i++)
        {
            monitor.Observe(MonitorTests.Harvest(i));
        }

        Assert.Equal(EnforcementLevel.Suspend, monitor.GetLevel(harvester));
        Assert.Equal(EnforcementLevel.Suspend, StoredLevel(sink, harvester));

        // In force here as the store has them (what a restart, or a replica following the store, enforces): all seventeen.
        Assert.All(Enumerable.Range(0, 16), i => Assert.Equal(EnforcementLevel.Suspend, monitor.GetLevel(SubjectRef.Key($"key-s{i}"))));
        Assert.Equal(EnforcementLevel.Suspend, monitor.GetEnforcement("tenant-s0", "key-s0").Level);
    }

    /// <summary>The automatic level the store would hold for <paramref name="subject"/> from the published changes.</summary>
    private static EnforcementLevel StoredLevel(RecordingSink sink, SubjectRef subject) =>
        Clusters.ClusterTests.Stored(sink).TryGetValue(subject, out var row) ? row.Level : EnforcementLevel.None;

    [Fact]
    public void WhenTheLevelRecordsAreFull_OnlyRecordsThatCooledOffMakeRoom_SoEveryLevelStaysInForceAsStored()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions
        {
            MaxRecords = 16,
            DownDwell = TimeSpan.FromHours(1),
            MaxAutomaticLevel = EnforcementLevel.Throttle,
            Thresholds = new LevelThresholds { Watch = 0.1, Flag = 0.15, Throttle = 0.2, Suspend = 0.25 },
        }, sink);

        // A key watched once and cooled off since: its record holds no level any more.
        var cooled = SubjectRef.Key("key-c");
        Assert.True(monitor.Restore(cooled, EnforcementLevel.Watch, TestRequests.Start));
        monitor.Tick(TestRequests.Start.AddMinutes(1));
        monitor.Tick(TestRequests.Start.AddMinutes(62));
        Assert.Equal(EnforcementLevel.None, monitor.GetLevel(cooled));

        // Then the records fill with levels, as the store holds them: sixteen throttles and sixteen watches.
        var at = TestRequests.Start.AddHours(2);
        for (var i = 0; i < 16; i++)
        {
            Assert.True(monitor.Restore(SubjectRef.Key($"key-t{i}"), EnforcementLevel.Throttle, at));
            Assert.True(monitor.Restore(SubjectRef.Key($"key-w{i}"), EnforcementLevel.Watch, at));
        }

        // A harvester reaches throttle through its own traffic, and more subjects come back from the store.
        var harvester = SubjectRef.Key("key-h");
        for (var i = 0; i < 400 && monitor.GetLevel(harvester) < EnforcementLevel.Throttle; i++)
        {
            monitor.Observe(MonitorTests.Harvest(i, at: at.AddMinutes(10 * i)));
        }

        Assert.Equal(EnforcementLevel.Throttle, monitor.GetLevel(harvester));
        Assert.Equal(EnforcementLevel.Throttle, StoredLevel(sink, harvester));
        Assert.True(monitor.Restore(SubjectRef.Tenant("tenant-t"), EnforcementLevel.Throttle, at));
        Assert.True(monitor.Restore(SubjectRef.Key("key-w-late"), EnforcementLevel.Watch, at));

        // No level made room: every one is in force and shown as the store has it; only the cooled record went.
        Assert.All(Enumerable.Range(0, 16), i =>
        {
            Assert.Equal(EnforcementLevel.Throttle, monitor.GetEnforcement("tenant-x", $"key-t{i}").Level);
            Assert.Equal(EnforcementLevel.Throttle, monitor.Standing(SubjectRef.Key($"key-t{i}"))!.Level);
            Assert.Equal(EnforcementLevel.Watch, monitor.GetLevel(SubjectRef.Key($"key-w{i}")));
            Assert.Equal(EnforcementLevel.Watch, monitor.Standing(SubjectRef.Key($"key-w{i}"))!.Level);
        });
        Assert.Equal(EnforcementLevel.Throttle, monitor.GetEnforcement("tenant-t", "key-x").Level);
        Assert.Equal(EnforcementLevel.Watch, monitor.Standing(SubjectRef.Key("key-w-late"))!.Level);
        Assert.Null(monitor.Standing(cooled));
    }

    [Fact]
    public void ASubjectFirstScoredWhileTheWatchedAreFullOfLevels_HasARecord_AndCoolsOffOnceSilent()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions
        {
            MaxRecords = 16,
            MaxKeys = 16,
            DownDwell = TimeSpan.FromHours(1),
            MaxAutomaticLevel = EnforcementLevel.Watch,
        }, sink);

        // Sixteen keys watched (from the store): the watched records are full of levels.
        for (var i = 0; i < 16; i++)
        {
            Assert.True(monitor.Restore(SubjectRef.Key($"key-w{i}"), EnforcementLevel.Watch, TestRequests.Start));
        }

        // A harvester reaches watch through its own traffic: its level has a record, shown as in force and as stored.
        var harvester = SubjectRef.Key("key-h");
        var last = HarvestUntilWatched(monitor, harvester, first: 0);
        Assert.Equal(EnforcementLevel.Watch, StoredLevel(sink, harvester));

        FallSilentUntilCooledOff(monitor, sink, harvester, last);
    }

    [Fact]
    public void ASubjectUnpinnedBeforeItHadALevel_GetsARecordWhenItReachesOne_AndCoolsOffOnceSilent()
    {
        var sink = new RecordingSink();
        var monitor = new DistillationMonitor(new MonitorOptions { MaxKeys = 16, DownDwell = TimeSpan.FromHours(1), MaxAutomaticLevel = EnforcementLevel.Watch }, sink);
        var harvester = SubjectRef.Key("key-h");

        // Its first request, then a pin down to none and its removal (a contracted evaluation that ended at once).
        monitor.Observe(MonitorTests.Harvest(0));
        Assert.True(monitor.Pin(harvester, EnforcementLevel.None, "analyst", "evaluation", TestRequests.Start));
        Assert.True(monitor.Unpin(harvester, "analyst", "over", TestRequests.Start));

        var last = HarvestUntilWatched(monitor, harvester, first: 1);

        FallSilentUntilCooledOff(monitor, sink, harvester, last);
    }

    /// <summary>
    /// Sends <paramref name="harvester"/>'s harvesting requests from number <paramref name="first"/> on until it is watched,
    /// checks that its level has a record, and returns the time of its last request.
    /// </summary>
    private static DateTimeOffset HarvestUntilWatched(DistillationMonitor monitor, SubjectRef harvester, int first)
    {
        var i0 = first;
        for (; i0 < 200 && monitor.GetLevel(harvester) < EnforcementLevel.Watch; i0++)
        {
            monitor.Observe(MonitorTests.Harvest(i0));
        }

        Assert.Equal(EnforcementLevel.Watch, monitor.GetLevel(harvester));
        Assert.Equal(EnforcementLevel.Watch, monitor.Standing(harvester)?.Level);
        return TestRequests.Start.AddMinutes(10 * i0);
    }

    /// <summary>
    /// The subject falls silent after <paramref name="last"/> and other keys' traffic takes its behaviour state: with
    /// nothing to rescore, its level cools off to none within two days, in force and as stored.
    /// </summary>
    private static void FallSilentUntilCooledOff(DistillationMonitor monitor, RecordingSink sink, SubjectRef subject, DateTimeOffset last)
    {
        for (var i = 0; i < 20; i++)
        {
            monitor.Observe(MonitorTests.Chat(i, key: $"key-o{i}", tenant: "tenant-o", at: last.AddMinutes(i + 1)));
        }

        for (var hour = 1; hour <= 48; hour++)
        {
            monitor.Tick(last.AddHours(hour));
        }

        Assert.Equal(EnforcementLevel.None, monitor.GetLevel(subject));
        Assert.Equal(EnforcementLevel.None, StoredLevel(sink, subject));
    }

    [Fact]
    public void ClustersHoldingALevel_BeyondMaxClusters_StayKnown_AsEnforcedAndStored()
    {
        var monitor = new DistillationMonitor(new MonitorOptions { MaxClusters = 16 });

        // Seventeen clusters throttled, as the store holds them (each with two keys of its own).
        for (var i = 1; i <= 17; i++)
        {
            Assert.True(monitor.Restore(SubjectRef.Cluster($"cl-{i}"), EnforcementLevel.Throttle, TestRequests.Start,
                [SubjectRef.Key($"key-{i}a"), SubjectRef.Key($"key-{i}b")]));
        }

        // Each is enforced on its members, and known as such: its standing (the admin API's live level) says so, and it can be pinned.
        Assert.All(Enumerable.Range(1, 17), i =>
        {
            Assert.Equal(EnforcementLevel.Throttle, monitor.GetEnforcement("tenant-x", $"key-{i}a").Level);
            Assert.Equal(EnforcementLevel.Throttle, monitor.Standing(SubjectRef.Cluster($"cl-{i}"))?.Level);
        });
        Assert.True(monitor.Pin(SubjectRef.Cluster("cl-1"), EnforcementLevel.Suspend, "analyst", "hydra confirmed", TestRequests.Start));
        Assert.Equal(EnforcementLevel.Suspend, monitor.GetEnforcement("tenant-x", "key-1b").Level);
    }

    [Fact]
    public void LevelRecords_GrowOnlyWithTheLevelsHeld_SubjectsThatCooledOffMakeRoomForNewOnes()
    {
        var monitor = new DistillationMonitor(new MonitorOptions { MaxRecords = 16, DownDwell = TimeSpan.FromHours(1) });

        // Forty keys at watch at once: the watched records grow to hold them all.
        for (var i = 0; i < 40; i++)
        {
            Assert.True(monitor.Restore(SubjectRef.Key($"key-a{i}"), EnforcementLevel.Watch, TestRequests.Start));
        }

        var grown = monitor.Stats.Records;
        Assert.Equal(40, grown);

        // Silent, they cool off to none; waves of forty others at watch then take their room, wave after wave.
        var at = TestRequests.Start;
        for (var wave = 0; wave < 5; wave++)
        {
            monitor.Tick(at = at.AddMinutes(1));
            monitor.Tick(at = at.AddMinutes(62));
            for (var i = 0; i < 40; i++)
            {
                Assert.Equal(EnforcementLevel.None, monitor.GetLevel(SubjectRef.Key(wave == 0 ? $"key-a{i}" : $"key-{wave - 1}-{i}")));
                Assert.True(monitor.Restore(SubjectRef.Key($"key-{wave}-{i}"), EnforcementLevel.Watch, at));
            }

            Assert.All(Enumerable.Range(0, 40), i => Assert.Equal(EnforcementLevel.Watch, monitor.GetLevel(SubjectRef.Key($"key-{wave}-{i}"))));
        }

        // The table grew once, to twice the levels held; the cooled records are what made room since.
        Assert.True(monitor.Stats.Records <= 2 * 40, $"{monitor.Stats.Records} records");
    }

    [Fact]
    public void GrownLevelRecords_ShrinkBack_OnceTheLevelsThatGrewThemCooledOff()
    {
        var monitor = new DistillationMonitor(new MonitorOptions { MaxRecords = 16, DownDwell = TimeSpan.FromHours(1) });
        for (var i = 0; i < 40; i++)
        {
            Assert.True(monitor.Restore(SubjectRef.Key($"key-a{i}"), EnforcementLevel.Watch, TestRequests.Start));
        }

        Assert.Equal(40, monitor.Stats.Records);

        // Silent, they cool off to none: the table keeps no more cooled records than one that never grew.
        var at = TestRequests.Start;
        monitor.Tick(at = at.AddMinutes(1));
        monitor.Tick(at = at.AddMinutes(62));
        Assert.All(Enumerable.Range(0, 40), i => Assert.Equal(EnforcementLevel.None, monitor.GetLevel(SubjectRef.Key($"key-a{i}"))));
        Assert.Equal(16, monitor.Stats.Records);

        // And it grows again when levels need it, every one kept.
        for (var i = 0; i < 40; i++)
        {
            Assert.True(monitor.Restore(SubjectRef.Key($"key-b{i}"), EnforcementLevel.Watch, at));
        }

        Assert.All(Enumerable.Range(0, 40), i => Assert.Equal(EnforcementLevel.Watch, monitor.GetLevel(SubjectRef.Key($"key-b{i}"))));
    }

    [Theory]
    [InlineData("key:key_abc", SubjectKind.Key, "key_abc")]
    [InlineData("tenant:acme", SubjectKind.Tenant, "acme")]
    [InlineData("cluster:cl-3.2", SubjectKind.Cluster, "cl-3.2")]
    public void SubjectRefs_ParseFromTheirText(string text, SubjectKind kind, string id)
    {
        Assert.True(SubjectRef.TryParse(text, out var subject));
        Assert.Equal(new SubjectRef(kind, id), subject);
        Assert.Equal(text, subject.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("acme")]
    [InlineData("user:acme")]
    [InlineData("key:")]
    [InlineData(":x")]
    public void SubjectRefs_RejectOtherText(string? text) => Assert.False(SubjectRef.TryParse(text, out _));
}
