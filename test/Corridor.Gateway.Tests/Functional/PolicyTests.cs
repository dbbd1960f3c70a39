// The OpenAI SDK marks its Responses client experimental (OPENAI001); the Responses test below uses it.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Corridor.Core.Audit;
using Corridor.Core.Metering;
using Corridor.Core.Tenants;
using Corridor.Storage;
using Corridor.Testing;
using OpenAI.Chat;
using OpenAI.Responses;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A gateway whose test catalog carries a policy: who may use what, from where, with which features. gpt-4.1 and
/// claude-sonnet-4 are reached through a <see cref="TcpRelay"/>, so tests see what their upstream received.
/// </summary>
public sealed class PolicyGatewayFixture : LiveGatewayFixture
{
    public const string Policy = """

        policy:
          version: "test-1"
          groups:
            CHINA: [CN, HK, MO]
          rules:
            - id: embargo
              deny_jurisdictions: [KP]
            - id: openai
              match: { vendors: [openai] }
              allow_jurisdictions: ["*"]
            - id: openai-china
              match: { vendors: [openai], jurisdictions: [CHINA] }
              min_tier: established
              regions: { "*": [jp-east] }
            - id: openai-low-tier
              match: { vendors: [openai], tiers: [unverified, basic] }
              features: { logprobs: strip, reasoning: strip, max_tokens: 50 }
            - id: anthropic
              match: { vendors: [anthropic] }
              allow_jurisdictions: ["*"]
              deny_jurisdictions: [CHINA]
              min_tier: verified
            - id: anthropic-no-reasoning
              match: { vendors: [anthropic], tiers: [verified] }
              features: { reasoning: deny }
            - id: anthropic-strip-reasoning
              match: { vendors: [anthropic], tiers: [established] }
              features: { reasoning: strip }
        """;

    /// <summary>The token <c>/metrics</c> takes (<c>server.metricsTokenEnv</c>).</summary>
    public TokenVariable MetricsToken { get; } = new();

    private TcpRelay? _relay;

    /// <summary>The relay in front of the gpt-4.1-sg and claude-us deployments.</summary>
    public TcpRelay Relay => _relay ?? throw new InvalidOperationException("the relay has not started");

    protected override Task<LiveGateway> StartAsync() =>
        LiveGateway.StartAsync(simulator =>
        {
            _relay = Own(TcpRelay.Start(simulator));
            return TestCatalog.WithRoomToThink(TestCatalog.ThroughRelay(TestCatalog.Yaml(simulator, adminTokenEnv: null, MetricsToken.Name), _relay)) + Policy;
        });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        MetricsToken.Dispose();
    }

    /// <summary>Adds a tenant with a profile and returns a key for it.</summary>
    public async Task<string> TenantAsync(string id, string country, VettingTier tier, string? controlling = null)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        var tenant = new Tenant(id, id + " Ltd.", country, DateTimeOffset.UtcNow) { Tier = tier, ControllingCountry = controlling };
        await Live.Store.AddTenantAsync(tenant, cts.Token);
        var issued = ApiKeys.Create(id, DateTimeOffset.UtcNow);
        await Live.Store.AddKeyAsync(issued.Key, cts.Token);
        using var http = Live.Http(issued.Secret);
        while (!(await http.GetAsync("/v1/models", cts.Token)).IsSuccessStatusCode)
        {
            await Task.Delay(50, cts.Token);
        }
        return issued.Secret;
    }
}

