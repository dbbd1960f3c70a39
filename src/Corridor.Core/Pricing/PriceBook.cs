using Corridor.Core.Catalog;

namespace Corridor.Core.Pricing;

/// <summary>
/// What a request costs the operator (the vendor's price of the deployment that served it) and what the tenant is
/// billed for it (the sell price), in exact decimal arithmetic. The sell price is the deployment's, else the model's,
/// else the catalog's default markup on cost (<c>pricing.markup</c>, 0 by default: the tenant pays the cost).
/// Prompt tokens read from or written to the vendor's prompt cache are priced at the cache's prices where the catalog
/// sets them, else as fresh input. A request whose prompt exceeds the threshold of a long-context tier
/// (<see cref="LongContextPrice"/>, the vendor's or the sell price's) is priced wholly at the tier. The vendor's web searches
/// are priced per thousand beside the tokens. A request of a batch is billed its live price less the batch discount in force
/// (<see cref="BatchRevenue"/>); it costs what a live one does, since Corridor runs it against the vendor's real-time API.
/// </summary>
public static class PriceBook
{
    internal const decimal TokensPerPriceUnit = 1_000_000m;

    /// <summary>Per-use prices (web searches) are per thousand uses, as the vendors quote them ("$10 per 1,000 searches").</summary>
    private const decimal UsesPerPriceUnit = 1_000m;

    public static decimal Cost(DeploymentConfig deployment, long inputTokens, long outputTokens) =>
        Cost(deployment, new BilledTokens(inputTokens, outputTokens));

    public static decimal Cost(DeploymentConfig deployment, BilledTokens tokens)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var searches = Searches(tokens, deployment.WebSearchPricePerThousand);
        if (deployment.LongContext is { } tier && tier.Applies(tokens.Input))
        {
            return Price(tokens, tier) + searches;
        }
        return Price(tokens, deployment.InputPricePerMillion, deployment.OutputPricePerMillion,
            deployment.CacheReadPricePerMillion, deployment.CacheWritePricePerMillion, deployment.CacheWriteOneHourPricePerMillion) + searches;
    }

    public static decimal Revenue(DeploymentConfig deployment, ModelConfig model, decimal defaultMarkup, long inputTokens, long outputTokens) =>
        Revenue(deployment, model, defaultMarkup, new BilledTokens(inputTokens, outputTokens));

    public static decimal Revenue(DeploymentConfig deployment, ModelConfig model, decimal defaultMarkup, BilledTokens tokens)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(model);
        var sell = deployment.Sell ?? model.Sell;
        if (sell is { InputPerMillion: { } input, OutputPerMillion: { } output })
        {
            // A search the sell price does not price is billed at what it cost.
            var searches = Searches(tokens, sell.WebSearchPerThousand ?? deployment.WebSearchPricePerThousand);
            if (sell.LongContext is { } tier && tier.Applies(tokens.Input))
            {
                return Price(tokens, tier) + searches;
            }
            return Price(tokens, input, output, sell.CacheReadPerMillion, sell.CacheWritePerMillion, sell.CacheWriteOneHourPerMillion) + searches;
        }
        var markup = sell?.Markup ?? defaultMarkup;
        return Cost(deployment, tokens) * (1m + markup);
    }

    /// <summary>
    /// What a request of a batch is billed: its live price (<see cref="Revenue(DeploymentConfig, ModelConfig, decimal, BilledTokens)"/>) times one less the batch discount in force
    /// (<see cref="BatchDiscount"/>), every kind of token alike, in exact decimals.
    /// </summary>
    public static decimal BatchRevenue(DeploymentConfig deployment, ModelConfig model, decimal defaultMarkup, decimal defaultBatchDiscount, BilledTokens tokens) =>
        Revenue(deployment, model, defaultMarkup, tokens) * (1m - BatchDiscount(deployment, model, defaultBatchDiscount));

    /// <summary>The batch discount of the deployment's sell price, else of the model's, else <paramref name="defaultBatchDiscount"/>.</summary>
    public static decimal BatchDiscount(DeploymentConfig deployment, ModelConfig model, decimal defaultBatchDiscount)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(model);
        return deployment.Sell?.BatchDiscount ?? model.Sell?.BatchDiscount ?? defaultBatchDiscount;
    }

    /// <summary>The most <paramref name="inputTokens"/> and <paramref name="outputTokens"/> can cost on <paramref name="deployment"/>, whatever the prompt cache does.</summary>
    public static decimal WorstCost(DeploymentConfig deployment, long inputTokens, long outputTokens) =>
        WorstCostTimesMillion(deployment, inputTokens, outputTokens) / TokensPerPriceUnit;

    /// <summary>
    /// <see cref="WorstCost"/> before the division by a million every cost shares: every prompt token at the dearest input
    /// price, the long-context tier's too when <paramref name="inputTokens"/> exceeds its threshold (the whole request is
    /// then priced at the tier, whichever of the two prices is higher).
    /// </summary>
    public static decimal WorstCostTimesMillion(DeploymentConfig deployment, long inputTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var input = deployment.DearestInputPricePerMillion;
        var output = deployment.OutputPricePerMillion;
        if (deployment.LongContext is { } tier && tier.Applies(inputTokens))
        {
            input = Math.Max(input, tier.DearestInputPerMillion);
            output = Math.Max(output, tier.OutputPerMillion);
        }
        return (inputTokens * input) + (outputTokens * output);
    }

    /// <summary>The vendor's web searches at <paramref name="pricePerThousand"/> (nothing where none is set).</summary>
    private static decimal Searches(BilledTokens tokens, decimal? pricePerThousand) =>
        tokens.WebSearches > 0 && pricePerThousand is { } price ? tokens.WebSearches * price / UsesPerPriceUnit : 0m;

    private static decimal Price(BilledTokens tokens, LongContextPrice tier) =>
        Price(tokens, tier.InputPerMillion, tier.OutputPerMillion, tier.CacheReadPerMillion, tier.CacheWritePerMillion, tier.CacheWriteOneHourPerMillion);

    /// <summary>
    /// The tokens at one set of prices, however the price book names them (a deployment's, a sell price's, a long-context
    /// tier's): a cache read or write without a price of its own is fresh input, a one-hour write without one a write.
    /// </summary>
    private static decimal Price(BilledTokens tokens, decimal input, decimal output, decimal? cacheRead, decimal? cacheWrite, decimal? cacheWriteOneHour)
    {
        var write = cacheWrite ?? input;
        return ((tokens.FreshInput * input) + (tokens.CacheRead * (cacheRead ?? input)) + (tokens.CacheWriteFiveMinutes * write)
            + (tokens.CacheWriteOneHour * (cacheWriteOneHour ?? write)) + (tokens.Output * output))
            / TokensPerPriceUnit;
    }
}
