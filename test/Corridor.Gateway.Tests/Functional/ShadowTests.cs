using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Corridor.Core.Shadow;
using Corridor.Core.Tenants;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The test catalog with the test policy, a 50 % markup as the sell price, the admin API, and four shadow pairs:
/// gpt-4.1 (OpenAI) → claude-sonnet-4 (Anthropic, which policy gives verified tenants only); claude-sonnet-4 → dead
/// (whose first deployment answers 500); gpt-4.1-azure → slow (answers after 4 s, at most one in flight);
/// mirror-primary (OpenAI, its logprobs stripped and max_tokens capped at 50 by policy) → mirror-candidate (Anthropic,
/// which policy refuses logprobs and does not cap); refused-primary → refused-candidate (whose upstream refuses its
/// credential, 401).
/// </summary>
public sealed class ShadowGatewayFixture : AdminGatewayFixture
{
    protected override string Yaml(Uri simulator, string tokenEnv)
    {
        var sim = simulator.ToString().TrimEnd('/');
        return base.Yaml(simulator, tokenEnv)
            .Replace("models:\n", "models:\n  - { id: slow, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n"
                + "  - { id: mirror-primary, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n"
                + "  - { id: mirror-candidate, vendor: anthropic, capabilities: [chat], contextWindow: 8192 }\n"
                + "  - { id: refused-primary, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n"
                + "  - { id: refused-candidate, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n"
                + "  - { id: long-primary, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n"
                + "  - { id: short-candidate, vendor: openai, capabilities: [chat], contextWindow: 8192, maxOutputTokens: 100 }\n"
                + "  - { id: seeing-primary, vendor: openai, capabilities: [chat, vision], contextWindow: 8192 }\n"
                + "  - { id: blind-candidate, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n", StringComparison.Ordinal)
            + $$"""

              - { id: slow-sg, model: slow, region: sg, endpoint: "{{sim}}/x/latency=4000/v1", price: { input: 0.5, output: 1 } }
              - { id: mirror-primary-sg, model: mirror-primary, region: sg, price: { input: 1, output: 1 } }
              - { id: mirror-candidate-us, model: mirror-candidate, region: us-east, price: { input: 1, output: 1 } }
              - { id: refused-primary-sg, model: refused-primary, region: sg, price: { input: 1, output: 1 } }
              - { id: refused-candidate-sg, model: refused-candidate, region: sg, endpoint: "{{sim}}/x/status=401/v1", price: { input: 1, output: 1 } }
              - { id: long-primary-sg, model: long-primary, region: sg, price: { input: 1, output: 1 } }
              - { id: short-candidate-sg, model: short-candidate, region: sg, price: { input: 1, output: 1 } }
              - { id: seeing-primary-sg, model: seeing-primary, region: sg, price: { input: 1, output: 1 } }
              - { id: blind-candidate-sg, model: blind-candidate, region: sg, price: { input: 1, output: 1 } }
            pricing:
              markup: 0.5
            shadow:
              queue: 16
              concurrency: 2
              models:
                gpt-4.1: { candidate: claude-sonnet-4, share: 1 }
                claude-sonnet-4: { candidate: dead, share: 1 }
                gpt-4.1-azure: { candidate: slow, share: 1, maxInFlight: 1 }
                mirror-primary: { candidate: mirror-candidate, share: 1 }
                refused-primary: { candidate: refused-candidate, share: 1 }
                long-primary: { candidate: short-candidate, share: 1 }
                seeing-primary: { candidate: blind-candidate, share: 1 }
            """ + PolicyGatewayFixture.Policy + """

                - id: mirror-primary
                  match: { models: [mirror-primary] }
                  features: { logprobs: strip, max_tokens: 50 }
                - id: mirror-candidate
                  match: { models: [mirror-candidate] }
                  features: { logprobs: deny }
            """;
    }

