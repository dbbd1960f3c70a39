using Corridor.Gateway.Configuration;
using Corridor.Gateway.Recording;
using Corridor.Storage;
using Corridor.Testing;
using Corridor.Testing.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Recording;

/// <summary>
/// The ledger's group commit on a real SQLite store without its journal (the path of every batch with PostgreSQL): rows
/// written alone at light load, in batches otherwise. And with the journal: every row taken at once.
/// </summary>
public sealed class LedgerWriterTests : SqliteStoreTestBase
{
    protected override bool WithoutTheJournal => true;

    private LedgerWriter NewWriter(ICorridorStore? store = null) => new(store ?? Store, new LedgerOptions(), TimeProvider.System, NullLogger<LedgerWriter>.Instance);

    [Fact]
    public async Task WithTheJournal_EveryRowIsDurableWhenEnqueueReturns_WithoutABatch()
    {
        await using var journaled = await CorridorStores.OpenAsync(new StorageOptions(DatabasePath + "-journaled.db"), CancellationToken.None).WithTimeout();
        using var writer = NewWriter(journaled);
        await writer.StartAsync(CancellationToken.None).WithTimeout();

        // Under load too (mayWriteAlone false): the journal's copy is the durable point, on the caller's thread.
        var durable = Enumerable.Range(0, 50).Select(i => writer.Enqueue(LedgerSamples.Entry($"req-{i}"), mayWriteAlone: i % 2 == 0)).ToList();

        Assert.All(durable, d => Assert.True(d.IsCompletedSuccessfully && d.Result));
        Assert.Equal(0, writer.Pending);
        Assert.Equal(50, writer.Written);
        Assert.Equal(50, (await journaled.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Count);
        await writer.StopAsync(CancellationToken.None).WithTimeout();
    }

    [Fact]
    public async Task ARowRecordedAfterTheWriterStopped_IsStillJournaled_OrCountedAsLost()
    {
        // A request cut off at the shutdown deadline may finish after the writers stopped; the store is still open then.
        using var batching = NewWriter();
        await batching.StartAsync(CancellationToken.None).WithTimeout();
        Assert.True(await batching.Enqueue(LedgerSamples.Entry("req-before"), mayWriteAlone: false).WithTimeout());
        await batching.StopAsync(CancellationToken.None).WithTimeout();

        // Without a journal to take it, the row is lost, and the exit code must say so.
        Assert.False(await batching.Enqueue(LedgerSamples.Entry("req-late")).WithTimeout());
        Assert.Equal(1, batching.Lost);

        await using var journaled = await CorridorStores.OpenAsync(new StorageOptions(DatabasePath + "-journaled.db"), CancellationToken.None).WithTimeout();
        using var writer = NewWriter(journaled);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        await writer.StopAsync(CancellationToken.None).WithTimeout();

        Assert.True(await writer.Enqueue(LedgerSamples.Entry("req-late")).WithTimeout());
        Assert.Equal(["req-late"], (await journaled.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Select(r => r.RequestId));
        Assert.Equal(0, writer.Lost);
    }

    [Fact]
    public async Task AWriterStoppedRightAfterItsStart_WritesTheRowsItGathered()
    {
        using var writer = NewWriter();
        var queued = Enumerable.Range(0, 3).Select(i => writer.Enqueue(LedgerSamples.Entry($"req-{i}"), mayWriteAlone: false)).ToList();

        await writer.StartAsync(CancellationToken.None).WithTimeout();
        await writer.StopAsync(CancellationToken.None).WithTimeout();

        Assert.All(await Task.WhenAll(queued).WithTimeout(), Assert.True);
        Assert.Equal(3, (await Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Count);
        Assert.False(await writer.Enqueue(LedgerSamples.Entry("req-late")).WithTimeout());
    }

    [Fact]
    public async Task ARowThatMayBeWrittenAlone_WhileTheWriterIsIdle_IsInTheStoreWhenEnqueueReturns()
    {
        using var writer = NewWriter();
        await writer.StartAsync(CancellationToken.None).WithTimeout();

        // SQLite commits synchronously: the request that brought the row wrote it, without the writer's thread.
        var durable = writer.Enqueue(LedgerSamples.Entry("req-alone"), mayWriteAlone: true);

        Assert.True(durable.IsCompletedSuccessfully);
        Assert.True(await durable);
        Assert.Equal(["req-alone"], (await Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Select(r => r.RequestId));
        Assert.Equal(1, writer.Written);
        Assert.Equal(0, writer.Pending);
        await writer.StopAsync(CancellationToken.None).WithTimeout();
    }

    [Fact]
    public async Task RowsFromManyThreads_SomeAloneSomeInBatches_AreEachWrittenOnce()
    {
        using var writer = NewWriter();
        // Rows queued before the writer starts are there together when it does, so they share batches whatever the timing
        // of the threads below.
        var queued = Enumerable.Range(0, 100).Select(i => writer.Enqueue(LedgerSamples.Entry($"req-queued-{i}"), mayWriteAlone: false)).ToList();
        await writer.StartAsync(CancellationToken.None).WithTimeout();

        var durable = await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            var results = new List<bool>();
            for (var i = 0; i < 200; i++)
            {
                results.Add(await writer.Enqueue(LedgerSamples.Entry($"req-{t}-{i}"), mayWriteAlone: i % 2 == 0));
            }
            return results;
        }))).WithTimeout();
        await writer.StopAsync(CancellationToken.None).WithTimeout();

        Assert.All(durable.SelectMany(r => r).Concat(await Task.WhenAll(queued).WithTimeout()), Assert.True);
        var rows = await Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync();
        Assert.Equal(1700, rows.Select(r => r.RequestId).Distinct().Count());
        Assert.Equal(1700, rows.Count);
        Assert.Equal(1700, writer.Written);
        Assert.True(writer.Commits < 1700, $"{writer.Commits} commits: the rows queued before the start should have shared a batch");
    }