public sealed class PolicyTests(PolicyGatewayFixture fixture) : IClassFixture<PolicyGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> ChatAsync(HttpClient http, object body)
    {
        var response = await http.PostAsJsonAsync("/v1/chat/completions", body).WithTimeout();
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return (response.StatusCode, json, response);
    }

    [Fact]
    public async Task ChinaControlledEstablishedTenant_IsServedOnlyFromTheAllowedRegion()
    {
        var secret = await fixture.TenantAsync("sino-trade", "SG", VettingTier.Established, controlling: "CN");
        using var http = Live.Http(secret);

        // flaky's sg deployment is not allowed for this tenant: the request goes straight to jp-east.
        var (status, _, response) = await ChatAsync(http, new { model = "flaky", messages = new[] { new { role = "user", content = "hi" } } });
        // gpt-4.1 has only an sg deployment: nothing compliant is left.
        var (denied, error, deniedResponse) = await ChatAsync(http, new { model = "gpt-4.1", messages = new[] { new { role = "user", content = "hi" } } });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("jp-east", response.Headers.GetValues("x-corridor-region").Single());
        Assert.StartsWith("dec_", response.Headers.GetValues("x-corridor-decision").Single(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, denied);
        Assert.Equal("no_compliant_region", error.GetProperty("error").GetProperty("code").GetString());
        var decisionId = deniedResponse.Headers.GetValues("x-corridor-decision").Single();
        Assert.Contains(decisionId, error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refusals_CarryTheirReasonCode_InEachDialect()
    {
        var chinese = await fixture.TenantAsync("beijing-labs", "CN", VettingTier.Verified);
        var small = await fixture.TenantAsync("small-sg", "SG", VettingTier.Basic);
        var embargoed = await fixture.TenantAsync("pyongyang-co", "KP", VettingTier.Strategic);

        var jurisdiction = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Live.Anthropic(chinese).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi"))).WithTimeout();
        var tier = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI(small).GetChatClient("claude-sonnet-4").CompleteChatAsync([new UserChatMessage("hi")])).WithTimeout();
        var tierChinaOpenAI = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI(chinese).GetChatClient("flaky").CompleteChatAsync([new UserChatMessage("hi")])).WithTimeout();
        var embargo = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI(embargoed).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hi")])).WithTimeout();

        Assert.Equal(HttpStatusCode.Forbidden, jurisdiction.StatusCode);
        Assert.Contains("jurisdiction_denied", jurisdiction.ResponseBody, StringComparison.Ordinal);
        Assert.Equal(403, tier.Status);
        Assert.Contains("tier_insufficient", tier.Message, StringComparison.Ordinal);
        Assert.Contains("tier_insufficient", tierChinaOpenAI.Message, StringComparison.Ordinal);
        Assert.Contains("jurisdiction_denied", embargo.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATokenCount_IsRefused_AsAMessageToTheSameModel_WithItsDecisionAudited_AndNoUpstreamAsked()
    {
        var chinese = await fixture.TenantAsync("count-cn", "CN", VettingTier.Verified);
        var log = new ResponseLog();
        var client = Live.Anthropic(chinese, log);
        var before = (await Live.SimulatorRequestsAsync()).Values.Sum();

        var message = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi"))).WithTimeout();
        var count = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.CountTokens(
            new Anthropic.Models.Messages.MessageCountTokensParams { Model = "claude-sonnet-4", Messages = [new Anthropic.Models.Messages.UserMessageParam("hi")] })).WithTimeout();
        var refused = log.Last;

        Assert.Equal((message.StatusCode, message.GetType()), (count.StatusCode, count.GetType()));
        Assert.Equal(HttpStatusCode.Forbidden, count.StatusCode);
        using (var body = JsonDocument.Parse(count.ResponseBody))
        {
            Assert.Equal("permission_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("jurisdiction_denied", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(before, (await Live.SimulatorRequestsAsync()).Values.Sum());
        var decisionId = refused.Header("x-corridor-decision")!;
        Assert.StartsWith("dec_", decisionId, StringComparison.Ordinal);
        var row = await Live.LedgerRowAsync(refused.RequestId!);
        Assert.Equal(("/v1/messages/count_tokens", RequestOutcome.Denied, "jurisdiction_denied", false), (row.Endpoint, row.Outcome, row.ErrorCode, row.Billable));
        await Live.Gateway.FlushAuditAsync(CancellationToken.None).WithTimeout();
        var records = await Live.Store.SearchAuditAsync(new AuditQuery(decisionId, AuditActions.Decision, 5), CancellationToken.None).WithTimeout();
        Assert.Equal("deny", JsonDocument.Parse(Assert.Single(records).Details).RootElement.GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task AModel_IsRetrievedByItsId_InEitherDialect_AndOneTheTenantMayNotUse_IsNotFound_AsAnUnknownOne()
    {
        var secret = await fixture.TenantAsync("basic-sg-retrieve", "SG", VettingTier.Basic);
        var models = Live.OpenAI(secret).GetOpenAIModelClient();
        var anthropic = Live.Anthropic(secret);

        var gpt = (await models.GetModelAsync("gpt-4.1").WithTimeout()).Value;
        var gptForAnthropic = await anthropic.Models.Retrieve("gpt-4.1").WithTimeout();
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync("claude-sonnet-4")).WithTimeout();
        var unknown = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync("no-such-model")).WithTimeout();
        var refusedForAnthropic = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => anthropic.Models.Retrieve("claude-sonnet-4")).WithTimeout();

        Assert.Equal(("gpt-4.1", "openai"), (gpt.Id, gpt.OwnedBy));
        Assert.Equal(("gpt-4.1", "model"), (gptForAnthropic.ID, gptForAnthropic.Type.GetString()));
        Assert.Equal((404, 404), (refused.Status, unknown.Status));
        using (var body = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString()))
        {
            Assert.Equal("model_not_found", body.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        Assert.Equal(HttpStatusCode.NotFound, refusedForAnthropic.StatusCode);
        using (var body = JsonDocument.Parse(refusedForAnthropic.ResponseBody))
        {
            Assert.Equal("not_found_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task Restrictions_AreAppliedToTheForwardedRequest_AndModelsAreFiltered()
    {
        var secret = await fixture.TenantAsync("basic-sg", "SG", VettingTier.Basic);
        using var http = Live.Http(secret);

        var (status, body, response) = await ChatAsync(http, new
        {
            model = "gpt-4.1", max_tokens = 2000, logprobs = true, top_logprobs = 2,
            messages = new[] { new { role = "user", content = "Write at length about routing." } },
        });
        using var models = await http.GetAsync("/v1/models").WithTimeout();
        var ids = JsonDocument.Parse(await models.Content.ReadAsStringAsync()).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()).ToList();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32() <= 50);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        Assert.Contains("gpt-4.1", ids);
        Assert.DoesNotContain("claude-sonnet-4", ids);
        var requestId = response.Headers.GetValues("x-corridor-request-id").Single();
        var row = await Live.LedgerRowAsync(requestId);
        Assert.Equal(response.Headers.GetValues("x-corridor-decision").Single(), row.DecisionId);
        // The ledger keeps the request as the client sent it (what export and `corridor policy diff` read), not as forwarded.
        var kept = JsonDocument.Parse(row.RequestBody!.Memory).RootElement;
        Assert.Equal(2000, kept.GetProperty("max_tokens").GetInt32());
        Assert.True(kept.GetProperty("logprobs").GetBoolean());
    }

    [Fact]
    public async Task TheFieldsPolicyActsOn_MeanToIt_WhatTheyMeanToTheUpstream()
    {
        var sino = await fixture.TenantAsync("sino-escape", "SG", VettingTier.Established, controlling: "CN");
        var basic = await fixture.TenantAsync("basic-escape", "SG", VettingTier.Basic);
        using var sinoHttp = Live.Http(sino);
        using var basicHttp = Live.Http(basic);

        async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient http, string json)
        {
            using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/v1/chat/completions", content).WithTimeout();
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        // gpt-4.1 has no region this tenant may be served from, however its name is written; written twice, it is refused.
        var (escaped, _) = await PostAsync(sinoHttp, """{"mod\u0065l":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}""");
        var (twice, twiceBody) = await PostAsync(sinoHttp, """{"model":"flaky","messages":[{"role":"user","content":"hi"}],"mod\u0065l":"gpt-4.1"}""");
        // The 50-token cap holds for max_completion_tokens, alone or with an equal max_tokens; differing, the two are refused.
        var (completion, completionBody) = await PostAsync(basicHttp, """{"model":"gpt-4.1","messages":[{"role":"user","content":"Write at length."}],"max_completion_tokens":1000}""");
        var (both, bothBody) = await PostAsync(basicHttp, """{"model":"gpt-4.1","messages":[{"role":"user","content":"Write at length."}],"max_completion_tokens":1000,"max_tokens":1000}""");
        var (differing, _) = await PostAsync(basicHttp, """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":1000,"max_tokens":10}""");
        // logprobs are stripped however their name is written, from a body that repeats a name Corridor does not read.
        var (stripped, strippedBody) = await PostAsync(basicHttp,
            """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"temperature":1,"temperature":1,"l\u006fgprobs":true}""");
        // A restricted body nesting deeper than 64 (the front door allows 128) is rewritten too; the simulator refuses it.
        var deep = new string('[', 80) + new string(']', 80);
        var (deepStatus, deepBody) = await PostAsync(basicHttp,
            "{\"model\":\"gpt-4.1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"metadata\":{\"x\":" + deep + "},\"logprobs\":true}");

        Assert.Equal(HttpStatusCode.Forbidden, escaped);
        Assert.Equal(HttpStatusCode.BadRequest, twice);
        Assert.Contains("more than once", twiceBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, completion);
        Assert.True(JsonDocument.Parse(completionBody).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32() <= 50);
        Assert.Equal(HttpStatusCode.OK, both);
        Assert.True(JsonDocument.Parse(bothBody).RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32() <= 50);
        Assert.Equal(HttpStatusCode.BadRequest, differing);
        Assert.Equal(HttpStatusCode.OK, stripped);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(strippedBody).RootElement.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        Assert.Equal(HttpStatusCode.BadRequest, deepStatus);
        Assert.Contains("The simulator expects a JSON object", deepBody, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryDecision_IsAudited_WithItsRuleTrace_AndDenialsAreNotBilled()
    {
        var secret = await fixture.TenantAsync("audited-cn", "CN", VettingTier.Strategic);
        using var http = Live.Http(secret);

        var (status, _, response) = await ChatAsync(http, new { model = "claude-sonnet-4", messages = new[] { new { role = "user", content = "hi" } } });
        var decisionId = response.Headers.GetValues("x-corridor-decision").Single();
        var row = await Live.LedgerRowAsync(response.Headers.GetValues("x-corridor-request-id").Single());
        await Live.Gateway.FlushAuditAsync(CancellationToken.None).WithTimeout();
        var records = await Live.Store.SearchAuditAsync(new AuditQuery(decisionId, AuditActions.Decision, 5), CancellationToken.None).WithTimeout();

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.False(row.Billable);
        Assert.Equal(0m, row.Cost);
        Assert.Equal("jurisdiction_denied", row.ErrorCode);
        var details = JsonDocument.Parse(Assert.Single(records).Details).RootElement;
        Assert.Equal("deny", details.GetProperty("outcome").GetString());
        Assert.Equal("test-1", details.GetProperty("policy_version").GetString());
        Assert.Contains(details.GetProperty("trace").EnumerateArray(), step => step.GetProperty("rule").GetString() == "anthropic");
    }
}

/// <summary>The admin API explains a decision (a gateway with both a policy and the admin token).</summary>
public sealed class PolicyAdminFixture : LiveGatewayFixture
{
    private readonly string _tokenEnv = "CORRIDOR_POLICY_ADMIN_TOKEN_" + Guid.NewGuid().ToString("N");

    public string Token { get; } = Guid.NewGuid().ToString("N");

    protected override Task<LiveGateway> StartAsync()
    {
        Environment.SetEnvironmentVariable(_tokenEnv, Token);
        return LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, _tokenEnv) + PolicyGatewayFixture.Policy);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Environment.SetEnvironmentVariable(_tokenEnv, null);
    }
}

public sealed class ExplainTests(PolicyAdminFixture fixture) : IClassFixture<PolicyAdminFixture>
{
    [Fact]
    public async Task AdminApi_ExplainsADecision_ByDecisionOrRequestId()
    {
        var live = fixture.Live;
        using var http = live.Http();
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "claude-sonnet-4", messages = new[] { new { role = "user", content = "hi" } } }).WithTimeout();
        var decisionId = response.Headers.GetValues("x-corridor-decision").Single();
        var requestId = response.Headers.GetValues("x-corridor-request-id").Single();
        await live.LedgerRowAsync(requestId);
        await live.Gateway.FlushAuditAsync(CancellationToken.None).WithTimeout();
        using var admin = new HttpClient { BaseAddress = live.BaseAddress, Timeout = TestTimeouts.Default };
        admin.DefaultRequestHeaders.Authorization = new("Bearer", fixture.Token);

        using var byDecision = await admin.GetAsync($"/admin/decisions/{decisionId}").WithTimeout();
        using var byRequest = await admin.GetAsync($"/admin/decisions/{requestId}").WithTimeout();
        using var unknown = await admin.GetAsync("/admin/decisions/dec_nothing").WithTimeout();

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byDecision.StatusCode);
        var details = JsonDocument.Parse(await byDecision.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("tier_insufficient", details.GetProperty("reason").GetString());
        Assert.Equal(requestId, details.GetProperty("request_id").GetString());
        Assert.Equal(await byDecision.Content.ReadAsStringAsync(), await byRequest.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }
}

/// <summary>An alias whose models the policy restricts differently: a fallback is served under its own model's restrictions.</summary>
public sealed class AliasPolicyTests
{
    private static string Catalog(Uri simulator) => TestCatalog.Yaml(simulator) + """

        routing:
          aliases:
            chat-fallback: [dead, gpt-4.1]
        policy:
          version: "alias-1"
          rules:
            - id: openai
              match: { vendors: [openai] }
              allow_jurisdictions: ["*"]
            - id: gpt41-limits
              match: { models: [gpt-4.1] }
              features: { logprobs: strip, max_tokens: 50 }
        """;

    [Fact]
    public async Task AliasFallback_ToAModelWithRestrictions_IsForwardedUnderThatModelsRestrictions()
    {
        await using var stack = await LiveGateway.StartAsync(Catalog);
        using var http = stack.Http();

        // dead (no restrictions) fails in both its regions; the alias falls back to gpt-4.1, whose rule strips logprobs and caps max_tokens.
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "chat-fallback", max_tokens = 2000, logprobs = true, top_logprobs = 2,
            messages = new[] { new { role = "user", content = "Write at length about routing." } },
        }).WithTimeout();
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var decisionId = response.Headers.GetValues("x-corridor-decision").Single();
        await stack.LedgerRowAsync(response.Headers.GetValues("x-corridor-request-id").Single());
        await stack.Gateway.FlushAuditAsync(CancellationToken.None).WithTimeout();
        var records = await stack.Store.SearchAuditAsync(new AuditQuery(decisionId, AuditActions.Decision, 5), CancellationToken.None).WithTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sg", response.Headers.GetValues("x-corridor-region").Single());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        Assert.True(body.GetProperty("usage").GetProperty("completion_tokens").GetInt32() <= 50);
        // The audit record is the decision the request was served under: gpt-4.1's, with its restrictions.
        var details = JsonDocument.Parse(Assert.Single(records).Details).RootElement;
        Assert.Equal("gpt-4.1", details.GetProperty("model").GetString());
        Assert.True(details.GetProperty("restrictions").GetProperty("strip_logprobs").GetBoolean());
    }
}

/// <summary>Reasoning under policy: refused, or stripped before the upstream sees it, in each dialect.</summary>
public sealed class ReasoningPolicyTests(PolicyGatewayFixture fixture) : IClassFixture<PolicyGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private static MessageCreateParams Thinking(string prompt) => new()
    {
        Model = "claude-sonnet-4",
        MaxTokens = 1024,
        Thinking = new ThinkingConfigEnabled { BudgetTokens = 1000 },
        Messages = [new UserMessageParam { Content = prompt }],
    };

    [Fact]
    public async Task ExtendedThinking_IsRefused_WhereThePolicyDeniesReasoning()
    {
        var secret = await fixture.TenantAsync("thinking-denied", "US", VettingTier.Verified);
        var client = Live.Anthropic(secret);

        var refused = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(Thinking("Think hard."))).WithTimeout();
        var served = await client.Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "Do not think.")).WithTimeout();

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("feature_restricted", refused.ResponseBody, StringComparison.Ordinal);
        Assert.NotEmpty(served.Content);
    }

    [Fact]
    public async Task ATokenCountWithThinking_IsCounted_WhereThePolicyDeniesReasoning()
    {
        // A count asks for no output, reasoning included: it tells the size of a prompt the tenant may send without thinking.
        var secret = await fixture.TenantAsync("thinking-denied-count", "US", VettingTier.Verified);
        var client = Live.Anthropic(secret);

        var count = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "claude-sonnet-4",
            Thinking = new ThinkingConfigEnabled { BudgetTokens = 1000 },
            Messages = [new UserMessageParam { Content = "Think hard about how long this is." }],
        }).WithTimeout();
        var refused = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(Thinking("Think hard about how long this is."))).WithTimeout();

        Assert.True(count.InputTokens > 0);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task ExtendedThinking_IsServedWithoutIt_WhereThePolicyStripsReasoning()
    {
        var secret = await fixture.TenantAsync("thinking-stripped", "US", VettingTier.Established);
        var client = Live.Anthropic(secret);
        Message? served = null;

        var upstream = await fixture.Relay.BodySentByAsync(async () => served = await client.Messages.Create(Thinking("Think hard, unseen.")).WithTimeout());

        Assert.NotNull(served);
        Assert.NotEmpty(served.Content);
        var sent = JsonDocument.Parse(upstream).RootElement;
        Assert.Equal("Think hard, unseen.", sent.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.False(sent.TryGetProperty("thinking", out _), upstream);
        Assert.Equal(1024, sent.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public async Task ThinkingWhoseTypeIsWrittenTwice_IsA400_NotServedAsNotThinking()
    {
        // Anthropic's API, as most JSON parsers, keeps the last of a repeated name: this asks for thinking upstream.
        var secret = await fixture.TenantAsync("thinking-twice", "US", VettingTier.Verified);
        using var http = Live.Http(secret);
        using var body = new StringContent("""
            {"model":"claude-sonnet-4","max_tokens":1024,"thinking":{"type":"disabled","type":"enabled","budget_tokens":1000},
             "messages":[{"role":"user","content":"Think hard, twice."}]}
            """, System.Text.Encoding.UTF8, "application/json");
        body.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await http.PostAsync("/v1/messages", body).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("more than one 'type'", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheResponsesApisReasoningEffort_IsStrippedLikeAChatCompletions()
    {
        var secret = await fixture.TenantAsync("effort-stripped", "SG", VettingTier.Basic);
        using var http = Live.Http(secret);
        HttpResponseMessage? response = null;

        var upstream = await fixture.Relay.BodySentByAsync(async () => response = await http.PostAsJsonAsync("/v1/responses",
            new { model = "gpt-4.1", input = "Reason at length.", reasoning = new { effort = "high" } }).WithTimeout());

        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response!.StatusCode);
        }
        var sent = JsonDocument.Parse(upstream).RootElement;
        Assert.Equal("Reason at length.", sent.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.False(sent.TryGetProperty("reasoning_effort", out _), upstream);
    }

    [Fact]
    public async Task AResponse_EchoesTheParametersPolicyApplied_NotThoseAsked_WholeAndStreamed()
    {
        // This tier's rule caps max_tokens at 50 and strips reasoning and log probabilities.
        var secret = await fixture.TenantAsync("echo-applied", "SG", VettingTier.Basic);
        var client = Live.OpenAI(secret).GetResponsesClient();
        var options = new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("Reason at length.")])
        {
            MaxOutputTokenCount = 2000,
            ReasoningOptions = new ResponseReasoningOptions { ReasoningEffortLevel = ResponseReasoningEffortLevel.High },
            TopLogProbabilityCount = 2,
            IncludedProperties = { IncludedResponseProperty.MessageOutputTextLogProbabilities },
            Temperature = 0.5f,
        };

        var whole = await client.CreateResponseAsync(options).WithTimeout();
        options.StreamingEnabled = true;
        var updates = await (await client.CreateResponseStreamingAsync(options).WithTimeout()).ToListWithTimeoutAsync();

        var response = whole.Value;
        Assert.Equal(50, response.MaxOutputTokenCount);
        Assert.Null(response.ReasoningOptions?.ReasoningEffortLevel);
        Assert.Equal(0.5f, response.Temperature);
        using var body = JsonDocument.Parse(whole.GetRawResponse().Content.ToString());
        Assert.Equal(0, body.RootElement.GetProperty("top_logprobs").GetInt32());
        var created = Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]).Response;
        // The 50-token cap cut the answer: it ends incomplete, saying so against the cap it echoes.
        var ended = Assert.IsType<StreamingResponseIncompleteUpdate>(updates[^1]).Response;
        Assert.Equal((50, 50), (created.MaxOutputTokenCount, ended.MaxOutputTokenCount));
        Assert.Null(ended.ReasoningOptions?.ReasoningEffortLevel);
    }
}

