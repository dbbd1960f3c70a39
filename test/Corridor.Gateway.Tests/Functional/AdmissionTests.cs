using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic.Exceptions;
using Corridor.Core.Audit;
using Corridor.Core.Metering;
using Corridor.Storage;
using Corridor.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The admin-API gateway with two more models: <c>slow</c>, whose upstream waits two seconds before answering, and
/// <c>sleepy</c>, whose upstream waits longer than the gateway's five-second idle timeout.
/// </summary>
public class AdmissionGatewayFixture : AdminGatewayFixture
{
    protected override string Yaml(Uri simulator, string tokenEnv)
    {
        var sim = simulator.ToString().TrimEnd('/');
        return base.Yaml(simulator, tokenEnv)
            .Replace("models:\n", "models:\n  - { id: slow, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n"
                + "  - { id: sleepy, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n", StringComparison.Ordinal)
            .Replace("deployments:\n", $"deployments:\n  - {{ id: slow-sg, model: slow, region: sg, endpoint: \"{sim}/x/latency=2000/v1\", price: {{ input: 1, output: 1 }} }}\n"
                + $"  - {{ id: sleepy-sg, model: sleepy, region: sg, endpoint: \"{sim}/x/latency=7000/v1\", price: {{ input: 1, output: 1 }} }}\n", StringComparison.Ordinal);
    }
}

