using Corridor.Core.Admission;
using Corridor.Core.Catalog;
using Corridor.Core.Pricing;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;

namespace Corridor.Gateway.Metering;

/// <summary>
/// Settles a served request: tokens from the upstream's usage (estimated with a tokenizer when it reported none, and
/// marked so), the operator's cost and the tenant's price from the price book. An estimate of the output never exceeds
/// what the request allowed (<c>max_tokens</c> times <c>n</c>, or the model's cap), so an estimated row never costs more
/// than admission reserved.
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
        call.Estimated = usage.EstimateIfMissing(request is null ? default : request.Body.Span,
            OutputCap(request, call.Operation, deployment.Model, call.Config.Config.Admission));
        call.Cost = PriceBook.Cost(deployment.Config, usage.InputTokens, usage.OutputTokens);
        call.Revenue = PriceBook.Revenue(deployment.Config, deployment.Model, call.Config.Config.Catalog.DefaultMarkup, usage.InputTokens, usage.OutputTokens);
    }

    /// <summary>The most output the upstream could have produced for <paramref name="request"/>: what an estimate never exceeds.</summary>
    public static long OutputCap(ClientRequest? request, Operation operation, ModelConfig model, AdmissionOptions admission) =>
        request is null || operation == Operation.Embeddings
            ? 0
            : Reservation.OutputTokens(request.MaxTokens, request.N, admission.DefaultOutputTokens(model));
}
