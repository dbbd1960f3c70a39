using Corridor.Core.Catalog;
using Corridor.Core.Pricing;

namespace Corridor.Core.Tests.Pricing;

public sealed class PriceBookTests
{
    [Theory]
    [InlineData(1_000_000, 0, "2.00", "8.00", "2.00")]
    [InlineData(182, 240, "2.00", "8.00", "0.002284")]
    [InlineData(1, 1, "0.0375", "0.15", "0.0000001875")]
    [InlineData(0, 0, "3", "15", "0")]
    public void Cost_IsExactDecimal(long input, long output, string inputPrice, string outputPrice, string expected)
    {
        var deployment = new DeploymentConfig("d", "m", "sg", decimal.Parse(inputPrice, System.Globalization.CultureInfo.InvariantCulture), decimal.Parse(outputPrice, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), PriceBook.Cost(deployment, input, output));
    }

    [Fact]
    public void ManySmallCosts_SumWithoutDrift()
    {
        var deployment = new DeploymentConfig("d", "m", "sg", 0.1m, 0.2m);
        var total = 0m;
        for (var i = 0; i < 1_000_000; i++)
        {
            total += PriceBook.Cost(deployment, 1, 1);
        }

        Assert.Equal(0.3m, total);
    }

    [Fact]
    public void Revenue_UsesTheDeploymentsSellPrice_ThenTheModels_ThenTheDefaultMarkup()
    {
        var model = new ModelConfig("m", "v", ModelCapabilities.Chat, 1000);
        var plain = new DeploymentConfig("d", "m", "sg", 2m, 8m);
        var sold = plain with { Sell = new SellPrice(3m, 12m) };
        var modelSold = model with { Sell = new SellPrice(Markup: 0.25m) };

        // 182 input, 240 output tokens cost 0.002284 at 2/8 per million.
        Assert.Equal(0.002284m, PriceBook.Revenue(plain, model, 0m, 182, 240));
        Assert.Equal(0.003426m, PriceBook.Revenue(plain, model, 0.5m, 182, 240));
        Assert.Equal(0.002855m, PriceBook.Revenue(plain, modelSold, 0.5m, 182, 240));
        Assert.Equal(0.003426m, PriceBook.Revenue(sold, modelSold, 0.5m, 182, 240));
    }

    [Fact]
    public void PromptTokensReadFromOrWrittenToTheCache_ArePricedApart_FreshInputTheRest()
    {
        // gpt-4.1: 2.00 in, 0.50 cached in, 8.00 out; 1,200 prompt tokens of which 1,024 were cached, 100 out.
        var openai = new DeploymentConfig("d", "m", "sg", 2m, 8m) { CacheReadPricePerMillion = 0.5m };
        Assert.Equal((176 * 2m + 1024 * 0.5m + 100 * 8m) / 1_000_000m, PriceBook.Cost(openai, new BilledTokens(1200, 100, CacheRead: 1024)));

        // claude: 3.00 in, 0.30 read, 3.75 write, 15.00 out.
        var claude = new DeploymentConfig("c", "m", "sg", 3m, 15m) { CacheReadPricePerMillion = 0.3m, CacheWritePricePerMillion = 3.75m };
        Assert.Equal((10 * 3m + 2000 * 0.3m + 500 * 3.75m + 40 * 15m) / 1_000_000m,
            PriceBook.Cost(claude, new BilledTokens(2510, 40, CacheRead: 2000, CacheWrite: 500)));

        // Anthropic's one-hour cache: its writes at twice the input price; without a price of its own, at cacheWrite.
        var claudeHour = claude with { CacheWriteOneHourPricePerMillion = 6m };
        var hourTokens = new BilledTokens(2510, 40, CacheRead: 2000, CacheWrite: 500, CacheWriteOneHour: 300);
        Assert.Equal((10 * 3m + 2000 * 0.3m + 200 * 3.75m + 300 * 6m + 40 * 15m) / 1_000_000m, PriceBook.Cost(claudeHour, hourTokens));
        Assert.Equal(PriceBook.Cost(claude, tokens: new BilledTokens(2510, 40, 2000, 500)), PriceBook.Cost(claude, hourTokens));
        Assert.Equal(6m, claudeHour.DearestInputPricePerMillion);

        // Without cache prices, a cached token costs what fresh input does (as before cache prices existed).
        var plain = new DeploymentConfig("p", "m", "sg", 2m, 8m);
        Assert.Equal(PriceBook.Cost(plain, 1200, 100), PriceBook.Cost(plain, new BilledTokens(1200, 100, CacheRead: 1024, CacheWrite: 100)));
    }

