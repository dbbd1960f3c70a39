using System.Buffers;
using Corridor.Core.Catalog;
using Corridor.Core.Policy;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// What a request recorded in the ledger asked for, read by the front door's own parser, so that a what-if over recorded
/// traffic (<c>corridor policy diff</c>) decides on the features the gateway decided on.
/// </summary>
public static class RecordedRequest
{
    /// <summary>
    /// The features <paramref name="body"/> asks of <paramref name="model"/>, as the front door reads a request to
    /// <paramref name="endpoint"/> (a Responses row keeps the chat request it became); none for a body it would refuse.
    /// </summary>
    public static RequestFeatures FeaturesOf(ReadOnlySpan<byte> body, string model, string endpoint) => FeaturesOf(body, model, endpoint, out _);

    /// <summary>
    /// The features, and in <paramref name="needs"/> the capabilities beyond chat a model must have to serve the request
    /// (<see cref="ClientRequest.Needs"/>), which narrow an alias to its models that can.
    /// </summary>
    public static RequestFeatures FeaturesOf(ReadOnlySpan<byte> body, string model, string endpoint, out ModelCapabilities needs)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(body.Length);
        body.CopyTo(buffer);
        using var request = new ClientRequest(buffer, body.Length);
        var operation = endpoint == Operation.Messages.Endpoint() ? Operation.Messages : Operation.ChatCompletions;
        if (RequestParser.Parse(request, operation) is not null)
        {
            needs = ModelCapabilities.None;
            return new RequestFeatures(model);
        }
        needs = request.Needs;
        return request.Features(model);
    }
}
