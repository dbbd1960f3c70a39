using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A stream cut mid-way (the simulator's <c>disconnect=5</c>) ends with the same error in each client dialect whether
/// it was translated or not. A gateway of their own: each cut counts against its deployment's breaker, which
/// <see cref="FaultTests"/> must find closed.
/// </summary>
public sealed class CutStreamTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Theory]
    [InlineData("cut-stream")]
    [InlineData("cut-stream-claude")]
    public async Task CutStream_EndsTheRawOpenAIStreamWithAnErrorEvent_AndNoDone(string model)
    {
        // The same error whether the stream was translated (an Anthropic upstream's) or not.
        var (events, _) = await StreamAsync("/v1/chat/completions", $$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"Hello, cut."}]}""");

        Assert.DoesNotContain(events, e => e.Data == "[DONE]");
        using var last = JsonDocument.Parse(events[^1].Data);
        var error = last.RootElement.GetProperty("error");
        Assert.Equal("api_error", error.GetProperty("type").GetString());
        Assert.Equal("upstream_stream_broken", error.GetProperty("code").GetString());
        Assert.Equal("The upstream stream ended before it was complete.", error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("cut-stream")]
    [InlineData("cut-stream-claude")]
    public async Task CutStream_EndsTheRawResponsesStreamWithResponseFailed_AndTheRowSaysTheStreamBroke(string model)
    {
        // An Anthropic upstream's stream is translated twice (into chat chunks, then Responses events): the same error.
        var (events, requestId) = await StreamAsync("/v1/responses", $$"""{"model":"{{model}}","stream":true,"store":false,"input":"Hello, cut."}""");

        Assert.Equal(["error", "response.failed"], events[^2..].Select(e => e.Name));
        using (var error = JsonDocument.Parse(events[^2].Data))
        {
            Assert.Equal("The upstream stream ended before it was complete.", error.RootElement.GetProperty("message").GetString());
        }
        var row = await Live.LedgerRowAsync(requestId);
        Assert.Equal((RequestOutcome.UpstreamError, "upstream_stream_broken"), (row.Outcome, row.ErrorCode));
    }

    [Theory]
    [InlineData("cut-stream-claude")]
    [InlineData("cut-stream")]
    public async Task CutStream_EndsTheRawAnthropicStreamWithAnErrorEvent_ItsRequestId_AndNoMessageStop(string model)
    {
        // The same error whether the stream was translated (an OpenAI-kind upstream's) or not.
        var (events, requestId) = await StreamAsync("/v1/messages",
            $$"""{"model":"{{model}}","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hello, cut."}]}""");

        Assert.DoesNotContain(events, e => e.Name == "message_stop");
        Assert.Equal("error", events[^1].Name);
        using var last = JsonDocument.Parse(events[^1].Data);
        Assert.Equal("error", last.RootElement.GetProperty("type").GetString());
        var error = last.RootElement.GetProperty("error");
        Assert.Equal("api_error", error.GetProperty("type").GetString());
        Assert.Equal("The upstream stream ended before it was complete.", error.GetProperty("message").GetString());
        Assert.Equal(requestId, last.RootElement.GetProperty("request_id").GetString());
    }

    /// <summary>Posts a streamed request (an Anthropic client's to <c>/v1/messages</c>) and reads every event, with the answer's request id.</summary>
    private async Task<(List<ServerSentEvent> Events, string RequestId)> StreamAsync(string path, string body)
    {
        using var http = Live.Http();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        if (path == "/v1/messages")
        {
            request.Headers.Add("anthropic-version", "2023-06-01");
        }
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        return (await ServerSentEvents.ReadAllAsync(response, timeout.Token), response.Headers.GetValues("x-corridor-request-id").Single());
    }
}