    /// <summary>
    /// A database that stops answering (hung, or cut off by the network) fails nothing by itself. The first row waits for
    /// it no longer than the store timeout and goes to the spool; rows after it go to the spool at once, behind it, while
    /// the store still does not answer; once it answers, the spool reaches it, each row once, oldest first.
    /// </summary>
    [Fact]
    public async Task WhileTheStoreDoesNotAnswer_RowsGoToTheSpool_TheFirstAfterTheStoreTimeout_TheRestAtOnce_AndLandOnceWhenItAnswers()
    {
        var folder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "ledger-spool");
        var clock = new FakeClock();
        var answering = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = InterceptedStore.Wrap(Store, async (entries, cancellationToken, append) =>
        {
            // Nothing comes back until the store answers again, or the writer gives up on it.
            await answering.Task.WaitAsync(cancellationToken);
            await append();
        });
        using var writer = new LedgerWriter(store, new LedgerOptions(SpoolPath: folder), clock, NullLogger<LedgerWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        // The spool is found empty at start: rows go to the store first.
        await TestTimeouts.UntilAsync(() => Task.FromResult(!writer.SpoolMayHoldBatches));

        var first = writer.Enqueue(LedgerSamples.Entry("req-first"), mayWriteAlone: true);
        clock.Advance(LedgerWriter.StoreTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(first.IsCompleted);
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(first.IsCompleted);
        });
        Assert.True(await first);

        // The clock stands still now: these wait for no timeout.
        var later = Enumerable.Range(0, 3).Select(i => writer.Enqueue(LedgerSamples.Entry($"req-later-{i}"), mayWriteAlone: i == 0)).ToList();
        Assert.All(await Task.WhenAll(later).WithTimeout(), Assert.True);
        Assert.Empty(await Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync());
        Assert.NotEmpty(Directory.GetFiles(folder, "*.ledger.json"));

        answering.SetResult();
        await TestTimeouts.UntilAsync(() => Task.FromResult(writer.Pending == 0 && writer.Spool.Files == 0));
        await writer.StopAsync(CancellationToken.None).WithTimeout();

