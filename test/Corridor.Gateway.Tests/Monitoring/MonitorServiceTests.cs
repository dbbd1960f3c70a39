using System.Collections.Concurrent;
using Corridor.Core.Audit;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Tests.Recording;
using Corridor.Monitor.Scoring;
using Corridor.Storage;
using Corridor.Storage.Monitoring;
using Corridor.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Monitoring;

/// <summary>The gateway's monitor service on its own (background loops not started, ticks run by the test) over a real store.</summary>
public sealed class MonitorServiceTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A gateway configuration with one deployment and the given <c>monitor:</c> section.</summary>
    internal static GatewayState State(string monitor = "") => new(TestConfigs.Active(TestConfigs.OneDeployment + monitor));

    [Theory]
    [InlineData("openai", "openai", false, true)] // DeepSeek's reasoning_content, passed through (or as a Responses reasoning item)
    [InlineData("openai", "anthropic", true, true)] // Claude's thinking, as reasoning_content
    [InlineData("anthropic", "anthropic", true, true)] // thinking blocks, passed through
    [InlineData("anthropic", "openai", true, true)] // DeepSeek's reasoning_content, as a thinking block to a client that asked for thinking
    [InlineData("anthropic", "openai", false, false)] // sealed in a redacted thinking block to one that did not
    public void ReasoningCountsAsReturned_OnlyWhereItReachesTheClient(string client, string upstream, bool thinkingAsked, bool reaches) =>
        Assert.Equal(reaches, MonitorService.ReasoningReachesClient(DialectOf(client), DialectOf(upstream), thinkingAsked));

    private static Dialect DialectOf(string name) => name == "anthropic" ? Dialect.Anthropic : Dialect.OpenAI;

    [Fact]
    public async Task AnAutomaticLevelThatCooledOffUnderAPin_IsNotPutBackWhenThePinGoes()
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        var state = State("monitor: { downDwellMinutes: 60 }");
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), None).WithTimeout();

        // Stored before a restart: the monitor had suspended the key; an analyst then pinned it down for a contracted evaluation.
        await store.SetEnforcementAsync(new EnforcementUpdate("key:k1", "t1", Pin: false, "suspend", clock.GetUtcNow(), "gateway", null), [], None).WithTimeout();
        await store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, "none", clock.GetUtcNow(), "cli:ana", "evaluation"), [], None).WithTimeout();
        using (var gateway = new MonitorService(store, state, clock, NullLogger<MonitorService>.Instance))
        {
            await gateway.RestoreAsync(None).WithTimeout();
            Assert.Equal(EnforcementLevel.None, gateway.Monitor.GetEnforcement("t1", "k1").Level);

            // Silent, it cools off under the pin, one step per dwell.
            for (var step = 0; step < 6; step++)
            {
                await gateway.TickAsync(None).WithTimeout();
                clock.Advance(TimeSpan.FromMinutes(61));
            }

            Assert.Equal(EnforcementLevel.None, gateway.Monitor.Standing(SubjectRef.Key("k1"))!.Automatic);

            // The pin goes: nothing applies to the key now.
            await store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, null, clock.GetUtcNow(), "cli:ana", "evaluation over"), [], None).WithTimeout();
            await gateway.TickAsync(None).WithTimeout();
            Assert.Equal(EnforcementLevel.None, gateway.Monitor.GetEnforcement("t1", "k1").Level);
        }

        // And the store agrees, so a restart (or a replica following the store) does not suspend it again.
        Assert.DoesNotContain(await store.ListEnforcementAsync(None).WithTimeout(), r => r.Subject == "key:k1");
        using var restarted = new MonitorService(store, state, clock, NullLogger<MonitorService>.Instance);
        await restarted.RestoreAsync(None).WithTimeout();
        Assert.Equal(EnforcementLevel.None, restarted.Monitor.GetEnforcement("t1", "k1").Level);
    }

    [Fact]
    public async Task PinsStoredBeyondMaxRecords_AreAllEnforced_WhenTheGatewayStarts()
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), None).WithTimeout();

        // Seventeen suspensions pinned while monitor.maxRecords was higher (or from the command line, which does not check it).
        for (var i = 0; i < 17; i++)
        {
            await store.SetEnforcementAsync(new EnforcementUpdate($"key:k{i}", $"t{i}", Pin: true, "suspend", clock.GetUtcNow(), "cli:ana", "harvest confirmed"), [], None).WithTimeout();
        }

        // Restarted with the least room there is: every stored pin is still enforced, none silently dropped.
        using var gateway = new MonitorService(store, State("monitor: { maxRecords: 16 }"), clock, NullLogger<MonitorService>.Instance);
        await gateway.RestoreAsync(None).WithTimeout();
        Assert.All(Enumerable.Range(0, 17), i => Assert.Equal(EnforcementLevel.Suspend, gateway.Monitor.GetEnforcement($"t{i}", $"k{i}").Level));

        // And so after the next reads of the pins.
        await gateway.TickAsync(None).WithTimeout();
        Assert.All(Enumerable.Range(0, 17), i => Assert.Equal(EnforcementLevel.Suspend, gateway.Monitor.GetEnforcement($"t{i}", $"k{i}").Level));
    }

    [Fact]
    public async Task AutomaticLevelsStoredBeyondMaxRecords_AreAllEnforced_AsTheStoreAndTheAdminApiShowThem()
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), None).WithTimeout();

        // The monitor throttled seventeen keys and watches seventeen more: more of each than monitor.maxRecords.
        for (var i = 0; i < 17; i++)
        {
            await store.SetEnforcementAsync(new EnforcementUpdate($"key:k{i}", $"t{i}", Pin: false, "throttle", clock.GetUtcNow(), "gateway", null), [], None).WithTimeout();
            await store.SetEnforcementAsync(new EnforcementUpdate($"key:w{i}", $"t{i}", Pin: false, "watch", clock.GetUtcNow(), "gateway", null), [], None).WithTimeout();
        }

        using var gateway = new MonitorService(store, State("monitor: { maxRecords: 16 }"), clock, NullLogger<MonitorService>.Instance);
        await gateway.RestoreAsync(None).WithTimeout();
        await gateway.TickAsync(None).WithTimeout();

        // Every stored level is enforced, and is the live level the admin API shows next to the stored one.
        foreach (var record in await store.ListEnforcementAsync(None).WithTimeout())
        {
            Assert.True(SubjectRef.TryParse(record.Subject, out var subject));
            Assert.Equal(record.AutomaticLevel, gateway.Monitor.GetEnforcement("t-other", subject.Id).Level.Name());
            Assert.Equal(record.AutomaticLevel, gateway.Monitor.Standing(subject)?.Level.Name());
        }
    }

    [Fact]
    public async Task ALevelChangeTheStoreFailedToRecord_IsRecordedAtTheNextTick()
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        await using var real = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), None).WithTimeout();
        var away = false;
        var store = InterceptedStore.Failing(real, method => away && method == nameof(ICorridorStore.SetEnforcementAsync) ? new IOException("the store is away") : null);
        await store.SetEnforcementAsync(new EnforcementUpdate("key:k1", "t1", Pin: false, "throttle", clock.GetUtcNow(), "gateway", null), [], None).WithTimeout();

        using var gateway = new MonitorService(store, State("monitor: { downDwellMinutes: 60 }"), clock, NullLogger<MonitorService>.Instance);
        await gateway.RestoreAsync(None).WithTimeout();
        await gateway.TickAsync(None).WithTimeout();

        // The silent key steps down from throttle after a dwell, while the store is away: the change is not stored then.
        clock.Advance(TimeSpan.FromMinutes(61));
        away = true;
        await gateway.TickAsync(None).WithTimeout();
        Assert.Equal(EnforcementLevel.Flag, gateway.Monitor.Standing(SubjectRef.Key("k1"))!.Automatic);
        Assert.Equal("throttle", (await real.ListEnforcementAsync(None).WithTimeout()).Single().AutomaticLevel);

        // Back a minute later: the next tick stores it, with its audit record, so a restart puts back what was enforced.
        away = false;
        clock.Advance(TimeSpan.FromMinutes(1));
        await gateway.TickAsync(None).WithTimeout();
        Assert.Equal("flag", (await real.ListEnforcementAsync(None).WithTimeout()).Single().AutomaticLevel);
        Assert.Equal(EnforcementLevel.Flag, gateway.Monitor.Standing(SubjectRef.Key("k1"))!.Automatic);
    }
    [Fact]
    public async Task LevelChangesBeyondTheQueue_AreNotDropped_TheStoreGetsEachSubjectsLatestLevel_AndItsCase()
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        await using var real = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), None).WithTimeout();
        var away = true;
        var store = InterceptedStore.Failing(real, method => away && method == nameof(ICorridorStore.SetEnforcementAsync) ? new IOException("the store is away") : null);
        using var gateway = new MonitorService(store, State(), clock, NullLogger<MonitorService>.Instance, pendingLevelChanges: 4);
        await gateway.RestoreAsync(None).WithTimeout();
        IMonitorSink sink = gateway;

        // While the store is away, four keys reach watch (as many changes as wait as they came), then a harvester climbs to throttle.
        for (var i = 0; i < 4; i++)
        {
            sink.LevelChanged(Change($"k{i}", EnforcementLevel.None, EnforcementLevel.Watch, 0.25));
        }

        sink.LevelChanged(Change("h", EnforcementLevel.None, EnforcementLevel.Watch, 0.3));
        sink.LevelChanged(Change("h", EnforcementLevel.Watch, EnforcementLevel.Flag, 0.45));
        sink.LevelChanged(Change("h", EnforcementLevel.Flag, EnforcementLevel.Throttle, 0.65));
        await gateway.TickAsync(None).WithTimeout();
        Assert.Empty(await real.ListEnforcementAsync(None).WithTimeout());

        // The store is back: every key's latest level is stored (the harvester's too), with its audit record, and its case is open.
        away = false;
        await gateway.TickAsync(None).WithTimeout();
        var stored = (await real.ListEnforcementAsync(None).WithTimeout()).ToDictionary(r => r.Subject, r => r.AutomaticLevel);
        Assert.Equal("throttle", stored.GetValueOrDefault("key:h"));
        Assert.All(Enumerable.Range(0, 4), i => Assert.Equal("watch", stored.GetValueOrDefault($"key:k{i}")));
        Assert.Single(await CaseBook.ListAsync(real, "active", "key:h", None).WithTimeout());
        var audit = await real.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Contains(audit, r => r.Action == AuditActions.MonitorLevel && r.Details.Contains("\"subject\":\"key:h\",\"tenant\":\"t1\",\"from\":\"none\",\"to\":\"throttle\"", StringComparison.Ordinal));

        static LevelChange Change(string key, EnforcementLevel from, EnforcementLevel to, double score) =>
            new(SubjectRef.Key(key), "t1", from, to, score, LevelChangeCause.Automatic, DateTimeOffset.UnixEpoch, [], []);
    }

    /// <summary>
    /// With PostgreSQL, a pin and an unpin made through another store (another replica's admin API, the command line) are
    /// enforced on the store's notification: the clock never moves here, so neither the pin poll nor the tick runs, and
    /// only the notification can bring them.
    /// </summary>
    [Fact]
    [Trait(Corridor.Testing.Storage.TestPostgres.Trait, Corridor.Testing.Storage.TestPostgres.Value)]
    public async Task APinAndAnUnpinThroughAnotherReplica_AreEnforcedOnTheNotification_WithoutWaitingForThePoll()
    {
        await using var database = await Corridor.Testing.Storage.TestPostgres.CreateDatabaseAsync().WithTimeout();
        var shared = new StorageOptions(PostgresConnectionString: database.ConnectionString);
        await using var replica = await CorridorStores.OpenAsync(shared, None).WithTimeout();
        await using var other = await CorridorStores.OpenAsync(shared, None).WithTimeout();
        var clock = new FakeClock();
        using var gateway = new MonitorService(replica, State(), clock, NullLogger<MonitorService>.Instance);
        await gateway.RestoreAsync(None).WithTimeout();
        await gateway.StartAsync(None).WithTimeout();

        await other.SetEnforcementAsync(new EnforcementUpdate("key:k1", "t1", Pin: true, "suspend", clock.GetUtcNow(), "cli:ana", "harvest confirmed"), [], None).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(gateway.Monitor.GetEnforcement("t1", "k1").Level == EnforcementLevel.Suspend));

        await other.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, null, clock.GetUtcNow(), "cli:ana", "appeal upheld"), [], None).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(gateway.Monitor.GetEnforcement("t1", "k1").Level == EnforcementLevel.None));
        await gateway.StopAsync(None).WithTimeout();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // a driver whose cancellation waits on the server that stopped answering
    public async Task AStopWhileTheStoreDoesNotAnswer_EndsAtTheStoreDeadline_WithALevelChangeQueued(bool storeHeedsTheStop)
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        await using var real = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), None).WithTimeout();
        var hung = false;
        var waiting = new ConcurrentBag<string>();
        var store = InterceptedStore.Hanging(real, _ => Volatile.Read(ref hung), storeHeedsTheStop, waiting.Add);
        using var gateway = new MonitorService(store, State("monitor: { tickIntervalMs: 1000 }"), clock, NullLogger<MonitorService>.Instance);
        await gateway.RestoreAsync(None).WithTimeout();
        await gateway.StartAsync(None).WithTimeout();

        // The database stops answering with a level change queued; the background's ticks and pin reads go on meeting it.
        Volatile.Write(ref hung, true);
        ((IMonitorSink)gateway).LevelChanged(new LevelChange(SubjectRef.Key("k1"), "t1", EnforcementLevel.None, EnforcementLevel.Flag, 0.5,
            LevelChangeCause.Automatic, DateTimeOffset.UnixEpoch, [], []));
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(waiting.Contains(nameof(ICorridorStore.GetRevisionAsync)) && waiting.Contains(nameof(ICorridorStore.SetEnforcementAsync)));
        });

        // Before, the stop's last round waited for the store without a bound (and, with a store deaf to the stop, so did
        // its wait for the background loops): the gateway never stopped.
        var stopping = gateway.StopAsync(None);
        await clock.AdvanceUntilDoneAsync(stopping);
        Volatile.Write(ref hung, false);
        Assert.Empty(await real.ListEnforcementAsync(None).WithTimeout());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // a driver whose cancellation waits on the server that stopped answering
    public async Task WhileTheStoreDoesNotAnswer_TicksGoOnScoring_AndGiveUpTheirStoreWorkAtTheStoreDeadline(bool storeHeedsTheStop)
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        await using var real = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), None).WithTimeout();
        await real.SetEnforcementAsync(new EnforcementUpdate("key:k1", "t1", Pin: false, "suspend", clock.GetUtcNow(), "gateway", null), [], None).WithTimeout();
        var hung = false;
        var store = InterceptedStore.Hanging(real, _ => Volatile.Read(ref hung), storeHeedsTheStop);
        using var gateway = new MonitorService(store, State("monitor: { downDwellMinutes: 60 }"), clock, NullLogger<MonitorService>.Instance);
        await gateway.RestoreAsync(None).WithTimeout();

        // The database stops answering. Before, a tick waited on it for as long as the driver did (here: for ever), and
        // with it the next tick's scoring: the key stayed suspended however long it was silent.
        Volatile.Write(ref hung, true);
        await clock.AdvanceUntilDoneAsync(gateway.TickAsync(None));
        clock.Advance(TimeSpan.FromMinutes(61));
        await clock.AdvanceUntilDoneAsync(gateway.TickAsync(None));
        Assert.Equal(EnforcementLevel.Throttle, gateway.Monitor.GetEnforcement("t1", "k1").Level);
        Assert.Equal("suspend", (await real.ListEnforcementAsync(None).WithTimeout()).Single().AutomaticLevel);

        if (storeHeedsTheStop)
        {
            // It answers again: the next tick stores the change, once.
            Volatile.Write(ref hung, false);
            await gateway.TickAsync(None).WithTimeout();
            Assert.Equal("throttle", (await real.ListEnforcementAsync(None).WithTimeout()).Single().AutomaticLevel);
            var audit = await real.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
            Assert.Single(audit, r => r.Action == AuditActions.MonitorLevel);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // a driver whose cancellation waits on the server that stopped answering
    public async Task AStopWhileTheFleetsDatabaseDoesNotAnswer_EndsAtTheStoreDeadline_WithObservationsShipping(bool databaseHeedsTheStop)
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), None).WithTimeout();
        var fleet = new UnansweredFleet(databaseHeedsTheStop);
        var state = State("monitor: { tickIntervalMs: 1000, fleetIntervalMs: 1000 }");
        using var gateway = new MonitorService(store, state, clock, NullLogger<MonitorService>.Instance, pendingLevelChanges: 16_384, fleet);
        Assert.True(gateway.Fleet);
        await gateway.RestoreAsync(None).WithTimeout();
        await gateway.StartAsync(None).WithTimeout();

        // Requests observed while the fleet's database does not answer: a round of the fleet's loop is shipping them to it.
        var tenant = new Tenant("t1", "T1 Ltd.", "SG", clock.GetUtcNow());
        var key = ApiKeys.Create("t1", clock.GetUtcNow()).Key;
        gateway.Observe(new DefaultHttpContext(), Call(state, clock, "req_1", tenant, key));
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(500));
            return Task.FromResult(fleet.Shipping > 0);
        });
        gateway.Observe(new DefaultHttpContext(), Call(state, clock, "req_2", tenant, key));

        // Before, the stop waited for that round (for ever, from a database deaf to the stop): the gateway never stopped.
        var stopping = gateway.StopAsync(None);
        await clock.AdvanceUntilDoneAsync(stopping);
    }

    private static CorridorRequestFeature Call(GatewayState state, FakeClock clock, string requestId, Tenant tenant, ApiKey key)
    {
        var body = """{"model":"gpt-4.1","messages":[{"role":"user","content":"Explain your reasoning step by step."}]}"""u8.ToArray();
        return new CorridorRequestFeature(state.Active, requestId, Dialect.OpenAI, Operation.ChatCompletions, clock.GetUtcNow(), clock.GetTimestamp(), 100)
        {
            Request = new ClientRequest(body, body.Length) { Model = "gpt-4.1" },
            Caller = new AuthenticatedKey(key, tenant),
        };
    }

    /// <summary>
    /// A fleet's observation log on a database that stopped answering: every call ends only when cancelled, or, when it does
    /// not heed cancellation, never.
    /// </summary>
    private sealed class UnansweredFleet(bool heedsCancellation) : IFleetObservations
    {
        private int _shipping;

        public int Shipping => Volatile.Read(ref _shipping);

        public Task ShipAsync(IReadOnlyList<FleetObservation> batch, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _shipping);
            return Task.Delay(Timeout.Infinite, heedsCancellation ? cancellationToken : CancellationToken.None);
        }

        public async Task<IFleetMonitorLease?> TryLeadAsync(CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, heedsCancellation ? cancellationToken : CancellationToken.None);
            return null;
        }
    }

    [Fact]
    public async Task ABusyCasesRequests_QueueOnlyTheExamplesItLacks_SoAnotherCaseStillGetsItsFirstExamples_EachNamingItsBatchIfAny()
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        var state = State();
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), None).WithTimeout();
        using var gateway = new MonitorService(store, state, clock, NullLogger<MonitorService>.Instance);
        await gateway.RestoreAsync(None).WithTimeout();
        var tenant = new Tenant("t1", "T1 Ltd.", "SG", clock.GetUtcNow());
        var busy = ApiKeys.Create("t1", clock.GetUtcNow()).Key;
        var quiet = ApiKeys.Create("t1", clock.GetUtcNow()).Key;
        IMonitorSink sink = gateway;
        foreach (var key in new[] { busy, quiet })
        {
            sink.LevelChanged(new LevelChange(SubjectRef.Key(key.Id), "t1", EnforcementLevel.Watch, EnforcementLevel.Flag, 0.45, LevelChangeCause.Automatic, clock.GetUtcNow(), [], []));
        }

        await gateway.TickAsync(None).WithTimeout(); // both cases open, each wanting its first five requests

        // Between two ticks the flagged busy key sends more requests than the examples' queue held (16,384); then the quiet one sends one.
        for (var i = 0; i < 16_400; i++)
        {
            gateway.Observe(new DefaultHttpContext(), Call($"req_b{i}", busy));
        }

        gateway.Observe(new DefaultHttpContext(), Call("req_q", quiet));
        // And one Corridor ran for the quiet key's batch: its example names the batch (evidence of the path a harvest took).
        gateway.Observe(new DefaultHttpContext(), Call("req_qb", quiet, "msgbatch_0123456789abcdef0123456789abcdef"));
        await gateway.TickAsync(None).WithTimeout();

        var busyCase = Assert.Single(await CaseBook.ListAsync(store, "active", $"key:{busy.Id}", None).WithTimeout());
        var quietCase = Assert.Single(await CaseBook.ListAsync(store, "active", $"key:{quiet.Id}", None).WithTimeout());
        Assert.Equal(["req_b0", "req_b1", "req_b2", "req_b3", "req_b4"], busyCase.Examples.Select(e => e.RequestId));
        Assert.Equal([("req_q", null), ("req_qb", "msgbatch_0123456789abcdef0123456789abcdef")], quietCase.Examples.Select(e => (e.RequestId, e.Batch)));
        Assert.All(busyCase.Examples, e => Assert.Null(e.Batch));

        CorridorRequestFeature Call(string requestId, ApiKey key, string? batch = null)
        {
            var body = """{"model":"gpt-4.1","messages":[{"role":"user","content":"Explain your reasoning step by step."}]}"""u8.ToArray();
            return new CorridorRequestFeature(state.Active, requestId, Dialect.OpenAI, Operation.ChatCompletions, clock.GetUtcNow(), clock.GetTimestamp(), 100)
            {
                Request = new ClientRequest(body, body.Length) { Model = "gpt-4.1" },
                Caller = new AuthenticatedKey(key, tenant),
                InProcess = batch is null ? null : new InProcessCaller(key, requestId, null, batch),
            };
        }
    }
}
