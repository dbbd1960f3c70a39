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
