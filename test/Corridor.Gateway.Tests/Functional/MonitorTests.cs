using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Anthropic.Exceptions;
using Corridor.Core.Audit;
using Corridor.Gateway.Monitoring;
using Corridor.Monitor.Cases;
using Corridor.Monitor.Scoring;
using Corridor.Storage;
using Corridor.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A gateway whose monitor ticks every 50 ms and trusts a burst at once (no active-hours confidence), so a scripted harvest
/// of a few dozen requests shows within a test; it never suspends on its own (operators do, by pinning). The admin API is on.
/// </summary>
public sealed class MonitorGatewayFixture : LiveGatewayFixture
{
    public const string Monitor = """

        monitor:
          tickIntervalMs: 50
          confidenceHours: 0
          confidenceRequests: 4
          scoreEveryRequests: 1
          maxAutomaticLevel: flag
          throttle: { stripLogprobs: true, maxN: 1, maxTokens: 64, limitFactor: 0.25 }
          cases: { examples: 3, exampleMaxChars: 400, exampleRetentionDays: 7 }
        """;

    private readonly string _tokenEnv = "CORRIDOR_MONITOR_ADMIN_TOKEN_" + Guid.NewGuid().ToString("N");

    public string AdminToken { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    protected override Task<LiveGateway> StartAsync()
    {
        Environment.SetEnvironmentVariable(_tokenEnv, AdminToken);
        return LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, _tokenEnv) + Monitor);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Environment.SetEnvironmentVariable(_tokenEnv, null);
    }

    public HttpClient Admin()
    {
        var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        return http;
    }

    /// <summary>A new tenant with one key: its key id and secret.</summary>
    public async Task<(string KeyId, string Secret)> TenantAsync(string tenantId)
    {
        var secret = await Live.AddTenantWithKeyAsync(tenantId, "SG");
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        var keys = await Live.Store.ListKeysAsync(tenantId, cts.Token);
        return (keys[0].Id, secret);
    }

    /// <summary>Polls until <paramref name="condition"/> holds (the monitor works on its background tick), within the timeout.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T?>> condition)
        where T : class
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            if (await condition() is { } value)
            {
                return value;
            }

            await Task.Delay(25, cts.Token);
        }
    }
}