    [Fact]
    public void Revenue_PricesTheCacheAtTheSellPricesCachePrices_ElseItsInputPrice_AndAMarkupFollowsTheCost()
    {
        var model = new ModelConfig("m", "v", ModelCapabilities.Chat, 1000);
        var claude = new DeploymentConfig("c", "m", "sg", 3m, 15m) { CacheReadPricePerMillion = 0.3m, CacheWritePricePerMillion = 3.75m };
        var tokens = new BilledTokens(2510, 40, CacheRead: 2000, CacheWrite: 500);

        var sold = claude with { Sell = new SellPrice(4m, 20m) { CacheReadPerMillion = 0.4m, CacheWritePerMillion = 5m } };
        Assert.Equal((10 * 4m + 2000 * 0.4m + 500 * 5m + 40 * 20m) / 1_000_000m, PriceBook.Revenue(sold, model, 0m, tokens));

        var soldWithoutCachePrices = claude with { Sell = new SellPrice(4m, 20m) };
        Assert.Equal((2510 * 4m + 40 * 20m) / 1_000_000m, PriceBook.Revenue(soldWithoutCachePrices, model, 0m, tokens));

        Assert.Equal(PriceBook.Cost(claude, tokens) * 1.25m, PriceBook.Revenue(claude, model, 0.25m, tokens));
    }

    [Fact]
    public void BatchDiscount_IsTheDeploymentsSellPrices_ThenTheModels_ThenTheDefault()
    {
        var model = new ModelConfig("m", "v", ModelCapabilities.Chat, 1000);
        var plain = new DeploymentConfig("d", "m", "sg", 2m, 8m);
        var modelDiscounted = model with { Sell = new SellPrice(3m, 12m) { BatchDiscount = 0.25m } };

        Assert.Equal(0m, PriceBook.BatchDiscount(plain, model, 0m));
        Assert.Equal(0.5m, PriceBook.BatchDiscount(plain, model, 0.5m));
        Assert.Equal(0.25m, PriceBook.BatchDiscount(plain, modelDiscounted, 0.5m));
        // A deployment's own sell price without a discount keeps the model's; its own discount wins, 0 included.
        Assert.Equal(0.25m, PriceBook.BatchDiscount(plain with { Sell = new SellPrice(Markup: 0.1m) }, modelDiscounted, 0.5m));
        Assert.Equal(0.75m, PriceBook.BatchDiscount(plain with { Sell = new SellPrice(Markup: 0.1m) { BatchDiscount = 0.75m } }, modelDiscounted, 0.5m));
        Assert.Equal(0m, PriceBook.BatchDiscount(plain with { Sell = new SellPrice(4m, 16m) { BatchDiscount = 0m } }, modelDiscounted, 0.5m));
    }

