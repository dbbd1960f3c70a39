using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Corridor.Core.Policy;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// Applies a Decision's restrictions to the request before it is forwarded: caps <c>max_tokens</c> (or
/// <c>max_completion_tokens</c>, setting the cap when the client sent none), lowers <c>n</c>, and removes
/// <c>logprobs</c>/<c>top_logprobs</c>. Only restricted requests pay for the rewrite. Serves policy restrictions and the
/// monitor's <c>throttle</c> alike.
/// </summary>
internal static class RequestRestrictions
{
    public static ClientRequest Apply(ClientRequest request, Restrictions restrictions, Operation operation)
    {
        if (restrictions.IsNone || JsonNode.Parse(request.Body.Span) is not JsonObject body)
        {
            return request;
        }
        if (restrictions.MaxTokens is { } cap)
        {
            var field = body.ContainsKey("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
            if (request.MaxTokens is null || request.MaxTokens > cap)
            {
                body[field] = cap;
            }
        }
        if (restrictions.N is { } n && request.N > n)
        {
            body["n"] = n;
        }
        if (restrictions.StripLogprobs)
        {
            body.Remove("logprobs");
            body.Remove("top_logprobs");
        }
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, JsonNodeContext.Default.JsonObject);
        var buffer = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(buffer, 0);
        // The client's own request stays with the rewritten one (and is returned to the pool with it): the monitor observes what was asked.
        var restricted = new ClientRequest(buffer, bytes.Length) { RewrittenFrom = request };
        RequestParser.Parse(restricted, operation);
        return restricted;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonObject))]
internal sealed partial class JsonNodeContext : System.Text.Json.Serialization.JsonSerializerContext;
