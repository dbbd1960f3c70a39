using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Gateway.Configuration;
using Corridor.Monitor;
using Corridor.Monitor.Features;
using Corridor.Monitor.Scoring;
using Corridor.Simulator;
using Corridor.Storage;
using Corridor.Testing;
using Corridor.Testing.Storage;
using OpenAI;
using OpenAI.Chat;

namespace Corridor.Tests.Replicas;

/// <summary>
/// Two <c>corridor serve</c> processes sharing one PostgreSQL, with one simulator upstream: what an operator changes through
/// one replica holds on the other, both extend one audit chain, and the monitor scores both replicas' traffic as one.
/// How soon a change arrives (on the store's notification, else at the next half-second poll) is shown on a fake clock by
/// StoreSyncTests and MonitorServiceTests: here, on a machine whose speed no one controls, a change is waited for up to the
/// suite's timeout, so only one that never arrives fails.
/// </summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class TwoReplicaTests : IAsyncLifetime, IDisposable
{
    private const string AdminTokenVariable = "CORRIDOR_REPLICA_TEST_ADMIN_TOKEN";
    private const string AdminToken = "replica-test-admin-token";

    // The tenant starts at tier basic; claude needs verified, so a tier change shows on the next request.
    private const string Policy = """

        policy:
          version: "replicas-1"
          rules:
            - id: openai
              match: { vendors: [openai] }
              allow_jurisdictions: ["*"]
            - id: anthropic
              match: { vendors: [anthropic] }
              allow_jurisdictions: ["*"]
              min_tier: verified
        """;

    // The monitor trusts a burst (no active-hours factor) and needs about 40 requests of a subject for full weight, so
    // a campaign's share on one replica (half its requests) scores a third lower than the whole: see the control below.
    private const string Monitor = """

        monitor:
          tickIntervalMs: 50
          fleetIntervalMs: 100
          confidenceHours: 0
          confidenceRequests: 40
          scoreEveryRequests: 1
          thresholds: { watch: 0.1, flag: 0.2, throttle: 0.28, suspend: 0.32 }
        """;

    private static readonly string[] Topics =
        ["the Krebs cycle", "binary search trees", "the French Revolution", "Bayesian inference", "TCP congestion control", "photosynthesis",
         "the Fourier transform", "supply and demand", "plate tectonics", "public-key cryptography", "the immune response", "compilers"];

    private readonly TempDirectory _folder = new();
    private string _config = "";
    private TestDatabase _database = null!;
    private RunningSimulator _simulator = null!;
    private ServeProcess _a = null!;
    private ServeProcess _b = null!;

    public async Task InitializeAsync()
    {
        _database = await TestPostgres.CreateDatabaseAsync();
        _simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0", new SimulatorOptions { TokenInterval = TimeSpan.Zero }, CancellationToken.None).WithTimeout();
        var config = _folder.File("corridor.yaml");
        _config = TestCatalog.WithReasoner(TestCatalog.Yaml(_simulator.BaseAddress, AdminTokenVariable)) + Policy + Monitor + $"""

            storage:
              postgres: "{_database.ConnectionString}"
              leaseExpirySeconds: 2
            """;
        await File.WriteAllTextAsync(config, _config);
        var environment = new Dictionary<string, string> { [AdminTokenVariable] = AdminToken };
        // Both at once: the second waits for the first's migrations and then finds them applied.
        // Each start is bounded by TestTimeouts.ProcessStart.
        var started = await Task.WhenAll(ServeProcess.StartAsync(config, environment), ServeProcess.StartAsync(config, environment));
        (_a, _b) = (started[0], started[1]);
    }

    public async Task DisposeAsync()
    {
        await (_a?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_b?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_simulator?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_database?.DisposeAsync() ?? ValueTask.CompletedTask);
    }

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task KeysAndTenantsChangedOnOneReplica_HoldOnTheOther_AndBothKeepOneAuditChain()
    {
        using var adminA = Admin(_a);

        // A key issued on A works on B.
        var (secret, keyId) = await IssueKeyAsync(adminA);
        using var onB = Client(_b, secret);
        await WaitForAsync("a key issued on A to work on B", async () => (await onB.GetAsync("/v1/models")).StatusCode == HttpStatusCode.OK);
        var completion = await OpenAI(_b, secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Hello from B")]).WithTimeout();
        Assert.False(string.IsNullOrEmpty(completion.Value.Content[0].Text));

        // A tenant change on A (tier basic -> verified) opens claude on B.
        Assert.Equal(HttpStatusCode.Forbidden, await ClaudeStatusAsync(onB));
        using (var patch = new HttpRequestMessage(HttpMethod.Patch, "/admin/tenants/fleet") { Content = JsonContent.Create(new { tier = "verified", verification_expires_at = "2099-01-01T00:00:00Z" }) })
        {
            (await adminA.SendAsync(patch).WithTimeout()).EnsureSuccessStatusCode();
        }

        await WaitForAsync("a tier raised on A to let the tenant use claude on B", async () => await ClaudeStatusAsync(onB) == HttpStatusCode.OK);

        // A key revoked on A stops working on B.
        (await adminA.PostAsync($"/admin/keys/{keyId}/revoke", null).WithTimeout()).EnsureSuccessStatusCode();
        await WaitForAsync("a key revoked on A to be refused on B", async () => (await onB.GetAsync("/v1/models")).StatusCode == HttpStatusCode.Unauthorized);
        var refused = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(
            () => OpenAI(_b, secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Still there?")])).WithTimeout();
        Assert.Equal(401, refused.Status);

        // Admin changes (written by A) and policy decisions (written by B) went into one chain: corridor audit verify says so.
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(PostgresConnectionString: _database.ConnectionString), CancellationToken.None).WithTimeout())
        {
            await WaitForAsync("B's decisions to reach the audit log", async () =>
                (await store.SearchAuditAsync(new AuditQuery(Action: AuditActions.Decision), CancellationToken.None)).Count >= 3);
        }

        var verify = await CliRunner.RunRawAsync("audit", "verify", "--db", _database.ConnectionString);
        Assert.True(verify.ExitCode == 0, verify.Out + verify.Error + _a.Output + _b.Output);
    }

    [Fact]
    public async Task SuspendPinnedThroughOneReplicaOrTheCommandLine_RefusesOnTheOther()
    {
        using var adminA = Admin(_a);
        var (secret, keyId) = await IssueKeyAsync(adminA);
        using var onB = Client(_b, secret);
        await WaitForAsync("a key issued on A to work on B", async () => await ChatStatusAsync(onB) == HttpStatusCode.OK);

        // Suspended through A's admin API: B refuses in the client's dialect.
        (await adminA.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "suspend", note = "harvest confirmed" }).WithTimeout()).EnsureSuccessStatusCode();
        await WaitForAsync("a key suspended on A to be refused on B", async () => await ChatStatusAsync(onB) == HttpStatusCode.Forbidden);
        var refused = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(
            () => OpenAI(_b, secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Still there?")])).WithTimeout();
        Assert.Equal(403, refused.Status);
        Assert.Contains("suspended", refused.Message, StringComparison.Ordinal);

        // Unpinned from the command line: both serve the key again; then the tenant suspended from the command line.
        var unpin = await CliRunner.RunRawAsync("enforcement", "unpin", $"key:{keyId}", "--note", "appeal upheld", "--db", _database.ConnectionString);
        Assert.True(unpin.ExitCode == 0, unpin.Out + unpin.Error);
        using var onA = Client(_a, secret);
        await WaitForAsync("an unpin from the command line to reach B", async () => await ChatStatusAsync(onB) == HttpStatusCode.OK);
        await WaitForAsync("an unpin from the command line to reach A", async () => await ChatStatusAsync(onA) == HttpStatusCode.OK);

        var pin = await CliRunner.RunRawAsync("enforcement", "pin", "tenant:fleet", "suspend", "--note", "reseller abroad", "--db", _database.ConnectionString);
        Assert.True(pin.ExitCode == 0, pin.Out + pin.Error);
        await WaitForAsync("a tenant suspended from the command line to be refused on B", async () => await ChatStatusAsync(onB) == HttpStatusCode.Forbidden);
        await WaitForAsync("a tenant suspended from the command line to be refused on A", async () => await ChatStatusAsync(onA) == HttpStatusCode.Forbidden);
    }

    /// <summary>
    /// A tenant's requests per minute hold for both replicas together (docs/limits-and-budgets.md, "Several gateways"):
    /// in any aligned UTC minute the two admit at most <c>rpm</c> between them, where each alone would admit <c>rpm</c>.
    /// Requests alternate between the replicas, through the official OpenAI SDK with its retries off; a request is
    /// counted in a minute only when it was sent and answered within it (so the count is never more than the truth).
    /// </summary>
    [Fact]
    public async Task ATenantsRequestsPerMinute_HoldForBothReplicasTogether()
    {
        const int Rpm = 12;
        using var adminA = Admin(_a);
        var secret = await AddTenantWithLimitsAsync(adminA, new { rpm = Rpm });
        // Most of the run in one UTC minute, so that a fleet admitting each replica's own limit (24) would show.
        var intoMinute = DateTimeOffset.UtcNow.TimeOfDay.TotalSeconds % 60;
        if (intoMinute > 35)
        {
            await Task.Delay(TimeSpan.FromSeconds(60.2 - intoMinute));
        }

        var calls = new List<(DateTimeOffset Sent, DateTimeOffset Answered, int Status, string Message)>();
        var chats = new[] { OpenAI(_a, secret).GetChatClient("gpt-4.1"), OpenAI(_b, secret).GetChatClient("gpt-4.1") };
        for (var i = 0; i < 4 * Rpm; i++)
        {
            var sent = DateTimeOffset.UtcNow;
            try
            {
                await chats[i % 2].CompleteChatAsync([new UserChatMessage($"Request {i}")], new ChatCompletionOptions { MaxOutputTokenCount = 8 }).WithTimeout();
                calls.Add((sent, DateTimeOffset.UtcNow, 200, ""));
            }
            catch (System.ClientModel.ClientResultException e)
            {
                calls.Add((sent, DateTimeOffset.UtcNow, e.Status, e.Message));
            }
        }

        var report = string.Join("\n", calls.Select(c => $"{c.Sent:HH:mm:ss.fff} {c.Status} {c.Message}"));
        Assert.All(calls, c => Assert.True(c.Status is 200 or 429, report));
        var perMinute = calls.Where(c => c.Status == 200 && Minute(c.Sent) == Minute(c.Answered)).GroupBy(c => Minute(c.Sent)).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(perMinute.Values, admitted => Assert.InRange(admitted, 0, Rpm));
        var busiest = perMinute.Values.DefaultIfEmpty(0).Max();
        Assert.True(busiest >= Rpm / 2, $"only {busiest} admitted in a minute:\n{report}");
        // Refused as over the fleet's minute, or (a replica holding no slice, its lease on its way) asked to retry in a second.
        Assert.Contains(calls, c => c.Status == 429);
        Assert.All(calls.Where(c => c.Status == 429), c => Assert.True(
            c.Message.Contains($"requests per minute (RPM) of tenant 'fleet': limit {Rpm}", StringComparison.Ordinal)
            || c.Message.Contains("shared by several gateways and this one is fetching its share", StringComparison.Ordinal), report));
    }

    /// <summary>
    /// A tenant's hard daily budget holds for both replicas together: the spend both billed (in the shared ledger) stays
    /// within the budget plus what requests cost beyond their reservations (none here: the simulator counts fewer prompt
    /// tokens than admission's estimate and returns no more than max_tokens), where each replica alone would spend the
    /// whole budget. Both end up refusing with insufficient_quota.
    /// </summary>
    [Fact]
    public async Task ATenantsHardDailyBudget_HoldsForBothReplicasTogether()
    {
        const decimal Budget = 0.004m;
        const int MaxTokens = 16;
        using var adminA = Admin(_a);
        var secret = await AddTenantWithLimitsAsync(adminA, new { daily_budget = "0.004" });
        var chats = new[] { OpenAI(_a, secret).GetChatClient("gpt-4.1"), OpenAI(_b, secret).GetChatClient("gpt-4.1") };
        var refusedInARow = new int[2];
        var served = 0;
        for (var i = 0; i < 400 && (refusedInARow[0] < 4 || refusedInARow[1] < 4); i++)
        {
            try
            {
                await chats[i % 2].CompleteChatAsync([new UserChatMessage($"Request {i} of the budget test")], new ChatCompletionOptions { MaxOutputTokenCount = MaxTokens }).WithTimeout();
                refusedInARow[i % 2] = 0;
                served++;
            }
            catch (System.ClientModel.ClientResultException e) when (e.Status == 429)
            {
                // A replica topping up its slice says so (retry in a second); only insufficient_quota counts as spent.
                refusedInARow[i % 2] = e.Message.Contains("insufficient_quota", StringComparison.Ordinal) ? refusedInARow[i % 2] + 1 : 0;
            }
        }
        Assert.True(refusedInARow[0] >= 4 && refusedInARow[1] >= 4, $"the budget was not exhausted after {served} served requests");

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(PostgresConnectionString: _database.ConnectionString), CancellationToken.None).WithTimeout();
        var billed = new List<Core.Metering.LedgerEntry>();
        await WaitForAsync("both replicas' ledger rows to be written", async () =>
        {
            billed.Clear();
            await foreach (var row in store.ReadLedgerAsync(null, null, CancellationToken.None))
            {
                if (row.TenantId == "fleet" && row.Billable)
                {
                    billed.Add(row);
                }
            }
            return billed.Count == served;
        });

        // No request cost more than it reserved, so the bound is the budget itself.
        Assert.All(billed, row => Assert.True(
            row.OutputTokens <= MaxTokens && row.InputTokens <= Core.Admission.Reservation.PromptTokens(row.RequestBody!.Span),
            $"a request used more than its reservation: {row.InputTokens} in, {row.OutputTokens} out"));
        var spent = billed.Sum(r => r.Cost);
        Assert.True(spent <= Budget, $"both replicas together spent {spent}, over the budget {Budget}");
        Assert.True(spent > Budget / 2, $"only {spent} of {Budget} spent");
    }

    /// <summary>
    /// A replica killed with SIGKILL while holding slices of a hard daily budget does not keep them taken until the day
    /// ends: after the lease expiry (2 s here) the book gives back what it last reported unspent, and the survivor admits
    /// up to the whole budget. At the end the book counts exactly the fleet's billed spend and what the survivor holds.
    /// </summary>
    [Fact]
    public async Task AReplicaKilledHoldingBudgetSlices_LeavesTheRestOfTheBudgetToTheSurvivor()
    {
        const decimal Budget = 0.004m;
        using var adminA = Admin(_a);
        var secret = await AddTenantWithLimitsAsync(adminA, new { daily_budget = "0.004" });
        var onA = OpenAI(_a, secret).GetChatClient("gpt-4.1");
        var onB = OpenAI(_b, secret).GetChatClient("gpt-4.1");
        await WaitForAsync("a request admitted on A", async () => await TryChatAsync(onA, "On A") == 200);
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(PostgresConnectionString: _database.ConnectionString), CancellationToken.None).WithTimeout();
        await WaitForAsync("A's ledger row to be written", async () => (await BilledAsync(store)).Count == 1);
        await WaitForHeartbeatsAsync(); // A's report counts its settled request
        Assert.True(await HeldAsync() > 0m, "A holds nothing of its slice: the test shows nothing");

        await _a.KillAsync();
        await WaitForAsync("the book to reclaim A's registration", async () => (long)(await _database.ScalarAsync("SELECT count(*) FROM admission_replicas"))! == 1);

        var (refusedInARow, served) = (0, 1);
        for (var i = 0; i < 400 && refusedInARow < 4; i++)
        {
            var status = await TryChatAsync(onB, $"Request {i} on B");
            served += status == 200 ? 1 : 0;
            // A 429 fetching its share is tried again; only insufficient_quota counts as spent.
            refusedInARow = status == -1 ? refusedInARow + 1 : status == 200 ? 0 : refusedInARow;
        }
        Assert.Equal(4, refusedInARow);
        var billed = new List<Core.Metering.LedgerEntry>();
        await WaitForAsync("B's ledger rows to be written", async () => (billed = await BilledAsync(store)).Count == served);
        await WaitForHeartbeatsAsync();

        var spent = billed.Sum(r => r.Cost);
        var taken = (decimal)(await _database.ScalarAsync("SELECT sum(taken) FROM admission_leases WHERE id = 'fleet' AND kind = 'day_budget'"))!;
        Assert.Equal(taken, spent + await HeldAsync());
        Assert.True(spent <= Budget, $"the fleet spent {spent}, over the budget {Budget}");
    }

    /// <summary>The status of one chat request: 200, 429 (a slice on its way) or -1 for insufficient_quota.</summary>
    private static async Task<int> TryChatAsync(ChatClient chat, string prompt)
    {
        try
        {
            await chat.CompleteChatAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { MaxOutputTokenCount = 16 }).WithTimeout();
            return 200;
        }
        catch (System.ClientModel.ClientResultException e) when (e.Status == 429)
        {
            return e.Message.Contains("insufficient_quota", StringComparison.Ordinal) ? -1 : 429;
        }
    }

    private static async Task<List<Core.Metering.LedgerEntry>> BilledAsync(ICorridorStore store)
    {
        var billed = new List<Core.Metering.LedgerEntry>();
        await foreach (var row in store.ReadLedgerAsync(null, null, CancellationToken.None))
        {
            if (row.TenantId == "fleet" && row.Billable)
            {
                billed.Add(row);
            }
        }
        return billed;
    }

    /// <summary>What the replicas the book knows hold unspent of budgets, as they last reported it.</summary>
    private async Task<decimal> HeldAsync() => (decimal)(await _database.ScalarAsync("SELECT coalesce(sum(unspent), 0) FROM admission_holdings WHERE replica_id IN (SELECT replica_id FROM admission_replicas)"))!;

    /// <summary>Waits until every registered replica beat after now: their reports count what they settled before.</summary>
    private async Task WaitForHeartbeatsAsync()
    {
        var mark = (DateTime)(await _database.ScalarAsync("SELECT now() + interval '100 milliseconds'"))!;
        await WaitForAsync("the replicas' next heartbeats", async () => (DateTime)(await _database.ScalarAsync("SELECT min(seen) FROM admission_replicas"))! > mark);
    }

    private static long Minute(DateTimeOffset time) => time.ToUnixTimeSeconds() / 60;

    /// <summary>
    /// Adds the tenant <c>fleet</c> with <paramref name="limits"/> and then issues it a key: once a replica accepts the
    /// key it has reloaded the limits as well (one refresh reads both), so waiting for both to accept it is enough.
    /// </summary>
    private async Task<string> AddTenantWithLimitsAsync(HttpClient admin, object limits)
    {
        (await admin.PostAsJsonAsync("/admin/tenants", new { id = "fleet", legal_name = "Fleet Ltd.", country = "SG", tier = "basic" }).WithTimeout()).EnsureSuccessStatusCode();
        using (var patch = new HttpRequestMessage(HttpMethod.Patch, "/admin/tenants/fleet/limits") { Content = JsonContent.Create(limits) })
        {
            (await admin.SendAsync(patch).WithTimeout()).EnsureSuccessStatusCode();
        }
        var issued = await (await admin.PostAsJsonAsync("/admin/keys", new { tenant = "fleet" }).WithTimeout()).Content.ReadFromJsonAsync<JsonElement>().WithTimeout();
        var secret = issued.GetProperty("secret").GetString()!;
        foreach (var replica in new[] { _a, _b })
        {
            using var http = Client(replica, secret);
            await WaitForAsync("the key to work on both replicas", async () => (await http.GetAsync("/v1/models")).StatusCode == HttpStatusCode.OK);
        }
        return secret;
    }

    [Fact]
    public async Task AHarvestSplitAcrossTheReplicas_IsScoredAsOnOneMachine_AndRefusedOnBoth()
    {
        const int PerReplica = 20;
        using var adminA = Admin(_a);
        var campaign = new[] { await IssueKeyAsync(adminA, "harvest-one"), await IssueKeyAsync(adminA, "harvest-two") };
        foreach (var (secret, _) in campaign)
        {
            using var onB = Client(_b, secret);
            await WaitForAsync("a key issued on A to work on B", async () => (await onB.GetAsync("/v1/models")).StatusCode == HttpStatusCode.OK);
        }

        // A harvesting script behind a load balancer: each key's requests alternate between the replicas.
        var seen = new Dictionary<ServeProcess, List<RequestFeatures>> { [_a] = [], [_b] = [] };
        for (var i = 0; i < PerReplica; i++)
        {
            for (var k = 0; k < campaign.Length; k++)
            {
                foreach (var replica in i % 2 == 0 ? new[] { _a, _b } : [_b, _a])
                {
                    seen[replica].Add(await HarvestAsync(replica, campaign[k].Secret, campaign[k].KeyId, k == 0 ? "harvest-one" : "harvest-two", (2 * i) + k));
                }
            }
        }

        // The control: the same monitor settings given what one replica saw (its half of each key's requests) do not
        // suspend; given both halves, they do. This is what the fleet's monitor must reproduce.
        var options = ConfigLoader.Parse(_config, _folder.Path).Config!.Monitor.Scoring;
        foreach (var (replica, features) in seen)
        {
            var alone = new DistillationMonitor(options);
            features.ForEach(f => alone.Observe(f));
            alone.Flush();
            Assert.All(campaign, c => Assert.True(alone.GetLevel(SubjectRef.Key(c.KeyId)) < EnforcementLevel.Suspend,
                $"one replica's half alone already suspends {c.KeyId} (score {alone.Standing(SubjectRef.Key(c.KeyId))?.LastScore}); the test shows nothing"));
        }

        var together = new DistillationMonitor(options);
        foreach (var f in seen[_a].Concat(seen[_b]).OrderBy(f => f.TimestampMs))
        {
            together.Observe(f);
        }

        together.Flush();
        Assert.All(campaign, c => Assert.Equal(EnforcementLevel.Suspend, together.GetLevel(SubjectRef.Key(c.KeyId))));

        // The fleet: both keys refused on both replicas, in the client's dialect, and the level stored by the gateway.
        foreach (var (secret, keyId) in campaign)
        {
            foreach (var replica in new[] { _a, _b })
            {
                using var http = Client(replica, secret);
                await WaitForAsync($"{keyId} to be suspended on {replica.BaseAddress}", async () => await ChatStatusAsync(http) == HttpStatusCode.Forbidden);
                var refused = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(
                    () => OpenAI(replica, secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("One more?")])).WithTimeout();
                Assert.Equal(403, refused.Status);
            }
        }

        // Each replica shipped its own share; exactly one of them scored them all. The suspension can come before a
        // replica's last observation is shipped (the rest were enough), so wait for the shipping to catch up. A request
        // refused as suspended is not observed (docs/monitor.md), so a replica ships the harvest requests it served.
        var health = new Dictionary<ServeProcess, JsonElement>();
        foreach (var replica in new[] { _a, _b })
        {
            using var http = Admin(replica);
            JsonElement monitor = default;
            var served = seen[replica].Count(f => f.Status != (int)HttpStatusCode.Forbidden);
            await WaitForAsync($"{replica.BaseAddress} to ship its share of the observations ({served})", async () =>
            {
                monitor = JsonDocument.Parse(await http.GetStringAsync("/healthz")).RootElement.GetProperty("monitor");
                return monitor.GetProperty("fleet").GetProperty("shipped").GetInt64() >= served;
            });
            health[replica] = monitor;
        }

        var leading = Assert.Single(health, h => h.Value.GetProperty("fleet").GetProperty("leading").GetBoolean()).Key;
        using (var http = Admin(leading))
        {
            await WaitForAsync($"the leader {leading.BaseAddress} to score both replicas' observations", async () =>
                JsonDocument.Parse(await http.GetStringAsync("/healthz")).RootElement.GetProperty("monitor").GetProperty("observed").GetInt64()
                    >= seen.Values.Sum(f => f.Count(r => r.Status != (int)HttpStatusCode.Forbidden)));
        }

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(PostgresConnectionString: _database.ConnectionString), CancellationToken.None).WithTimeout();
        var levels = await store.ListEnforcementAsync(CancellationToken.None).WithTimeout();
        Assert.All(campaign, c => Assert.Contains(levels, l => l.Subject == $"key:{c.KeyId}" && l.AutomaticLevel == "suspend" && l.PinnedLevel is null));
        var audit = await store.SearchAuditAsync(new AuditQuery(campaign[0].KeyId, AuditActions.MonitorLevel), CancellationToken.None).WithTimeout();
        Assert.Contains(audit, r => r.Actor == AuditActors.Gateway && r.Details.Contains("\"to\":\"suspend\"", StringComparison.Ordinal));
    }

    /// <summary>One harvesting request (chain of thought, log-probabilities, a temperature sweep) sent as the script sends it; what the replica's monitor observed.</summary>
    private static async Task<RequestFeatures> HarvestAsync(ServeProcess replica, string secret, string keyId, string tenantId, int i)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            model = "gpt-4.1",
            max_tokens = 2000,
            temperature = new[] { 0.2, 0.7, 1.0 }[i % 3],
            logprobs = true,
            top_logprobs = 5,
            messages = new[]
            {
                new
                {
                    role = "user",
                    content = $"### Instruction\nExplain {Topics[i % Topics.Length]} (variant {i}). Think step by step, show your work and explain your reasoning " +
                              "in detail before the final answer. Be thorough and exhaustive.\n### Response",
                },
            },
        });
        using var http = Client(replica, secret);
        var at = DateTimeOffset.UtcNow;
        using var response = await http.PostAsync("/v1/chat/completions", new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } }).WithTimeout();
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WithTimeout()).RootElement;
        var usage = json.TryGetProperty("usage", out var u) ? u : default;
        var metadata = new RequestMetadata
        {
            Timestamp = at,
            TenantId = tenantId,
            KeyId = keyId,
            Model = "gpt-4.1",
            Endpoint = "/v1/chat/completions",
            SourceAddress = "127.0.0.1",
            Status = (int)response.StatusCode,
            InputTokens = usage.ValueKind == JsonValueKind.Object ? usage.GetProperty("prompt_tokens").GetInt32() : 0,
            OutputTokens = usage.ValueKind == JsonValueKind.Object ? usage.GetProperty("completion_tokens").GetInt32() : 0,
        };
        FeatureExtractor.Extract(metadata, body, out var features);
        return features;
    }

    /// <summary>
    /// The reasoning key is the fleet's, and so is its rotation (docs/operations.md, "Rotating the reasoning key"). An
    /// Anthropic client's tool loop on DeepSeek's thinking mode (the simulator's deepseek-reasoner, which refuses a loop's
    /// next step without its reasoning back) begun on A goes on through B, which opens A's sealed block; after the command
    /// line rotates the key in the shared database, a loop begun before goes on through either replica, and so does one
    /// begun after; two rotations later the first block is foreign on both, and its loop is refused.
    /// </summary>
    [Fact]
    public async Task AToolLoopOnDeepSeek_BegunOnOneReplica_GoesOnOnTheOther_AcrossARotationOfTheReasoningKey()
    {
        using var adminA = Admin(_a);
        var (secret, _) = await IssueKeyAsync(adminA);
        using var onA = Client(_a, secret);
        using var onB = Client(_b, secret);
        await WaitForAsync("the key issued on A to work on B", async () => (await onB.GetAsync("/v1/models")).StatusCode == HttpStatusCode.OK);

        var before = await FirstStepAsync(onA);
        Assert.Equal(HttpStatusCode.OK, await NextStepAsync(onB, before));

        var rotated = await CliRunner.RunRawAsync("secrets", "rotate-reasoning-key", "--db", _database.ConnectionString);
        Assert.True(rotated.ExitCode == 0, rotated.Out + rotated.Error);
        var after = await FirstStepAsync(onB);

        Assert.Equal(HttpStatusCode.OK, await NextStepAsync(onB, before));
        Assert.Equal(HttpStatusCode.OK, await NextStepAsync(onA, before));
        Assert.Equal(HttpStatusCode.OK, await NextStepAsync(onA, after));

        for (var i = 0; i < 2; i++)
        {
            var again = await CliRunner.RunRawAsync("secrets", "rotate-reasoning-key", "--db", _database.ConnectionString);
            Assert.True(again.ExitCode == 0, again.Out + again.Error);
        }
        await WaitForAsync("A to take up two more rotations", async () => await NextStepAsync(onA, before) == HttpStatusCode.BadRequest);
        await WaitForAsync("B to take up two more rotations", async () => await NextStepAsync(onB, before) == HttpStatusCode.BadRequest);
    }

    private const string WeatherQuestion = """{"role":"user","content":"What is the weather in Singapore?"}""";

    private const string WeatherTool = """[{"name":"get_weather","description":"The current weather in a city.","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]""";

    /// <summary>An Anthropic client's question with a tool, to deepseek-reasoner: the answer's content (its reasoning sealed in a block, then the call).</summary>
    private static async Task<JsonElement> FirstStepAsync(HttpClient http)
    {
        var (status, answer) = await MessagesAsync(http, $$"""{"model":"deepseek-reasoner","max_tokens":4096,"tools":{{WeatherTool}},"messages":[{{WeatherQuestion}}]}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("tool_use", answer.GetProperty("stop_reason").GetString());
        var content = answer.GetProperty("content");
        Assert.Equal("redacted_thinking", content[0].GetProperty("type").GetString());
        return content.Clone();
    }

    /// <summary>The loop's next step: the answer sent back with the tool's result. DeepSeek refuses it (a 400) without its reasoning.</summary>
    private static async Task<HttpStatusCode> NextStepAsync(HttpClient http, JsonElement first)
    {
        var call = first.EnumerateArray().Single(block => block.GetProperty("type").GetString() == "tool_use");
        var (status, answer) = await MessagesAsync(http, $$"""
            {"model":"deepseek-reasoner","max_tokens":4096,"tools":{{WeatherTool}},"messages":[{{WeatherQuestion}},
             {"role":"assistant","content":{{first.GetRawText()}}},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":{{JsonSerializer.Serialize(call.GetProperty("id").GetString())}},"content":"31 degrees and humid"}]}]}
            """);
        Assert.True(status != HttpStatusCode.OK || answer.GetProperty("stop_reason").GetString() == "end_turn", answer.GetRawText());
        return status;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Answer)> MessagesAsync(HttpClient http, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await http.SendAsync(request).WithTimeout();
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync().WithTimeout()).RootElement.Clone());
    }

    /// <summary>Adds a tenant (tier basic; <c>fleet</c> unless told) and issues it a key, through <paramref name="admin"/>.</summary>
    private static async Task<(string Secret, string KeyId)> IssueKeyAsync(HttpClient admin, string tenant = "fleet")
    {
        (await admin.PostAsJsonAsync("/admin/tenants", new { id = tenant, legal_name = "Fleet Ltd.", country = "SG", tier = "basic" }).WithTimeout()).EnsureSuccessStatusCode();
        var issued = await (await admin.PostAsJsonAsync("/admin/keys", new { tenant }).WithTimeout()).Content.ReadFromJsonAsync<JsonElement>().WithTimeout();
        return (issued.GetProperty("secret").GetString()!, issued.GetProperty("key").GetProperty("id").GetString()!);
    }

    private static async Task<HttpStatusCode> ChatStatusAsync(HttpClient http)
    {
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "gpt-4.1", max_tokens = 16, messages = new[] { new { role = "user", content = "hi" } } });
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> ClaudeStatusAsync(HttpClient http)
    {
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "claude-sonnet-4", max_tokens = 16, messages = new[] { new { role = "user", content = "hi" } } });
        return response.StatusCode;
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails, with both replicas' output, when it has not within <see cref="TestTimeouts.Default"/>.</summary>
    private async Task WaitForAsync(string what, Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition().WithTimeout())
        {
            Assert.True(clock.Elapsed < TestTimeouts.Default, $"waited {clock.Elapsed.TotalMilliseconds:F0} ms for {what}.\nA:\n{_a.Output}\nB:\n{_b.Output}");
            await Task.Delay(20).WithTimeout();
        }
    }

    private static HttpClient Admin(ServeProcess replica) => Client(replica, AdminToken);

    private static HttpClient Client(ServeProcess replica, string bearer)
    {
        var http = new HttpClient { BaseAddress = replica.BaseAddress, Timeout = TestTimeouts.Default };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        return http;
    }

    private static OpenAIClient OpenAI(ServeProcess replica, string secret) => new(
        new System.ClientModel.ApiKeyCredential(secret),
        new OpenAIClientOptions { Endpoint = new Uri(replica.BaseAddress, "/v1"), NetworkTimeout = TestTimeouts.Default, RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0) });
}
