using System.ClientModel;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Corridor.Core.Metering;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// Fallback among deployments and upstreams that fail in each way the simulator can: 503, 429, 500 and a refused
/// connection, a 200 that is not JSON, and a stream cut mid-way. Clients see errors in their own dialect.
/// </summary>
public sealed class FaultTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task Flaky_IsServedFromJpEast_AfterTheFirstDeploymentAnswers503()
    {
        var before = await Live.SimulatorRequestsAsync();

        var result = await Live.OpenAI().GetChatClient("flaky").CompleteChatAsync([new UserChatMessage("Hello, flaky.")], null, default).WithTimeout();

        Assert.False(string.IsNullOrWhiteSpace(result.Value.Content[0].Text));
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-corridor-region", out var region));
        Assert.Equal("jp-east", region);
        var after = await Live.SimulatorRequestsAsync();
        Assert.Equal(Count(before, "/x/status=503/v1/chat/completions") + 1, Count(after, "/x/status=503/v1/chat/completions"));
        Assert.Equal(Count(before, "/v1/chat/completions") + 1, Count(after, "/v1/chat/completions"));
        Assert.True(headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.Equal("jp-east", row.Region);
        LedgerAssert.Billed(Live, row, "flaky-jp", result.Value.Usage.InputTokenCount, result.Value.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Throttled_IsServedByTheSecondDeployment_AfterTheFirstAnswers429()
    {
        var before = await Live.SimulatorRequestsAsync();

        var result = await Live.OpenAI().GetChatClient("throttled").CompleteChatAsync([new UserChatMessage("Hello, throttled.")], null, default).WithTimeout();

        Assert.False(string.IsNullOrWhiteSpace(result.Value.Content[0].Text));
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-corridor-region", out var region));
        Assert.Equal("us-east", region);
        var after = await Live.SimulatorRequestsAsync();
        Assert.Equal(Count(before, "/x/rate429=1/v1/chat/completions") + 1, Count(after, "/x/rate429=1/v1/chat/completions"));
        Assert.True(headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        LedgerAssert.Billed(Live, row, "throttled-us", result.Value.Usage.InputTokenCount, result.Value.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Dead_AnswersTheOpenAIClient502InItsDialect_AndTheGatewayKeepsServing()
    {
        var before = await Live.SimulatorRequestsAsync();

        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI().GetChatClient("dead").CompleteChatAsync([new UserChatMessage("Hello, dead.")], null, default).WithTimeout());

        Assert.Equal(502, error.Status);
        var response = error.GetRawResponse()!;
        using (var body = JsonDocument.Parse(response.Content))
        {
            var detail = body.RootElement.GetProperty("error");
            Assert.Equal("api_error", detail.GetProperty("type").GetString());
            Assert.Equal("upstream_unreachable", detail.GetProperty("code").GetString());
            Assert.Contains("'dead'", detail.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        // Both deployments were tried: the simulator's 500 first, then the refused connection.
        var after = await Live.SimulatorRequestsAsync();
        Assert.Equal(Count(before, "/x/status=500/v1/chat/completions") + 1, Count(after, "/x/status=500/v1/chat/completions"));
        Assert.True(response.Headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        Assert.Equal(502, row.Status);
        LedgerAssert.NotBilled(row);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("dead-claude")]
    [InlineData("dead")]
    public async Task Dead_AnswersTheAnthropicClient502InItsDialect_AndTheGatewayKeepsServing(string model)
    {
        var log = new ResponseLog();

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask(model, "Hello, dead.")).WithTimeout());

        Assert.Equal(502, (int)error.StatusCode);
        using (var body = JsonDocument.Parse(error.ResponseBody))
        {
            Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
            Assert.Equal("api_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains($"'{model}'", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        LedgerAssert.NotBilled(row);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Garbage_AnswersTheOpenAIClient502_SayingTheUpstreamResponseWasInvalid()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI().GetChatClient("garbage").CompleteChatAsync([new UserChatMessage("Hello, garbage.")], null, default).WithTimeout());

        Assert.Equal(502, error.Status);
        var response = error.GetRawResponse()!;
        using (var body = JsonDocument.Parse(response.Content))
        {
            var detail = body.RootElement.GetProperty("error");
            Assert.Equal("upstream_invalid_response", detail.GetProperty("code").GetString());
            Assert.Equal("The upstream for model 'garbage' returned an invalid response.", detail.GetProperty("message").GetString());
        }
        Assert.True(response.Headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        LedgerAssert.NotBilled(row);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("garbage-claude")]
    [InlineData("garbage")]
    public async Task Garbage_AnswersTheAnthropicClient502_SayingTheUpstreamResponseWasInvalid(string model)
    {
        var log = new ResponseLog();

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask(model, "Hello, garbage.")).WithTimeout());

        Assert.Equal(502, (int)error.StatusCode);
        using (var body = JsonDocument.Parse(error.ResponseBody))
        {
            Assert.Equal("api_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal($"The upstream for model '{model}' returned an invalid response.", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        }
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        LedgerAssert.NotBilled(row);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData("cut-stream", "cut-sg")]
    [InlineData("cut-stream-claude", "cut-claude-us")]
    public async Task CutStream_EndsTheOpenAIClientsStreamWithoutAFinishReason_AndTheLedgerMarksItEstimated(string model, string deployment)
    {
        var log = new ResponseLog();

        // The OpenAI .NET SDK (2.15) does not throw on the error event the gateway sends after a cut:
        // its stream just ends, with neither a finish reason nor usage.
        var updates = await Live.OpenAI(log: log).GetChatClient(model)
            .CompleteChatStreamingAsync([new UserChatMessage("Hello, cut.")], null, default).ToListWithTimeoutAsync();

        var text = string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text));
        Assert.Equal(FirstFiveTokens, text);
        Assert.DoesNotContain(updates, u => u.FinishReason is not null);
        Assert.DoesNotContain(updates, u => u.Usage is not null);
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        Assert.Equal("upstream_stream_broken", row.ErrorCode);
        Assert.True(row.Estimated);
        // No final usage came: the output is what the client received, counted with the tokenizer (o200k_base).
        Assert.Equal(Corridor.Gateway.Metering.TokenCounter.Count(text), row.OutputTokens);
        Assert.True(row.InputTokens > 0);
        LedgerAssert.Billed(Live, row, deployment, row.InputTokens, row.OutputTokens);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task CutStream_OfAPromptEstimatedAboveTheModelsContextWindow_IsBilledAtMostTheWindow()
    {
        // cut-stream's window is 8,192 tokens: the upstream accepted the prompt, so it was no longer than that, however long
        // Corridor's estimate of it (here its text, as a PDF's pages or an audio clip's base64 can be) comes out.
        var log = new ResponseLog();
        var prompt = string.Concat(Enumerable.Repeat("word ", 12_000));

        await Live.OpenAI(log: log).GetChatClient("cut-stream")
            .CompleteChatStreamingAsync([new UserChatMessage(prompt)], null, default).ToListWithTimeoutAsync();

        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.True(row.Estimated);
        Assert.Equal(8192, row.InputTokens);
        LedgerAssert.Billed(Live, row, "cut-sg", row.InputTokens, row.OutputTokens);
    }

    [Theory]
    [InlineData("cut-stream-claude", "cut-claude-us")]
    [InlineData("cut-stream", "cut-sg")]
    public async Task CutStream_RaisesAnSseErrorInTheAnthropicClient_AndTheLedgerMarksItEstimated(string model, string deployment)
    {
        var log = new ResponseLog();
        var events = new List<RawMessageStreamEvent>();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);

        var error = await Assert.ThrowsAsync<AnthropicSseException>(async () =>
        {
            await foreach (var e in Live.Anthropic(log: log).Messages.CreateStreaming(AnthropicDialectTests.Ask(model, "Hello, cut."), timeout.Token))
            {
                events.Add(e);
            }
        });

        Assert.Contains("api_error", error.Message, StringComparison.Ordinal);
        Assert.Contains("The upstream stream ended before", error.Message, StringComparison.Ordinal);
        Assert.True(events[0].TryPickStart(out _));
        Assert.DoesNotContain(events, e => e.TryPickStop(out _) || e.TryPickDelta(out _));
        var text = string.Concat(events.Select(e => e.TryPickContentBlockDelta(out var d) && d.Delta.TryPickText(out var t) ? t.Text : ""));
        Assert.Equal(FirstFiveTokens, text);
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        Assert.Equal("upstream_stream_broken", row.ErrorCode);
        Assert.True(row.Estimated);
        Assert.Equal(Corridor.Gateway.Metering.TokenCounter.Count(text), row.OutputTokens);
        Assert.True(row.InputTokens > 0);
        LedgerAssert.Billed(Live, row, deployment, row.InputTokens, row.OutputTokens);
        await AssertStillServingAsync();
    }

    private async Task AssertStillServingAsync()
    {
        var completion = (await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Still there?")], null, default).WithTimeout()).Value;
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        var message = await Live.Anthropic().Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "Still there?")).WithTimeout();
        Assert.Equal("end_turn", message.StopReason?.Raw());
    }

    /// <summary>The simulator cuts these deployments' streams after five tokens, which always open an answer so.</summary>
    private const string FirstFiveTokens = "Simulated response from the Corridor";

    private static long Count(IReadOnlyDictionary<string, long> requests, string path) => requests.TryGetValue(path, out var count) ? count : 0;
}
