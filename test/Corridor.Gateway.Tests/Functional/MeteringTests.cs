using System.ClientModel;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// After a mix of requests by one tenant (both SDKs, whole and streamed, translated or not, embeddings, and some
/// that fail), the store's usage totals are exactly the usage the clients were told, priced per million tokens.
/// </summary>
public sealed class MeteringTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task UsageTotals_MatchWhatTheClientsWereTold_AndCostIsTokensTimesTheDeploymentsPrices()
    {
        var secret = await Live.AddTenantWithKeyAsync("metered", "DE").WithTimeout();
        var openAI = Live.OpenAI(secret);
        var anthropic = Live.Anthropic(secret);
        var gpt = new Tally();
        var claude = new Tally();
        var embeddings = new Tally();

        var completion = (await openAI.GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Meter me, whole.")], null, default).WithTimeout()).Value;
        gpt.Add(completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount);

        var updates = await openAI.GetChatClient("gpt-4.1").CompleteChatStreamingAsync([new UserChatMessage("Meter me, streamed.")], null, default).ToListWithTimeoutAsync();
        var streamed = updates.Single(u => u.Usage is not null).Usage;
        gpt.Add(streamed.InputTokenCount, streamed.OutputTokenCount);

        var translatedToGpt = await anthropic.Messages.Create(AnthropicDialectTests.Ask("gpt-4.1", "Meter me through translation.")).WithTimeout();
        gpt.Add(translatedToGpt.Usage.InputTokens, translatedToGpt.Usage.OutputTokens);

        var message = await anthropic.Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "Meter me, whole.")).WithTimeout();
        claude.Add(message.Usage.InputTokens, message.Usage.OutputTokens);

        var events = await anthropic.Messages.CreateStreaming(AnthropicDialectTests.Ask("claude-sonnet-4", "Meter me, streamed.")).ToListWithTimeoutAsync();
        Assert.True(events[0].TryPickStart(out var start));
        Assert.True(events.Single(e => e.TryPickDelta(out _)).TryPickDelta(out var final));
        claude.Add(start.Message.Usage.InputTokens, final.Usage.OutputTokens);

        var translatedToClaude = (await openAI.GetChatClient("claude-sonnet-4").CompleteChatAsync([new UserChatMessage("Meter me through translation.")], null, default).WithTimeout()).Value;
        claude.Add(translatedToClaude.Usage.InputTokenCount, translatedToClaude.Usage.OutputTokenCount);

        var vectors = (await openAI.GetEmbeddingClient("text-embedding-3-small").GenerateEmbeddingsAsync(["first text to embed", "second text to embed"]).WithTimeout()).Value;
        embeddings.Add(vectors.Usage.InputTokenCount, 0);

        // Failures and refusals of the same tenant are never billed.
        await Assert.ThrowsAsync<ClientResultException>(() => openAI.GetChatClient("dead").CompleteChatAsync([new UserChatMessage("Not billed.")], null, default).WithTimeout());
        await Assert.ThrowsAsync<ClientResultException>(() => openAI.GetChatClient("gpt-9").CompleteChatAsync([new UserChatMessage("Not billed.")], null, default).WithTimeout());
        await Assert.ThrowsAsync<ClientResultException>(() => openAI.GetChatClient("garbage").CompleteChatAsync([new UserChatMessage("Not billed.")], null, default).WithTimeout());

        var totals = await TenantTotalsAsync("metered", expectedRequests: 7);

        Assert.Equal(["claude-sonnet-4", "gpt-4.1", "text-embedding-3-small"], totals.Select(t => t.Model));
        AssertTotal(totals[1], gpt, inputPrice: 2.00m, outputPrice: 8.00m);
        AssertTotal(totals[0], claude, inputPrice: 3.00m, outputPrice: 15.00m);
        AssertTotal(totals[2], embeddings, inputPrice: 0.02m, outputPrice: 0m);
    }

    /// <summary>The tenant's totals once all of its billable rows are in the store.</summary>
    private async Task<List<Corridor.Storage.UsageTotal>> TenantTotalsAsync(string tenant, int expectedRequests)
    {
        // Rows are recorded just after each response; wait for the last of them.
        await Live.LedgerRowAsync(row => row.TenantId == tenant && row.Model == "garbage");
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            await Live.Gateway.FlushLedgerAsync(timeout.Token);
            var totals = (await Live.Store.GetUsageTotalsAsync(null, null, tenantId: null, timeout.Token)).Where(t => t.TenantId == tenant).ToList();
            if (totals.Sum(t => t.Requests) >= expectedRequests)
            {
                return totals;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), timeout.Token);
        }
    }

    private static void AssertTotal(Corridor.Storage.UsageTotal total, Tally seen, decimal inputPrice, decimal outputPrice)
    {
        Assert.Equal(seen.Requests, total.Requests);
        Assert.Equal(seen.InputTokens, total.InputTokens);
        Assert.Equal(seen.OutputTokens, total.OutputTokens);
        Assert.Equal((seen.InputTokens * inputPrice + seen.OutputTokens * outputPrice) / 1_000_000m, total.Cost);
    }

    private sealed class Tally
    {
        public int Requests { get; private set; }

        public long InputTokens { get; private set; }

        public long OutputTokens { get; private set; }

        public void Add(long input, long output)
        {
            Assert.True(input > 0, "the client was told of no input tokens");
            Requests++;
            InputTokens += input;
            OutputTokens += output;
        }
    }
}
