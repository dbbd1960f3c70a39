using Corridor.Core.Catalog;

namespace Corridor.Core.Pricing;

/// <summary>Cost of a request from a deployment's prices, in exact decimal arithmetic.</summary>
public static class PriceBook
{
    private const decimal TokensPerPriceUnit = 1_000_000m;

    public static decimal Cost(DeploymentConfig deployment, long inputTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return (inputTokens * deployment.InputPricePerMillion + outputTokens * deployment.OutputPricePerMillion) / TokensPerPriceUnit;
    }
}