/// <summary>
/// Limits and budgets through the front door, set through the admin API and in force at once: 429 with Retry-After and
/// the rate-limit headers of each dialect, <c>insufficient_quota</c> for a spent budget, and spend that adds up.
/// </summary>
public sealed class AdmissionTests(AdmissionGatewayFixture fixture) : IClassFixture<AdmissionGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private static readonly ChatCompletionOptions Short = new() { MaxOutputTokenCount = 50 };

    [Fact]
    public async Task OverRequestsPerMinute_TheOpenAIClientGets429_WithRetryAfterAndOpenAIsRateLimitHeaders()
    {
        var secret = await Live.AddTenantWithKeyAsync("rpm-openai", "SG");
        await SetLimitsAsync("tenants", "rpm-openai", new { rpm = 2, tpm = 100_000 });
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");

        var first = await chat.CompleteChatAsync([new UserChatMessage("hi")], Short).WithTimeout();
        var second = await chat.CompleteChatAsync([new UserChatMessage("hi")], Short).WithTimeout();
        var upstreamBefore = await SimulatorTotalAsync();
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")], Short)).WithTimeout();

        var firstHeaders = first.GetRawResponse().Headers;
        Assert.Equal("2", firstHeaders.Header("x-ratelimit-limit-requests"));
        Assert.Equal("1", firstHeaders.Header("x-ratelimit-remaining-requests"));
        Assert.Equal("0", second.GetRawResponse().Headers.Header("x-ratelimit-remaining-requests"));
        Assert.Equal("100000", firstHeaders.Header("x-ratelimit-limit-tokens"));
        Assert.InRange(long.Parse(firstHeaders.Header("x-ratelimit-remaining-tokens")!), 90_000, 99_999);
        Assert.EndsWith("s", firstHeaders.Header("x-ratelimit-reset-tokens"), StringComparison.Ordinal);

        Assert.Equal(429, refused.Status);
        var headers = refused.GetRawResponse()!.Headers;
        Assert.InRange(int.Parse(headers.Header("retry-after")!), 1, 60);
        Assert.Equal("2", headers.Header("x-ratelimit-limit-requests"));
        Assert.Equal("0", headers.Header("x-ratelimit-remaining-requests"));
        Assert.Matches("^[0-9.]+s$", headers.Header("x-ratelimit-reset-requests"));
        Assert.NotNull(headers.Header("x-ratelimit-limit-tokens"));
        Assert.NotNull(headers.Header("x-ratelimit-remaining-tokens"));
        Assert.NotNull(headers.Header("x-ratelimit-reset-tokens"));
        using (var body = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString()))
        {
            var error = body.RootElement.GetProperty("error");
            Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
            Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
            Assert.Contains("requests per minute", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(upstreamBefore, await SimulatorTotalAsync());
        var row = await Live.LedgerRowAsync(headers.Header("x-corridor-request-id")!);
        Assert.Equal(RequestOutcome.RateLimited, row.Outcome);
        Assert.Equal(429, row.Status);
        Assert.False(row.Billable);
        Assert.Equal(0m, row.Cost);
    }

    [Fact]
    public async Task OverRequestsPerMinute_TheAnthropicClientGetsRateLimitError_WithAnthropicsHeaders()
    {
        var secret = await Live.AddTenantWithKeyAsync("rpm-anthropic", "SG");
        var key = (await Live.Store.ListKeysAsync("rpm-anthropic", default)).Single();
        await SetLimitsAsync("keys", key.Id, new { rpm = 1 });
        var log = new ResponseLog();
        var client = Live.Anthropic(secret, log);

        await client.Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi")).WithTimeout();
        var ok = log.Last;
        var refused = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi"))).WithTimeout();

        Assert.Equal("1", ok.Header("anthropic-ratelimit-requests-limit"));
        Assert.Equal("0", ok.Header("anthropic-ratelimit-requests-remaining"));
        Assert.True(DateTimeOffset.TryParse(ok.Header("anthropic-ratelimit-requests-reset"), out _));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        using (var body = JsonDocument.Parse(refused.ResponseBody))
        {
            Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
            Assert.Equal("rate_limit_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains(key.Id, body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        var headers = log.Last;
        Assert.Equal(429, headers.Status);
        Assert.InRange(int.Parse(headers.Header("retry-after")!), 1, 60);
        Assert.Equal("0", headers.Header("anthropic-ratelimit-requests-remaining"));
        Assert.Null(headers.Header("x-ratelimit-limit-requests"));
    }

    [Fact]
    public async Task ARequestNeedingMoreTokensThanAMinuteAllows_Is429WithoutRetryAfter_SayingWhatItAskedFor()
    {
        var secret = await Live.AddTenantWithKeyAsync("tiny-tpm", "SG");
        await SetLimitsAsync("tenants", "tiny-tpm", new { tpm = 40 });

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hi")], Short)).WithTimeout();

        Assert.Equal(429, refused.Status);
        Assert.Null(refused.GetRawResponse()!.Headers.Header("retry-after"));
        // The OpenAI and Anthropic SDKs retry every 429 unless told not to: waiting would not help this one.
        Assert.Equal("false", refused.GetRawResponse()!.Headers.Header("x-should-retry"));
        Assert.Equal("40", refused.GetRawResponse()!.Headers.Header("x-ratelimit-limit-tokens"));
        Assert.Matches("limit 40, requested [0-9]+ \\(the prompt and max_tokens\\)", refused.GetRawResponse()!.Content.ToString());
    }

    [Fact]
    public async Task ASpentHardBudget_IsInsufficientQuota_429ForOpenAI_402BillingErrorForAnthropic()
    {
        var secret = await Live.AddTenantWithKeyAsync("broke", "SG");
        await SetLimitsAsync("tenants", "broke", new { daily_budget = "0.0001" });
        var log = new ResponseLog();

        var openAI = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hi")], Short)).WithTimeout();
        var anthropic = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Live.Anthropic(secret, log).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi"))).WithTimeout();

        Assert.Equal(429, openAI.Status);
        using (var body = JsonDocument.Parse(openAI.GetRawResponse()!.Content.ToString()))
        {
            Assert.Equal("insufficient_quota", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal("insufficient_quota", body.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        Assert.Null(openAI.GetRawResponse()!.Headers.Header("retry-after"));
        Assert.Equal(HttpStatusCode.PaymentRequired, anthropic.StatusCode);
        using (var body = JsonDocument.Parse(anthropic.ResponseBody))
        {
            Assert.Equal("billing_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(RequestOutcome.OverBudget, row.Outcome);
        Assert.Equal(402, row.Status);
        Assert.False(row.Billable);
    }

    [Fact]
    public async Task ConcurrentStreams_AreLimited_AndTheSlotIsFreedWhenTheStreamEnds()
    {
        var secret = await Live.AddTenantWithKeyAsync("one-stream", "SG");
        await SetLimitsAsync("tenants", "one-stream", new { concurrent_streams = 1 });
        var chat = Live.OpenAI(secret).GetChatClient("slow");

        var first = chat.CompleteChatStreamingAsync([new UserChatMessage("hi")], Short).ToListWithTimeoutAsync();
        await TestTimeouts.UntilAsync(async () => (await TenantUsageAsync("one-stream"))?.GetProperty("streams").GetInt32() == 1);
        var refused = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")], Short))
            {
            }
        }).WithTimeout();
        var whole = await Live.OpenAI(secret).GetChatClient("slow").CompleteChatAsync([new UserChatMessage("hi")], Short).WithTimeout();
        var updates = await first;

        Assert.Equal(429, refused.Status);
        Assert.Contains("concurrent_streams_exceeded", refused.Message, StringComparison.Ordinal);
        Assert.NotEmpty(whole.Value.Content);
        Assert.NotEmpty(updates);
        await TestTimeouts.UntilAsync(async () => (await TenantUsageAsync("one-stream"))?.GetProperty("streams").GetInt32() == 0);
        await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")], Short).WithCancellation(default))
        {
        }
    }

    [Fact]
    public async Task LimitsChangeThroughTheAdminApi_AreAudited_AndBadInputIsListed()
    {
        await Live.AddTenantWithKeyAsync("limited", "SG");
        using var admin = fixture.Admin();

        using var changed = await admin.PatchAsJsonAsync("/admin/tenants/limited/limits", new { rpm = 60, monthly_budget = "250.50", monthly_soft_budget = 200 }).WithTimeout();
        using var bad = await admin.PatchAsJsonAsync("/admin/tenants/limited/limits", new { rpm = 0, daily_budget = "lots" }).WithTimeout();
        using var unknown = await admin.PatchAsJsonAsync("/admin/tenants/nobody/limits", new { rpm = 1 }).WithTimeout();
        using var shown = await admin.GetAsync("/admin/tenants/limited/limits").WithTimeout();

        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var badMessage = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetProperty("message").GetString();
        Assert.Contains("rpm '0'", badMessage, StringComparison.Ordinal);
        Assert.Contains("daily budget 'lots'", badMessage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var view = await shown.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("USD", view.GetProperty("currency").GetString());
        Assert.Equal(60, view.GetProperty("own").GetProperty("rpm").GetInt32());
        Assert.Equal("250.50", view.GetProperty("effective").GetProperty("monthly_budget").GetString());
        var audit = await Live.Store.SearchAuditAsync(new AuditQuery("limited", AuditActions.LimitsUpdate), default);
        var record = Assert.Single(audit);
        Assert.Equal("admin-api", record.Actor);
        Assert.Equal("""{"scope":"tenant","changes":{"rpm":{"from":null,"to":"60"},"monthly_soft_budget":{"from":null,"to":"200"},"monthly_budget":{"from":null,"to":"250.50"}}}""", record.Details);
    }

    [Fact]
    public async Task EveryEnding_IsChargedOnce_SpendInTheCountersEqualsTheLedger_AndNothingStaysReserved()
    {
        var secret = await Live.AddTenantWithKeyAsync("endings", "SG");
        await SetLimitsAsync("tenants", "endings", new { daily_budget = 100, tpm = 1_000_000 });
        var openAI = Live.OpenAI(secret);
        var log = new ResponseLog();

        await openAI.GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("success")], Short).WithTimeout();
        await openAI.GetChatClient("flaky").CompleteChatAsync([new UserChatMessage("fallback")], Short).WithTimeout();
        await Assert.ThrowsAsync<ClientResultException>(() => openAI.GetChatClient("dead").CompleteChatAsync([new UserChatMessage("upstream error")], Short)).WithTimeout();
        await Assert.ThrowsAsync<ClientResultException>(() => openAI.GetChatClient("garbage").CompleteChatAsync([new UserChatMessage("garbage")], Short)).WithTimeout();
        await openAI.GetChatClient("cut-stream").CompleteChatStreamingAsync([new UserChatMessage("Write at length.")]).ToListWithTimeoutAsync();
        await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Live.Anthropic(secret, log).Messages.Create(AnthropicDialectTests.Ask("dead-claude", "upstream error"))).WithTimeout();
        await Live.Anthropic(secret).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "success")).WithTimeout();
        var timedOut = await Assert.ThrowsAsync<ClientResultException>(() => openAI.GetChatClient("sleepy").CompleteChatAsync([new UserChatMessage("timeout")], Short)).WithTimeout();
        Assert.Equal(504, timedOut.Status);

        await Live.Gateway.FlushLedgerAsync(default).WithTimeout();
        var rows = new List<LedgerEntry>();
        await foreach (var row in Live.Store.ReadLedgerAsync(null, null, default))
        {
            if (row.TenantId == "endings")
            {
                rows.Add(row);
            }
        }
        Assert.Equal(8, rows.Count);
        Assert.Contains(rows, r => r.Model == "sleepy" && r.Outcome == RequestOutcome.Timeout && !r.Billable && r.Cost == 0);
        Assert.Equal(rows.Count, rows.Select(r => r.RequestId).Distinct().Count());
        Assert.All(rows.Where(r => r.Outcome == RequestOutcome.UpstreamError && !r.Billable), r => Assert.Equal(0m, r.Cost));
        Assert.Contains(rows, r => r.Model == "cut-stream" && r.Billable && r.Estimated && r.Cost > 0);
        Assert.Contains(rows, r => r.Model == "flaky" && r.DeploymentId == "flaky-jp" && r.Billable && !r.Estimated);
        Assert.Equal(4, rows.Count(r => r.Billable));
        var usage = (await TenantUsageAsync("endings"))!.Value;
        Assert.Equal(rows.Sum(r => r.Cost), decimal.Parse(usage.GetProperty("day_spent").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("0", usage.GetProperty("reserved").GetString());
        Assert.Equal(0, usage.GetProperty("streams").GetInt32());
    }

    /// <summary>
    /// 64 OpenAI clients spend one tenant's hard budget at once, each until refused three times. The bound stated in
    /// docs/limits-and-budgets.md: spend exceeds the budget by at most what billed requests cost beyond their own
    /// reservations. Each row's reservation is worked out again from its retained body, as admission did.
    /// </summary>
    [Fact]
    public async Task SixtyFourClients_SpendingOneHardBudget_StayWithinTheStatedBound()
    {
        const decimal Budget = 0.02m;
        var secret = await Live.AddTenantWithKeyAsync("budget64", "SG");
        await SetLimitsAsync("tenants", "budget64", new { daily_budget = "0.02" });
        var refusals = 0;

        var clients = Enumerable.Range(0, 64).Select(async client =>
        {
            var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
            for (var refused = 0; refused < 3;)
            {
                try
                {
                    await chat.CompleteChatAsync([new UserChatMessage($"Client {client} says hello.")], Short);
                }
                catch (ClientResultException e) when (e.Status == 429)
                {
                    Assert.Contains("insufficient_quota", e.Message, StringComparison.Ordinal);
                    refused++;
                    Interlocked.Increment(ref refusals);
                }
            }
        });
        await Task.WhenAll(clients).WaitAsync(TestTimeouts.Default);

        await Live.Gateway.FlushLedgerAsync(default).WithTimeout();
        var billed = new List<LedgerEntry>();
        await foreach (var row in Live.Store.ReadLedgerAsync(null, null, default))
        {
            if (row.TenantId == "budget64" && row.Billable)
            {
                billed.Add(row);
            }
        }
        var deployments = Live.Gateway.Services.GetRequiredService<Corridor.Gateway.Configuration.GatewayState>().Active.Catalog.Models.Single(m => m.Id == "gpt-4.1").Deployments;
        var reserved = billed.Select(r => Core.Admission.Reservation.WorstCaseCost(deployments,
            Core.Admission.Reservation.PromptTokens(r.RequestBody!.Span, 1047576), 50)).ToList();
        var spent = billed.Sum(r => r.Cost);
        var excess = billed.Zip(reserved, (row, reservation) => Math.Max(0, row.Cost - reservation)).Sum();

        Assert.Equal(64 * 3, refusals);
        Assert.True(spent <= Budget + excess, $"spent {spent} is over the budget {Budget} plus the excess over reservations {excess}");
        // The simulator counts fewer prompt tokens than admission's estimate, so no request cost more than it reserved.
        Assert.Equal(0m, excess);
        Assert.True(spent <= Budget, $"spent {spent} > {Budget}");
        // Refusals came only once the budget was committed: more requests were served than fit at the worst case, less one.
        Assert.True(billed.Count > (Budget / reserved.Max()) - 1, $"{billed.Count} requests billed; {Budget / reserved.Max()} fit at the worst case");
    }

    [Fact]
    public async Task UsageReads_CountAgainstRequestsPerMinute_Over429WithRetryAfterInEachDialect_ButNotAgainstASpentBudget()
    {
        var secret = await Live.AddTenantWithKeyAsync("usage-rpm", "SG");
        await SetLimitsAsync("tenants", "usage-rpm", new { rpm = 3 });
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        await chat.CompleteChatAsync([new UserChatMessage("hi")], Short).WithTimeout();

        using var openAI = await UsageAsync(secret, anthropic: false);
        using var anthropic = await UsageAsync(secret, anthropic: true);
        using var openAIRefused = await UsageAsync(secret, anthropic: false);
        using var anthropicRefused = await UsageAsync(secret, anthropic: true);
        var chatRefused = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")], Short)).WithTimeout();

        // Each read took a request of the tenant's minute, as the chat request did, and shows where the window stands.
        Assert.Equal(HttpStatusCode.OK, openAI.StatusCode);
        Assert.Equal("1", openAI.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        Assert.Equal(HttpStatusCode.OK, anthropic.StatusCode);
        Assert.Equal("0", anthropic.Headers.GetValues("anthropic-ratelimit-requests-remaining").Single());
        Assert.Contains("\"requests\":1", await anthropic.Content.ReadAsStringAsync().WithTimeout(), StringComparison.Ordinal);

        // Over it: the pipeline's refusal, in the client's dialect, with when to retry.
        Assert.Equal(HttpStatusCode.TooManyRequests, openAIRefused.StatusCode);
        Assert.InRange(int.Parse(openAIRefused.Headers.GetValues("retry-after").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        Assert.Equal("0", openAIRefused.Headers.GetValues("x-ratelimit-remaining-requests").Single());
        using (var body = JsonDocument.Parse(await openAIRefused.Content.ReadAsStringAsync().WithTimeout()))
        {
            Assert.Equal("rate_limit_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal("rate_limit_exceeded", body.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Contains("requests per minute (RPM) of tenant 'usage-rpm'", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, anthropicRefused.StatusCode);
        Assert.InRange(int.Parse(anthropicRefused.Headers.GetValues("retry-after").Single(), System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        using (var body = JsonDocument.Parse(await anthropicRefused.Content.ReadAsStringAsync().WithTimeout()))
        {
            Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
            Assert.Equal("rate_limit_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        Assert.Equal(429, chatRefused.Status);

        // A spent budget refuses model requests, not the read of what was spent.
        var broke = await Live.AddTenantWithKeyAsync("usage-broke", "SG");
        await SetLimitsAsync("tenants", "usage-broke", new { rpm = 5, daily_budget = "0.0001" });
        var quota = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI(broke).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hi")], Short)).WithTimeout();
        using var brokeUsage = await UsageAsync(broke, anthropic: false);
        Assert.Equal(429, quota.Status);
        Assert.Equal(HttpStatusCode.OK, brokeUsage.StatusCode);
        Assert.Equal("4", brokeUsage.Headers.GetValues("x-ratelimit-remaining-requests").Single());
    }

    [Fact]
    public async Task TokenCounts_TakeARequestOfTheMinute_Over429InAnthropicsShape_ButNoTokensNorBudget()
    {
        var secret = await Live.AddTenantWithKeyAsync("count-rpm", "SG");
        // One token a minute and a spent budget refuse every message; a count asks for neither.
        await SetLimitsAsync("tenants", "count-rpm", new { rpm = 2, tpm = 1, daily_budget = "0" });
        var log = new ResponseLog();
        var client = Live.Anthropic(secret, log);
        var count = new Anthropic.Models.Messages.MessageCountTokensParams { Model = "claude-sonnet-4", Messages = [new Anthropic.Models.Messages.UserMessageParam("hi")] };

        var message = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi"))).WithTimeout();
        var first = await client.Messages.CountTokens(count).WithTimeout();
        var firstResponse = log.Last;
        await client.Messages.CountTokens(count).WithTimeout();
        var refused = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => client.Messages.CountTokens(count)).WithTimeout();
        var refusedResponse = log.Last;

        Assert.True((int)message.StatusCode is 429 or 402, $"the message was answered {message.StatusCode}");
        Assert.True(first.InputTokens > 0);
        Assert.Equal("1", firstResponse.Header("anthropic-ratelimit-requests-remaining"));
        Assert.Null(firstResponse.Header("anthropic-ratelimit-tokens-remaining"));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.InRange(int.Parse(refusedResponse.Header("retry-after")!, System.Globalization.CultureInfo.InvariantCulture), 1, 60);
        using (var body = JsonDocument.Parse(refused.ResponseBody))
        {
            Assert.Equal("rate_limit_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("requests per minute (RPM) of tenant 'count-rpm'", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        var row = await Live.LedgerRowAsync(refusedResponse.RequestId!);
        Assert.Equal((RequestOutcome.RateLimited, false), (row.Outcome, row.Billable));
        Assert.Equal("0", (await TenantUsageAsync("count-rpm"))!.Value.GetProperty("reserved").GetString());
    }

    private async Task<HttpResponseMessage> UsageAsync(string secret, bool anthropic)
    {
        using var http = Live.Http(secret);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/usage");
        if (anthropic)
        {
            request.Headers.Add("anthropic-version", "2023-06-01");
        }
        var response = await http.SendAsync(request).WithTimeout();
        await response.Content.LoadIntoBufferAsync().WithTimeout();
        return response;
    }

    private async Task SetLimitsAsync(string kind, string id, object limits)
    {
        using var admin = fixture.Admin();
        using var response = await admin.PatchAsJsonAsync($"/admin/{kind}/{id}/limits", limits).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<JsonElement?> TenantUsageAsync(string tenant)
    {
        using var admin = fixture.Admin();
        var all = await admin.GetFromJsonAsync<JsonElement>("/admin/budgets").WithTimeout();
        foreach (var usage in all.EnumerateArray())
        {
            if (usage.GetProperty("scope").GetString() == "tenant" && usage.GetProperty("id").GetString() == tenant)
            {
                return usage;
            }
        }
        return null;
    }

    private async Task<long> SimulatorTotalAsync() => (await Live.SimulatorRequestsAsync()).Values.Sum();
}
