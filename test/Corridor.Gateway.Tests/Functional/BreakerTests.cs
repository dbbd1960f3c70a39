using System.Net;
using System.Text;
using Corridor.Core.Metering;
using Corridor.Core.Routing;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The test catalog plus one model per way an upstream's answer can fail after its headers, each with a failing first
/// deployment (<c>{model}-sg</c>, priority 1: a simulator fault knob, or a scripted Anthropic upstream that ends its stream
/// with <c>overloaded_error</c>) and a healthy second one (<c>{model}-jp</c>). Two failures open a breaker for ten minutes;
/// the stream idle timeout is two seconds.
/// </summary>
public sealed class BreakerGatewayFixture : LiveGatewayFixture
{
    public const int BreakerFailures = 2;

    protected override Task<LiveGateway> StartAsync()
    {
        var upstream = Own(new ScriptedUpstream());
        upstream.AnswerRequests(request =>
            request.Contains("rejecting-stalled", StringComparison.Ordinal) ? Rejection("{\"error\":{\"message\":\"Bad", declared: 200)
            : request.Contains("rejecting-html", StringComparison.Ordinal) ? Rejection("<html><body>400 Bad Request</body></html>")
            : UnusualUpstreamFixture.OpenEventStream(UnusualUpstreamFixture.AnthropicStreamError));
        var scripted = upstream.BaseUrl.ToString().TrimEnd('/');
        // A 400 whose body the upstream breaks off: its connection closes after a few of the bytes its length promised.
        var breaking = Own(new ScriptedUpstream());
        breaking.Answer(_ => Rejection("{\"error\":{\"message\":\"Bad", declared: 200), closeAfter: true);
        var broken = breaking.BaseUrl.ToString().TrimEnd('/');
        return LiveGateway.StartAsync(simulator =>
        {
            var sim = simulator.ToString().TrimEnd('/');
            (string Model, string Vendor, string Endpoint)[] failing =
            [
                ("broken-stream", "openai", $"{sim}/x/disconnect=5/v1"),
                ("stalled-stream", "openai", $"{sim}/x/stall=3/v1"),
                ("truncated-stream", "openai", $"{sim}/x/truncate=3/v1"),
                ("garbled-stream", "openai", $"{sim}/x/garbage=1/v1"),
                ("overloaded-stream", "anthropic", $"{scripted}/v1"),
                ("broken-whole", "openai", $"{sim}/x/reset=20/v1"),
                ("stalled-whole", "openai", $"{sim}/x/stall=20/v1"),
                ("truncated-whole", "openai", $"{sim}/x/truncate=3/v1"),
                ("garbled-whole", "openai", $"{sim}/x/garbage=1/v1"),
                ("half-open", "openai", $"{sim}/x/disconnect=5/v1"),
                ("rejecting", "openai", $"{sim}/x/status=400/v1"),
                ("rejecting-html", "openai", $"{scripted}/v1"),
                ("rejecting-broken", "openai", $"{broken}/v1"),
                ("rejecting-stalled", "openai", $"{scripted}/v1"),
                ("left", "openai", $"{sim}/x/stall=3/v1"),
            ];
            var models = string.Concat(failing.Select(f => $"  - {{ id: {f.Model}, vendor: {f.Vendor}, capabilities: [chat], contextWindow: 8192 }}\n"));
            var deployments = string.Concat(failing.Select(f =>
                $"  - {{ id: {f.Model}-sg, model: {f.Model}, region: sg, priority: 1, endpoint: \"{f.Endpoint}\", price: {{ input: 1, output: 1 }} }}\n"
                + $"  - {{ id: {f.Model}-jp, model: {f.Model}, region: jp-east, priority: 2, price: {{ input: 1, output: 1 }} }}\n"));
            return TestCatalog.Yaml(simulator)
                .Replace("streamIdleTimeoutSeconds: 5", "streamIdleTimeoutSeconds: 2", StringComparison.Ordinal)
                .Replace("models:\n", "models:\n" + models, StringComparison.Ordinal)
                .Replace("deployments:\n", "deployments:\n" + deployments, StringComparison.Ordinal) + $$"""

                routing:
                  breaker: { failures: {{BreakerFailures}}, openSeconds: 600 }
                """;
        });
    }

    /// <summary>A 400 with <paramref name="body"/>, its head declaring <paramref name="declared"/> bytes of body (else the body's own).</summary>
    private static string Rejection(string body, int? declared = null) =>
        $"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {declared ?? Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";
}

/// <summary>
/// The circuit breaker learns how an answer ended, not only that its headers came (docs/faults.md, docs/forwarding.md):
/// an answer that fails after its first byte is a failure of its deployment, one that completes is a success.
/// </summary>
public sealed class BreakerTests(BreakerGatewayFixture fixture) : IClassFixture<BreakerGatewayFixture>
{
    private const int BreakerFailures = BreakerGatewayFixture.BreakerFailures;

    private LiveGateway Live => fixture.Live;