    [Fact]
    public void BatchRevenue_IsTheLivePriceLessTheDiscount_ExactlyForEveryKindOfToken()
    {
        var model = new ModelConfig("m", "v", ModelCapabilities.Chat, 1000);
        var claude = new DeploymentConfig("c", "m", "sg", 3m, 15m) { CacheReadPricePerMillion = 0.3m, CacheWritePricePerMillion = 3.75m, CacheWriteOneHourPricePerMillion = 6m };
        var tokens = new BilledTokens(2511, 41, CacheRead: 2000, CacheWrite: 500, CacheWriteOneHour: 300);
        var sold = claude with { Sell = new SellPrice(4m, 20m) { CacheReadPerMillion = 0.4m, CacheWritePerMillion = 5m, CacheWriteOneHourPerMillion = 8m } };

        // 11 fresh, 2,000 read, 200 five-minute and 300 one-hour writes, 41 out: each at half its sell price.
        Assert.Equal((11 * 2m + 2000 * 0.2m + 200 * 2.5m + 300 * 4m + 41 * 10m) / 1_000_000m, PriceBook.BatchRevenue(sold, model, 0m, 0.5m, tokens));
        Assert.Equal(0.002532m, PriceBook.BatchRevenue(sold, model, 0m, 0.5m, tokens));
        Assert.Equal(0.005064m, PriceBook.Revenue(sold, model, 0m, tokens));

        // On a markup, the marked-up cost less the discount; any discount is exact (30 % off 0.005064 is 0.0035448).
        Assert.Equal(PriceBook.Cost(claude, tokens) * 1.2m * 0.5m, PriceBook.BatchRevenue(claude, model, 0.2m, 0.5m, tokens));
        Assert.Equal(0.0035448m, PriceBook.BatchRevenue(sold, model, 0m, 0.3m, tokens));

        // 0 bills a batch's request as a live one; 1 bills it nothing.
        Assert.Equal(PriceBook.Revenue(sold, model, 0m, tokens), PriceBook.BatchRevenue(sold, model, 0m, 0m, tokens));
        Assert.Equal(0m, PriceBook.BatchRevenue(sold, model, 0m, 1m, tokens));

        // At the caps, the largest counts a request can carry are discounted without overflow.
        var dearest = new DeploymentConfig("d", "m", "sg", CatalogValidator.MaxPricePerMillion, CatalogValidator.MaxPricePerMillion)
        {
            Sell = new SellPrice(Markup: CatalogValidator.MaxMarkup) { BatchDiscount = 0.5m },
        };
        var most = (long)int.MaxValue * int.MaxValue;
        Assert.Equal(most * 1_001m, PriceBook.BatchRevenue(dearest, model, 0m, 0m, new BilledTokens(most, most)));
    }

    /// <summary>Claude Sonnet 4's prices, and above 200,000 prompt tokens (the 1M-token context window) its long-context tier.</summary>
    private static readonly DeploymentConfig SonnetWithLongContext = new("c", "m", "us-east", 3m, 15m)
    {
        CacheReadPricePerMillion = 0.3m,
        CacheWritePricePerMillion = 3.75m,
        CacheWriteOneHourPricePerMillion = 6m,
        LongContext = new LongContextPrice(200_000, 6m, 22.5m) { CacheReadPerMillion = 0.6m, CacheWritePerMillion = 7.5m, CacheWriteOneHourPerMillion = 12m },
    };

    [Fact]
    public void ARequestWhosePromptExceedsTheLongContextThreshold_IsPricedWhollyAtTheTier_CacheTokensCounted()
    {
        // Exactly 200,000 prompt tokens: the ordinary prices.
        Assert.Equal((200_000 * 3m + 1000 * 15m) / 1_000_000m, PriceBook.Cost(SonnetWithLongContext, new BilledTokens(200_000, 1000)));
        // One more: every token at the tier, not only those above the threshold.
        Assert.Equal((200_001 * 6m + 1000 * 22.5m) / 1_000_000m, PriceBook.Cost(SonnetWithLongContext, new BilledTokens(200_001, 1000)));

        // The threshold counts the cache's reads and writes with fresh input: 1,000 fresh, 150,000 read, 50,000 written,
        // 20,000 of them to the one-hour cache, is 201,000 prompt tokens, each kind at its tier price.
        var cached = new BilledTokens(201_000, 500, CacheRead: 150_000, CacheWrite: 50_000, CacheWriteOneHour: 20_000);
        Assert.Equal((1000 * 6m + 150_000 * 0.6m + 30_000 * 7.5m + 20_000 * 12m + 500 * 22.5m) / 1_000_000m, PriceBook.Cost(SonnetWithLongContext, cached));
        Assert.Equal(0.57225m, PriceBook.Cost(SonnetWithLongContext, cached));
        // The same request below the threshold: the ordinary cache prices.
        var below = new BilledTokens(199_000, 500, CacheRead: 150_000, CacheWrite: 48_000, CacheWriteOneHour: 20_000);
        Assert.Equal((1000 * 3m + 150_000 * 0.3m + 28_000 * 3.75m + 20_000 * 6m + 500 * 15m) / 1_000_000m, PriceBook.Cost(SonnetWithLongContext, below));

        // A tier without cache prices prices the cache's tokens at its input price, as the ordinary prices do.
        var plain = new DeploymentConfig("p", "m", "sg", 1.25m, 10m) { LongContext = new LongContextPrice(200_000, 2.5m, 15m) };
        Assert.Equal((300_000 * 2.5m + 100 * 15m) / 1_000_000m, PriceBook.Cost(plain, new BilledTokens(300_000, 100, CacheRead: 100_000)));
    }

