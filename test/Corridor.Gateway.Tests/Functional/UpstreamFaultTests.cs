using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Corridor.Core.Metering;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The test catalog plus one model per upstream fault the simulator's knobs (and a listener that never accepts) can
/// produce, with short timeouts: a stream idle timeout of two seconds and a connect timeout of one. Each model's first
/// deployment fails; where fallback is expected, a healthy second deployment (priority 2) serves.
/// </summary>
public sealed class UpstreamFaultGatewayFixture : LiveGatewayFixture
{
    private BlackholeListener? _blackhole;

    private TcpRelay? _relay;

    /// <summary>The relay in front of the <c>slow-whole</c> deployment's upstream.</summary>
    public TcpRelay Relay => _relay ?? throw new InvalidOperationException("the relay has not started");

    protected override Task<LiveGateway> StartAsync()
    {
        _blackhole = BlackholeListener.Start();
        return LiveGateway.StartAsync(sim =>
        {
            _relay = TcpRelay.Start(sim);
            return Yaml(sim, _blackhole.Address, _relay.Address);
        });
    }

    public static string Yaml(Uri simulator, Uri blackhole, Uri relay)
    {
        var sim = simulator.ToString().TrimEnd('/');
        var hole = blackhole.ToString().TrimEnd('/');
        var relayed = relay.ToString().TrimEnd('/');
        string[] models = ["all-429", "all-overloaded", "blackholed", "blackholed-only", "silent", "reset-early", "reset-body", "stalled-body", "truncated", "slow-whole"];
        var deployments = $$"""
              - { id: all-429-sg, model: all-429, region: sg, endpoint: "{{sim}}/x/rate429=1/v1", price: { input: 1, output: 1 } }
              - { id: all-overloaded-sg, model: all-overloaded, region: sg, priority: 1, endpoint: "{{sim}}/x/status=503/v1", price: { input: 1, output: 1 } }
              - { id: all-overloaded-jp, model: all-overloaded, region: jp-east, priority: 2, endpoint: "{{sim}}/x/status=529/v1", price: { input: 1, output: 1 } }
              - { id: blackholed-sg, model: blackholed, region: sg, priority: 1, endpoint: "{{hole}}/v1", price: { input: 1, output: 1 } }
              - { id: blackholed-jp, model: blackholed, region: jp-east, priority: 2, price: { input: 1, output: 2 } }
              - { id: blackholed-only-sg, model: blackholed-only, region: sg, endpoint: "{{hole}}/v1", price: { input: 1, output: 1 } }
              - { id: silent-sg, model: silent, region: sg, priority: 1, endpoint: "{{sim}}/x/latency=600000/v1", price: { input: 1, output: 1 } }
              - { id: silent-jp, model: silent, region: jp-east, priority: 2, price: { input: 1, output: 2 } }
              - { id: reset-early-sg, model: reset-early, region: sg, priority: 1, endpoint: "{{sim}}/x/disconnect=0/v1", price: { input: 1, output: 1 } }
              - { id: reset-early-jp, model: reset-early, region: jp-east, priority: 2, price: { input: 1, output: 2 } }
              - { id: reset-body-sg, model: reset-body, region: sg, priority: 1, endpoint: "{{sim}}/x/reset=20/v1", price: { input: 1, output: 1 } }
              - { id: reset-body-jp, model: reset-body, region: jp-east, priority: 2, endpoint: "{{sim}}/x/latency=0/v1", price: { input: 1, output: 2 } }
              - { id: stalled-body-sg, model: stalled-body, region: sg, endpoint: "{{sim}}/x/stall=20/v1", price: { input: 1, output: 1 } }
              - { id: truncated-sg, model: truncated, region: sg, endpoint: "{{sim}}/x/truncate=3/v1", price: { input: 1, output: 1 } }
              - { id: slow-whole-sg, model: slow-whole, region: sg, endpoint: "{{relayed}}/x/stall=20/v1", price: { input: 2, output: 8 } }

            """;
        return TestCatalog.Yaml(simulator)
            .Replace("streamIdleTimeoutSeconds: 5", "streamIdleTimeoutSeconds: 2\n  connectTimeoutSeconds: 1", StringComparison.Ordinal)
            .Replace("models:\n", "models:\n" + string.Concat(models.Select(m => $"  - {{ id: {m}, vendor: openai, capabilities: [chat], contextWindow: 8192 }}\n"))
                + "  - { id: truncated-claude, vendor: anthropic, capabilities: [chat], contextWindow: 8192 }\n", StringComparison.Ordinal)
            .Replace("deployments:\n", "deployments:\n" + deployments.Replace("            - ", "  - ", StringComparison.Ordinal)
                + $"  - {{ id: truncated-claude-us, model: truncated-claude, region: us-east, endpoint: \"{sim}/x/truncate=3/v1\", price: {{ input: 1, output: 1 }} }}\n", StringComparison.Ordinal);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _blackhole?.Dispose();
        if (_relay is not null)
        {
            await _relay.DisposeAsync().AsTask().WithTimeout();
        }
    }
}