public sealed class ChatTemplateReasoningPolicyTests(PolicyGatewayFixture fixture) : IClassFixture<PolicyGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private static object AskToThink(string model, bool think) => new
    {
        model,
        max_tokens = 256,
        messages = new[] { new { role = "user", content = "Reason it through." } },
        chat_template_kwargs = new { add_generation_prompt = true, enable_thinking = think },
    };

    [Fact]
    public async Task AChatClientsReasoningEffort_OnAClaudeModel_IsStrippedBeforeItBecomesThinking_WhereThePolicyStripsReasoning()
    {
        // The rule strips reasoning from the client's request, before the translation could turn it into Anthropic's thinking.
        var secret = await fixture.TenantAsync("effort-to-claude-stripped", "SG", VettingTier.Established);
        using var http = Live.Http(secret);
        HttpResponseMessage? response = null;

        var upstream = await fixture.Relay.BodySentByAsync(async () => response = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "claude-sonnet-4",
            max_completion_tokens = 4096,
            reasoning_effort = "high",
            messages = new[] { new { role = "user", content = "Reason it through." } },
        }).WithTimeout());

        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response!.StatusCode);
            using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.False(answer.RootElement.GetProperty("choices")[0].GetProperty("message").TryGetProperty("reasoning_content", out _));
        }
        var sent = JsonDocument.Parse(upstream).RootElement;
        Assert.Equal(4096, sent.GetProperty("max_tokens").GetInt32());
        Assert.False(sent.TryGetProperty("thinking", out _), upstream);
    }

    [Fact]
    public async Task ChatTemplateThinking_IsRefused_WhereThePolicyDeniesReasoning()
    {
        var secret = await fixture.TenantAsync("template-thinking-denied", "US", VettingTier.Verified);
        using var http = Live.Http(secret);

        using var refused = await http.PostAsJsonAsync("/v1/chat/completions", AskToThink("claude-sonnet-4", think: true)).WithTimeout();
        using var served = await http.PostAsJsonAsync("/v1/chat/completions", AskToThink("claude-sonnet-4", think: false)).WithTimeout();

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("feature_restricted", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task ChatTemplateThinking_IsStripped_KeepingTheOtherTemplateArguments()
    {
        var secret = await fixture.TenantAsync("template-thinking-stripped", "SG", VettingTier.Basic);
        using var http = Live.Http(secret);
        HttpResponseMessage? response = null;

        var upstream = await fixture.Relay.BodySentByAsync(async () => response = await http.PostAsJsonAsync("/v1/chat/completions",
            AskToThink("gpt-4.1", think: true)).WithTimeout());

        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response!.StatusCode);
        }
        var kwargs = JsonDocument.Parse(upstream).RootElement.GetProperty("chat_template_kwargs");
        Assert.False(kwargs.TryGetProperty("enable_thinking", out _), upstream);
        Assert.True(kwargs.GetProperty("add_generation_prompt").GetBoolean());
    }
}

