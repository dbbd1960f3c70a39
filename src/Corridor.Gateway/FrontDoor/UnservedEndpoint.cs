using Corridor.Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// A request under <c>/v1</c> that no endpoint serves, answered in the client's dialect as its vendor would: 404 for a
/// path Corridor does not serve (<c>POST /v1/responses/{id}/cancel</c>, say), 405 with <c>Allow</c> for a served path asked with
/// another method. Without it the client's SDK got a bare status with no body to read. The served paths and their
/// methods are read from the endpoints mapped, so this never disagrees with them.
/// </summary>
internal sealed class UnservedEndpoint(EndpointDataSource endpoints, TimeProvider time)
{
    /// <summary>
    /// OpenAI's endpoints Corridor does not serve whose path a served one's pattern takes (<c>/v1/responses/{id}</c>), and
    /// what each does: answered as not served, not as a method the path is not served for (405) or a response not found.
    /// </summary>
    private static readonly (string Method, string Path, string What)[] NotServed =
    [
        ("POST", "/v1/responses/input_tokens", "Counting a Responses request's input tokens"),
        ("POST", "/v1/responses/compact", "Compacting a Responses conversation"),
    ];

    private IReadOnlyList<(RoutePattern Pattern, IReadOnlyList<string> Methods)>? _served;

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        RequestPipeline.WriteRequestId(context.Response, RequestPipeline.NewRequestId(time.GetUtcNow()));
        context.Response.Headers["x-corridor-region"] = "none";
        var methods = MethodsFor(path);
        GatewayError error;
        if (NotServedEndpoint(request.Method, path) is { } what)
        {
            error = new GatewayError(ErrorKind.NotFound, $"{what} ({request.Method} {path}) is not served by Corridor. "
                + "A response's usage.input_tokens counts the input it was served.", "endpoint_not_served");
        }
        else if (methods.Count == 0 && path.StartsWith("/v1/responses/", StringComparison.OrdinalIgnoreCase))
        {
            // Cancelling a response (only a background one can be), or another path under a response: OpenAI's answer for a
            // response it does not have. Corridor makes no background responses.
            error = new GatewayError(ErrorKind.NotFound, $"Response not found: Corridor serves GET and DELETE /v1/responses/{{id}} and GET /v1/responses/{{id}}/input_items, and makes no background responses to cancel ({request.Method} {path}).", "response_not_found");
        }
        else if (methods.Count == 0)
        {
            error = new GatewayError(ErrorKind.NotFound, $"Invalid URL ({request.Method} {path}): Corridor serves POST /v1/chat/completions, POST /v1/responses, POST /v1/messages, POST /v1/messages/count_tokens, POST /v1/embeddings, GET /v1/models, GET /v1/usage, "
                + "and the batch APIs: /v1/files and /v1/batches (OpenAI), /v1/messages/batches (Anthropic).", "unknown_url");
        }
        else
        {
            var allowed = string.Join(", ", methods);
            context.Response.Headers.Allow = allowed;
            error = new GatewayError(ErrorKind.InvalidRequest, $"Invalid method for URL ({request.Method} {path}): it is served for {allowed}.", "method_not_allowed") { StatusOverride = 405 };
        }
        return RequestPipeline.WriteErrorAsync(context, ClientDialect.Of(request), error, requestId: null);
    }

    private static string? NotServedEndpoint(string method, string path)
    {
        foreach (var endpoint in NotServed)
        {
            if (endpoint.Method.Equals(method, StringComparison.OrdinalIgnoreCase) && endpoint.Path.Equals(path.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
            {
                return endpoint.What;
            }
        }
        return null;
    }

    private List<string> MethodsFor(string path)
    {
        _served ??= endpoints.Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() is { HttpMethods.Count: > 0 })
            .Select(e => (e.RoutePattern, e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods))
            .ToList();
        return _served.Where(e => Matches(e.Pattern, path)).SelectMany(e => e.Methods).Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Literal segments compared as routing compares them; a parameter takes one segment, a catch-all the rest.</summary>
    private static bool Matches(RoutePattern pattern, string path)
    {
        var segments = path.Trim('/').Split('/');
        for (var i = 0; i < pattern.PathSegments.Count; i++)
        {
            var parts = pattern.PathSegments[i].Parts;
            if (parts is [RoutePatternParameterPart { IsCatchAll: true }])
            {
                return true;
            }
            if (i >= segments.Length)
            {
                return false;
            }
            var literal = parts is [RoutePatternLiteralPart part] ? part.Content : null;
            if (literal is not null ? !literal.Equals(segments[i], StringComparison.OrdinalIgnoreCase) : parts is not [RoutePatternParameterPart])
            {
                return false;
            }
        }
        return segments.Length == pattern.PathSegments.Count;
    }
}
