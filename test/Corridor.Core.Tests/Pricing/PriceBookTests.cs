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
}
