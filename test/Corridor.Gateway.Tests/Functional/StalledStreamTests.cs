using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// An upstream that sends a few tokens and then goes silent with the connection open (the simulator's <c>stall</c> knob):
/// the gateway's stream idle timeout ends the client's stream with an error event, and the ledger bills what was
/// received, marked as estimated, with the timeout as its outcome.
/// </summary>
public sealed class StalledStreamTests
{
    [Fact]
    public async Task AStalledStream_EndsAtTheIdleTimeout_WithAnErrorEvent_AndIsBilledAsEstimated()
    {
        await using var live = await StartAsync();
        var (response, events) = await StreamAsync(live, "/v1/chat/completions", """{"model":"stalled-stream","stream":true,"messages":[{"role":"user","content":"Hello, stall."}]}""");
        using var _ = response;

        Assert.DoesNotContain(events, e => e.Data == "[DONE]");
        var text = string.Concat(events.Take(events.Count - 1).Select(e =>
        {
            using var chunk = JsonDocument.Parse(e.Data);
            var choices = chunk.RootElement.GetProperty("choices");
            return choices.GetArrayLength() > 0 && choices[0].GetProperty("delta").TryGetProperty("content", out var piece) ? piece.GetString() : "";
        }));
        Assert.NotEmpty(text);
        using (var last = JsonDocument.Parse(events[^1].Data))
        {
            Assert.True(last.RootElement.TryGetProperty("error", out var error), "the stream should end with an error event");
            Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        }
        Assert.True(response.Headers.TryGetValues("x-corridor-request-id", out var ids));
        var row = await live.LedgerRowAsync(ids.Single());
        Assert.Equal(RequestOutcome.Timeout, row.Outcome);
        Assert.True(row.Estimated);
        Assert.Equal(Corridor.Gateway.Metering.TokenCounter.Count(text), row.OutputTokens);
        Assert.True(row.InputTokens > 0);
        Assert.Equal((row.InputTokens + row.OutputTokens) / 1_000_000m, row.Cost);
    }

    [Fact]
    public async Task AStalledStream_EndsAResponsesStreamWithErrorAndResponseFailed_AndIsBilledAsEstimated()
    {
        await using var live = await StartAsync();
        var (response, events) = await StreamAsync(live, "/v1/responses", """{"model":"stalled-stream","stream":true,"input":"Hello, stall."}""");
        using var _ = response;

        // Every event of a Responses stream is named and numbered, the error ones too: the SDKs read them by their type.
        Assert.All(events, e => Assert.NotNull(e.Name));
        Assert.Equal(["error", "response.failed"], events.TakeLast(2).Select(e => e.Name));
        for (var i = 0; i < events.Count; i++)
        {
            using var data = JsonDocument.Parse(events[i].Data);
            Assert.Equal(events[i].Name, data.RootElement.GetProperty("type").GetString());
            Assert.Equal(i, data.RootElement.GetProperty("sequence_number").GetInt32());
        }
        var text = string.Concat(events.Where(e => e.Name == "response.output_text.delta")
            .Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("delta").GetString()));
        Assert.NotEmpty(text);
        using (var failed = JsonDocument.Parse(events[^1].Data))
        {
            var answer = failed.RootElement.GetProperty("response");
            Assert.Equal("failed", answer.GetProperty("status").GetString());
            Assert.False(string.IsNullOrEmpty(answer.GetProperty("error").GetProperty("message").GetString()));
            Assert.Equal(text, answer.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        }
        Assert.True(response.Headers.TryGetValues("x-corridor-request-id", out var ids));
        var row = await live.LedgerRowAsync(ids.Single());
        Assert.Equal((RequestOutcome.Timeout, "upstream_timeout", true), (row.Outcome, row.ErrorCode, row.Estimated));
        Assert.Equal(Corridor.Gateway.Metering.TokenCounter.Count(text), row.OutputTokens);
    }

    /// <summary>
    /// A gateway with the model stalled-stream, whose simulator stalls after a few tokens. The catalog's idle timeout (5 s),
    /// not a shorter one: the simulator writes its tokens one by one after the headers, and on a machine loaded many times
    /// over its cores a 1 s timeout ended the stream before any text was relayed. The timeout only has to come after the
    /// tokens; coming later is no failure.
    /// </summary>
    private static Task<LiveGateway> StartAsync() => LiveGateway.StartAsync(sim => TestCatalog.Yaml(sim)
        .Replace("deployments:\n", "deployments:\n  - { id: stalled-sg, model: stalled-stream, region: sg, endpoint: \"" + sim.ToString().TrimEnd('/') + "/x/stall=3/v1\", price: { input: 1, output: 1 } }\n", StringComparison.Ordinal)
        .Replace("models:\n", "models:\n  - { id: stalled-stream, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n", StringComparison.Ordinal)).WithTimeout();

    private static async Task<(HttpResponseMessage Response, List<ServerSentEvent> Events)> StreamAsync(LiveGateway live, string path, string body)
    {
        using var http = live.Http();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        return (response, await ServerSentEvents.ReadAllAsync(response, timeout.Token));
    }
}
