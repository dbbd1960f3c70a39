using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Corridor.Core.Audit;
using Corridor.Storage;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A model declared <c>reasoningByDefault</c> (DeepSeek's thinking mode, on unless switched off) reasons for a request that
/// asks nothing, so policy and the monitor's throttle judge such a request as asking for reasoning unless it turns thinking
/// off (docs/policy.md). Before, <c>deny</c> and <c>strip</c> acted only on requests that asked, and a tenant refused
/// reasoning got it, and paid for it, by asking nothing.
/// </summary>
public sealed class ReasoningByDefaultTests
{
    /// <summary>
    /// Two DeepSeek-like models that think unless told not to (the simulator's <c>reasoner</c>s): reasoning is denied on one
    /// and stripped on the other.
    /// </summary>
    private static string Catalog(Uri simulator, string? adminTokenEnv = null) =>
        ThinksByDefault(TestCatalog.WithReasoningModel(TestCatalog.WithReasoner(TestCatalog.Yaml(simulator, adminTokenEnv)), "deepseek-lite-reasoner")) + """

            policy:
              version: "reasoning-by-default"
              rules:
                - id: everyone
                  allow_jurisdictions: ["*"]
                - id: no-reasoning-on-deepseek
                  match: { models: [deepseek-reasoner] }
                  features: { reasoning: deny }
                - id: no-reasoning-on-lite
                  match: { models: [deepseek-lite-reasoner] }
                  features: { reasoning: strip }
            """;

    private static string ThinksByDefault(string yaml) =>
        yaml.Replace("capabilities: [chat, tools, reasoning], contextWindow: 131072 }", "capabilities: [chat, tools, reasoning], contextWindow: 131072, reasoningByDefault: true }", StringComparison.Ordinal);

    private static Dictionary<string, object?> Chat(string model, object? extra = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["model"] = model,
            ["messages"] = new[] { new { role = "user", content = "Reason it through." } },
        };
        foreach (var property in extra?.GetType().GetProperties() ?? [])
        {
            body[property.Name] = property.GetValue(extra);
        }
        return body;
    }

    private static async Task<JsonElement> AnswerAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("choices")[0].GetProperty("message").Clone();
    }

    [Fact]
    public async Task WhereReasoningIsDenied_ARequestAskingNothing_IsRefused_AndOneTurningThinkingOff_IsServedWithoutIt()
    {
        await using var live = await LiveGateway.StartAsync(simulator => Catalog(simulator));
        using var http = live.Http();
        var anthropic = live.Anthropic();
        var ask = AnthropicDialectTests.Ask("deepseek-reasoner", new UserMessageParam { Content = "Reason it through." }) with { MaxTokens = 1024 };

        using var unasked = await http.PostAsJsonAsync("/v1/chat/completions", Chat("deepseek-reasoner")).WithTimeout();
        var refusedMessage = await Assert.ThrowsAsync<AnthropicForbiddenException>(() => anthropic.Messages.Create(ask)).WithTimeout();
        using var switchedOff = await http.PostAsJsonAsync("/v1/chat/completions", Chat("deepseek-reasoner", new { thinking = new { type = "disabled" } })).WithTimeout();
        using var effortNone = await http.PostAsJsonAsync("/v1/chat/completions", Chat("deepseek-reasoner", new { reasoning_effort = "none" })).WithTimeout();
        var message = await anthropic.Messages.Create(ask with { Thinking = new ThinkingConfigDisabled() }).WithTimeout();
        var count = await anthropic.Messages.CountTokens(new MessageCountTokensParams { Model = "deepseek-reasoner", Messages = ask.Messages }).WithTimeout();
        using var models = await http.GetAsync("/v1/models").WithTimeout();

        // Asking nothing, DeepSeek would think: refused as a request for reasoning, in each dialect.
        Assert.Equal(HttpStatusCode.Forbidden, unasked.StatusCode);
        using (var error = JsonDocument.Parse(await unasked.Content.ReadAsStringAsync()))
        {
            Assert.Equal("feature_restricted", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        Assert.Contains("feature_restricted", refusedMessage.Message, StringComparison.Ordinal);
        // Thinking switched off (or an effort of none, which Corridor sends as the switch): served, without reasoning.
        Assert.False((await AnswerAsync(switchedOff)).TryGetProperty("reasoning_content", out _));
        Assert.False((await AnswerAsync(effortNone)).TryGetProperty("reasoning_content", out _));
        Assert.DoesNotContain(message.Content, c => c.TryPickThinking(out _) || c.TryPickRedactedThinking(out _));
        // A count asks for no output; the model is listed, as it may be used with thinking off.
        Assert.True(count.InputTokens > 0);
        Assert.Contains("\"deepseek-reasoner\"", await models.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WhereReasoningIsStripped_ARequestAskingNothing_IsServedWithThinkingSwitchedOff_AndTheDecisionSaysItReasoned()
    {
        await using var live = await LiveGateway.StartAsync(simulator => Catalog(simulator));
        using var http = live.Http();

        using var unasked = await http.PostAsJsonAsync("/v1/chat/completions", Chat("deepseek-lite-reasoner")).WithTimeout();
        var requestId = unasked.Headers.GetValues("x-corridor-request-id").Single();
        var message = await live.Anthropic().Messages.Create(AnthropicDialectTests.Ask("deepseek-lite-reasoner", new UserMessageParam { Content = "Reason it through." }) with { MaxTokens = 1024 }).WithTimeout();

        // Before, the request was not restricted (it asked nothing) and the tenant got the reasoning the rule strips.
        var answer = await AnswerAsync(unasked);
        Assert.False(answer.TryGetProperty("reasoning_content", out _), answer.ToString());
        Assert.DoesNotContain(message.Content, c => c.TryPickThinking(out _) || c.TryPickRedactedThinking(out _));
        var decisionId = unasked.Headers.GetValues("x-corridor-decision").Single();
        await live.LedgerRowAsync(requestId);
        await live.Gateway.FlushAuditAsync(CancellationToken.None).WithTimeout();
        var records = await live.Store.SearchAuditAsync(new AuditQuery(decisionId, AuditActions.Decision, 5), CancellationToken.None).WithTimeout();
        var decision = JsonDocument.Parse(Assert.Single(records).Details).RootElement;
        Assert.True(decision.GetProperty("reasoning").GetBoolean());
        Assert.True(decision.GetProperty("restrictions").GetProperty("strip_reasoning").GetBoolean());
    }

    [Fact]
    public async Task AThrottledKey_AskingNothing_OfAModelThatThinksByDefault_GetsNoReasoning()
    {
        using var adminToken = new TokenVariable();
        await using var live = await LiveGateway.StartAsync(simulator =>
            ThinksByDefault(TestCatalog.WithReasoner(TestCatalog.Yaml(simulator, adminToken.Name))) + MonitorGatewayFixture.Monitor).WithTimeout();
        var secret = await live.AddTenantWithKeyAsync("throttled-thinker", "SG").WithTimeout();
        var keyId = (await live.Store.ListKeysAsync("throttled-thinker", CancellationToken.None).WithTimeout())[0].Id;
        using var http = live.Http(secret);

        using var before = await http.PostAsJsonAsync("/v1/chat/completions", Chat("deepseek-reasoner")).WithTimeout();
        using (var admin = adminToken.Client(live.BaseAddress))
        {
            using var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "throttle", note = "harvesting reasoning" }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }
        using var throttled = await http.PostAsJsonAsync("/v1/chat/completions", Chat("deepseek-reasoner")).WithTimeout();

        Assert.True((await AnswerAsync(before)).TryGetProperty("reasoning_content", out _));
        var answer = await AnswerAsync(throttled);
        Assert.False(answer.TryGetProperty("reasoning_content", out _), answer.ToString());
    }
}
