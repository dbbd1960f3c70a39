using System.Text;
using Corridor.Core.Admission;
using Corridor.Core.Catalog;
using Corridor.Core.Pricing;

namespace Corridor.Core.Tests.Admission;

public sealed class ReservationTests
{
    [Fact]
    public void PromptTokens_CountsAsciiByThreesAndOtherBytesByTwos()
    {
        Assert.Equal(0, Reservation.PromptTokens([]));
        Assert.Equal(1, Reservation.PromptTokens("abc"u8));
        Assert.Equal(2, Reservation.PromptTokens("abcd"u8));
        Assert.Equal(34, Reservation.PromptTokens(Encoding.UTF8.GetBytes(new string('x', 100))));
        // 20 CJK characters: 60 UTF-8 bytes, 30 tokens (a tokenizer gives about 20 to 30).
        Assert.Equal(30, Reservation.PromptTokens(Encoding.UTF8.GetBytes(new string('語', 20))));
        // Mixed, past the 16-byte vector width so both loops run.
        Assert.Equal(7 + 8, Reservation.PromptTokens(Encoding.UTF8.GetBytes("hello, world!" + "日本語です" + "abcdefgh")));
    }

    [Fact]
    public void PromptTokens_NeverExceedTheModelsContextWindow()
    {
        var image = Encoding.UTF8.GetBytes("{\"url\":\"data:image/png;base64," + new string('A', 300_000) + "\"}");

        Assert.Equal(8192, Reservation.PromptTokens(image, contextWindow: 8192));
        Assert.Equal(10, Reservation.PromptTokens(new byte[30], contextWindow: 8192));
    }

    [Fact]
    public void OutputTokens_IsTheRequestsCapTimesItsChoices_OrTheDefaultCap()
    {
        Assert.Equal(300, Reservation.OutputTokens(100, 3, 4096));
        Assert.Equal(4096, Reservation.OutputTokens(null, 1, 4096));
        Assert.Equal(4096, Reservation.OutputTokens(0, 0, 4096));
    }

    [Fact]
    public void WorstCaseCost_IsTheCostAtTheDearestAllowedDeployment()
    {
        var model = new ModelConfig("m", "v", ModelCapabilities.Chat, 8192);
        var vendor = new VendorConfig("v", VendorKind.OpenAI, "http://127.0.0.1:1", null);
        IReadOnlyList<DeploymentEntry> deployments =
        [
            new(new DeploymentConfig("cheap", "m", "sg", 1m, 2m), model, vendor),
            new(new DeploymentConfig("dear-output", "m", "us-east", 0.5m, 10m), model, vendor),
            new(new DeploymentConfig("dear-input", "m", "eu-west", 30m, 1m), model, vendor),
        ];

        // 1000 in, 100 out: cheap 0.0012, dear-output 0.0015, dear-input 0.0301.
        Assert.Equal(0.0301m, Reservation.WorstCaseCost(deployments, 1000, 100));
        // 10 in, 1000 out: cheap 0.00201, dear-output 0.010005, dear-input 0.0013.
        Assert.Equal(0.010005m, Reservation.WorstCaseCost(deployments, 10, 1000));
        Assert.Equal(0m, Reservation.WorstCaseCost([], 10, 1000));
    }

    [Fact]
    public void WorstCaseCost_CountsEveryPromptTokenAtTheDeploymentsDearestInputPrice_ACacheWriteIncluded()
    {
        var model = new ModelConfig("m", "v", ModelCapabilities.Chat, 8192);
        var vendor = new VendorConfig("v", VendorKind.Anthropic, "http://127.0.0.1:1", null);
        // Anthropic's prices: a cache write costs 1.25 times fresh input, a cache read a tenth.
        var claude = new DeploymentConfig("claude", "m", "sg", 3m, 15m) { CacheReadPricePerMillion = 0.3m, CacheWritePricePerMillion = 3.75m };

        // 1000 in, 100 out: every prompt token could be written to the cache: 0.00375 + 0.0015.
        Assert.Equal(0.00525m, Reservation.WorstCaseCost([new(claude, model, vendor)], 1000, 100));
        // Whatever the cache does, the request costs no more than that.
        Assert.True(PriceBook.Cost(claude, new BilledTokens(1000, 100, CacheWrite: 1000)) <= 0.00525m);
        // A cheaper cache read alone never lowers the reservation below fresh input.
        var cheapReads = claude with { CacheWritePricePerMillion = null };
        Assert.Equal(0.0045m, Reservation.WorstCaseCost([new(cheapReads, model, vendor)], 1000, 100));
    }

    [Fact]
    public void WorstCaseCost_IsAtTheLongContextTier_WhenThePromptsEstimateExceedsItsThreshold()
    {
        var model = new ModelConfig("m", "v", ModelCapabilities.Chat, 1_000_000);
        var vendor = new VendorConfig("v", VendorKind.Anthropic, "http://127.0.0.1:1", null);
        var claude = new DeploymentConfig("claude", "m", "us-east", 3m, 15m)
        {
            CacheWritePricePerMillion = 3.75m,
            LongContext = new LongContextPrice(200_000, 6m, 22.5m) { CacheWritePerMillion = 7.5m },
        };
        var other = new DeploymentConfig("other", "m", "sg", 5m, 20m);

        // At the threshold, the ordinary prices (every prompt token a cache write at worst).
        Assert.Equal((200_000 * 3.75m + 1000 * 15m) / 1_000_000m, Reservation.WorstCaseCost([new(claude, model, vendor)], 200_000, 1000));
        // Above it, the tier's: the whole request.
        Assert.Equal((200_001 * 7.5m + 1000 * 22.5m) / 1_000_000m, Reservation.WorstCaseCost([new(claude, model, vendor)], 200_001, 1000));
        Assert.True(PriceBook.Cost(claude, new BilledTokens(200_001, 1000, CacheWrite: 200_001)) <= Reservation.WorstCaseCost([new(claude, model, vendor)], 200_001, 1000));
        // The dearest deployment is chosen with its tier: below the threshold "other" is dearer, above it claude.
        Assert.Equal((200_000 * 5m + 1000 * 20m) / 1_000_000m, Reservation.WorstCaseCost([new(claude, model, vendor), new(other, model, vendor)], 200_000, 1000));
        Assert.Equal((300_000 * 7.5m + 1000 * 22.5m) / 1_000_000m, Reservation.WorstCaseCost([new(other, model, vendor), new(claude, model, vendor)], 300_000, 1000));
    }

    [Fact]
    public void WeightedTokens_WeighsEachDirectionAndRoundsUp()
    {
        Assert.Equal(1100, Reservation.WeightedTokens(1000, 100, 1, 1));
        Assert.Equal(1400, Reservation.WeightedTokens(1000, 100, 1, 4));
        Assert.Equal(51, Reservation.WeightedTokens(101, 0, 0.5, 4));
    }
}