    [Theory]
    [InlineData("broken-stream", true, "upstream_stream_broken")]
    [InlineData("stalled-stream", true, "upstream_timeout")]
    [InlineData("truncated-stream", true, "upstream_stream_broken")]
    [InlineData("garbled-stream", true, "upstream_invalid_response")]
    [InlineData("overloaded-stream", true, "upstream_overloaded")]
    [InlineData("broken-whole", false, "upstream_response_broken")]
    [InlineData("stalled-whole", false, "upstream_timeout")]
    [InlineData("truncated-whole", false, "upstream_invalid_response")]
    [InlineData("garbled-whole", false, "upstream_invalid_response")]
    public async Task AnswersThatFailAfterTheirHeaders_OpenTheBreaker_SoTheNextRequestGoesToTheNextDeployment(string model, bool stream, string code)
    {
        for (var i = 0; i < BreakerFailures; i++)
        {
            var failed = await SendAsync(model, stream);
            Assert.Equal((model + "-sg", code), (failed.DeploymentId, failed.ErrorCode));
        }

        var next = await SendAsync(model, stream);

        Assert.Equal((model + "-jp", RequestOutcome.Success), (next.DeploymentId, next.Outcome));
    }

    [Fact]
    public async Task AHalfOpenBreakersProbe_WhoseStreamBreaks_OpensTheBreakerAgain()
    {
        // The breaker opened an hour ago (its failures recorded with that time), so its open time has passed and the next
        // request is its probe.
        var health = Health("half-open", "half-open-sg");
        for (var i = 0; i < BreakerFailures; i++)
        {
            health.RecordFailure(DateTimeOffset.UtcNow - TimeSpan.FromHours(1));
        }
        Assert.False(health.IsOpen(DateTimeOffset.UtcNow), "precondition: the breaker is half-open");

        var probe = await SendAsync("half-open", stream: true);
        var next = await SendAsync("half-open", stream: true);

        Assert.Equal(("half-open-sg", "upstream_stream_broken"), (probe.DeploymentId, probe.ErrorCode));
        Assert.Equal(("half-open-jp", RequestOutcome.Success), (next.DeploymentId, next.Outcome));
        Assert.True(health.IsOpen(DateTimeOffset.UtcNow));
    }

    [Theory]
    [InlineData("rejecting")]
    [InlineData("rejecting-html")]
    public async Task A4xxRelayedFromTheUpstream_IsNoFailureOfTheDeployment(string model)
    {
        // Whole, with the vendor's error or a body that is not one (a proxy's page): the client's mistake either way, which a
        // client must not be able to turn into an open breaker for every tenant.
        for (var i = 0; i <= BreakerFailures; i++)
        {
            var rejected = await SendAsync(model, stream: false);
            Assert.Equal((model + "-sg", RequestOutcome.ClientError, 400), (rejected.DeploymentId, rejected.Outcome, rejected.Status));
        }
    }

    [Theory]
    [InlineData("rejecting-broken")]
    [InlineData("rejecting-stalled")]
    public async Task A4xxWhoseBodyBreaksOffOrStalls_IsAFailureOfTheDeployment(string model)
    {
        // The client still gets the upstream's status (without its message); the upstream failed to deliver its answer.
        for (var i = 0; i < BreakerFailures; i++)
        {
            var rejected = await SendAsync(model, stream: false);
            Assert.Equal((model + "-sg", RequestOutcome.ClientError, 400), (rejected.DeploymentId, rejected.Outcome, rejected.Status));
        }

        var next = await SendAsync(model, stream: false);

        Assert.Equal((model + "-jp", RequestOutcome.Success), (next.DeploymentId, next.Outcome));
    }

    [Fact]
    public async Task AClientThatLeavesMidStream_IsNoFailureOfTheDeployment()
    {
        // The stream sends three tokens, then nothing: each client leaves after the first event, long before the idle
        // timeout. Without draining, disposing of an unfinished response closes its connection at once.
        using var handler = new SocketsHttpHandler { ResponseDrainTimeout = TimeSpan.Zero };
        using var http = new HttpClient(handler) { BaseAddress = Live.BaseAddress, Timeout = LiveGateway.Timeout };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Live.Secret);
        for (var i = 0; i <= BreakerFailures; i++)
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Default);
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Body("left", stream: true) };
            string requestId;
            using (var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                requestId = response.Headers.GetValues("x-corridor-request-id").Single();
                await using var events = ServerSentEvents.ReadAsync(response, timeout.Token).GetAsyncEnumerator(timeout.Token);
                Assert.True(await events.MoveNextAsync());
            }
            var row = await Live.LedgerRowAsync(requestId);
            Assert.Equal(("left-sg", RequestOutcome.ClientDisconnected), (row.DeploymentId, row.Outcome));
        }
    }

    private async Task<LedgerEntry> SendAsync(string model, bool stream)
    {
        using var http = Live.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = Body(model, stream) };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WithTimeout();
        await response.Content.LoadIntoBufferAsync().WithTimeout();
        return await Live.LedgerRowAsync(response.Headers.GetValues("x-corridor-request-id").Single());
    }

    private static StringContent Body(string model, bool stream) => new(
        $$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"Hello, breaker."}]}""",
        Encoding.UTF8, "application/json");

    private DeploymentHealth Health(string model, string deployment)
    {
        var routes = (RouteTable)Live.Gateway.Services.GetService(typeof(RouteTable))!;
        var state = (GatewayState)Live.Gateway.Services.GetService(typeof(GatewayState))!;
        Assert.True(state.Active.Catalog.TryGetModel(model, out var entry));
        return routes.Health(entry.Deployments.Single(d => d.Id == deployment));
    }
}
