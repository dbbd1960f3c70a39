using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Corridor.Core.Metering;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The test catalog with long-context tiers at a threshold of 1,000 prompt tokens, so the simulator's answers to
/// <see cref="PromptCacheTests.Instructions"/> (about 1,500 tokens) cross it: claude-us at 6.00 / 22.50 (cache reads 0.60,
/// writes 7.50, one-hour writes 12.00) beyond it, Anthropic's prices beyond 200,000 tokens; gpt-4.1-sg at 4.00 / 12.00 beyond
/// it, and sold at 3.00 / 12.00, or 6.00 / 24.00 beyond it. claude-us's web searches cost 10.00 per 1,000, as Anthropic's do.
/// </summary>
public sealed class PriceBookGatewayFixture : AdminGatewayFixture
{
    protected override string Yaml(Uri simulator, string tokenEnv) => base.Yaml(simulator, tokenEnv)
        .Replace("price: { input: 3.00, output: 15.00, cacheRead: 0.30, cacheWrite: 3.75, cacheWrite1h: 6.00 }",
            "price: { input: 3.00, output: 15.00, cacheRead: 0.30, cacheWrite: 3.75, cacheWrite1h: 6.00, webSearch: 10.00, "
            + "longContext: { above: 1000, input: 6.00, output: 22.50, cacheRead: 0.60, cacheWrite: 7.50, cacheWrite1h: 12.00 } }", StringComparison.Ordinal)
        .Replace("price: { input: 2.00, output: 8.00, cacheRead: 0.50 } }",
            "price: { input: 2.00, output: 8.00, cacheRead: 0.50, longContext: { above: 1000, input: 4.00, output: 12.00, cacheRead: 1.00 } }, "
            + "sell: { input: 3.00, output: 12.00, cacheRead: 0.75, longContext: { above: 1000, input: 6.00, output: 24.00, cacheRead: 1.50 } } }", StringComparison.Ordinal);
}

/// <summary>
/// A request whose prompt exceeds a deployment's long-context threshold is billed wholly at the tier, spend and revenue,
/// the prompt cache's reads and writes counted toward the threshold; a hard budget reserves at the tier for a prompt whose
/// estimate exceeds it.
/// </summary>
public sealed class LongContextPriceTests(PriceBookGatewayFixture fixture) : IClassFixture<PriceBookGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task ALongPrompt_IsBilledWhollyAtTheTier_AShortOneAtTheOrdinaryPrices_StreamedToo()
    {
        var secret = await Live.AddTenantWithKeyAsync("long-claude", "JP").WithTimeout();
        var client = Live.Anthropic(secret);
        MessageCreateParams Ask(string system) => new()
        {
            Model = "claude-sonnet-4",
            MaxTokens = 64,
            System = system,
            Messages = [new UserMessageParam { Content = "Where is my parcel?" }],
        };

        var shortAnswer = await client.Messages.Create(Ask("Be brief.")).WithTimeout();
        var events = await client.Messages.CreateStreaming(Ask(PromptCacheTests.Instructions("long-claude"))).ToListWithTimeoutAsync();
        Assert.True(events[0].TryPickStart(out var start));
        Assert.True(events.Single(e => e.TryPickDelta(out _)).TryPickDelta(out var final));

        Assert.InRange(shortAnswer.Usage.InputTokens, 1, 1000);
        var shortRow = await Live.LedgerRowAsync(r => r.TenantId == "long-claude" && r.InputTokens == shortAnswer.Usage.InputTokens);
        Assert.Equal((shortAnswer.Usage.InputTokens * 3.00m + shortAnswer.Usage.OutputTokens * 15.00m) / 1_000_000m, shortRow.Cost);

        var input = start.Message.Usage.InputTokens;
        Assert.InRange(input, 1001, 200_000);
        var longRow = await Live.LedgerRowAsync(r => r.TenantId == "long-claude" && r.InputTokens == input);
        Assert.Equal((input * 6.00m + final.Usage.OutputTokens * 22.50m) / 1_000_000m, longRow.Cost);
        Assert.Equal(longRow.Cost, longRow.Revenue);
    }

    [Fact]
    public async Task ThePromptCachesReadsAndWrites_CountTowardTheThreshold_EachAtItsTierPrice()
    {
        var secret = await Live.AddTenantWithKeyAsync("long-cache", "JP").WithTimeout();
        var client = Live.Anthropic(secret);

        var written = (await client.Messages.Create(PromptCacheTests.CachedAsk("long-cache", "Where is my parcel?")).WithTimeout()).Usage;
        var read = (await client.Messages.Create(PromptCacheTests.CachedAsk("long-cache", "And my invoice?")).WithTimeout()).Usage;

        // Anthropic counts the cache's tokens beside input_tokens: the fresh input alone is far below the threshold.
        var (writes, reads) = (written.CacheCreationInputTokens!.Value, read.CacheReadInputTokens!.Value);
        Assert.InRange(written.InputTokens, 1, 1000);
        Assert.InRange(writes, 1001, 200_000);
        Assert.Equal(writes, reads);
        var writeRow = await Live.LedgerRowAsync(r => r.TenantId == "long-cache" && r.CacheWriteTokens > 0);
        var readRow = await Live.LedgerRowAsync(r => r.TenantId == "long-cache" && r.CacheReadTokens > 0);
        Assert.Equal((written.InputTokens * 6.00m + writes * 7.50m + written.OutputTokens * 22.50m) / 1_000_000m, writeRow.Cost);
        Assert.Equal((read.InputTokens * 6.00m + reads * 0.60m + read.OutputTokens * 22.50m) / 1_000_000m, readRow.Cost);
    }

    [Fact]
    public async Task SellPricesWithATier_BillTheTenantAtIt_TheCostAtTheVendorsTier()
    {
        var secret = await Live.AddTenantWithKeyAsync("long-sold", "SG").WithTimeout();
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 64 };

        var shortUsage = (await chat.CompleteChatAsync([new UserChatMessage("Where is my parcel?")], options).WithTimeout()).Value.Usage;
        var longUsage = (await chat.CompleteChatAsync([new SystemChatMessage(PromptCacheTests.Instructions("long-sold")), new UserChatMessage("Where is my parcel?")], options)
            .WithTimeout()).Value.Usage;

        Assert.InRange(shortUsage.InputTokenCount, 1, 1000);
        Assert.InRange(longUsage.InputTokenCount, 1001, 200_000);
        Assert.Equal(0, longUsage.InputTokenDetails.CachedTokenCount);
        var shortRow = await Live.LedgerRowAsync(r => r.TenantId == "long-sold" && r.InputTokens == shortUsage.InputTokenCount);
        var longRow = await Live.LedgerRowAsync(r => r.TenantId == "long-sold" && r.InputTokens == longUsage.InputTokenCount);
        Assert.Equal((shortUsage.InputTokenCount * 2.00m + shortUsage.OutputTokenCount * 8.00m) / 1_000_000m, shortRow.Cost);
        Assert.Equal((shortUsage.InputTokenCount * 3.00m + shortUsage.OutputTokenCount * 12.00m) / 1_000_000m, shortRow.Revenue);
        Assert.Equal((longUsage.InputTokenCount * 4.00m + longUsage.OutputTokenCount * 12.00m) / 1_000_000m, longRow.Cost);
        Assert.Equal((longUsage.InputTokenCount * 6.00m + longUsage.OutputTokenCount * 24.00m) / 1_000_000m, longRow.Revenue);
    }

    [Fact]
    public async Task AHardBudget_ReservesALongPromptAtTheTier_AndRefusesItWhereTheOrdinaryPricesWouldHaveFit()
    {
        var secret = await Live.AddTenantWithKeyAsync("long-budget", "JP").WithTimeout();
        // A prompt of some 6,000 bytes is reserved as about 2,000 tokens: at claude-us's dearest input price (6.00, the
        // one-hour cache's writes) and 256 tokens of output at 15.00, about 0.016; at the tier's (12.00, 22.50), about 0.030.
        using (var admin = fixture.Admin())
        {
            using var response = await admin.PatchAsJsonAsync("/admin/tenants/long-budget/limits", new { daily_budget = "0.022" }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var client = Live.Anthropic(secret);
        var log = new ResponseLog();

        await client.Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4",
            MaxTokens = 256,
            Messages = [new UserMessageParam { Content = "Where is my parcel?" }],
        }).WithTimeout();
        var refused = await Assert.ThrowsAnyAsync<AnthropicApiException>(() => Live.Anthropic(secret, log).Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4",
            MaxTokens = 256,
            System = PromptCacheTests.Instructions("long-budget"),
            Messages = [new UserMessageParam { Content = "Where is my parcel?" }],
        })).WithTimeout();

        Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        using (var body = JsonDocument.Parse(refused.ResponseBody))
        {
            Assert.Equal("billing_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        Assert.Equal(RequestOutcome.OverBudget, (await Live.LedgerRowAsync(log.Last.RequestId!)).Outcome);
    }
}