    [Fact]
    public void Revenue_FollowsTheTier_AMarkupOnTheTiersCost_SellPricesAtTheirOwnTier_ABatchDiscountOnEither()
    {
        var model = new ModelConfig("m", "v", ModelCapabilities.Chat, 1_000_000);
        var tokens = new BilledTokens(250_000, 1000, CacheRead: 100_000);
        var cost = (150_000 * 6m + 100_000 * 0.6m + 1000 * 22.5m) / 1_000_000m;
        Assert.Equal(cost, PriceBook.Cost(SonnetWithLongContext, tokens));

        // A markup is on the tier's cost.
        Assert.Equal(cost * 1.2m, PriceBook.Revenue(SonnetWithLongContext, model, 0.2m, tokens));
        // Sell prices with a tier of their own: the whole request at it, past its own threshold.
        var sold = SonnetWithLongContext with
        {
            Sell = new SellPrice(4m, 20m)
            {
                CacheReadPerMillion = 0.4m,
                LongContext = new LongContextPrice(200_000, 8m, 30m) { CacheReadPerMillion = 0.8m },
            },
        };
        Assert.Equal((150_000 * 8m + 100_000 * 0.8m + 1000 * 30m) / 1_000_000m, PriceBook.Revenue(sold, model, 0m, tokens));
        Assert.Equal((150_000 * 8m + 100_000 * 0.8m + 1000 * 30m) / 1_000_000m * 0.5m, PriceBook.BatchRevenue(sold, model, 0m, 0.5m, tokens));
        Assert.Equal((100_000 * 4m + 100_000 * 0.4m + 1000 * 20m) / 1_000_000m, PriceBook.Revenue(sold, model, 0m, new BilledTokens(200_000, 1000, CacheRead: 100_000)));
        // Sell prices without a tier bill every request at them.
        var flat = SonnetWithLongContext with { Sell = new SellPrice(4m, 20m) { CacheReadPerMillion = 0.4m } };
        Assert.Equal((150_000 * 4m + 100_000 * 0.4m + 1000 * 20m) / 1_000_000m, PriceBook.Revenue(flat, model, 0m, tokens));
    }

