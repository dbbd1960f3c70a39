using Corridor.Core.Pricing;
using Corridor.Gateway.Pipeline;

namespace Corridor.Gateway.Metering;

/// <summary>
/// Settles a served request: tokens from the upstream's usage (estimated when it reported none), the operator's cost and
/// the tenant's price from the price book.
/// </summary>
internal static class Meter
{
    public static void Settle(CorridorRequestFeature call)
    {
        if (!call.Served || call.Deployment is not { } deployment)
        {
            return;
        }
        var usage = call.Usage;
        call.Estimated = usage.EstimateIfMissing(call.Request?.Length ?? 0);
        call.Cost = PriceBook.Cost(deployment.Config, usage.InputTokens, usage.OutputTokens);
        call.Revenue = PriceBook.Revenue(deployment.Config, deployment.Model, call.Config.Config.Catalog.DefaultMarkup, usage.InputTokens, usage.OutputTokens);
    }
}