    /// <summary>A tenant of the given tier and a key for it, usable at once.</summary>
    public async Task<string> TenantAsync(string id, VettingTier tier)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        await Live.Store.AddTenantAsync(new Tenant(id, id + " Ltd.", "SG", DateTimeOffset.UtcNow) { Tier = tier }, cts.Token);
        return await Live.AddTenantWithKeyAsync(id, "SG");
    }

    /// <summary>The shadow results stored so far for <paramref name="primaryModel"/>, once there are <paramref name="count"/>.</summary>
    public async Task<List<ShadowResult>> ShadowResultsAsync(string primaryModel, int count)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            var results = (await Live.Store.ReadShadowResultsAsync(null, null, cts.Token).ToListWithTimeoutAsync()).Where(r => r.PrimaryModel == primaryModel).ToList();
            if (results.Count >= count)
            {
                await Live.Gateway.FlushLedgerAsync(cts.Token);
                return results;
            }
            await Task.Delay(20, cts.Token);
        }
    }
}

/// <summary>
/// Shadow evaluation through the front door: the official SDKs call the gateway, the candidate is called in the background
/// under policy, billed to the operator, and the admin API's shadow and spend reports show what happened.
/// The tests of this class run one after another (xunit runs a class's tests in sequence) on one gateway; each uses its own pair.
/// </summary>
public sealed class ShadowTests(ShadowGatewayFixture fixture) : IClassFixture<ShadowGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task MirroredRequests_AreComparedUnderPolicy_BilledToTheOperator_AndReported()
    {
        var verified = await fixture.TenantAsync("shadow-verified", VettingTier.Verified);
        var unverified = await fixture.TenantAsync("shadow-unverified", VettingTier.Unverified);
        var chat = Live.OpenAI(verified).GetChatClient("gpt-4.1");

        // The verified tenant: whole and streamed OpenAI calls, an Anthropic client's call, and a tool call.
        var primaries = new List<string>();
        var whole = await chat.CompleteChatAsync([new UserChatMessage("Shadow me, whole.")], null, default).WithTimeout();
        primaries.Add(whole.GetRawResponse().Headers.TryGetValue("x-corridor-request-id", out var id1) ? id1! : "");
        await chat.CompleteChatStreamingAsync([new UserChatMessage("Shadow me, streamed.")], null, default).ToListWithTimeoutAsync();
        var message = await Live.Anthropic(verified).Messages.Create(AnthropicDialectTests.Ask("gpt-4.1", "Shadow me from Anthropic's client.")).WithTimeout();
        Assert.Equal("end_turn", message.StopReason?.Raw());
        var tools = new ChatCompletionOptions
        {
            Tools =
            {
                ChatTool.CreateFunctionTool("get_weather", "The current weather in a city.", BinaryData.FromString(
                    """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""")),
            },
        };
        var toolCall = (await chat.CompleteChatAsync([new UserChatMessage("What is the weather in Singapore?")], tools, default).WithTimeout()).Value;
        Assert.Equal(ChatFinishReason.ToolCalls, toolCall.FinishReason);

        // The unverified tenant may not use claude-sonnet-4: its mirrors are skipped with the reason policy gives it directly.
        var unverifiedChat = Live.OpenAI(unverified).GetChatClient("gpt-4.1");
        await unverifiedChat.CompleteChatAsync([new UserChatMessage("Do not shadow me.")], null, default).WithTimeout();
        await unverifiedChat.CompleteChatAsync([new UserChatMessage("Nor me.")], null, default).WithTimeout();
        using var direct = await Live.Http(unverified).PostAsJsonAsync("/v1/chat/completions",
            new { model = "claude-sonnet-4", messages = new[] { new { role = "user", content = "hi" } } }).WithTimeout();
        Assert.Equal(HttpStatusCode.Forbidden, direct.StatusCode);
        var refusal = JsonDocument.Parse(await direct.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString();

        var results = await fixture.ShadowResultsAsync("gpt-4.1", 6);

        Assert.Equal(6, results.Count);
        var compared = results.Where(r => r.TenantId == "shadow-verified").ToList();
        Assert.Equal(4, compared.Count);
        Assert.All(compared, r => Assert.Equal(ShadowOutcome.Compared, r.Outcome));
        Assert.All(compared, r => Assert.InRange(r.Similarity!.Value.Jaccard, 0.0, 1.0));
        Assert.Equal(1, compared.Count(r => r.Similarity!.Value.ToolNamesMatch == true));
        var skipped = results.Where(r => r.TenantId == "shadow-unverified").ToList();
        Assert.Equal(2, skipped.Count);
        Assert.All(skipped, r => Assert.Equal((ShadowOutcome.Skipped, refusal), (r.Outcome, r.Reason)));
        Assert.Contains(primaries[0], compared.Select(r => r.PrimaryRequestId));

        // Each compared mirror has its ledger row: the candidate's cost, billed to the operator, tied to its primary.
        var ledger = await Live.Store.ReadLedgerAsync(null, null, default).ToListWithTimeoutAsync();
        var shadows = ledger.Where(e => e.ShadowOf is not null && e.Model == "claude-sonnet-4").ToList();
        Assert.Equal(compared.Select(r => r.RequestId).Order(), shadows.Select(e => e.RequestId).Order());
        foreach (var row in shadows)
        {
            var result = compared.Single(r => r.RequestId == row.RequestId);
            Assert.Equal(result.PrimaryRequestId, row.ShadowOf);
            Assert.Equal(("shadow-verified", "anthropic", "us-east", false, 0m), (row.TenantId, row.Vendor, row.Region, row.Billable, row.Revenue));
            Assert.True(row.Cost > 0m);
            Assert.Equal(result.CandidateCost, row.Cost);
            Assert.StartsWith("dec_", row.DecisionId, StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(row.ResponseText) && row.FinishReason != "tool_use");
            var primary = ledger.Single(e => e.RequestId == result.PrimaryRequestId);
            Assert.Equal((primary.Cost, primary.Cost * 1.5m), (result.PrimaryCost, primary.Revenue));
        }

        // The admin API's shadow report: the same figures, per pair.
        using var admin = fixture.Admin();
        using var report = JsonDocument.Parse(await admin.GetStringAsync("/admin/reports/shadow").WithTimeout());
        var pair = report.RootElement.GetProperty("pairs").EnumerateArray().Single(p => p.GetProperty("primary").GetString() == "gpt-4.1");
        Assert.Equal("claude-sonnet-4", pair.GetProperty("candidate").GetString());
        Assert.Equal((4, 4, 0, 2), (pair.GetProperty("mirrored").GetInt32(), pair.GetProperty("compared").GetInt32(),
            pair.GetProperty("candidate_errors").GetInt32(), pair.GetProperty("skipped").GetInt32()));
        Assert.Equal(2, pair.GetProperty("skip_reasons").GetProperty(refusal!).GetInt32());
        var cost = pair.GetProperty("cost");
        Assert.Equal(compared.Sum(r => r.PrimaryCost), Money(cost, "primary"));
        Assert.Equal(shadows.Sum(e => e.Cost), Money(cost, "candidate"));
        Assert.Equal(4, pair.GetProperty("similarity").GetProperty("jaccard").GetProperty("histogram").EnumerateArray().Sum(b => b.GetInt32()));
        Assert.Equal(1, pair.GetProperty("similarity").GetProperty("with_tool_calls").GetInt32());
        var csv = await admin.GetStringAsync("/admin/reports/shadow?format=csv").WithTimeout();
        Assert.Contains("\ngpt-4.1,claude-sonnet-4,4,4,0,0,,2,", csv, StringComparison.Ordinal);

        // The tenant's auditor sees where its requests were mirrored, apart from its usage.
        using var residency = JsonDocument.Parse(await admin.GetStringAsync("/admin/reports/residency?tenant=shadow-verified").WithTimeout());
        var mirroredTo = Assert.Single(residency.RootElement.GetProperty("shadow").EnumerateArray());
        Assert.Equal(("anthropic", "us-east", "claude-sonnet-4", 4), (mirroredTo.GetProperty("vendor").GetString(), mirroredTo.GetProperty("region").GetString(),
            mirroredTo.GetProperty("model").GetString(), mirroredTo.GetProperty("requests").GetInt32()));
        Assert.DoesNotContain(residency.RootElement.GetProperty("usage").EnumerateArray(), u => u.GetProperty("model").GetString() == "claude-sonnet-4");

        // Shadows are not the tenant's usage; in the spend report they are the operator's own spend.
        using var usage = JsonDocument.Parse(await admin.GetStringAsync("/admin/usage").WithTimeout());
        Assert.DoesNotContain(usage.RootElement.EnumerateArray(), u => u.GetProperty("tenant").GetString() == "shadow-verified" && u.GetProperty("model").GetString() == "claude-sonnet-4");
        using var spend = JsonDocument.Parse(await admin.GetStringAsync("/admin/reports/spend?by=tenant&period=day").WithTimeout());
        var shadowRow = spend.RootElement.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("tenant").GetString() == "(shadow)");
        Assert.Equal(ledger.Where(e => e.ShadowOf is not null).Sum(e => e.Cost), Money(shadowRow, "spend"));
        Assert.Equal(0m, Money(shadowRow, "revenue"));
        var verifiedRow = spend.RootElement.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("tenant").GetString() == "shadow-verified");
        var verifiedPrimaries = ledger.Where(e => e.TenantId == "shadow-verified" && e.Billable).ToList();
        Assert.Equal((verifiedPrimaries.Sum(e => e.Cost), verifiedPrimaries.Sum(e => e.Cost) * 1.5m), (Money(verifiedRow, "spend"), Money(verifiedRow, "revenue")));
    }

    [Fact]
    public async Task ACandidateThatFails_IsCountedAsAnError_AndTheClientNeverSeesIt()
    {
        var verified = await fixture.TenantAsync("shadow-errors", VettingTier.Verified);

        for (var i = 0; i < 2; i++)
        {
            var answer = await Live.Anthropic(verified).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", $"Mirror me to a dead model, {i}.")).WithTimeout();
            Assert.Equal("end_turn", answer.StopReason?.Raw());
        }

        var results = await fixture.ShadowResultsAsync("claude-sonnet-4", 2);
        Assert.All(results, r => Assert.Equal((ShadowOutcome.CandidateFailed, "upstream_error", 0m), (r.Outcome, r.Reason, r.CandidateCost)));
        using var admin = fixture.Admin();
        using var report = JsonDocument.Parse(await admin.GetStringAsync("/admin/reports/shadow").WithTimeout());
        var pair = report.RootElement.GetProperty("pairs").EnumerateArray().Single(p => p.GetProperty("primary").GetString() == "claude-sonnet-4");
        Assert.Equal((2, 0, 2), (pair.GetProperty("mirrored").GetInt32(), pair.GetProperty("compared").GetInt32(), pair.GetProperty("candidate_errors").GetInt32()));
        Assert.Equal("1", pair.GetProperty("candidate_error_rate").GetString());
        Assert.Equal(2, pair.GetProperty("errors").GetProperty("upstream_error").GetInt32());
    }

    [Fact]
    public async Task AMirror_IsDecidedOnTheClientsOwnRequest_AndRestrictedByTheCandidatesDecisionAlone()
    {
        var verified = await fixture.TenantAsync("shadow-asked", VettingTier.Verified);
        using var http = Live.Http(verified);
        const string Ask = "Write at length about shadow evaluation, routing and policy.";
        var logprobs = new { model = "mirror-primary", logprobs = true, messages = new[] { new { role = "user", content = Ask } } };
        var longAnswer = new { model = "mirror-primary", max_tokens = 1000, messages = new[] { new { role = "user", content = Ask } } };

        // The primary's policy strips logprobs and caps max_tokens at 50; the candidate's refuses logprobs and caps nothing.
        using var stripped = await http.PostAsJsonAsync("/v1/chat/completions", logprobs).WithTimeout();
        var strippedId = stripped.Headers.GetValues("x-corridor-request-id").Single();
        using var capped = await http.PostAsJsonAsync("/v1/chat/completions", longAnswer).WithTimeout();
        var cappedId = capped.Headers.GetValues("x-corridor-request-id").Single();
        using var direct = await http.PostAsJsonAsync("/v1/chat/completions", logprobs with { model = "mirror-candidate" }).WithTimeout();
        var refusal = JsonDocument.Parse(await direct.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString();

        var results = await fixture.ShadowResultsAsync("mirror-primary", 2);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden), (stripped.StatusCode, capped.StatusCode, direct.StatusCode));
        Assert.Equal("feature_restricted", refusal);
        // The client asked the candidate for logprobs, which its policy refuses: skipped, as a request to it would be refused,
        // though the primary's own policy had stripped them from what the primary was sent.
        var skipped = results.Single(r => r.PrimaryRequestId == strippedId);
        Assert.Equal((ShadowOutcome.Skipped, refusal), (skipped.Outcome, skipped.Reason));
        // The client asked for 1000 tokens: the candidate is sent what it would be sent for the asking, not the primary's cap.
        var compared = results.Single(r => r.PrimaryRequestId == cappedId);
        Assert.Equal(ShadowOutcome.Compared, compared.Outcome);
        var primaryRow = await Live.LedgerRowAsync(cappedId);
        var candidateRow = await Live.LedgerRowAsync(compared.RequestId);
        Assert.InRange(primaryRow.OutputTokens, 1, 50);
        Assert.True(candidateRow.OutputTokens > 50, $"the candidate was sent the primary's cap: {candidateRow.OutputTokens} output tokens");
    }

    [Fact]
    public async Task AMirrorAskingForMoreOutputThanTheCandidateCanProduce_IsSkipped_AsARequestToItIsRefused()
    {
        var verified = await fixture.TenantAsync("shadow-long", VettingTier.Verified);
        using var http = Live.Http(verified);
        var asked = new { model = "long-primary", max_tokens = 1000, messages = new[] { new { role = "user", content = "Write at length." } } };

        using var served = await http.PostAsJsonAsync("/v1/chat/completions", asked).WithTimeout();
        var servedId = served.Headers.GetValues("x-corridor-request-id").Single();
        using var direct = await http.PostAsJsonAsync("/v1/chat/completions", asked with { model = "short-candidate" }).WithTimeout();
        var result = Assert.Single(await fixture.ShadowResultsAsync("long-primary", 1));

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.BadRequest), (served.StatusCode, direct.StatusCode));
        // Before, the candidate's upstream was called with a max_tokens its model cannot produce (the simulator served it).
        Assert.Equal((servedId, ShadowOutcome.Skipped, "max_tokens_too_large"), (result.PrimaryRequestId, result.Outcome, result.Reason));
    }

    [Fact]
    public async Task AMirrorOfARequestTheCandidateCannotDo_IsSkipped_AsARequestToItIsRefused()
    {
        var verified = await fixture.TenantAsync("shadow-blind", VettingTier.Verified);
        var look = new UserChatMessage(ChatMessageContentPart.CreateTextPart("What is this?"),
            ChatMessageContentPart.CreateImagePart(new Uri("https://example.com/cat.png")));

        var served = await Live.OpenAI(verified).GetChatClient("seeing-primary").CompleteChatAsync([look]).WithTimeout();
        Assert.True(served.GetRawResponse().Headers.TryGetValue("x-corridor-request-id", out var servedId));
        var direct = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() =>
            Live.OpenAI(verified).GetChatClient("blind-candidate").CompleteChatAsync([look])).WithTimeout();
        var result = Assert.Single(await fixture.ShadowResultsAsync("seeing-primary", 1));

        Assert.Equal(400, direct.Status);
        // Before, the candidate was sent the image and its answer compared, a comparison of a model that cannot see.
        Assert.Equal((servedId, ShadowOutcome.Skipped, "not_capable"), (result.PrimaryRequestId, result.Outcome, result.Reason));
    }

    [Fact]
    public async Task ACandidateWhoseUpstreamRefusesItsCredential_FailsItsDeployment_AsLiveTrafficDoes()
    {
        // A 401 (like 403, 404 and 408) is the deployment's failure, not the client's mistake: live traffic falls back from it
        // and its breaker counts it. After five (the default threshold) the breaker opens and the next mirror is skipped.
        var verified = await fixture.TenantAsync("shadow-refused", VettingTier.Verified);
        var chat = Live.OpenAI(verified).GetChatClient("refused-primary");
        for (var i = 0; i < 5; i++)
        {
            await chat.CompleteChatAsync([new UserChatMessage($"Refused {i}.")], null, default).WithTimeout();
            await fixture.ShadowResultsAsync("refused-primary", i + 1);
        }

        var last = await chat.CompleteChatAsync([new UserChatMessage("Refused at last.")], null, default).WithTimeout();
        Assert.True(last.GetRawResponse().Headers.TryGetValue("x-corridor-request-id", out var lastId));
        var results = await fixture.ShadowResultsAsync("refused-primary", 6);

        Assert.All(results.Where(r => r.PrimaryRequestId != lastId), r => Assert.Equal((ShadowOutcome.CandidateFailed, "upstream_error"), (r.Outcome, r.Reason)));
        var skipped = results.Single(r => r.PrimaryRequestId == lastId);
        Assert.Equal((ShadowOutcome.Skipped, "circuit_open"), (skipped.Outcome, skipped.Reason));
    }

    [Fact]
    public async Task APairAtItsInFlightCap_DropsFurtherMirrors_AndCountsThem()
    {
        var secret = await fixture.TenantAsync("shadow-capped", VettingTier.Verified);
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1-azure");

        // The first mirror waits 4 s on its candidate; the next three find the pair at its cap of one.
        for (var i = 0; i < 4; i++)
        {
            var answer = (await chat.CompleteChatAsync([new UserChatMessage($"Capped {i}.")], null, default).WithTimeout()).Value;
            Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
        }
        using var admin = fixture.Admin();
        using var status = JsonDocument.Parse(await admin.GetStringAsync("/admin/shadow/status").WithTimeout());
        var dropped = status.RootElement.GetProperty("dropped_pair_limit").GetInt64();

        var results = await fixture.ShadowResultsAsync("gpt-4.1-azure", 1);
        Assert.Equal(4, dropped + results.Count);
        Assert.True(dropped >= 1);
        Assert.All(results, r => Assert.Equal(("slow", ShadowOutcome.Compared), (r.CandidateModel, r.Outcome)));
    }

    [Theory]
    [InlineData("/admin/reports/spend?by=planet", "by must be one of")]
    [InlineData("/admin/reports/revenue?period=week", "period must be one of")]
    [InlineData("/admin/reports/revenue?top=-1", "top must be")]
    [InlineData("/admin/reports/spend?from=yesterday", "from and to must be")]
    [InlineData("/admin/reports/shadow?to=soon", "from and to must be")]
    public async Task Reports_RefuseBadParameters_WithA400(string path, string message)
    {
        using var admin = fixture.Admin();

        using var response = await admin.GetAsync(path).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevenueReport_InCsv_RanksTopCustomersByRevenue()
    {
        var big = await fixture.TenantAsync("rank-big", VettingTier.Verified);
        var small = await fixture.TenantAsync("rank-small", VettingTier.Verified);
        // flaky has no shadow pair; its second deployment serves.
        await Live.OpenAI(big).GetChatClient("flaky").CompleteChatAsync([new UserChatMessage("One.")], null, default).WithTimeout();
        await Live.OpenAI(big).GetChatClient("flaky").CompleteChatAsync([new UserChatMessage("Two.")], null, default).WithTimeout();
        await Live.OpenAI(small).GetChatClient("flaky").CompleteChatAsync([new UserChatMessage("One.")], null, default).WithTimeout();
        await Live.LedgerRowAsync(e => e.TenantId == "rank-small").WithTimeout();
        using var admin = fixture.Admin();

        using var response = await admin.GetAsync("/admin/reports/revenue?by=vendor&period=quarter&format=csv").WithTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("section,period,key,", lines[0], StringComparison.Ordinal);
        var top = lines.Where(l => l.StartsWith("top_customer,", StringComparison.Ordinal)).Select(l => l.Split(',')).ToList();
        var shares = top.Select(f => decimal.Parse(f[11], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(shares.OrderDescending(), shares);
        Assert.True(shares.Sum() <= 1.00001m); // each share is rounded to six places
        var tenants = top.Select(f => f[2]).ToList();
        Assert.True(tenants.IndexOf("rank-big") is >= 0 and var b && tenants.IndexOf("rank-small") > b, string.Join(";", tenants));
    }

    private static decimal Money(JsonElement element, string name) =>
        decimal.Parse(element.GetProperty(name).GetString()!, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// A mirror is sent the client's request as enforcement left it (docs/shadow.md): a copy of it (<c>ClientRequest.Copy</c>)
/// that keeps what the rewrite decided, the thinking switch included.
/// </summary>
public sealed class ShadowThinkingTests
{
    /// <summary>
    /// A throttled caller's reasoning is stripped; a DeepSeek-like model thinks unless told not to, so the gateway tells it
    /// not to (<c>"thinking":{"type":"disabled"}</c>, docs/policy.md). A candidate of that kind (an OpenAI-kind model declared
    /// <c>reasoning</c>, at a host other than OpenAI's) mirrored that request is told so too, though its own decision
    /// restricts nothing: else it would reason, at the operator's cost, where the primary was refused to.
    /// </summary>
    [Fact]
    public async Task AThrottledRequestsMirror_ToADeepSeekLikeCandidate_IsToldNotToThink_AsThePrimaryIs()
    {
        using var adminToken = new TokenVariable();
        TcpRelay? started = null;
        await using var live = await LiveGateway.StartAsync(simulator =>
        {
            started = TcpRelay.Start(simulator);
            var relayed = $"endpoint: \"{started.Address.ToString().TrimEnd('/')}/v1\", ";
            return TestCatalog.WithReasoningModel(TestCatalog.WithReasoner(TestCatalog.Yaml(simulator, adminToken.Name)), "candidate-reasoner")
                .Replace("{ id: candidate-reasoner-sg, model: candidate-reasoner, region: sg, ", "{ id: candidate-reasoner-sg, model: candidate-reasoner, region: sg, " + relayed,
                    StringComparison.Ordinal)
                + MonitorGatewayFixture.Monitor + """

                shadow:
                  models:
                    deepseek-reasoner: { candidate: candidate-reasoner, share: 1 }
                """;
        }).WithTimeout();
        await using var relay = started!;
        var secret = await live.AddTenantWithKeyAsync("throttled-shadowed", "SG").WithTimeout();
        var keyId = (await live.Store.ListKeysAsync("throttled-shadowed", CancellationToken.None).WithTimeout())[0].Id;
        using (var admin = adminToken.Client(live.BaseAddress))
        {
            using var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "throttle" }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }

        using var http = live.Http(secret);
        using var answered = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "deepseek-reasoner",
            reasoning_effort = "high",
            messages = new[] { new { role = "user", content = "Reason it through." } },
        }).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(relay.SentBodies().Count > 0));

        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        using (var primary = JsonDocument.Parse(await answered.Content.ReadAsStringAsync()))
        {
            Assert.False(primary.RootElement.GetProperty("choices")[0].GetProperty("message").TryGetProperty("reasoning_content", out _));
        }
        var sent = Assert.Single(relay.SentBodies());
        var candidate = JsonDocument.Parse(sent).RootElement;
        Assert.Equal("candidate-reasoner", candidate.GetProperty("model").GetString());
        Assert.False(candidate.TryGetProperty("reasoning_effort", out _), sent);
        Assert.Equal("disabled", candidate.GetProperty("thinking").GetProperty("type").GetString());
    }
}