    [Fact]
    public void LongContextPrices_AreValidated_EveryMistakeNamed()
    {
        var catalog = new CatalogConfig(
            [new VendorConfig("v", VendorKind.Anthropic, "https://example.com/v1")],
            [new ModelConfig("m", "v", ModelCapabilities.Chat, 1_000_000) { Sell = new SellPrice(Markup: 0.1m) { LongContext = new LongContextPrice(200_000, 1m, 1m) } }],
            [
                new DeploymentConfig("d1", "m", "sg", 1m, 1m) { LongContext = new LongContextPrice(0, -1m, 1_000_001m) },
                new DeploymentConfig("d2", "m", "sg", 3m, 15m)
                {
                    CacheReadPricePerMillion = 0.3m,
                    CacheWritePricePerMillion = 3.75m,
                    CacheWriteOneHourPricePerMillion = 6m,
                    LongContext = new LongContextPrice(200_000, 6m, 22.5m),
                },
                new DeploymentConfig("d3", "m", "sg", 1m, 1m) { Sell = new SellPrice(1m, 1m) { LongContext = new LongContextPrice(-5, 2m, 2m) { CacheReadPerMillion = -1m } } },
                SonnetWithLongContext with { Id = "d4", Region = "sg", Sell = new SellPrice(4m, 20m) { LongContext = new LongContextPrice(200_000, 8m, 30m) } },
                new DeploymentConfig("d5", "m", "sg", 1m, 1m) { LongContext = new LongContextPrice(128_000, 2m, 2m) },
            ]);

        var errors = CatalogValidator.Validate(catalog);

        Assert.Contains("models[0] (m).sell.longContext: goes with input and output prices; a markup applies to the vendor's long-context prices already", errors);
        Assert.Contains("deployments[0] (d1).price.longContext.above must be a positive number of prompt tokens", errors);
        Assert.Contains("deployments[0] (d1).price.longContext: prices must not be negative", errors);
        Assert.Contains("deployments[1] (d2).price.longContext: give cacheRead, cacheWrite, cacheWrite1h as the prices it replaces do (left out, each would be the tier's input price)", errors);
        Assert.Contains("deployments[2] (d3).sell.longContext.above must be a positive number of prompt tokens", errors);
        Assert.Contains("deployments[2] (d3).sell.longContext: prices must not be negative", errors);
        Assert.DoesNotContain(errors, e => e.Contains("(d4)", StringComparison.Ordinal) || e.Contains("(d5)", StringComparison.Ordinal));
        Assert.Equal(6, errors.Count);
        Assert.Contains("deployments[0] (d1).price.longContext: a price per million tokens must be at most 1000000",
            CatalogValidator.Validate(catalog with { Deployments = [new DeploymentConfig("d1", "m", "sg", 1m, 1m) { LongContext = new LongContextPrice(1, 1m, 1_000_001m) }] }));
    }

    [Fact]
    public void WebSearches_ArePricedPerThousand_SoldAtTheSellPricesOwn_ElseAtCost_AMarkupOnThem()
    {
        var model = new ModelConfig("m", "v", ModelCapabilities.Chat, 200_000);
        // Anthropic: 10.00 per 1,000 web searches.
        var claude = new DeploymentConfig("c", "m", "us-east", 3m, 15m) { WebSearchPricePerThousand = 10m };
        var tokens = new BilledTokens(1000, 100, WebSearches: 3);

        Assert.Equal((1000 * 3m + 100 * 15m) / 1_000_000m + 3 * 10m / 1000m, PriceBook.Cost(claude, tokens));
        Assert.Equal(0.0345m, PriceBook.Cost(claude, tokens));
        // Without a price of its own a web search costs nothing beyond its tokens.
        Assert.Equal(0.0045m, PriceBook.Cost(claude with { WebSearchPricePerThousand = null }, tokens));
        // Above the long-context threshold too, a search costs the same.
        var tiered = claude with { LongContext = new LongContextPrice(500, 6m, 22.5m) };
        Assert.Equal((1000 * 6m + 100 * 22.5m) / 1_000_000m + 0.03m, PriceBook.Cost(tiered, tokens));

        // A markup is on the searches too; sell prices bill their own webSearch, else the vendor's (never less than cost).
        Assert.Equal(0.0345m * 1.2m, PriceBook.Revenue(claude, model, 0.2m, tokens));
        Assert.Equal((1000 * 4m + 100 * 20m) / 1_000_000m + 3 * 12.5m / 1000m, PriceBook.Revenue(claude with { Sell = new SellPrice(4m, 20m) { WebSearchPerThousand = 12.5m } }, model, 0m, tokens));
        Assert.Equal((1000 * 4m + 100 * 20m) / 1_000_000m + 0.03m, PriceBook.Revenue(claude with { Sell = new SellPrice(4m, 20m) }, model, 0m, tokens));
        Assert.Equal(((1000 * 4m + 100 * 20m) / 1_000_000m + 0.03m) * 0.5m, PriceBook.BatchRevenue(claude with { Sell = new SellPrice(4m, 20m) }, model, 0m, 0.5m, tokens));
    }