/// <summary>A throttled caller under a policy that refuses features the throttle would strip or cap.</summary>
public sealed class ThrottledPolicyTests
{
    private const string Policy = """

        policy:
          version: "throttle-1"
          rules:
            - id: openai
              match: { vendors: [openai] }
              allow_jurisdictions: ["*"]
              features: { logprobs: deny, max_tokens: { limit: 1000, mode: refuse } }
        """;

    [Fact]
    public async Task PolicyJudgesTheRequestAsTheClientSentIt_NotAsTheThrottleRewroteIt()
    {
        using var adminToken = new TokenVariable();
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, adminToken.Name) + MonitorGatewayFixture.Monitor + Policy).WithTimeout();
        var secret = await live.AddTenantWithKeyAsync("throttled-policy-co", "SG").WithTimeout();
        var keyId = (await live.Store.ListKeysAsync("throttled-policy-co", CancellationToken.None).WithTimeout())[0].Id;
        using var http = live.Http(secret);
        var logprobs = new { model = "gpt-4.1", logprobs = true, messages = new[] { new { role = "user", content = "hi" } } };
        var tooLong = new { model = "gpt-4.1", max_tokens = 4000, messages = new[] { new { role = "user", content = "hi" } } };
        using (var before = await http.PostAsJsonAsync("/v1/chat/completions", logprobs).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.Forbidden, before.StatusCode);
        }
        using (var admin = adminToken.Client(live.BaseAddress))
        {
            using var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "throttle", note = "slow down" }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }

        // The throttle strips logprobs and caps max_tokens at 64; the policy refuses both as asked, throttled or not.
        using var stripped = await http.PostAsJsonAsync("/v1/chat/completions", logprobs).WithTimeout();
        using var capped = await http.PostAsJsonAsync("/v1/chat/completions", tooLong).WithTimeout();
        var decisionId = stripped.Headers.GetValues("x-corridor-decision").Single();
        await live.LedgerRowAsync(stripped.Headers.GetValues("x-corridor-request-id").Single());
        await live.Gateway.FlushAuditAsync(CancellationToken.None).WithTimeout();
        var records = await live.Store.SearchAuditAsync(new AuditQuery(decisionId, AuditActions.Decision, 5), CancellationToken.None).WithTimeout();

        Assert.Equal(HttpStatusCode.Forbidden, stripped.StatusCode);
        Assert.Contains("feature_restricted", await stripped.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, capped.StatusCode);
        Assert.Contains("feature_restricted", await capped.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // The audit record has the request's input as the client sent it.
        var details = JsonDocument.Parse(Assert.Single(records).Details).RootElement;
        Assert.True(details.GetProperty("logprobs").GetBoolean());
        Assert.Equal("deny", details.GetProperty("outcome").GetString());
    }
}