/// <summary>
/// The web searches Anthropic's server tool ran for a request (<c>usage.server_tool_use.web_search_requests</c>) are billed
/// at the deployment's <c>price.webSearch</c> per 1,000, whole and streamed: the simulator runs one search for a request
/// that offers the tool.
/// </summary>
public sealed class WebSearchPriceTests(PriceBookGatewayFixture fixture) : IClassFixture<PriceBookGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private static MessageCreateParams Ask(string question) => new()
    {
        Model = "claude-sonnet-4",
        MaxTokens = 64,
        Tools = [new WebSearchTool20250305 { MaxUses = 3 }],
        Messages = [new UserMessageParam { Content = question }],
    };

    [Fact]
    public async Task AnAnthropicClientsWebSearches_AreBilledPerUse_BesideTheTokens_WholeAndStreamed()
    {
        var secret = await Live.AddTenantWithKeyAsync("web-search", "JP").WithTimeout();
        var client = Live.Anthropic(secret);

        var whole = await client.Messages.Create(Ask("What happened today?")).WithTimeout();
        var events = await client.Messages.CreateStreaming(Ask("And yesterday?")).ToListWithTimeoutAsync();
        Assert.True(events[0].TryPickStart(out var start));
        Assert.True(events.Single(e => e.TryPickDelta(out _)).TryPickDelta(out var final));

        Assert.Equal(1, whole.Usage.ServerToolUse!.WebSearchRequests);
        Assert.Equal(1, final.Usage.ServerToolUse!.WebSearchRequests);
        var wholeRow = await Live.LedgerRowAsync(r => r.TenantId == "web-search" && r.InputTokens == whole.Usage.InputTokens && r.OutputTokens == whole.Usage.OutputTokens);
        Assert.Equal((whole.Usage.InputTokens * 3.00m + whole.Usage.OutputTokens * 15.00m) / 1_000_000m + 0.01m, wholeRow.Cost);
        Assert.Equal(wholeRow.Cost, wholeRow.Revenue);
        var streamedRow = await Live.LedgerRowAsync(r => r.TenantId == "web-search" && r.InputTokens == start.Message.Usage.InputTokens && r.OutputTokens == final.Usage.OutputTokens);
        Assert.Equal((start.Message.Usage.InputTokens * 3.00m + final.Usage.OutputTokens * 15.00m) / 1_000_000m + 0.01m, streamedRow.Cost);
    }
}
