using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic.Exceptions;
using Corridor.Testing;
using Corridor.Testing.Storage;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// Every refusal by admission tells the client where its rate limits stand, as the requests- and tokens-per-minute
/// refusals do (docs/limits-and-budgets.md, "Headers"): a stream refused for want of a slot is a 429 with
/// <c>Retry-After: 1</c> and the dialect's rate-limit headers; a spent hard budget carries the rate-limit headers and no
/// <c>Retry-After</c> and says <c>x-should-retry: false</c> (waiting seconds does not help). Run against both admission counters: this process's own
/// (<see cref="LocalRefusalHeadersTests"/>) and the fleet's, leased from PostgreSQL (<see cref="FleetRefusalHeadersTests"/>).
/// </summary>
public abstract class RefusalHeadersTests(AdmissionGatewayFixture fixture)
{
    private static readonly ChatCompletionOptions Short = new() { MaxOutputTokenCount = 50 };

    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task OverConcurrentStreams_Is429WithRetryAfter_AndTheRateLimitHeaders_InEachDialect()
    {
        var secret = await Live.AddTenantWithKeyAsync("one-slot", "SG");
        // 10 a minute: the window refills one request every 6 s, so the remaining count the refusal reports is the requests
        // made (at 100 a minute it refilled one in 0.6 s, and a slow machine saw 100 left).
        await SetTenantLimitsAsync("one-slot", new { concurrent_streams = 1, rpm = 10, tpm = 1_000_000 });
        var log = new ResponseLog();

        // The sleepy upstream answers after the gateway's idle timeout (5 s): the first stream holds the slot until then.
        var holder = Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var _ in Live.OpenAI(secret).GetChatClient("sleepy").CompleteChatStreamingAsync([new UserChatMessage("hold")], Short))
            {
            }
        });
        await TestTimeouts.UntilAsync(async () => await TenantStreamsAsync("one-slot") == 1);
        var openAI = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var _ in Live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatStreamingAsync([new UserChatMessage("hi")], Short))
            {
            }
        }).WithTimeout();
        await Assert.ThrowsAnyAsync<AnthropicApiException>(async () =>
        {
            await foreach (var _ in Live.Anthropic(secret, log).Messages.CreateStreaming(AnthropicDialectTests.Ask("claude-sonnet-4", "hi")))
            {
            }
        }).WithTimeout();
        await holder.WithTimeout();

        Assert.Equal(429, openAI.Status);
        Assert.Contains("concurrent_streams_exceeded", openAI.Message, StringComparison.Ordinal);
        var headers = openAI.GetRawResponse()!.Headers;
        Assert.Equal("1", headers.Header("retry-after"));
        Assert.Equal("10", headers.Header("x-ratelimit-limit-requests"));
        Assert.InRange(long.Parse(headers.Header("x-ratelimit-remaining-requests")!), 8, 9);
        Assert.Matches("^[0-9.]+m?s$", headers.Header("x-ratelimit-reset-requests"));
        Assert.Equal("1000000", headers.Header("x-ratelimit-limit-tokens"));
        Assert.NotNull(headers.Header("x-ratelimit-remaining-tokens"));
        Assert.NotNull(headers.Header("x-ratelimit-reset-tokens"));

        var anthropic = log.Last;
        Assert.Equal(429, anthropic.Status);
        Assert.Equal("1", anthropic.Header("retry-after"));
        Assert.Equal("10", anthropic.Header("anthropic-ratelimit-requests-limit"));
        Assert.NotNull(anthropic.Header("anthropic-ratelimit-requests-remaining"));
        Assert.True(DateTimeOffset.TryParse(anthropic.Header("anthropic-ratelimit-requests-reset"), out _));
        Assert.Equal("1000000", anthropic.Header("anthropic-ratelimit-tokens-limit"));
        Assert.Null(anthropic.Header("x-ratelimit-limit-requests"));
    }

    [Fact]
    public async Task ASpentHardBudget_CarriesTheRateLimitHeaders_AndNoRetryAfter_InEachDialect()
    {
        var secret = await Live.AddTenantWithKeyAsync("spent", "SG");
        await SetTenantLimitsAsync("spent", new { daily_budget = "0.0001", rpm = 100, tpm = 1_000_000 });
        var log = new ResponseLog();

        var openAI = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hi")], Short)).WithTimeout();
        await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Live.Anthropic(secret, log).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi"))).WithTimeout();

        Assert.Equal(429, openAI.Status);
        Assert.Contains("insufficient_quota", openAI.Message, StringComparison.Ordinal);
        var headers = openAI.GetRawResponse()!.Headers;
        Assert.Null(headers.Header("retry-after"));
        // The SDKs retry a 429 unless told not to (x-should-retry), and a spent budget is not back in seconds.
        Assert.Equal("false", headers.Header("x-should-retry"));
        Assert.Equal("100", headers.Header("x-ratelimit-limit-requests"));
        Assert.Equal("100", headers.Header("x-ratelimit-remaining-requests"));
        Assert.NotNull(headers.Header("x-ratelimit-reset-requests"));
        Assert.Equal("1000000", headers.Header("x-ratelimit-limit-tokens"));
        Assert.Equal("1000000", headers.Header("x-ratelimit-remaining-tokens"));

        var anthropic = log.Last;
        Assert.Equal(402, anthropic.Status);
        Assert.Null(anthropic.Header("retry-after"));
        Assert.Equal("false", anthropic.Header("x-should-retry"));
        Assert.Equal("100", anthropic.Header("anthropic-ratelimit-requests-limit"));
        Assert.Equal("100", anthropic.Header("anthropic-ratelimit-requests-remaining"));
        Assert.Equal("1000000", anthropic.Header("anthropic-ratelimit-tokens-limit"));
    }

    private async Task SetTenantLimitsAsync(string tenant, object limits)
    {
        using var admin = fixture.Admin();
        using var response = await admin.PatchAsJsonAsync($"/admin/tenants/{tenant}/limits", limits).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<int?> TenantStreamsAsync(string tenant)
    {
        using var admin = fixture.Admin();
        var all = await admin.GetFromJsonAsync<JsonElement>("/admin/budgets").WithTimeout();
        return all.EnumerateArray()
            .Where(u => u.GetProperty("scope").GetString() == "tenant" && u.GetProperty("id").GetString() == tenant)
            .Select(u => (int?)u.GetProperty("streams").GetInt32())
            .FirstOrDefault();
    }

}

/// <summary>The refusals' headers with the counters of one gateway (SQLite).</summary>
public sealed class LocalRefusalHeadersTests(AdmissionGatewayFixture fixture)
    : RefusalHeadersTests(fixture), IClassFixture<AdmissionGatewayFixture>;

/// <summary>The refusals' headers with the fleet's counters, leased from PostgreSQL.</summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class FleetRefusalHeadersTests(FleetAdmissionGatewayFixture fixture)
    : RefusalHeadersTests(fixture), IClassFixture<FleetAdmissionGatewayFixture>;

/// <summary><see cref="AdmissionGatewayFixture"/> with its store in a PostgreSQL database of its own, so admission uses the fleet's counters.</summary>
public sealed class FleetAdmissionGatewayFixture : AdmissionGatewayFixture
{
    protected override bool OnPostgres => true;
}