public sealed class MonitorTests(MonitorGatewayFixture fixture) : IClassFixture<MonitorGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private static readonly string[] Topics =
        ["the Krebs cycle", "binary search trees", "the French Revolution", "Bayesian inference", "TCP congestion control", "photosynthesis",
         "the Fourier transform", "supply and demand", "plate tectonics", "public-key cryptography", "the immune response", "compilers"];

    [Fact]
    public async Task ScriptedHarvest_FromOneKey_IsFlaggedAndOpensACaseWithExamplesAndAuditedLevels()
    {
        var (keyId, secret) = await fixture.TenantAsync("harvest-labs");
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        var temperatures = new[] { 0.2f, 0.7f, 1.0f };
        for (var i = 0; i < 48; i++)
        {
            var prompt = $"### Instruction\nExplain {Topics[i % Topics.Length]} (variant {i}). Think step by step, show your work and explain your reasoning " +
                         "in detail before the final answer. Be thorough and exhaustive.\n### Response";
            var options = new ChatCompletionOptions
            {
                IncludeLogProbabilities = true,
                TopLogProbabilityCount = 5,
                Temperature = temperatures[i % temperatures.Length],
                MaxOutputTokenCount = 2000,
            };
            await chat.CompleteChatAsync([new UserChatMessage(prompt)], options).WithTimeout();
        }

        var subject = SubjectRef.Key(keyId).ToString();
        var opened = await MonitorGatewayFixture.EventuallyAsync(async () =>
            await CaseBook.ListAsync(Live.Store, "active", subject, CancellationToken.None) is [var first, ..] ? first : null);
        Assert.Equal("harvest-labs", opened.Tenant);
        Assert.Equal(CaseNames.Open, opened.Status);
        Assert.Equal("flag", opened.HighestLevel);
        Assert.NotEmpty(opened.TopSignals);
        Assert.Contains(opened.Timeline, e => e.Kind == "level" && e.To == "flag");

        // The key keeps harvesting: its case collects examples (at most 3, each cut to 400 characters). The gateway asks for a
        // case's examples from the tick after the one that opened it (UpdateCasesAsync, after the case is stored); one tick run
        // here, which waits for any tick in progress, has that done before the first of these requests, however slow the ticks are.
        using (var tick = new CancellationTokenSource(TestTimeouts.Default))
        {
            await Live.Gateway.Services.GetRequiredService<MonitorService>().TickAsync(tick.Token).WithTimeout();
        }
        for (var i = 0; i < 6; i++)
        {
            await chat.CompleteChatAsync([new UserChatMessage($"### Instruction\nExplain {Topics[i]} step by step, in detail. Show your work.\n### Response")],
                new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 5 }).WithTimeout();
        }

        var withExamples = await MonitorGatewayFixture.EventuallyAsync(async () =>
            await CaseBook.GetAsync(Live.Store, opened.Id, CancellationToken.None) is { Examples.Count: 3 } c ? c : null);
        Assert.All(withExamples.Examples, x =>
        {
            Assert.Equal(keyId, x.Key);
            Assert.StartsWith("req_", x.RequestId, StringComparison.Ordinal);
            Assert.Contains("Instruction", x.Request, StringComparison.Ordinal);
            Assert.True(x.Request!.Length <= 400);
        });

        // Every automatic change is in the audit log, and the case's opening too.
        var levels = await Live.Store.SearchAuditAsync(new AuditQuery(keyId, AuditActions.MonitorLevel), CancellationToken.None);
        Assert.Contains(levels, r => r.Actor == AuditActors.Gateway && r.Details.Contains("\"to\":\"flag\"", StringComparison.Ordinal));
        Assert.Single(await Live.Store.SearchAuditAsync(new AuditQuery(opened.Id, AuditActions.CaseOpen), CancellationToken.None));

        // The analyst confirms through the admin API and exports the evidence bundle.
        using var admin = fixture.Admin();
        using var decided = await admin.PostAsJsonAsync($"/admin/cases/{opened.Id}/decisions", new { decision = "confirm", note = "template sweep with logprobs" }).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, decided.StatusCode);
        using var evidence = await admin.GetAsync($"/admin/cases/{opened.Id}/evidence").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, evidence.StatusCode);
        var bundle = JsonDocument.Parse(await evidence.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(EvidenceBundle.Format, bundle.GetProperty("format").GetString());
        Assert.Equal("confirmed", bundle.GetProperty("case").GetProperty("status").GetString());
        Assert.Equal(3, bundle.GetProperty("case").GetProperty("examples").GetArrayLength());
        var actions = bundle.GetProperty("audit").EnumerateArray().Select(r => r.GetProperty("action").GetString()).ToList();
        Assert.Contains(AuditActions.MonitorLevel, actions);
        Assert.Contains(AuditActions.CaseOpen, actions);
        Assert.Contains(AuditActions.CaseDecision, actions);
    }

    [Fact]
    public async Task PinnedToSuspend_TheNextRequestIsRefusedInBothDialects_AndUnpinningLetsItThrough()
    {
        var (keyId, secret) = await fixture.TenantAsync("suspended-co");
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        await chat.CompleteChatAsync([new UserChatMessage("hello")]).WithTimeout();

        // As the command line does: the pin goes to the store, and the gateway picks it up at its next tick.
        await CaseBook.PinAsync(Live.Store, SubjectRef.Tenant("suspended-co"), EnforcementLevel.Suspend, "cli:analyst", "harvest confirmed by the vendor", DateTimeOffset.UtcNow, CancellationToken.None);
        var refused = await MonitorGatewayFixture.EventuallyAsync(async () =>
        {
            try
            {
                await chat.CompleteChatAsync([new UserChatMessage("hello again")]).WithTimeout();
                return null;
            }
            catch (ClientResultException e)
            {
                return e;
            }
        });
        Assert.Equal(403, refused.Status);
        var body = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString()).RootElement.GetProperty("error");
        Assert.Equal(Enforcement.SuspendedCode, body.GetProperty("code").GetString());
        Assert.Equal("permission_error", body.GetProperty("type").GetString());

        var anthropic = Live.Anthropic(secret);
        var denied = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => anthropic.Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hello"))).WithTimeout();
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Contains("\"permission_error\"", denied.ResponseBody, StringComparison.Ordinal);
        Assert.Contains("suspended", denied.ResponseBody, StringComparison.Ordinal);

        // Refused requests are still in the ledger, with the code.
        var row = await Live.LedgerRowAsync(r => r.KeyId == keyId && r.ErrorCode == Enforcement.SuspendedCode);
        Assert.Equal(403, row.Status);

        await CaseBook.PinAsync(Live.Store, SubjectRef.Tenant("suspended-co"), null, "cli:analyst", "cleared", DateTimeOffset.UtcNow, CancellationToken.None);
        await MonitorGatewayFixture.EventuallyAsync(async () =>
        {
            try
            {
                return await chat.CompleteChatAsync([new UserChatMessage("back")]).WithTimeout();
            }
            catch (ClientResultException)
            {
                return null;
            }
        });
    }

    [Fact]
    public async Task RequestsRefusedAsSuspended_AreNotObserved_SoTheyCannotLiftTheSuspension()
    {
        // Counted as unanswered requests, a suspended harvester's retries lowered its shares of reasoning and long answers:
        // its score fell below the band and, a dwell later, the suspension lifted on its own while it kept harvesting.
        var (keyId, secret) = await fixture.TenantAsync("persistent-co");
        var (_, other) = await fixture.TenantAsync("bystander-co");
        using (var admin = fixture.Admin())
        using (var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "suspend", note = "harvest confirmed" }).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }

        var service = Live.Gateway.Services.GetRequiredService<MonitorService>();
        var before = service.Monitor.Stats.Observed;
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        for (var i = 0; i < 5; i++)
        {
            var refused = await Assert.ThrowsAsync<ClientResultException>(() =>
                chat.CompleteChatAsync([new UserChatMessage($"Explain {Topics[i]} step by step, in detail. Show your work.")]).WithTimeout());
            Assert.Equal(403, refused.Status);
        }

        // A served request after them: the pump observes in order, so once it has taken the last one the others are done.
        await Live.OpenAI(other).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hello")]).WithTimeout();
        var observed = await MonitorGatewayFixture.EventuallyAsync(() =>
            Task.FromResult(service.Pump.Pending == 0 && service.Monitor.Stats.Observed > before ? (object?)service.Monitor.Stats.Observed : null));
        Assert.Equal(before + 1, (long)observed);
        Assert.Equal(EnforcementLevel.Suspend, service.Monitor.GetEnforcement("persistent-co", keyId).Level);
    }

    [Fact]
    public async Task Throttled_StripsLogprobsAndN_AndCapsMaxTokens()
    {
        var (keyId, secret) = await fixture.TenantAsync("throttled-co");
        using var admin = fixture.Admin();
        using (var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "throttle", note = "slow down" }).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }

        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Write a long essay about rivers.")],
            new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 5, MaxOutputTokenCount = 4000 }).WithTimeout();
        Assert.Empty(completion.ContentTokenLogProbabilities);
        Assert.True(completion.Usage.OutputTokenCount <= 64);

        using var http = Live.Http(secret);
        using var response = await http.PostAsJsonAsync("/v1/chat/completions",
            new { model = "gpt-4.1", n = 3, logprobs = true, messages = new[] { new { role = "user", content = "Name a river." } } }).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(1, json.GetProperty("choices").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("choices")[0].TryGetProperty("logprobs", out var logprobs) ? logprobs.ValueKind : JsonValueKind.Null);

        // The monitor saw what the client asked for (n = 3, logprobs), not the stripped request; the pin is listed with its live level.
        using var listed = await admin.GetAsync("/admin/enforcement").WithTimeout();
        var rows = JsonDocument.Parse(await listed.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToList();
        var row = Assert.Single(rows, r => r.GetProperty("subject").GetString() == $"key:{keyId}");
        Assert.Equal("throttle", row.GetProperty("pinned_level").GetString());
        Assert.Equal("throttle", row.GetProperty("level").GetString());
    }

    [Fact]
    public async Task Throttled_StripsReasoning_InEachDialect()
    {
        using var adminToken = new TokenVariable();
        TcpRelay? started = null;
        await using var live = await LiveGateway.StartAsync(simulator =>
        {
            started = TcpRelay.Start(simulator);
            return TestCatalog.ThroughRelay(TestCatalog.Yaml(simulator, adminToken.Name), started) + MonitorGatewayFixture.Monitor;
        }).WithTimeout();
        await using var relay = started!;
        var secret = await live.AddTenantWithKeyAsync("throttled-reasoner", "SG").WithTimeout();
        var keyId = (await live.Store.ListKeysAsync("throttled-reasoner", CancellationToken.None).WithTimeout())[0].Id;
        var chat = live.OpenAI(secret).GetChatClient("gpt-4.1");
        var anthropic = live.Anthropic(secret);
#pragma warning disable OPENAI001 // the SDK marks reasoning effort experimental; reasoning models' clients set it
        var effort = new ChatCompletionOptions { ReasoningEffortLevel = ChatReasoningEffortLevel.High };
#pragma warning restore OPENAI001
        var thinking = new Anthropic.Models.Messages.MessageCreateParams
        {
            Model = "claude-sonnet-4",
            MaxTokens = 1024,
            Thinking = new Anthropic.Models.Messages.ThinkingConfigEnabled { BudgetTokens = 1000 },
            Messages = [new Anthropic.Models.Messages.UserMessageParam { Content = "Think it through." }],
        };

        // Not throttled yet: the upstream is asked for reasoning as the client asked.
        var asked = await relay.BodySentByAsync(() => chat.CompleteChatAsync([new UserChatMessage("Reason it out.")], effort).WithTimeout());
        using (var admin = adminToken.Client(live.BaseAddress))
        {
            using var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "throttle", note = "harvesting reasoning" }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }
        var throttledChat = await relay.BodySentByAsync(() => chat.CompleteChatAsync([new UserChatMessage("Reason it out.")], effort).WithTimeout());
        var throttledMessage = await relay.BodySentByAsync(() => anthropic.Messages.Create(thinking).WithTimeout());

        Assert.Equal("high", JsonDocument.Parse(asked).RootElement.GetProperty("reasoning_effort").GetString());
        Assert.False(JsonDocument.Parse(throttledChat).RootElement.TryGetProperty("reasoning_effort", out _), throttledChat);
        var message = JsonDocument.Parse(throttledMessage).RootElement;
        Assert.False(message.TryGetProperty("thinking", out _), throttledMessage);
        Assert.Equal("Think it through.", message.GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public async Task AFailingMonitorStore_NeverFailsARequest_AndIsCountedInHealth()
    {
        using var adminToken = new TokenVariable();
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, adminToken.Name) + MonitorGatewayFixture.Monitor).WithTimeout();
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={live.Config.Storage.SqlitePath};Pooling=False"))
        {
            // Every write the monitor's background work makes now fails.
            await connection.OpenAsync().WithTimeout();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TABLE enforcement; DROP TABLE cases;";
            await command.ExecuteNonQueryAsync().WithTimeout();
        }

        var chat = live.OpenAI().GetChatClient("gpt-4.1");
        for (var i = 0; i < 48; i++)
        {
            var prompt = $"### Instruction\nExplain {Topics[i % Topics.Length]} (variant {i}). Think step by step, show your work and explain your reasoning in detail.\n### Response";
            ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage(prompt)],
                new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 5, MaxOutputTokenCount = 2000 }).WithTimeout();
            Assert.NotEmpty(completion.Content);
        }

        using var http = adminToken.Client(live.BaseAddress);
        var health = await MonitorGatewayFixture.EventuallyAsync(async () =>
        {
            var text = await http.GetStringAsync("/healthz");
            var counters = JsonDocument.Parse(text).RootElement.GetProperty("monitor");
            return counters.GetProperty("failures").GetInt64() > 0 && counters.GetProperty("observed").GetInt64() == 48 ? text : null;
        });
        var monitor = JsonDocument.Parse(health).RootElement.GetProperty("monitor");
        Assert.Equal(48, monitor.GetProperty("observed").GetInt64());
        Assert.Equal(0, monitor.GetProperty("dropped").GetInt64());
    }

    [Fact]
    public async Task APinBeyondMaxRecords_IsRefused_AndNeitherStoredNorAudited()
    {
        var tokenEnv = "CORRIDOR_PIN_ROOM_ADMIN_TOKEN_" + Guid.NewGuid().ToString("N");
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        Environment.SetEnvironmentVariable(tokenEnv, token);
        try
        {
            // The least maxRecords there is: 16 pins, and a 17th subject.
            await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, tokenEnv) + MonitorGatewayFixture.Monitor + "\n  maxRecords: 16\n").WithTimeout();
            var keys = new List<string>();
            for (var i = 0; i < 17; i++)
            {
                await live.AddTenantWithKeyAsync($"room-{i}", "SG");
                keys.Add((await live.Store.ListKeysAsync($"room-{i}", CancellationToken.None))[0].Id);
            }
            var second = keys[16];
            using var admin = new HttpClient { BaseAddress = live.BaseAddress, Timeout = TestTimeouts.Default };
            admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

            foreach (var key in keys.Take(16))
            {
                using var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{key}", level = "suspend" }).WithTimeout();
                Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
            }
            using (var again = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keys[0]}", level = "throttle" }).WithTimeout())
            {
                Assert.Equal(HttpStatusCode.OK, again.StatusCode); // a pinned subject's pin changes in place
            }
            using (var refused = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{second}", level = "suspend" }).WithTimeout())
            {
                Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
                Assert.Contains("monitor.maxRecords", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            Assert.Empty(await live.Store.SearchAuditAsync(new AuditQuery(second, AuditActions.MonitorPin), CancellationToken.None));
            Assert.DoesNotContain(await live.Store.ListEnforcementAsync(CancellationToken.None), e => e.Subject == $"key:{second}");
        }
        finally
        {
            Environment.SetEnvironmentVariable(tokenEnv, null);
        }
    }

    [Fact]
    public async Task ManualPin_IsAudited_AndSurvivesARestart()
    {
        var (keyId, secret) = await fixture.TenantAsync("restart-co");
        using (var admin = fixture.Admin())
        using (var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "suspend", note = "abuse report 4411" }).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }

        var audit = Assert.Single(await Live.Store.SearchAuditAsync(new AuditQuery(keyId, AuditActions.MonitorPin), CancellationToken.None));
        Assert.Equal(AuditActors.AdminApi, audit.Actor);
        Assert.Contains("\"level\":\"suspend\"", audit.Details, StringComparison.Ordinal);
        Assert.Contains("abuse report 4411", audit.Details, StringComparison.Ordinal);

        await Live.RestartGatewayAsync().WithTimeout();

        // The restarted gateway puts the pin back before it serves: the very first request is refused.
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hi")]).WithTimeout());
        Assert.Equal(403, refused.Status);
        var service = Live.Gateway.Services.GetRequiredService<MonitorService>();
        Assert.Equal(EnforcementLevel.Suspend, service.Monitor.GetLevel(SubjectRef.Key(keyId)));
    }
}
