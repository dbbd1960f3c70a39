using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using Anthropic.Exceptions;
using Corridor.Core.Tenants;
using Corridor.Gateway.Tests.Functional;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>
/// <c>corridor.policy.decisions</c> on a live gateway with a policy: every entitled request counts once, by result and
/// reason; a request refused before entitlement (an unknown key) has no decision and counts nowhere.
/// </summary>
public sealed class DecisionMetricsTests(PolicyGatewayFixture fixture) : IClassFixture<PolicyGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private static string Decisions(string decision, string reason) =>
        $"corridor_policy_decisions_total{{corridor_decision=\"{decision}\",corridor_decision_reason=\"{reason}\"}}";

    [Fact]
    public async Task PolicyDecisions_AreCountedByResultAndReason()
    {
        var verified = await fixture.TenantAsync("metrics-sg", "SG", VettingTier.Verified);
        var basic = await fixture.TenantAsync("metrics-basic", "SG", VettingTier.Basic);
        var embargoed = await fixture.TenantAsync("metrics-kp", "KP", VettingTier.Strategic);
        using var scraper = fixture.MetricsToken.Client(Live.BaseAddress);
        var before = await MetricsScrape.ScrapeAsync(scraper);

        for (var i = 0; i < 2; i++)
        {
            await Live.OpenAI(verified).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Allowed.")]).WithTimeout();
        }
        var tier = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Live.Anthropic(basic).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "Refused."))).WithTimeout();
        var embargo = await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI(embargoed).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Refused.")])).WithTimeout();
        using (var stranger = Live.Http("sk-cor-" + new string('x', 40)))
        {
            using var unknown = await stranger.PostAsJsonAsync("/v1/chat/completions", new { model = "gpt-4.1", messages = new[] { new { role = "user", content = "hi" } } }).WithTimeout();
            Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        }

        var after = await MetricsScrape.ScrapeAfterAsync(scraper, before, 5);
        Assert.Equal(HttpStatusCode.Forbidden, tier.StatusCode);
        Assert.Contains("tier_insufficient", tier.ResponseBody, StringComparison.Ordinal);
        Assert.Equal(403, embargo.Status);
        Assert.Equal(2, MetricsScrape.Delta(before, after, Decisions("allow", "allowed")));
        Assert.Equal(1, MetricsScrape.Delta(before, after, Decisions("deny", "tier_insufficient")));
        Assert.Equal(1, MetricsScrape.Delta(before, after, Decisions("deny", "jurisdiction_denied")));
        var all = after.Keys.Concat(before.Keys).Distinct()
            .Where(s => s.StartsWith("corridor_policy_decisions_total", StringComparison.Ordinal))
            .Sum(s => MetricsScrape.Delta(before, after, s));
        Assert.Equal(4, all);
    }
}
