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
/// than admission reserved. A request of a batch is billed at the batch price (the sell price less the batch discount)
/// and costs what a live one does.
/// </summary>
internal static class Meter
{
    /// <summary>
    /// Text above this size is tokenized on a thread-pool thread: at about 30 µs a KiB (TokenCounterBenchmarks), an
    /// estimate of a large prompt on the socket's event thread would hold every connection that thread serves for
    /// milliseconds (GatewayHost.PreferInlineSocketCompletions).
    /// </summary>
    internal const int InlineEstimateSize = 4 * 1024;

    /// <summary>
    /// <see cref="Settle"/>, moved off the calling thread first when it must estimate more than
    /// <see cref="InlineEstimateSize"/> of text; completes at once otherwise (every request whose upstream reported usage).
    /// </summary>
    public static ValueTask SettleAsync(CorridorRequestFeature call)
    {
        if (call.Served && call.Usage.EstimateSize(call.Request?.Body.Length ?? 0) > InlineEstimateSize)
        {
            return SettleOffThreadAsync(call);
        }
        Settle(call);
        return ValueTask.CompletedTask;
    }

    private static async ValueTask SettleOffThreadAsync(CorridorRequestFeature call)
    {
        await Task.Yield();
        Settle(call);
    }

    private static void Settle(CorridorRequestFeature call)
    {
        if (!call.Served || call.Deployment is not { } deployment)
        {
            return;
        }
        var usage = call.Usage;
        var request = call.Request;
        call.Estimated = usage.EstimateIfMissing(request is null ? default : request.Body.Span,
            OutputCap(request, call.Operation, deployment.Model, call.Config.Config.Admission), InputCap(deployment.Model));
        var billed = usage.Billed;
        call.Cost = PriceBook.Cost(deployment.Config, billed);
        var catalog = call.Config.Config.Catalog;
        call.Revenue = call.Batch
            ? PriceBook.BatchRevenue(deployment.Config, deployment.Model, catalog.DefaultMarkup, catalog.DefaultBatchDiscount, billed)
            : PriceBook.Revenue(deployment.Config, deployment.Model, catalog.DefaultMarkup, billed);
        if (InferenceGeoDiffers(deployment.Config, usage))
        {
            // Served where the deployment's region does not say: the vendor's own word, kept on the row as evidence.
            call.ErrorCode ??= InferenceGeoMismatch;
        }
    }

    /// <summary>The ledger's code for an answer whose vendor says it ran the inference elsewhere than the deployment set (<see cref="DeploymentConfig.InferenceGeo"/>).</summary>
    public const string InferenceGeoMismatch = "inference_geo_mismatch";

    /// <summary>Whether the vendor says it ran the inference elsewhere than <paramref name="deployment"/> set; an answer that does not say is not judged.</summary>
    public static bool InferenceGeoDiffers(DeploymentConfig deployment, UsageMeter usage) =>
        deployment.InferenceGeo is { } set && usage.InferenceGeo is { } ran && !string.Equals(set, ran, StringComparison.Ordinal);

    /// <summary>The longest prompt the upstream could have taken: what an estimate of one never exceeds (its context window).</summary>
    public static long InputCap(ModelConfig model) => model.ContextWindow;

    /// <summary>The most output the upstream could have produced for <paramref name="request"/>: what an estimate never exceeds.</summary>
    public static long OutputCap(ClientRequest? request, Operation operation, ModelConfig model, AdmissionOptions admission) =>
        request is null || operation == Operation.Embeddings
            ? 0
            : Reservation.OutputTokens(request.MaxTokens, request.N, admission.DefaultOutputTokens(model));
}
