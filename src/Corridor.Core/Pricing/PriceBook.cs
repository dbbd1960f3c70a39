using Corridor.Core.Catalog;

namespace Corridor.Core.Pricing;

/// <summary>
/// What a request costs the operator (the vendor's price of the deployment that served it) and what the tenant is
/// billed for it (the sell price), in exact decimal arithmetic. The sell price is the deployment's, else the model's,
/// else the catalog's default markup on cost (<c>pricing.markup</c>, 0 by default: the tenant pays the cost).
/// </summary>
public static class PriceBook
{
    private const decimal TokensPerPriceUnit = 1_000_000m;

    public static decimal Cost(DeploymentConfig deployment, long inputTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return (inputTokens * deployment.InputPricePerMillion + outputTokens * deployment.OutputPricePerMillion) / TokensPerPriceUnit;
    }

    public static decimal Revenue(DeploymentConfig deployment, ModelConfig model, decimal defaultMarkup, long inputTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(model);
        var sell = deployment.Sell ?? model.Sell;
        if (sell is { InputPerMillion: { } input, OutputPerMillion: { } output })
        {
            return (inputTokens * input + outputTokens * output) / TokensPerPriceUnit;
        }
        var markup = sell?.Markup ?? defaultMarkup;
        return Cost(deployment, inputTokens, outputTokens) * (1m + markup);
    }
}
