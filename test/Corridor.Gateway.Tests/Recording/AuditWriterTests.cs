using System.Diagnostics;
using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using Corridor.Gateway.Recording;
using Corridor.Storage;
using Corridor.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Recording;

public sealed class AuditWriterTests : SqliteStoreTestBase
{
    private AuditWriter NewWriter(TimeSpan flushInterval) =>
        new(Store, new AuditWriterOptions(BatchSize: 16, FlushInterval: flushInterval), TimeProvider.System, NullLogger<AuditWriter>.Instance);

    private static AuditEntry Decision(int thread, int i) =>
        new(DateTimeOffset.UtcNow, AuditActors.Gateway, AuditActions.Decision, $"req-{thread}-{i}", AuditDetails.Write(json => json.WriteString("outcome", "allow")));

    [Fact]
    public async Task EntriesFromManyThreads_LandInBatches_AsOneValidChain()
    {
        using var writer = NewWriter(TimeSpan.FromMilliseconds(5));
        await writer.StartAsync(CancellationToken.None).WithTimeout();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 100; i++)
            {
                Assert.True(writer.Enqueue(Decision(t, i)));
            }
        }))).WithTimeout();
        await writer.FlushAsync(CancellationToken.None).WithTimeout();
        await writer.StopAsync(CancellationToken.None).WithTimeout();

        var records = await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync();
        Assert.Equal(400, records.Count);
        Assert.Equal(400, writer.Written);
        Assert.Equal(0, writer.Pending);
        Assert.True(AuditVerifier.Verify(records).IsValid);
        // Each thread's entries keep their order.
        Assert.All(records.GroupBy(r => r.Subject.Split('-')[1]), g =>
            Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), g.Select(r => r.Subject.Split('-')[2])));
    }

    [Fact]
    public async Task QueuedDecisions_AreWrittenWithTheirTrace_InOrderWithOtherEntries()
    {
        var catalog = Catalog.TryCreate(new CatalogConfig(
            [new VendorConfig("openai", VendorKind.OpenAI, "https://api.openai.com/v1")],
            [new ModelConfig("gpt-4.1", "openai", ModelCapabilities.Chat, 1_000_000)],
            [new DeploymentConfig("gpt-sg", "gpt-4.1", "sg", 2m, 8m)]), out _)!;
        var policy = CompiledPolicy.TryCreate(new PolicyConfig("p-1", [], [new PolicyRule("grant") { AllowJurisdictions = ["SG"] }]), catalog, out var errors);
        Assert.True(policy is not null, string.Join("\n", errors));
        var now = DateTimeOffset.UtcNow;
        DecisionInput Input(string country) =>
            new(new DecisionTenant("acme", country, null, EntityType.Enterprise, VettingTier.Verified, false), "key-1", new RequestFeatures("gpt-4.1"), now);
        using var writer = NewWriter(TimeSpan.FromMilliseconds(5));
        await writer.StartAsync(CancellationToken.None).WithTimeout();

        Assert.True(writer.Enqueue(new DecisionToAudit("dec_1", "req_1", Input("SG"), policy)));
        Assert.True(writer.Enqueue(Decision(0, 0)));
        Assert.True(writer.Enqueue(new DecisionToAudit("dec_2", "req_2", Input("US"), policy)));
        await writer.FlushAsync(CancellationToken.None).WithTimeout();
        await writer.StopAsync(CancellationToken.None).WithTimeout();

        var records = await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync();
        Assert.Equal(["dec_1", "req-0-0", "dec_2"], records.Select(r => r.Subject));
        Assert.True(AuditVerifier.Verify(records).IsValid);
        using var allowed = JsonDocument.Parse(records[0].Details);
        Assert.Equal("req_1", allowed.RootElement.GetProperty("request_id").GetString());
        Assert.Equal("allow", allowed.RootElement.GetProperty("outcome").GetString());
        Assert.Equal("grant", allowed.RootElement.GetProperty("trace")[0].GetProperty("rule").GetString());
        using var denied = JsonDocument.Parse(records[2].Details);
        Assert.Equal("deny", denied.RootElement.GetProperty("outcome").GetString());
        Assert.Equal("jurisdiction_denied", denied.RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task OnShutdown_EveryQueuedEntryIsWritten()
    {
        // A long gathering interval: nothing would be written before the stop without the drain.
        using var writer = NewWriter(TimeSpan.FromMinutes(5));
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        for (var i = 0; i < 50; i++)
        {
            writer.Enqueue(Decision(0, i));
        }

        await writer.StopAsync(CancellationToken.None).WithTimeout();

        Assert.Equal(50, (await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync()).Count);
        Assert.False(writer.Enqueue(Decision(0, 99)));
    }

    [Fact]
    public async Task StopAsync_WaitsForTheBatchTheLoopIsWriting_EvenPastTheShutdownDeadline()
    {
        var writing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = InterceptedStore.Wrap(Store, async (_, append) =>
        {
            writing.TrySetResult();
            await release.Task;
            return await append();
        });
        using var writer = new AuditWriter(store, new AuditWriterOptions(BatchSize: 16, FlushInterval: TimeSpan.Zero), TimeProvider.System, NullLogger<AuditWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        Assert.True(writer.Enqueue(Decision(0, 0)));
        await writing.Task.WithTimeout();

        // The host's shutdown deadline already passed (the server spent it on streams in flight).
        var stop = writer.StopAsync(new CancellationToken(canceled: true));

        Assert.False(stop.IsCompleted, "StopAsync returned while the loop's batch was still being written");
        release.SetResult();
        await stop.WithTimeout();
        Assert.Equal(["req-0-0"], (await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync()).Select(r => r.Subject));
        Assert.Equal(1, writer.Written);
    }

    [Fact]
    public async Task ABatchStoredThoughItsAppendFailed_IsNotWrittenAgainByTheRetry()
    {
        // The connection broke during the commit: the batch is in the log, the writer saw an error and retries it.
        var failed = 0;
        var store = InterceptedStore.Wrap(Store, async (_, append) =>
        {
            var records = await append();
            if (Interlocked.Increment(ref failed) == 1)
            {
                throw new IOException("the connection broke before the commit's answer arrived");
            }
            return records;
        });
        using var writer = new AuditWriter(store, new AuditWriterOptions(BatchSize: 16, FlushInterval: TimeSpan.FromMinutes(5)), TimeProvider.System, NullLogger<AuditWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(writer.Enqueue(Decision(0, i)));
        }

        await writer.StopAsync(CancellationToken.None).WithTimeout();

        var records = await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync();
        Assert.Equal(["req-0-0", "req-0-1", "req-0-2"], records.Select(r => r.Subject));
        Assert.True(AuditVerifier.Verify(records).IsValid);
        Assert.Equal(3, writer.Written);
        Assert.Equal(2, failed);
    }

    [Fact]
    public async Task BatchesTheStoreRefuses_AreSpooled_AndAppendedOnceByTheNextWriter_AfterAStopWhileTheStoreWasAway()
    {
        var spool = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "spool");
        var away = InterceptedStore.Wrap(Store, (_, _) => Task.FromException<IReadOnlyList<Core.Audit.AuditRecord>>(new IOException("the store is away")));
        using (var writer = new AuditWriter(away, new AuditWriterOptions(BatchSize: 2, FlushInterval: TimeSpan.FromMinutes(5), SpoolPath: spool), TimeProvider.System, NullLogger<AuditWriter>.Instance))
        {
            await writer.StartAsync(CancellationToken.None).WithTimeout();
            for (var i = 0; i < 3; i++)
            {
                Assert.True(writer.Enqueue(Decision(0, i)));
            }

            // A stop (or a crash) while the store is away: the entries are on disk, not lost.
            await writer.StopAsync(CancellationToken.None).WithTimeout();
            Assert.Equal(0, writer.Pending);
            Assert.Equal(0, writer.Written);
        }
        Assert.Equal(2, Directory.GetFiles(spool, "*.audit.json").Length);
        Assert.Empty(await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync());

        using (var writer = new AuditWriter(Store, new AuditWriterOptions(SpoolPath: spool), TimeProvider.System, NullLogger<AuditWriter>.Instance))
        {
            await writer.StartAsync(CancellationToken.None).WithTimeout();
            using (var timeout = new CancellationTokenSource(TestTimeouts.Default))
            {
                await writer.FlushAsync(timeout.Token);
            }
            await writer.StopAsync(CancellationToken.None).WithTimeout();
            Assert.Equal(3, writer.Written);
        }

        var records = await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync();
        Assert.Equal(["req-0-0", "req-0-1", "req-0-2"], records.Select(r => r.Subject));
        Assert.True(AuditVerifier.Verify(records).IsValid);
        Assert.Empty(Directory.GetFiles(spool));
    }

    /// <summary>
    /// A store that stops answering (a hung database) rather than refusing: the batch the writer is appending goes to the
    /// spool once <see cref="StoreDeadline.Timeout"/> has passed on the writer's clock, later batches join it there without
    /// waiting, and once the store answers the spool is appended, each record once, in the order enqueued, one valid chain.
    /// </summary>
    [Fact]
    public async Task WhileTheStoreDoesNotAnswer_BatchesGoToTheSpool_TheFirstAtTheStoreDeadline_TheRestAtOnce_AndJoinTheChainOnceWhenItAnswers()
    {
        var folder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "spool");
        var clock = new FakeClock();
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answering = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = InterceptedStore.Wrap(Store, async (_, append) =>
        {
            if (!answering.Task.IsCompleted)
            {
                // No answer while the store is away; then the connection is found broken and the append rolled back.
                asked.TrySetResult();
                await answering.Task;
                throw new IOException("the connection broke while the store did not answer");
            }
            return await append();
        });
        using var writer = new AuditWriter(store, new AuditWriterOptions(BatchSize: 16, FlushInterval: TimeSpan.Zero, SpoolPath: folder), clock, NullLogger<AuditWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        // The spool is found empty at start: batches go to the store first.
        await TestTimeouts.UntilAsync(() => Task.FromResult(!writer.SpoolMayHoldBatches));

        Assert.True(writer.Enqueue(Decision(0, 0)));
        await asked.Task.WithTimeout();
        clock.Advance(StoreDeadline.Timeout - TimeSpan.FromMilliseconds(1));
        Assert.Equal((1, 0), (writer.Pending, writer.SpoolFiles));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await TestTimeouts.UntilAsync(() => Task.FromResult(writer.Pending == 0));
        Assert.Equal(1, writer.SpoolFiles);

        // The clock stands still now: these wait for no deadline, and go behind the first.
        for (var i = 1; i < 4; i++)
        {
            Assert.True(writer.Enqueue(Decision(0, i)));
            var enqueued = i;
            await TestTimeouts.UntilAsync(() => Task.FromResult(writer.Pending == 0 && writer.SpoolFiles == enqueued + 1));
        }
        Assert.Empty(await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync());

        answering.SetResult();
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(writer.SpoolFiles == 0);
        });
        await writer.StopAsync(CancellationToken.None).WithTimeout();

        var records = await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync();
        Assert.Equal(["req-0-0", "req-0-1", "req-0-2", "req-0-3"], records.Select(r => r.Subject));
        Assert.True(AuditVerifier.Verify(records).IsValid);
        Assert.Equal(4, writer.Written);
        Assert.Empty(Directory.GetFiles(folder));
    }

    /// <summary>
    /// The spool's replay in the background asks a store that does not answer no longer than <see cref="StoreDeadline.Timeout"/>
    /// a try, then tries again a second later; its file stays until the store takes it. Before, a try waited for the
    /// driver's own command timeout (Npgsql: 30 s): here, for ever, and no second try came.
    /// </summary>
    [Fact]
    public async Task WhileTheStoreDoesNotAnswer_TheSpoolsReplayGivesUpEachTryAtTheStoreDeadline_AndTriesAgain()
    {
        var folder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "spool");
        await new AuditSpool(folder).SaveAsync([Decision(0, 0)], CancellationToken.None).WithTimeout();
        var clock = new FakeClock();
        var tries = 0;
        var store = InterceptedStore.Hanging(Store, name => name == nameof(ICorridorStore.AppendAuditAgainAsync), hanging: _ => Interlocked.Increment(ref tries));
        using var writer = new AuditWriter(store, new AuditWriterOptions(SpoolPath: folder), clock, NullLogger<AuditWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(Volatile.Read(ref tries) == 1));

        clock.Advance(StoreDeadline.Timeout - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, Volatile.Read(ref tries));
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(Volatile.Read(ref tries) >= 2);
        });

        await clock.AdvanceUntilDoneAsync(writer.StopAsync(CancellationToken.None));
        Assert.Equal(1, writer.SpoolFiles);
        Assert.Empty(await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync());
    }

    /// <summary>
    /// A batch the writer began appending before the stop, to a store that then stopped answering, waits no longer than the
    /// stop's deadline (<see cref="StopDeadline"/>): it goes to the spool then, not at its own <see cref="StoreDeadline.Timeout"/>
    /// (a stop overran its deadline by up to those 5 s). Its records are kept for the next start, none lost.
    /// </summary>
    [Fact]
    public async Task ABatchBegunBeforeTheStop_GoesToTheSpoolAtTheStopsDeadline_NotAtItsOwnStoreDeadline()
    {
        var folder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "spool");
        var clock = new FakeClock();
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = InterceptedStore.Wrap(Store, async (_, _) =>
        {
            asked.TrySetResult();
            await Task.Delay(Timeout.Infinite);
            throw new UnreachableException();
        });
        var stop = new StopDeadline(clock, TimeSpan.FromSeconds(3));
        using var writer = new AuditWriter(store, new AuditWriterOptions(BatchSize: 16, FlushInterval: TimeSpan.Zero, SpoolPath: folder), clock,
            NullLogger<AuditWriter>.Instance, stop);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(!writer.SpoolMayHoldBatches));

        Assert.True(writer.Enqueue(Decision(0, 0)));
        await asked.Task.WithTimeout();
        // The stop begins with the batch in flight and no request in flight: its store work has the whole 3 s.
        await stop.StoppingAsync(CancellationToken.None);
        await stop.StopAsync(CancellationToken.None);
        var stopping = writer.StopAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(3));

        await stopping.WithTimeout();
        Assert.Equal((0, 1), (writer.Pending, writer.SpoolFiles));
        Assert.Empty(await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task ASpooledBatchTheLogAlreadyHolds_IsNotAppendedAgain()
    {
        // A crash between a replay's append and the file's delete (or a batch spooled after an append whose outcome was unknown).
        var spoolFolder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "spool");
        AuditEntry[] batch = [Decision(0, 0), Decision(0, 1)];
        await Store.AppendAuditAsync(batch, CancellationToken.None).WithTimeout();
        await new AuditSpool(spoolFolder).SaveAsync(batch, CancellationToken.None).WithTimeout();

        using var writer = new AuditWriter(Store, new AuditWriterOptions(SpoolPath: spoolFolder), TimeProvider.System, NullLogger<AuditWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        using (var timeout = new CancellationTokenSource(TestTimeouts.Default))
        {
            await writer.FlushAsync(timeout.Token);
        }
        await writer.StopAsync(CancellationToken.None).WithTimeout();

        Assert.Equal(["req-0-0", "req-0-1"], (await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync()).Select(r => r.Subject));
        Assert.Empty(Directory.GetFiles(spoolFolder));
    }
}
