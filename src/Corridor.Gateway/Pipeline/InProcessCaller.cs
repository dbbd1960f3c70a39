using Corridor.Core.Tenants;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// Set on a request Corridor makes itself on a key's behalf (a batch's request, docs/batches.md), on a context of its own
/// that it runs through the same <see cref="RequestPipeline"/> as a client's: the key it runs as, authenticated by the key
/// as the cache holds it now (revoked since, it is refused), and the request id it is recorded under. A client cannot set
/// it: features are not reachable from the wire. <see cref="ReceivedAt"/>, when given, is the time the request is recorded
/// at instead of now (a batch request run again after a crash is recorded as its first run was, so the ledger keeps one).
/// <see cref="BatchId"/>: the batch the request is one of (policy can refuse batches, <c>features: batch: deny</c>).
/// </summary>
internal sealed record InProcessCaller(ApiKey? Key, string RequestId, DateTimeOffset? ReceivedAt = null, string? BatchId = null)
{
    /// <summary>
    /// The <c>anthropic-beta</c> names the request is made with (those a message batch was made with), in place of the
    /// header a client's request would carry: an Anthropic-kind upstream is sent those its vendor enables. Null when none.
    /// </summary>
    public string[]? AnthropicBetas { get; init; }
}