    [Fact]
    public void BatchDiscounts_OutsideZeroToOne_AreRefused_EachNamed()
    {
        var catalog = new CatalogConfig(
            [new VendorConfig("v", VendorKind.OpenAI, "https://example.com/v1")],
            [new ModelConfig("m", "v", ModelCapabilities.Chat, 1000) { Sell = new SellPrice(1m, 2m) { BatchDiscount = -0.1m } }],
            [
                new DeploymentConfig("d1", "m", "sg", 1m, 1m) { Sell = new SellPrice(Markup: 0.1m) { BatchDiscount = 1.5m } },
                new DeploymentConfig("d2", "m", "sg", 1m, 1m) { Sell = new SellPrice { BatchDiscount = 0.5m } },
                new DeploymentConfig("d3", "m", "sg", 1m, 1m) { Sell = new SellPrice(Markup: 0.1m) { BatchDiscount = 1m } },
                new DeploymentConfig("d4", "m", "sg", 1m, 1m) { Sell = new SellPrice(1m, 1m) { BatchDiscount = 0m } },
            ])
        { DefaultBatchDiscount = 1.01m };

        var errors = CatalogValidator.Validate(catalog);

        Assert.Contains("models[0] (m).sell.batchDiscount must be between 0 and 1 (0.5 bills a batch's requests half)", errors);
        Assert.Contains("deployments[0] (d1).sell.batchDiscount must be between 0 and 1 (0.5 bills a batch's requests half)", errors);
        Assert.Contains(errors, e => e.Contains("deployments[1] (d2).sell: a batchDiscount goes with input and output prices or a markup", StringComparison.Ordinal));
        Assert.Contains("pricing.batchDiscount must be between 0 and 1 (0.5 bills a batch's requests half)", errors);
        Assert.DoesNotContain(errors, e => e.Contains("(d3)", StringComparison.Ordinal) || e.Contains("(d4)", StringComparison.Ordinal));
        Assert.Single(errors, e => e.Contains("(d2)", StringComparison.Ordinal));
        Assert.Contains("pricing.batchDiscount must be between 0 and 1 (0.5 bills a batch's requests half)",
            CatalogValidator.Validate(catalog with { DefaultBatchDiscount = -0.5m }));
        Assert.DoesNotContain(CatalogValidator.Validate(catalog with { DefaultBatchDiscount = 1m }), e => e.StartsWith("pricing.", StringComparison.Ordinal));
    }