        var rows = await Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync();
        Assert.Equal(["req-first", "req-later-0", "req-later-1", "req-later-2"], rows.Select(r => r.RequestId));
        Assert.Empty(Directory.GetFiles(folder));
        Assert.Equal(4, writer.Written);
    }

    /// <summary>
    /// A stop while the writer's background replay of the spool waits on a database that does not answer (and a driver
    /// whose cancellation waits on it too) waits for the replay at most the store deadline, as the audit writer's does: the
    /// spooled rows stay in the spool for the next start, none lost. Before, the stop waited for the replay for ever.
    /// </summary>
    [Fact]
    public async Task AStopWhileTheSpoolsReplayWaitsOnAStoreThatDoesNotAnswer_EndsAtTheStoreDeadline_KeepingTheRowsSpooled()
    {
        var folder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "ledger-spool");
        var clock = new FakeClock();
        var appends = 0;
        var store = InterceptedStore.Wrap(Store, async (entries, cancellationToken, append) =>
        {
            // The first append (the writer's own) gives up at the store deadline; the replay's does not heed its cancellation.
            var deaf = Interlocked.Increment(ref appends) > 1;
            await Task.Delay(Timeout.Infinite, deaf ? CancellationToken.None : cancellationToken);
        });
        using var writer = new LedgerWriter(store, new LedgerOptions(SpoolPath: folder), clock, NullLogger<LedgerWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(!writer.SpoolMayHoldBatches));

        var row = writer.Enqueue(LedgerSamples.Entry("req-spooled"), mayWriteAlone: true);
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(Volatile.Read(ref appends) > 1);
        });
        Assert.True(await row.WithTimeout());

        var stopping = writer.StopAsync(CancellationToken.None);
        await clock.AdvanceUntilDoneAsync(stopping);
        Assert.Equal(0, writer.Lost);
        Assert.Single(Directory.GetFiles(folder, "*.ledger.json"));
    }

    /// <summary>
    /// The spool's replay in the background asks a store that does not answer no longer than <see cref="LedgerWriter.StoreTimeout"/>
    /// a try, as the writer's own batches do, then tries again a second later; its file stays until the store takes it.
    /// Before, a try waited for the driver's own command timeout (Npgsql: 30 s, whose expiry then sent its blocking cancel
    /// request on a thread-pool thread): here, for ever, and no second try came.
    /// </summary>
    [Fact]
    public async Task WhileTheStoreDoesNotAnswer_TheSpoolsReplayGivesUpEachTryAtTheStoreTimeout_AndTriesAgain()
    {
        var folder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "ledger-spool");
        await new LedgerSpool(folder).SaveAsync([LedgerSamples.Entry("req-spooled")], CancellationToken.None).WithTimeout();
        var clock = new FakeClock();
        var tries = 0;
        var store = InterceptedStore.Wrap(Store, async (entries, cancellationToken, append) =>
        {
            Interlocked.Increment(ref tries);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        });
        using var writer = new LedgerWriter(store, new LedgerOptions(SpoolPath: folder), clock, NullLogger<LedgerWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(Volatile.Read(ref tries) == 1));

        clock.Advance(LedgerWriter.StoreTimeout - TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, Volatile.Read(ref tries));
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(Volatile.Read(ref tries) >= 2);
        });

        await clock.AdvanceUntilDoneAsync(writer.StopAsync(CancellationToken.None));
        Assert.Single(Directory.GetFiles(folder, "*.ledger.json"));
        Assert.Empty(await Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync());
    }

    /// <summary>
    /// A batch the writer began writing before the stop, to a store that then stopped answering, waits no longer than the
    /// stop's deadline (<see cref="StopDeadline"/>): its rows go to the spool then, not at its own <see cref="LedgerWriter.StoreTimeout"/>
    /// (a stop overran its deadline by up to those 5 s), and the row a request wrote alone does the same. None is lost.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ARowBeingWrittenWhenTheStopBegins_GoesToTheSpoolAtTheStopsDeadline_NotAtItsOwnStoreTimeout(bool alone)
    {
        var folder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "ledger-spool");
        var clock = new FakeClock();
        var asked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var store = InterceptedStore.Wrap(Store, async (entries, cancellationToken, append) =>
        {
            asked.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        });
        var stop = new StopDeadline(clock, TimeSpan.FromSeconds(3));
        using var writer = new LedgerWriter(store, new LedgerOptions(SpoolPath: folder), clock, NullLogger<LedgerWriter>.Instance, stop);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(!writer.SpoolMayHoldBatches));

        var row = writer.Enqueue(LedgerSamples.Entry("req-in-flight"), mayWriteAlone: alone);
        await asked.Task.WithTimeout();
        // The stop begins with the row being written and no request in flight: its store work has the whole 3 s.
        await stop.StoppingAsync(CancellationToken.None);
        await stop.StopAsync(CancellationToken.None);
        var stopping = writer.StopAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(3));

        Assert.True(await row.WithTimeout());
        await stopping.WithTimeout();
        Assert.Equal(0, writer.Lost);
        Assert.Single(Directory.GetFiles(folder, "*.ledger.json"));
        Assert.Empty(await Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync());
    }

    [Theory]
    [InlineData("cut in the middle")]
    [InlineData("a row without its model")]
    public async Task ASpoolFileThatCannotBeRead_IsSetAside_AndTheFilesAfterItAreStillWritten(string damage)
    {
        var folder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "ledger-spool");
        var spool = new LedgerSpool(folder);
        await spool.SaveAsync([LedgerSamples.Entry("req-before")], CancellationToken.None).WithTimeout();
        await spool.SaveAsync(
            [LedgerSamples.Entry("req-beside"), LedgerSamples.Entry("req-damaged") with { Model = damage == "cut in the middle" ? "gpt-4.1" : null! }],
            CancellationToken.None).WithTimeout();
        await spool.SaveAsync([LedgerSamples.Entry("req-after")], CancellationToken.None).WithTimeout();
        var damaged = Directory.GetFiles(folder, "*.ledger.json").Order(StringComparer.Ordinal).ElementAt(1);
        if (damage == "cut in the middle")
        {
            var bytes = File.ReadAllBytes(damaged);
            File.WriteAllBytes(damaged, bytes[..(bytes.Length / 2)]);
        }

        using var writer = new LedgerWriter(Store, new LedgerOptions(SpoolPath: folder), TimeProvider.System, NullLogger<LedgerWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        using (var timeout = new CancellationTokenSource(TestTimeouts.Default))
        {
            await writer.FlushAsync(timeout.Token);
        }

        // A file cut short holds no row that can be read; one with a row no store takes has its others written.
        string[] written = damage == "cut in the middle" ? ["req-after", "req-before"] : ["req-after", "req-before", "req-beside"];
        Assert.Equal(written, (await Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Select(r => r.RequestId).Order());
        Assert.Equal([damaged + LedgerSpool.SetAsideExtension], Directory.GetFiles(folder));
        Assert.Equal((0, 1), writer.Spool);
        Assert.Equal(1, writer.SpoolSetAside);
        await writer.StopAsync(CancellationToken.None).WithTimeout();
    }

    [Fact]
    public async Task TheTemporaryFileOfASaveACrashCut_IsRemoved_AndOneBeingWrittenIsKept()
    {
        var folder = Path.Combine(Path.GetDirectoryName(DatabasePath)!, "ledger-spool");
        Directory.CreateDirectory(folder);
        var abandoned = Path.Combine(folder, "0638000000000000000-4242-0000000001.ledger.json.tmp");
        var beingWritten = Path.Combine(folder, "0638000000000000001-4243-0000000001.ledger.json.tmp");
        await File.WriteAllTextAsync(abandoned, "[{\"request_id\":");
        await File.WriteAllTextAsync(beingWritten, "[");
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow - SpoolFiles.AbandonedAfter - TimeSpan.FromMinutes(1));

        using var writer = new LedgerWriter(Store, new LedgerOptions(SpoolPath: folder), TimeProvider.System, NullLogger<LedgerWriter>.Instance);
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        using (var timeout = new CancellationTokenSource(TestTimeouts.Default))
        {
            // The writer looks at its spool within a second of its start.
            while (File.Exists(abandoned))
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        Assert.Equal([beingWritten], Directory.GetFiles(folder));
        await writer.StopAsync(CancellationToken.None).WithTimeout();
    }
}
