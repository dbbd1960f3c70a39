using Corridor.Core.Admission;
using Corridor.Core.Pricing;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;

namespace Corridor.Gateway.Metering;

/// <summary>
/// Settles a served request: tokens from the upstream's usage (estimated with a tokenizer when it reported none, and
/// marked so), cost from the price book. An estimate of the output never exceeds what the request allowed
/// (<c>max_tokens</c> times <c>n</c>, or the model's cap), so an estimated row never costs more than admission reserved.
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
        var request = call.Request;
        var maxOutput = request is null || call.Operation == Operation.Embeddings
            ? 0
            : Reservation.OutputTokens(request.MaxTokens, request.N,
                deployment.Model.DefaultMaxOutputTokens ?? call.Config.Config.Admission.DefaultMaxOutputTokens);
        call.Estimated = usage.EstimateIfMissing(request is null ? default : request.Body.Span, maxOutput);
        call.Cost = PriceBook.Cost(deployment.Config, usage.InputTokens, usage.OutputTokens);
    }
}
