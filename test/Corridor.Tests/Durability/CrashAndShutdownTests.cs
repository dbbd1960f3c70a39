using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Corridor.Core.Metering;
using Corridor.Core.Tenants;
using Corridor.Simulator;
using Corridor.Storage;
using Corridor.Testing;
using Corridor.Testing.Storage;
using Corridor.Tests.Replicas;
using Npgsql;
using OpenAI;
using OpenAI.Chat;

namespace Corridor.Tests.Durability;

/// <summary>
/// <c>corridor serve</c> as a real process under load from the official OpenAI SDK: killed with SIGKILL, every answer a
/// client received complete has its ledger row after the restart, once; stopped with SIGTERM, streams in flight finish,
/// the process exits 0 and the ledger has every row (docs/durability.md, docs/shutdown.md).
/// </summary>
public sealed class CrashAndShutdownTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _folder = new();
    private RunningSimulator? _simulator;
    private TestDatabase? _database;
    private string _secret = "";

    // The store under test: how the CLI names it (--db), how corridor.yaml names it, and how the test opens it.
    private string _db = "";
    private string _storageYaml = "";
    private StorageOptions _storage = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await (_simulator?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_database?.DisposeAsync() ?? ValueTask.CompletedTask);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task KilledUnderLoad_EveryAnswerClientsReceivedCompleteIsInTheLedgerOnce_AndTheAuditChainVerifies()
    {
        await UseSqliteAsync();
        await KillUnderLoadAndCompareAsync();
    }

    [Fact]
    [Trait(TestPostgres.Trait, TestPostgres.Value)]
    public async Task KilledUnderLoad_WithPostgreSQL_EveryAnswerClientsReceivedCompleteIsInTheLedgerOnce_AndTheAuditChainVerifies()
    {
        _database = await TestPostgres.CreateDatabaseAsync();
        _db = _database.ConnectionString;
        _storageYaml = $"postgres: \"{_db}\"";
        await SeedAsync(new StorageOptions(PostgresConnectionString: _db));
        await KillUnderLoadAndCompareAsync();
    }

    private async Task UseSqliteAsync()
    {
        _db = _folder.File("corridor.db");
        _storageYaml = $"sqlite: \"{_db}\"";
        await SeedAsync(new StorageOptions(_db));
    }

    /// <summary>Creates the store with the tenant <c>acme</c> and its key, before the gateway starts on it.</summary>
    private async Task SeedAsync(StorageOptions storage)
    {
        _storage = storage;
        await using var store = await CorridorStores.OpenAsync(storage, CancellationToken.None).WithTimeout();
        await store.AddTenantAsync(new Tenant("acme", "Acme Ltd.", "SG", DateTimeOffset.UtcNow), CancellationToken.None).WithTimeout();
        var issued = ApiKeys.Create("acme", DateTimeOffset.UtcNow);
        await store.AddKeyAsync(issued.Key, CancellationToken.None).WithTimeout();
        _secret = issued.Secret;
    }

    private async Task KillUnderLoadAndCompareAsync()
    {
        var config = await WriteConfigAsync(TimeSpan.FromMilliseconds(2));
        // Batches gather for 100 ms before their commit, so at any moment many rows are only in memory: without the
        // holding of final bytes until the commit, the kill loses rows of answers clients already have (this test fails).
        var environment = new Dictionary<string, string> { ["CORRIDOR__ledger__flushIntervalMs"] = "100" };
        var completed = new ConcurrentBag<string>();
        var cut = 0;
        await using (var serve = await ServeProcess.StartAsync(config, environment))
        {
            using var stop = new CancellationTokenSource();
            var client = Client(serve);
            var workers = Enumerable.Range(0, 12).Select(worker => Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    var (id, complete) = await TryCompleteAsync(client, stream: (worker + n) % 2 == 0, $"worker {worker} request {n}");
                    if (complete)
                    {
                        completed.Add(id!);
                    }
                    else if (id is not null)
                    {
                        Interlocked.Increment(ref cut);
                    }
                }
            })).ToList();

            // Under load (streams and whole answers in flight), then SIGKILL: no shutdown code runs. At a load average of
            // 30 on 2 cores, 270 answers came within TestTimeouts.Default: the count is what the test needs, not the speed.
            var deadline = DateTime.UtcNow + TestTimeouts.Bulk;
            while (completed.Count < 300 && DateTime.UtcNow < deadline && workers.All(w => !w.IsCompleted))
            {
                await Task.Delay(20);
            }
            Assert.True(completed.Count >= 300, $"only {completed.Count} answers before the kill\n{serve.Output}");
            await serve.KillAsync();
            await stop.CancelAsync();
            await Task.WhenAll(workers).WithTimeout();
        }
        Assert.True(cut > 0, "the kill cut no stream in flight: it did not happen under load");
        if (_storage.PostgresConnectionString is null)
        {
            // With SQLite the rows were durable in the ledger journal (docs/durability.md): the kill left its segment, and
            // the restart's replay is what puts the last rows into the database.
            Assert.NotEmpty(Directory.GetFiles(_db + "-ledger", "*.journal"));
        }

        // Restarted on the same store, it serves again and then stops cleanly.
        await using (var restarted = await ServeProcess.StartAsync(config, environment))
        {
            Assert.True((await TryCompleteAsync(Client(restarted), stream: true, "after the restart")).Complete, restarted.Output);
            await restarted.TerminateAsync();
            Assert.True(await restarted.WaitForExitAsync() == 0, restarted.Output);
        }

        var ledger = await ReadLedgerAsync();
        var doubled = ledger.GroupBy(row => row.RequestId).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(doubled.Count == 0, "doubled in the ledger: " + string.Join(", ", doubled));
        var rows = ledger.ToDictionary(row => row.RequestId);
        var missing = completed.Where(id => !rows.ContainsKey(id)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {completed.Count} answers clients received complete have no ledger row: {string.Join(", ", missing.Take(10))}");
        Assert.Equal(completed.Count, completed.Distinct().Count());
        Assert.All(completed, id => Assert.Equal((200, RequestOutcome.Success), (rows[id].Status, rows[id].Outcome)));

        var verify = await CliRunner.RunRawAsync("audit", "verify", "--db", _db);
        Assert.True(verify.ExitCode == 0, verify.Out + verify.Error);
    }

    [Fact]
    public async Task Sigterm_LetsStreamsInFlightFinish_StopsAccepting_ExitsZero_AndTheLedgerHasEveryRow()
    {
        await UseSqliteAsync();
        // 40 ms a token: each stream takes seconds, so all are in flight when the signal comes.
        var config = await WriteConfigAsync(TimeSpan.FromMilliseconds(40));
        await using var serve = await ServeProcess.StartAsync(config, new Dictionary<string, string>());
        var client = Client(serve);
        var firstChunks = Enumerable.Range(0, 6).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToList();
        var streams = firstChunks.Select((first, i) => Task.Run(() => StreamAsync(client, $"stream {i}", first))).ToList();
        await Task.WhenAll(firstChunks.Select(f => f.Task)).WithTimeout();

        await serve.TerminateAsync();

        // New connections are refused while the streams still run.
        var refused = false;
        while (!refused && !streams.All(s => s.IsCompleted))
        {
            refused = await RefusesConnectionAsync(serve.BaseAddress);
            await Task.Delay(20);
        }
        Assert.True(refused, "the gateway still accepted connections after SIGTERM until every stream had ended\n" + serve.Output);

        var ids = await Task.WhenAll(streams).WithTimeout();
        Assert.True(await serve.WaitForExitAsync() == 0, serve.Output);
        Assert.Contains("Corridor stopped:", serve.Output, StringComparison.Ordinal);

        var rows = (await ReadLedgerAsync()).ToDictionary(row => row.RequestId);
        Assert.All(ids, id => Assert.True(rows.TryGetValue(id, out var row) && row.Status == 200 && row.Outcome == RequestOutcome.Success && row.OutputTokens > 0,
            $"no complete ledger row for {id}"));
    }

    /// <summary>
    /// A SIGTERM while PostgreSQL does not answer (frozen behind a relay, as SIGSTOP freezes it), in fleet mode (the monitor
    /// shipping, leases of a rate limit): the stop ends within <c>server.shutdownTimeoutSeconds</c> (3 s here) and a margin
    /// for a loaded machine, exits 0, and the rows of the requests answered during the hang, spooled, reach the ledger once
    /// at the next start. Before the stop's store work shared one deadline, each of its steps waited for the store up to 5 s
    /// in turn (the monitor, the key cache's last-used times, the writers' replays, the give-backs): 15 s and more.
    /// </summary>
    [Fact]
    [Trait(TestPostgres.Trait, TestPostgres.Value)]
    public async Task Sigterm_WhilePostgreSQLDoesNotAnswer_EndsWithinTheShutdownDeadline_ExitsZero_AndTheSpooledRowsReachTheLedger()
    {
        var shutdownTimeout = TimeSpan.FromSeconds(3);
        var margin = TimeSpan.FromSeconds(7);
        var (relay, throughRelay) = await UsePostgresBehindARelayAsync();
        await using var relayClosed = relay;
        var config = await WriteConfigAsync(TimeSpan.FromMilliseconds(2), """

            monitor:
              tickIntervalMs: 100
              fleetIntervalMs: 100
            limits:
              tenantDefaults: { rpm: 6000 }
            """);
        var environment = new Dictionary<string, string> { ["CORRIDOR__server__shutdownTimeoutSeconds"] = "3" };

        var answered = new List<string>();
        await using (var serve = await ServeProcess.StartAsync(config, environment))
        {
            var client = Client(serve);
            for (var i = 0; i < 5; i++)
            {
                answered.Add(await CompleteAsync(client, $"before {i}"));
            }

            relay.Freeze();
            // The first row of the hang waits the store's 5 s, then goes to the spool; the others follow it there at once.
            answered.AddRange(await Task.WhenAll(Enumerable.Range(0, 5).Select(i => CompleteAsync(client, $"during {i}"))).WaitAsync(TestTimeouts.Default));

            var stopping = Stopwatch.StartNew();
            await serve.TerminateAsync();
            var exitCode = await serve.WaitForExitAsync();
            stopping.Stop();
            Assert.True(exitCode == 0, serve.Output);
            Assert.True(stopping.Elapsed <= shutdownTimeout + margin,
                $"the stop took {stopping.Elapsed.TotalSeconds:0.0} s with a shutdown deadline of {shutdownTimeout.TotalSeconds:0} s\n{serve.Output}");
            Assert.Contains(", 0 lost", serve.Output, StringComparison.Ordinal);
        }

        // The next start, reaching the database, writes what the spool kept: every answered request has its row, once.
        await RestartReachingTheDatabaseAsync(config, throughRelay, environment, answered);

        var ledger = await ReadLedgerAsync();
        Assert.All(answered, id => Assert.Single(ledger, row => row.RequestId == id && row.Status == 200));
    }

    /// <summary>
    /// A SIGTERM while the rows of requests in flight are being written to a PostgreSQL that stopped answering mid-write (a
    /// batch, or a row its request writes alone, begun before the stop): the stop ends at its deadline (the shutdown timeout,
    /// plus the store work's second of grace when the requests used it all), not when those writes' own 5 s run out, exits
    /// 0 with nothing lost, and each of those rows is in the ledger once after the next start. The requests themselves are
    /// cut off at the deadline (their final bytes wait for rows that are durable only once spooled).
    /// </summary>
    [Fact]
    [Trait(TestPostgres.Trait, TestPostgres.Value)]
    public async Task Sigterm_WhileRowsAreBeingWrittenToAPostgreSQLThatStoppedAnswering_ExitsZero_AndTheirRowsReachTheLedgerOnce()
    {
        var margin = TimeSpan.FromSeconds(7);
        var (relay, throughRelay) = await UsePostgresBehindARelayAsync();
        await using var relayClosed = relay;
        var config = await WriteConfigAsync(TimeSpan.FromMilliseconds(2), """

            limits:
              tenantDefaults: { rpm: 6000 }
            """);
        var adminToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        var environment = new Dictionary<string, string>
        {
            ["CORRIDOR__server__shutdownTimeoutSeconds"] = "1",
            ["CORRIDOR_ADMIN_TOKEN"] = adminToken,
        };

        var cutOff = new List<string>();
        await using (var serve = await ServeProcess.StartAsync(config, environment))
        {
            var client = Client(serve);
            using var http = Admin(serve, adminToken);
            Assert.True((await TryCompleteAsync(client, stream: false, "before")).Complete, serve.Output);

            relay.Freeze();
            var inFlight = Enumerable.Range(0, 5).Select(i => TryCompleteAsync(client, stream: true, $"in flight {i}")).ToList();
            // Every row is being written (or gathering behind the write) when the signal comes.
            await TestTimeouts.UntilAsync(async () => System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/healthz")).RootElement
                .GetProperty("ledger").GetProperty("pending").GetInt64() == inFlight.Count);

            var stopping = Stopwatch.StartNew();
            await serve.TerminateAsync();
            var exitCode = await serve.WaitForExitAsync();
            stopping.Stop();
            Assert.True(exitCode == 0, serve.Output);
            Assert.True(stopping.Elapsed <= TimeSpan.FromSeconds(1) + TimeSpan.FromSeconds(1) + margin,
                $"the stop took {stopping.Elapsed.TotalSeconds:0.0} s with a shutdown deadline of 1 s\n{serve.Output}");
            Assert.Contains(", 0 lost", serve.Output, StringComparison.Ordinal);
            foreach (var (id, _) in await Task.WhenAll(inFlight).WaitAsync(TestTimeouts.Default))
            {
                Assert.NotNull(id);
                cutOff.Add(id);
            }
        }

        // The next start, reaching the database, writes what the spool kept.
        await RestartReachingTheDatabaseAsync(config, throughRelay, environment, cutOff);

        var ledger = await ReadLedgerAsync();
        Assert.All(cutOff, id => Assert.Single(ledger, row => row.RequestId == id));
    }

    /// <summary>A seeded PostgreSQL database that the gateway is to reach through a relay the test can freeze; the connection string through it.</summary>
    private async Task<(TcpRelay Relay, string ThroughRelay)> UsePostgresBehindARelayAsync()
    {
        _database = await TestPostgres.CreateDatabaseAsync();
        var direct = new NpgsqlConnectionStringBuilder(_database.ConnectionString);
        var relay = TcpRelay.Start(new Uri($"tcp://{direct.Host}:{direct.Port}"));
        var throughRelay = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Host = "127.0.0.1", Port = relay.Address.Port }.ConnectionString;
        await SeedAsync(new StorageOptions(PostgresConnectionString: _database.ConnectionString));
        _storageYaml = $"postgres: \"{throughRelay}\"";
        return (relay, throughRelay);
    }

    /// <summary>Starts the gateway again, reaching the database directly, until each of <paramref name="requestIds"/> has its ledger row; it exits 0.</summary>
    private async Task RestartReachingTheDatabaseAsync(string config, string throughRelay, Dictionary<string, string> environment, IReadOnlyCollection<string> requestIds)
    {
        _storageYaml = $"postgres: \"{_database!.ConnectionString}\"";
        await File.WriteAllTextAsync(config, (await File.ReadAllTextAsync(config)).Replace(throughRelay, _database.ConnectionString, StringComparison.Ordinal));
        await using var restarted = await ServeProcess.StartAsync(config, environment);
        await TestTimeouts.UntilAsync(async () => requestIds.All((await ReadLedgerAsync()).Select(row => row.RequestId).ToHashSet().Contains));
        await restarted.TerminateAsync();
        Assert.True(await restarted.WaitForExitAsync() == 0, restarted.Output);
    }

    /// <summary>One request through the SDK that must be answered complete; its request id.</summary>
    private static async Task<string> CompleteAsync(ChatClient client, string prompt)
    {
        var (id, complete) = await TryCompleteAsync(client, stream: false, prompt);
        Assert.True(complete && id is not null, $"no complete answer to \"{prompt}\"");
        return id!;
    }

    [Fact]
    public async Task WithTheLedgerJournalHeldByAnotherProcess_TheGatewaySaysSo_WritesItsRowsStraightIntoSqlite_AndTakesItOnceFree()
    {
        await UseSqliteAsync();
        var config = await WriteConfigAsync(TimeSpan.FromMilliseconds(2));
        var journal = _db + "-ledger";
        var rows = 0;
        var held = LedgerJournalLock.Hold(_db);
        // /readyz and /healthz say what this test looks for to the admin token only (the configuration's default variable).
        var adminToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        var environment = new Dictionary<string, string> { ["CORRIDOR_ADMIN_TOKEN"] = adminToken };
        await using (var serve = await ServeProcess.StartAsync(config, environment))
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!serve.Output.Contains("corridor: warning: the ledger journal", StringComparison.Ordinal))
            {
                Assert.True(clock.Elapsed < TestTimeouts.Default, "no warning that the journal is held:\n" + serve.Output);
                await Task.Delay(20);
            }
            using var http = Admin(serve, adminToken);
            Assert.Contains("held by another process", await LedgerNoticeAsync(http), StringComparison.Ordinal);

            var (id, complete) = await TryCompleteAsync(Client(serve), stream: false, "one row");
            Assert.True(complete, serve.Output);
            rows++;

            // In the database file as soon as the answer is complete, and nothing in the journal.
            Assert.Contains(await ReadLedgerAsync(), row => row.RequestId == id);
            Assert.Empty(Directory.GetFiles(journal, "*.journal"));

            // The other process lets it go: as rows come, the gateway tries again (every 5 s), takes it and says so.
            held.Dispose();
            clock.Restart();
            while (!serve.Output.Contains("corridor: the ledger journal is this gateway's now", StringComparison.Ordinal))
            {
                Assert.True(clock.Elapsed < TestTimeouts.Default, "the gateway never took the journal:\n" + serve.Output);
                Assert.True((await TryCompleteAsync(Client(serve), stream: false, "a row while the journal is free")).Complete, serve.Output);
                rows++;
                await Task.Delay(200);
            }
            Assert.Null(await LedgerNoticeAsync(http));
            await serve.TerminateAsync();
            Assert.True(await serve.WaitForExitAsync() == 0, serve.Output);
        }

        // Nothing holds it now: the next gateway takes it and says nothing.
        await using (var serve = await ServeProcess.StartAsync(config, environment))
        {
            Assert.True((await TryCompleteAsync(Client(serve), stream: false, "another row")).Complete, serve.Output);
            Assert.NotEmpty(Directory.GetFiles(journal, "*.journal"));

            // /healthz counts the rows in the journal not yet in the database; a pass (20 ms) empties it.
            using var http = Admin(serve, adminToken);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/healthz")).RootElement
                .GetProperty("ledger").GetProperty("journal_backlog").GetInt64() != 0)
            {
                Assert.True(clock.Elapsed < TestTimeouts.Default, "the journal's backlog never emptied");
                await Task.Delay(20);
            }
            await serve.TerminateAsync();
            Assert.True(await serve.WaitForExitAsync() == 0, serve.Output);
            Assert.DoesNotContain("corridor: warning: the ledger journal", serve.Output, StringComparison.Ordinal);
        }

        // A clean stop leaves the journal empty: its last pass put every row into the database.
        Assert.Empty(Directory.GetFiles(journal, "*.journal"));

        Assert.Equal(rows + 1, (await ReadLedgerAsync()).Count);
    }

    private static HttpClient Admin(ServeProcess serve, string adminToken)
    {
        var http = new HttpClient { BaseAddress = serve.BaseAddress, Timeout = TestTimeouts.Default };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminToken);
        return http;
    }

    /// <summary>What /readyz says about the ledger's store: null when nothing is worked around.</summary>
    private static async Task<string?> LedgerNoticeAsync(HttpClient http) =>
        System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/readyz")).RootElement
            .GetProperty("checks").GetProperty("ledger").GetProperty("notice").GetString();

    /// <summary>Reads one stream to its end; returns its request id. Fails the test if the stream broke.</summary>
    private static async Task<string> StreamAsync(ChatClient client, string prompt, TaskCompletionSource firstChunk)
    {
        var holder = new StrongBox<string?>();
        RequestIdCapture.Current.Value = holder;
        ChatFinishReason? finish = null;
        var chunks = 0;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { MaxOutputTokenCount = 60 }))
        {
            chunks++;
            firstChunk.TrySetResult();
            finish ??= update.FinishReason;
        }
        Assert.True(finish is not null && chunks > 3, $"the stream ended without its finish ({chunks} chunks)");
        return holder.Value ?? throw new InvalidOperationException("no x-corridor-request-id");
    }

    /// <summary>
    /// One request through the SDK: its request id (null when no response headers came) and whether the client received
    /// the whole answer (for a stream: every event up to the SDK's end of stream, with a finish reason).
    /// </summary>
    private static async Task<(string? Id, bool Complete)> TryCompleteAsync(ChatClient client, bool stream, string prompt)
    {
        var holder = new StrongBox<string?>();
        RequestIdCapture.Current.Value = holder;
        try
        {
            if (stream)
            {
                ChatFinishReason? finish = null;
                await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(prompt)]))
                {
                    finish ??= update.FinishReason;
                }
                return (holder.Value, finish is not null && holder.Value is not null);
            }
            var completion = await client.CompleteChatAsync([new UserChatMessage(prompt)]);
            return (holder.Value, completion.Value.Content.Count > 0 && holder.Value is not null);
        }
        catch (Exception e) when (e is ClientResultException or IOException or HttpRequestException or OperationCanceledException)
        {
            // The gateway died under this request, or is gone: not received complete.
            await Task.Delay(5);
            return (holder.Value, false);
        }
    }

    private static async Task<bool> RefusesConnectionAsync(Uri baseAddress)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, "/healthz"));
            request.Headers.ConnectionClose = true;
            using var response = await http.SendAsync(request);
            return false;
        }
        catch (HttpRequestException)
        {
            return true;
        }
        catch (TaskCanceledException)
        {
            // Accepted but not answered within the client's timeout (a busy machine): not refused, look again.
            return false;
        }
    }

    private async Task<string> WriteConfigAsync(TimeSpan tokenInterval, string moreYaml = "")
    {
        _simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0", new SimulatorOptions { TokenInterval = tokenInterval }, CancellationToken.None).WithTimeout();
        var config = _folder.File("corridor.yaml");
        await File.WriteAllTextAsync(config, TestCatalog.Yaml(_simulator.BaseAddress) + moreYaml + $"""

            storage:
              {_storageYaml}
            """);
        return config;
    }

    private async Task<List<LedgerEntry>> ReadLedgerAsync()
    {
        await using var store = await CorridorStores.OpenAsync(_storage, CancellationToken.None).WithTimeout();
        return await store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync();
    }

    private ChatClient Client(ServeProcess serve)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(serve.BaseAddress, "/v1"),
            NetworkTimeout = TestTimeouts.Default,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        options.AddPolicy(new RequestIdCapture(), PipelinePosition.PerCall);
        return new OpenAIClient(new ApiKeyCredential(_secret), options).GetChatClient("gpt-4.1");
    }

    /// <summary>Hands each call's <c>x-corridor-request-id</c> to the caller through a box the caller puts in an async local.</summary>
    private sealed class RequestIdCapture : PipelinePolicy
    {
        public static readonly AsyncLocal<StrongBox<string?>?> Current = new();

        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            ProcessNext(message, pipeline, currentIndex);
            Capture(message);
        }

        public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            await ProcessNextAsync(message, pipeline, currentIndex).ConfigureAwait(false);
            Capture(message);
        }

        private static void Capture(PipelineMessage message)
        {
            if (Current.Value is { } box && message.Response is { } response && response.Headers.TryGetValue("x-corridor-request-id", out var id))
            {
                box.Value = id;
            }
        }
    }
}