    [Fact]
    public void CacheAndWebSearchPrices_AreValidated()
    {
        var catalog = new CatalogConfig(
            [new VendorConfig("v", VendorKind.OpenAI, "https://example.com/v1")],
            [
                new ModelConfig("m", "v", ModelCapabilities.Chat, 1000) { Sell = new SellPrice(Markup: 0.1m) { CacheReadPerMillion = 0.1m } },
                new ModelConfig("w", "v", ModelCapabilities.Chat, 1000) { Sell = new SellPrice(Markup: 0.1m) { WebSearchPerThousand = 10m } },
            ],
            [
                new DeploymentConfig("d1", "m", "sg", 1m, 1m) { CacheReadPricePerMillion = -0.1m },
                new DeploymentConfig("d2", "m", "sg", 1m, 1m) { CacheWritePricePerMillion = 1_000_001m },
                new DeploymentConfig("d3", "m", "sg", 1m, 1m) { Sell = new SellPrice(1m, 1m) { CacheWritePerMillion = -1m } },
                new DeploymentConfig("d4", "m", "sg", 1m, 1m) { CacheReadPricePerMillion = 0.1m, CacheWritePricePerMillion = 1.25m },
                new DeploymentConfig("w1", "w", "sg", 1m, 1m) { WebSearchPricePerThousand = -10m },
                new DeploymentConfig("w2", "w", "sg", 1m, 1m) { WebSearchPricePerThousand = 1_000_001m },
                new DeploymentConfig("w3", "w", "sg", 1m, 1m) { Sell = new SellPrice(1m, 1m) { WebSearchPerThousand = -1m } },
                new DeploymentConfig("w4", "w", "sg", 1m, 1m) { WebSearchPricePerThousand = 10m, Sell = new SellPrice(1m, 1m) { WebSearchPerThousand = 12m } },
            ]);

        var errors = CatalogValidator.Validate(catalog);

        Assert.Contains(errors, e => e.Contains("models[0] (m).sell: cache prices go with input and output prices", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("deployments[0] (d1): prices must not be negative", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("deployments[1] (d2): a price per million tokens must be at most", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("deployments[2] (d3).sell: must not be negative", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("(d4)", StringComparison.Ordinal));

        // Web searches: a price per 1,000, bounded as the others; a sell price's only with prices (a markup applies already).
        Assert.Contains("models[1] (w).sell: webSearch goes with input and output prices; a markup applies to the vendor's webSearch already", errors);
        Assert.Contains("deployments[4] (w1): prices must not be negative", errors);
        Assert.Contains(errors, e => e.StartsWith("deployments[5] (w2): a price per million tokens must be at most", StringComparison.Ordinal));
        Assert.Contains("deployments[6] (w3).sell: must not be negative", errors);
        Assert.DoesNotContain(errors, e => e.Contains("(w4)", StringComparison.Ordinal));
    }

    [Fact]
    public void SellPrices_AreValidated_EachMistakeNamed()
    {
        var catalog = new CatalogConfig(
            [new VendorConfig("v", VendorKind.OpenAI, "https://example.com/v1")],
            [new ModelConfig("m", "v", ModelCapabilities.Chat, 1000) { Sell = new SellPrice(1m, 2m, 0.1m) }],
            [
                new DeploymentConfig("d1", "m", "sg", 1m, 1m) { Sell = new SellPrice(InputPerMillion: 1m) },
                new DeploymentConfig("d2", "m", "sg", 1m, 1m) { Sell = new SellPrice(Markup: -0.1m) },
            ])
        { DefaultMarkup = -1m };

        var errors = CatalogValidator.Validate(catalog);

        Assert.Contains(errors, e => e.Contains("models[0] (m).sell: give either", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("deployments[0] (d1).sell: give both", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("deployments[1] (d2).sell: must not be negative", StringComparison.Ordinal));
        Assert.Contains("pricing.markup must not be negative", errors);
    }

    [Fact]
    public void PricesAndMarkupsBeyondTheCaps_AreRefused_SoNoCostCanOverflow()
    {
        var catalog = new CatalogConfig(
            [new VendorConfig("v", VendorKind.OpenAI, "https://example.com/v1")],
            [new ModelConfig("m", "v", ModelCapabilities.Chat, 1000) { Sell = new SellPrice(Markup: 1_000.01m) }],
            [
                new DeploymentConfig("d1", "m", "sg", decimal.MaxValue, 1m),
                new DeploymentConfig("d2", "m", "sg", 1m, 1m) { Sell = new SellPrice(1m, 1_000_001m) },
                new DeploymentConfig("d3", "m", "sg", CatalogValidator.MaxPricePerMillion, CatalogValidator.MaxPricePerMillion)
                {
                    Sell = new SellPrice(Markup: CatalogValidator.MaxMarkup),
                },
            ])
        { DefaultMarkup = 1_001m };

        var errors = CatalogValidator.Validate(catalog);

        Assert.Contains(errors, e => e.Contains("deployments[0] (d1): a price per million tokens must be at most 1000000", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("deployments[1] (d2).sell: prices must be at most", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("models[0] (m).sell: prices must be at most", StringComparison.Ordinal));
        Assert.Contains("pricing.markup must be at most 1000", errors);
        Assert.DoesNotContain(errors, e => e.Contains("(d3)", StringComparison.Ordinal));

        // At the caps, the largest counts a request can carry cost and sell without overflow.
        var d3 = catalog.Deployments[2];
        var tokens = (long)int.MaxValue * int.MaxValue;
        Assert.Equal(2m * tokens, PriceBook.Cost(d3, tokens, tokens));
        Assert.Equal(2m * tokens * 1_001m, PriceBook.Revenue(d3, catalog.Models[0], catalog.DefaultMarkup, tokens, tokens));
    }
}