/// <summary>
/// One test per row of docs/faults.md that FaultTests, StalledStreamTests and ClientDisconnectTests do not already cover:
/// what the client sees, what is billed, and whether another deployment serves instead.
/// </summary>
public sealed class UpstreamFaultTests(UpstreamFaultGatewayFixture fixture) : IClassFixture<UpstreamFaultGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task RateLimitedEverywhere_Is429WithRetryAfter_InTheOpenAIDialect_AndNotBilled()
    {
        using var response = await PostAsync("/v1/chat/completions", OpenAIBody("all-429"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("1", response.Headers.RetryAfter?.ToString());
        var error = await ErrorAsync(response);
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());
        Assert.Equal("upstream_rate_limited", error.GetProperty("code").GetString());
        var row = await RowAsync(response);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        Assert.Equal(429, row.Status);
        LedgerAssert.NotBilled(row);
    }

    [Fact]
    public async Task RateLimitedEverywhere_RaisesTheAnthropicClientsRateLimitError_WithRetryAfter()
    {
        var log = new ResponseLog();

        var error = await Assert.ThrowsAsync<AnthropicRateLimitException>(() =>
            Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask("all-429", "Hello, limits.")).WithTimeout());

        Assert.Equal((HttpStatusCode)429, error.StatusCode);
        Assert.Equal("1", log.Last.Header("retry-after"));
        using var body = JsonDocument.Parse(error.ResponseBody);
        Assert.Equal("rate_limit_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        LedgerAssert.NotBilled(await Live.LedgerRowAsync(log.Last.RequestId!));
    }

    /// <summary>
    /// Every deployment answered that it has no capacity now (OpenAI's and DeepSeek's 503, Anthropic's 529): the client
    /// is told so in its dialect, Anthropic's 529 <c>overloaded_error</c> (which the SDKs retry and Claude Code answers by
    /// moving to its fallback model) and OpenAI's 503, rather than a 502 that says the upstream broke.
    /// </summary>
    [Fact]
    public async Task OverloadedEverywhere_Is529OverloadedError_ToAnAnthropicClient_And503_ToAnOpenAIOne_NotBilled()
    {
        var log = new ResponseLog();

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask("all-overloaded", "Hello, crowd.")).WithTimeout());

        Assert.Equal(529, (int)error.StatusCode);
        using (var body = JsonDocument.Parse(error.ResponseBody))
        {
            Assert.Equal("overloaded_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        var anthropicRow = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(RequestOutcome.UpstreamError, anthropicRow.Outcome);
        Assert.Equal("upstream_overloaded", anthropicRow.ErrorCode);
        LedgerAssert.NotBilled(anthropicRow);

        using var response = await PostAsync("/v1/chat/completions", OpenAIBody("all-overloaded"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var openAI = await ErrorAsync(response);
        Assert.Equal("upstream_overloaded", openAI.GetProperty("code").GetString());
        LedgerAssert.NotBilled(await RowAsync(response));
    }

    [Fact]
    public async Task ConnectTimeout_FallsBackToTheNextDeployment_WhichBills()
    {
        var result = await Live.OpenAI().GetChatClient("blackholed").CompleteChatAsync([new UserChatMessage("Hello, blackhole.")], null, default).WithTimeout();

        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-corridor-region", out var region));
        Assert.Equal("jp-east", region);
        Assert.True(headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        LedgerAssert.Billed(Live, row, "blackholed-jp", result.Value.Usage.InputTokenCount, result.Value.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task ConnectTimeout_OnTheOnlyDeployment_IsA504InTheDialect_AndNotBilled()
    {
        using var response = await PostAsync("/v1/chat/completions", OpenAIBody("blackholed-only"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var error = await ErrorAsync(response);
        Assert.Equal("timeout_error", error.GetProperty("type").GetString());
        Assert.Equal("upstream_timeout", error.GetProperty("code").GetString());
        var row = await RowAsync(response);
        Assert.Equal(RequestOutcome.Timeout, row.Outcome);
        LedgerAssert.NotBilled(row);
    }

    [Fact]
    public async Task NoHeadersWithinTheIdleTimeout_FallsBackToTheNextDeployment()
    {
        var result = await Live.OpenAI().GetChatClient("silent").CompleteChatAsync([new UserChatMessage("Hello, silence.")], null, default).WithTimeout();

        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        LedgerAssert.Billed(Live, row, "silent-jp", result.Value.Usage.InputTokenCount, result.Value.Usage.OutputTokenCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResetBeforeTheFirstByte_FallsBackToTheNextDeployment(bool stream)
    {
        var before = await Live.SimulatorRequestsAsync();
        using var response = await PostAsync("/v1/chat/completions", OpenAIBody("reset-early", stream));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("jp-east", response.Headers.GetValues("x-corridor-region").Single());
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains(stream ? "data: [DONE]" : "\"finish_reason\":\"stop\"", body, StringComparison.Ordinal);
        var after = await Live.SimulatorRequestsAsync();
        Assert.Equal(Count(before, "/x/disconnect=0/v1/chat/completions") + 1, Count(after, "/x/disconnect=0/v1/chat/completions"));
        var row = await RowAsync(response);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.False(row.Estimated);
        Assert.Equal("reset-early-jp", row.DeploymentId);
        Assert.True(row.Billable);
    }

    [Fact]
    public async Task ResetAfterTheFirstByteOfAWholeAnswer_IsA502_WithoutFallback_AndNotBilled()
    {
        var before = await Live.SimulatorRequestsAsync();

        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI().GetChatClient("reset-body").CompleteChatAsync([new UserChatMessage("Hello, reset.")], null, default).WithTimeout());

        Assert.Equal(502, error.Status);
        using (var body = JsonDocument.Parse(error.GetRawResponse()!.Content))
        {
            Assert.Equal("api_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal("upstream_response_broken", body.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        // The upstream accepted the request and may have done the work: it is not sent again elsewhere.
        var after = await Live.SimulatorRequestsAsync();
        Assert.Equal(Count(before, "/x/latency=0/v1/chat/completions"), Count(after, "/x/latency=0/v1/chat/completions"));
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        LedgerAssert.NotBilled(row);
    }

    [Fact]
    public async Task StalledWholeBody_IsA504AtTheIdleTimeout_AndNotBilled()
    {
        var log = new ResponseLog();

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask("stalled-body", "Hello, stall.")).WithTimeout());

        Assert.Equal(HttpStatusCode.GatewayTimeout, error.StatusCode);
        using (var body = JsonDocument.Parse(error.ResponseBody))
        {
            Assert.Equal("timeout_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(RequestOutcome.Timeout, row.Outcome);
        LedgerAssert.NotBilled(row);
    }

    [Fact]
    public async Task TruncatedWholeJson_IsA502InvalidResponse_AndNotBilled()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI().GetChatClient("truncated").CompleteChatAsync([new UserChatMessage("Hello, truncation.")], null, default).WithTimeout());

        Assert.Equal(502, error.Status);
        using (var body = JsonDocument.Parse(error.GetRawResponse()!.Content))
        {
            Assert.Equal("upstream_invalid_response", body.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        LedgerAssert.NotBilled(row);
    }

    [Theory]
    [InlineData("truncated", "truncated-sg")]
    [InlineData("truncated-claude", "truncated-claude-us")]
    public async Task TruncatedStream_EndsWithAnErrorEvent_AndIsBilledAsEstimated(string model, string deployment)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        using var response = await PostAsync("/v1/chat/completions", OpenAIBody(model, stream: true));
        var events = await ServerSentEvents.ReadAllAsync(response, timeout.Token);

        Assert.DoesNotContain(events, e => e.Data == "[DONE]");
        Assert.All(events, e => JsonDocument.Parse(e.Data).Dispose());
        using (var last = JsonDocument.Parse(events[^1].Data))
        {
            Assert.Equal("api_error", last.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        var text = ContentOf(events);
        Assert.Equal("Simulated response from", text);
        var row = await RowAsync(response);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        Assert.Equal("upstream_stream_broken", row.ErrorCode);
        Assert.True(row.Estimated);
        Assert.Equal(Corridor.Gateway.Metering.TokenCounter.Count(text), row.OutputTokens);
        LedgerAssert.Billed(Live, row, deployment, row.InputTokens, row.OutputTokens);
    }

    [Theory]
    [InlineData("garbage", "garbage-sg")]
    [InlineData("garbage-claude", "garbage-claude-us")]
    public async Task MalformedSse_EndsTheStreamWithAnErrorEvent_InsteadOfRelayingIt(string model, string deployment)
    {
        // The same error whether the stream was translated (an Anthropic upstream's) or not.
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        using var response = await PostAsync("/v1/chat/completions", OpenAIBody(model, stream: true));
        var events = await ServerSentEvents.ReadAllAsync(response, timeout.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var only = Assert.Single(events);
        using (var error = JsonDocument.Parse(only.Data))
        {
            Assert.Equal("upstream_invalid_response", error.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("The upstream sent an event that is not JSON.", error.RootElement.GetProperty("error").GetProperty("message").GetString());
        }
        var row = await RowAsync(response);
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        Assert.Equal("upstream_invalid_response", row.ErrorCode);
        // A stream that began is billed for what it carried, estimated: the prompt, and no output.
        Assert.True(row.Estimated);
        Assert.Equal(0, row.OutputTokens);
        LedgerAssert.Billed(Live, row, deployment, row.InputTokens, 0);
    }

    [Theory]
    [InlineData("garbage-claude")]
    [InlineData("garbage")]
    public async Task MalformedSse_RaisesAnSseErrorInTheAnthropicClient(string model)
    {
        var log = new ResponseLog();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);

        var error = await Assert.ThrowsAsync<AnthropicSseException>(async () =>
        {
            await foreach (var _ in Live.Anthropic(log: log).Messages.CreateStreaming(AnthropicDialectTests.Ask(model, "Hello, garbage."), timeout.Token))
            {
            }
        });

        Assert.Contains("api_error", error.Message, StringComparison.Ordinal);
        Assert.Contains("The upstream sent an event that is not JSON.", error.Message, StringComparison.Ordinal);
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal((RequestOutcome.UpstreamError, "upstream_invalid_response"), (row.Outcome, row.ErrorCode));
    }

    [Fact]
    public async Task Fallback_NeverReachesADeploymentThePolicyDoesNotAllow()
    {
        await using var live = await LiveGateway.StartAsync(sim => TestCatalog.Yaml(sim)
            .Replace("models:\n", "models:\n  - { id: fenced, vendor: openai, capabilities: [chat], contextWindow: 8192 }\n", StringComparison.Ordinal)
            .Replace("deployments:\n", "deployments:\n"
                + $"  - {{ id: fenced-sg, model: fenced, region: sg, priority: 1, endpoint: \"{sim.ToString().TrimEnd('/')}/x/status=503/v1\", price: {{ input: 1, output: 1 }} }}\n"
                + $"  - {{ id: fenced-jp, model: fenced, region: jp-east, priority: 2, endpoint: \"{sim.ToString().TrimEnd('/')}/x/latency=1/v1\", price: {{ input: 1, output: 1 }} }}\n",
                StringComparison.Ordinal)
            + """

            policy:
              version: "fenced-1"
              rules:
                - id: everyone
                  allow_jurisdictions: ["*"]
                - id: fenced-in-sg
                  match: { models: [fenced] }
                  regions: { "*": [sg] }
            """).WithTimeout();

        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            live.OpenAI().GetChatClient("fenced").CompleteChatAsync([new UserChatMessage("Hello, fence.")], null, default).WithTimeout());

        Assert.Equal(503, error.Status);
        var requests = await live.SimulatorRequestsAsync();
        Assert.Equal(1, Count(requests, "/x/status=503/v1/chat/completions"));
        Assert.Equal(0, Count(requests, "/x/latency=1/v1/chat/completions"));
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await live.LedgerRowAsync(requestId!);
        Assert.Equal("fenced-sg", row.DeploymentId);
        LedgerAssert.NotBilled(row);
    }

    /// <summary>
    /// Issue 4: a client that leaves while the gateway is still reading a whole answer (the upstream sent its headers and a
    /// few bytes, then nothing). The upstream accepted the work, so the request is billed once, estimated and marked so.
    /// </summary>
    [Fact]
    public async Task ClientLeavingWhileAWholeAnswerIsRead_IsBilledOnce_AsEstimated()
    {
        var deployment = Live.Config.Catalog.Deployments.Single(d => d.Id == "slow-whole-sg");
        var receivedBefore = fixture.Relay.Received.Length;
        var log = new ResponseLog();
        using var leave = new CancellationTokenSource(TestTimeouts.Default);
        const string Prompt = "Hello, I will not wait.";

        var call = Live.OpenAI(log: log).GetChatClient("slow-whole").CompleteChatAsync([new UserChatMessage(Prompt)], new ChatCompletionOptions { MaxOutputTokenCount = 100 }, leave.Token);
        // Once the upstream's headers have reached the gateway, it is reading the body.
        await TestTimeouts.UntilAsync(() => Task.FromResult(fixture.Relay.Received[receivedBefore..].Contains("\r\n\r\n", StringComparison.Ordinal)));
        var closedBefore = fixture.Relay.ClosedByCaller;
        await leave.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        // The gateway drops its upstream request too.
        await fixture.Relay.WaitForClosedByCallerAsync(closedBefore);
        var row = await Live.LedgerRowAsync(r => r.DeploymentId == deployment.Id);
        Assert.Equal(RequestOutcome.ClientDisconnected, row.Outcome);
        Assert.True(row.Estimated);
        Assert.True(row.InputTokens > 0);
        Assert.Equal(0, row.OutputTokens);
        LedgerAssert.Billed(Live, row, deployment.Id, row.InputTokens, 0);
        await Live.Gateway.FlushLedgerAsync(CancellationToken.None).WithTimeout();
        var rows = 0;
        await foreach (var r in Live.Store.ReadLedgerAsync(null, null, CancellationToken.None))
        {
            rows += r.RequestId == row.RequestId || r.DeploymentId == deployment.Id ? 1 : 0;
        }
        Assert.Equal(1, rows);
    }

    private async Task<HttpResponseMessage> PostAsync(string path, string body)
    {
        using var http = Live.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("anthropic-version", "2023-06-01");
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WithTimeout();
        await response.Content.LoadIntoBufferAsync().WithTimeout();
        return response;
    }

    private Task<LedgerEntry> RowAsync(HttpResponseMessage response) => Live.LedgerRowAsync(response.Headers.GetValues("x-corridor-request-id").Single());

    private static string OpenAIBody(string model, bool stream = false) =>
        $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"Hello, faults."}]}""";

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response)
    {
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("error").Clone();
    }

    private static string ContentOf(List<ServerSentEvent> events) => string.Concat(events.Select(e =>
    {
        using var chunk = JsonDocument.Parse(e.Data);
        return chunk.RootElement.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0
            && choices[0].GetProperty("delta").TryGetProperty("content", out var piece) && piece.ValueKind == JsonValueKind.String ? piece.GetString() : "";
    }));

    private static long Count(IReadOnlyDictionary<string, long> requests, string path) => requests.TryGetValue(path, out var count) ? count : 0;
}
