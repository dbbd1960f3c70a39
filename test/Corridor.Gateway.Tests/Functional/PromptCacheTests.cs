using System.Net;
using System.Text.Json;
using Anthropic.Models.Messages;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// Prompt tokens the vendor's prompt cache served or took are billed at the deployment's cache prices, and the ledger says
/// how many there were: the simulator caches as the vendors do (OpenAI: any prompt of 1,024 tokens or more; Anthropic:
/// up to a block marked <c>cache_control</c>). The test catalog prices gpt-4.1-sg's cached input at 0.50 (input 2.00,
/// output 8.00) and claude-us's cache reads at 0.30, writes at 3.75 and writes to the one-hour cache at 6.00 (input 3.00,
/// output 15.00), as the vendors do.
/// </summary>
public sealed class PromptCacheTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    /// <summary>About 1,500 tokens of instructions, the same on every call: what an application's prompt cache holds.</summary>
    internal static string Instructions(string tenant) =>
        $"You are the support assistant of {tenant}. " + string.Concat(Enumerable.Repeat("Answer politely, cite the manual, never guess. ", 125));

    /// <summary>A question to claude-sonnet-4 behind <see cref="Instructions"/>, marked for Anthropic's prompt cache.</summary>
    internal static MessageCreateParams CachedAsk(string tenant, string question) => new()
    {
        Model = "claude-sonnet-4",
        MaxTokens = 256,
        System = new List<TextBlockParam> { new() { Text = Instructions(tenant), CacheControl = new CacheControlEphemeral() } },
        Messages = [new UserMessageParam { Content = question }],
    };

    [Fact]
    public async Task AnOpenAIClientsRepeatedPrompt_IsReadFromTheCache_AndBilledAtTheCachedInputPrice()
    {
        var secret = await Live.AddTenantWithKeyAsync("cache-openai", "SG").WithTimeout();
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        var system = new SystemChatMessage(Instructions("cache-openai"));

        var first = (await chat.CompleteChatAsync([system, new UserChatMessage("Where is my parcel?")]).WithTimeout()).Value;
        var updates = await chat.CompleteChatStreamingAsync([system, new UserChatMessage("And my invoice?")], new ChatCompletionOptions()).ToListWithTimeoutAsync();
        var second = updates.Single(u => u.Usage is not null).Usage;

        Assert.Equal(0, first.Usage.InputTokenDetails.CachedTokenCount);
        var cached = second.InputTokenDetails.CachedTokenCount;
        Assert.InRange(cached, 1024, second.InputTokenCount - 1);
        Assert.Equal(0, cached % 128);

        var row = await Live.LedgerRowAsync(r => r.TenantId == "cache-openai" && r.CacheReadTokens > 0);
        Assert.Equal((second.InputTokenCount, (long)cached, 0L, second.OutputTokenCount),
            (row.InputTokens, row.CacheReadTokens, row.CacheWriteTokens, row.OutputTokens));
        Assert.Equal(((second.InputTokenCount - cached) * 2.00m + cached * 0.50m + second.OutputTokenCount * 8.00m) / 1_000_000m, row.Cost);
        Assert.Equal(row.Cost, row.Revenue);
    }

    [Fact]
    public async Task AnAnthropicClientsMarkedPrefix_IsWrittenThenRead_AndEachBilledAtItsPrice_StreamingIncluded()
    {
        var secret = await Live.AddTenantWithKeyAsync("cache-anthropic", "JP").WithTimeout();
        var client = Live.Anthropic(secret);
        MessageCreateParams Ask(string question) => new()
        {
            Model = "claude-sonnet-4",
            MaxTokens = 256,
            System = new List<TextBlockParam> { new() { Text = Instructions("cache-anthropic"), CacheControl = new CacheControlEphemeral() } },
            Messages = [new UserMessageParam { Content = question }],
        };

        var written = await client.Messages.Create(Ask("Where is my parcel?")).WithTimeout();
        var events = await client.Messages.CreateStreaming(Ask("And my invoice?")).ToListWithTimeoutAsync();
        Assert.True(events[0].TryPickStart(out var start));
        Assert.True(events.Single(e => e.TryPickDelta(out _)).TryPickDelta(out var final));
        var read = start.Message.Usage;

        Assert.True(written.Usage.CacheCreationInputTokens > 1024);
        Assert.Equal(0, written.Usage.CacheReadInputTokens);
        Assert.Equal(written.Usage.CacheCreationInputTokens, read.CacheReadInputTokens);
        Assert.Equal(0, read.CacheCreationInputTokens);

        var writeRow = await Live.LedgerRowAsync(r => r.TenantId == "cache-anthropic" && r.CacheWriteTokens > 0);
        var readRow = await Live.LedgerRowAsync(r => r.TenantId == "cache-anthropic" && r.CacheReadTokens > 0);
        var writes = written.Usage.CacheCreationInputTokens!.Value;
        Assert.Equal((written.Usage.InputTokens + writes, 0L, writes), (writeRow.InputTokens, writeRow.CacheReadTokens, writeRow.CacheWriteTokens));
        Assert.Equal((written.Usage.InputTokens * 3.00m + writes * 3.75m + written.Usage.OutputTokens * 15.00m) / 1_000_000m, writeRow.Cost);
        var reads = read.CacheReadInputTokens!.Value;
        Assert.Equal((read.InputTokens + reads, reads, 0L, final.Usage.OutputTokens),
            (readRow.InputTokens, readRow.CacheReadTokens, readRow.CacheWriteTokens, readRow.OutputTokens));
        Assert.Equal((read.InputTokens * 3.00m + reads * 0.30m + final.Usage.OutputTokens * 15.00m) / 1_000_000m, readRow.Cost);
    }

    [Fact]
    public async Task TheTenantsOwnUsage_SaysHowMuchOfItsInputTheCacheServedAndTook_AsItsClientsWereTold()
    {
        var secret = await Live.AddTenantWithKeyAsync("cache-usage", "SG").WithTimeout();
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        var system = new SystemChatMessage(Instructions("cache-usage"));
        var anthropic = Live.Anthropic(secret);

        var first = (await chat.CompleteChatAsync([system, new UserChatMessage("Where is my parcel?")]).WithTimeout()).Value.Usage;
        var second = (await chat.CompleteChatAsync([system, new UserChatMessage("And my invoice?")]).WithTimeout()).Value.Usage;
        var written = (await anthropic.Messages.Create(CachedAsk("cache-usage", "Where is my parcel?")).WithTimeout()).Usage;
        var read = (await anthropic.Messages.Create(CachedAsk("cache-usage", "And my invoice?")).WithTimeout()).Usage;
        using (var flush = new CancellationTokenSource(TestTimeouts.Default))
        {
            await Live.Gateway.FlushLedgerAsync(flush.Token);
        }

        using var http = Live.Http(secret);
        using var response = await http.GetAsync("/v1/usage").WithTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WithTimeout());
        var rows = body.RootElement.GetProperty("data").EnumerateArray().ToDictionary(r => r.GetProperty("model").GetString()!);
        static (long Input, long Cached, long CacheWrites) Shown(JsonElement row) => (row.GetProperty("input_tokens").GetInt64(),
            row.GetProperty("input_cached_tokens").GetInt64(), row.GetProperty("input_cache_write_tokens").GetInt64());
        // OpenAI counts cached tokens within prompt_tokens; Anthropic counts cache reads and writes beside input_tokens.
        var cached = second.InputTokenDetails.CachedTokenCount;
        Assert.InRange(cached, 1024, long.MaxValue);
        Assert.Equal((first.InputTokenCount + second.InputTokenCount, (long)cached, 0L), Shown(rows["gpt-4.1"]));
        var (writes, reads) = (written.CacheCreationInputTokens!.Value, read.CacheReadInputTokens!.Value);
        Assert.InRange(writes, 1024, long.MaxValue);
        Assert.Equal(writes, reads);
        Assert.Equal((written.InputTokens + writes + read.InputTokens + reads, reads, writes), Shown(rows["claude-sonnet-4"]));
    }

    [Fact]
    public async Task AWriteToAnthropicsOneHourCache_IsBilledAtItsOwnPrice()
    {
        var secret = await Live.AddTenantWithKeyAsync("cache-hour", "JP").WithTimeout();
        var client = Live.Anthropic(secret);
        var request = new MessageCreateParams
        {
            Model = "claude-sonnet-4",
            MaxTokens = 256,
            System = new List<TextBlockParam> { new() { Text = Instructions("cache-hour"), CacheControl = new CacheControlEphemeral { Ttl = Ttl.Ttl1h } } },
            Messages = [new UserMessageParam { Content = "Where is my parcel?" }],
        };

        var written = await client.Messages.Create(request).WithTimeout();

        var writes = written.Usage.CacheCreationInputTokens!.Value;
        Assert.Equal(writes, written.Usage.CacheCreation!.Ephemeral1hInputTokens);
        var row = await Live.LedgerRowAsync(r => r.TenantId == "cache-hour");
        Assert.Equal((written.Usage.InputTokens + writes, writes), (row.InputTokens, row.CacheWriteTokens));
        Assert.Equal((written.Usage.InputTokens * 3.00m + writes * 6.00m + written.Usage.OutputTokens * 15.00m) / 1_000_000m, row.Cost);
    }

    [Fact]
    public async Task AnAnthropicClientOfAnOpenAIModel_IsToldWhatTheCacheServed_InItsOwnTerms_AndBilledAlike()
    {
        var secret = await Live.AddTenantWithKeyAsync("cache-translated", "DE").WithTimeout();
        var client = Live.Anthropic(secret);
        MessageCreateParams Ask(string question) => new()
        {
            Model = "gpt-4.1",
            MaxTokens = 256,
            System = Instructions("cache-translated"),
            Messages = [new UserMessageParam { Content = question }],
        };

        await client.Messages.Create(Ask("Where is my parcel?")).WithTimeout();
        var second = await client.Messages.Create(Ask("And my invoice?")).WithTimeout();

        var reads = second.Usage.CacheReadInputTokens!.Value;
        Assert.InRange(reads, 1024, long.MaxValue);
        var row = await Live.LedgerRowAsync(r => r.TenantId == "cache-translated" && r.CacheReadTokens > 0);
        Assert.Equal((second.Usage.InputTokens + reads, reads), (row.InputTokens, row.CacheReadTokens));
        Assert.Equal((second.Usage.InputTokens * 2.00m + reads * 0.50m + second.Usage.OutputTokens * 8.00m) / 1_000_000m, row.Cost);
    }
}
