using System.ClientModel.Primitives;
using System.Collections.Concurrent;

namespace Corridor.Testing;

/// <summary>What the gateway said about one response in its own headers, and every header (names in lowercase).</summary>
public sealed record ObservedResponse(int Status, string? RequestId, string? Region)
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>A header of a response the OpenAI SDK received, or null.</summary>
public static class PipelineHeaders
{
    public static string? Header(this PipelineResponseHeaders headers, string name) => headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>
/// Records the status and Corridor headers of every response an SDK client receives, so tests can check
/// <c>x-corridor-request-id</c> and <c>x-corridor-region</c> (and find the ledger row) even for streams and errors,
/// where the SDKs do not hand the raw response back.
/// </summary>
public sealed class ResponseLog
{
    private readonly ConcurrentQueue<ObservedResponse> _responses = new();

    public IReadOnlyList<ObservedResponse> Responses => [.. _responses];

    public ObservedResponse Last => _responses.LastOrDefault() ?? throw new InvalidOperationException("no response was recorded");

    /// <summary>A pipeline policy for the OpenAI SDK (<c>OpenAIClientOptions.AddPolicy</c>).</summary>
    internal PipelinePolicy CreateOpenAIPolicy() => new OpenAIPolicy(this);

    /// <summary>A handler for the Anthropic SDK (<c>AnthropicClient.Handlers</c>); each client needs its own.</summary>
    internal DelegatingHandler CreateHandler() => new Handler(this);

    private void Add(int status, string? requestId, string? region, IEnumerable<KeyValuePair<string, string>> headers) =>
        _responses.Enqueue(new ObservedResponse(status, requestId, region)
        {
            Headers = headers.GroupBy(h => h.Key.ToLowerInvariant()).ToDictionary(g => g.Key, g => g.First().Value),
        });

    private sealed class OpenAIPolicy(ResponseLog log) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            ProcessNext(message, pipeline, currentIndex);
            Record(message);
        }

        public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            await ProcessNextAsync(message, pipeline, currentIndex).ConfigureAwait(false);
            Record(message);
        }

        private void Record(PipelineMessage message)
        {
            if (message.Response is { } response)
            {
                response.Headers.TryGetValue("x-corridor-request-id", out var requestId);
                response.Headers.TryGetValue("x-corridor-region", out var region);
                log.Add(response.Status, requestId, region, response.Headers);
            }
        }
    }

    private sealed class Handler(ResponseLog log) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            log.Add((int)response.StatusCode, Header(response, "x-corridor-request-id"), Header(response, "x-corridor-region"),
                response.Headers.Concat(response.Content.Headers).Select(h => new KeyValuePair<string, string>(h.Key, string.Join(",", h.Value))));
            return response;
        }

        private static string? Header(HttpResponseMessage response, string name) =>
            response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
    }
}
