using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Corridor.Core.Metering;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The test catalog with two more Anthropic models: <c>claude-fallback</c>, whose first deployment (us-east) answers 503
/// and whose second (eu-west) is healthy, and <c>claude-via-openai</c>, whose first deployment (Anthropic-kind) answers
/// 503 and whose second is served through an OpenAI-kind vendor.
/// </summary>
public sealed class TokenCountGatewayFixture : LiveGatewayFixture
{
    protected override Task<LiveGateway> StartAsync() => LiveGateway.StartAsync(simulator =>
    {
        var sim = simulator.ToString().TrimEnd('/');
        return TestCatalog.Yaml(simulator)
            .Replace("models:\n", "models:\n  - { id: claude-fallback, vendor: anthropic, capabilities: [chat], contextWindow: 200000 }\n"
                + "  - { id: claude-via-openai, vendor: anthropic, capabilities: [chat], contextWindow: 200000 }\n", StringComparison.Ordinal)
            .Replace("deployments:\n", "deployments:\n"
                + $"  - {{ id: fallback-down-us, model: claude-fallback, region: us-east, priority: 1, endpoint: \"{sim}/x/status=503/v1\", price: {{ input: 1, output: 1 }} }}\n"
                + "  - { id: fallback-up-eu, model: claude-fallback, region: eu-west, priority: 2, price: { input: 1, output: 1 } }\n"
                + $"  - {{ id: via-down-us, model: claude-via-openai, region: us-east, priority: 1, endpoint: \"{sim}/x/status=503/v1\", price: {{ input: 1, output: 1 }} }}\n"
                + "  - { id: via-openai-sg, model: claude-via-openai, region: sg, priority: 2, via: openai, price: { input: 1, output: 1 } }\n", StringComparison.Ordinal);
    });
}

/// <summary><c>POST /v1/messages/count_tokens</c> through the official Anthropic SDK: counted where policy lets the model's traffic go, never billed.</summary>
public sealed class TokenCountTests(TokenCountGatewayFixture fixture) : IClassFixture<TokenCountGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private static readonly List<MessageParam> Conversation =
        [new UserMessageParam("What is the weather in Oslo?"), new AssistantMessageParam("Let me look."), new UserMessageParam("Thanks. And in Bergen?")];

    [Fact]
    public async Task TheSdksCount_IsTheAnthropicUpstreamsOwn_TheInputTokensOfTheSameMessage_AndIsNotBilled()
    {
        var log = new ResponseLog();
        var client = Live.Anthropic(log: log);
        var message = await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4", MaxTokens = 100, System = "Be brief.", Messages = Conversation }).WithTimeout();
        var before = await CountsUpstreamAsync();

        var count = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "claude-sonnet-4",
            System = "Be brief.",
            Messages = Conversation,
            Tools = [AnthropicDialectTests.WeatherTool()],
        }).WithTimeout();

        Assert.Equal(message.Usage.InputTokens, count.InputTokens);
        Assert.Equal(before + 1, await CountsUpstreamAsync());
        var response = log.Last;
        Assert.Equal(200, response.Status);
        Assert.Equal("us-east", response.Region);
        Assert.Null(response.Header("x-corridor-estimated"));
        var row = await Live.LedgerRowAsync(response.RequestId!);
        Assert.Equal(("/v1/messages/count_tokens", "claude-us", RequestOutcome.Success, 200), (row.Endpoint, row.DeploymentId, row.Outcome, row.Status));
        Assert.False(row.Billable);
        Assert.Equal((0L, 0L, 0m, 0m), (row.InputTokens, row.OutputTokens, row.Cost, row.Revenue));
        Assert.False(row.Estimated);
    }

    [Fact]
    public async Task OnAModelOfAnOpenAIKindDeployment_CorridorCountsTheTranslatedPromptItself_AndSaysItIsAnEstimate()
    {
        var log = new ResponseLog();
        var client = Live.Anthropic(log: log);
        var before = await Live.SimulatorRequestsAsync();

        // OpenAI counts one user message "Hello" as 8 prompt tokens on GPT-4o and GPT-4.1: 3 for the message, 1 for its
        // role, 1 for its text, 3 for the answer's priming.
        var hello = await client.Messages.CountTokens(new MessageCountTokensParams { Model = "gpt-4.1", Messages = [new UserMessageParam("Hello")] }).WithTimeout();
        var longer = await client.Messages.CountTokens(new MessageCountTokensParams { Model = "gpt-4.1", System = "Be brief.", Messages = Conversation }).WithTimeout();

        Assert.Equal(8, hello.InputTokens);
        Assert.InRange(longer.InputTokens, 30, 60);
        Assert.Equal(before.Values.Sum(), (await Live.SimulatorRequestsAsync()).Values.Sum());
        var response = log.Last;
        Assert.Equal(200, response.Status);
        Assert.Equal("true", response.Header("x-corridor-estimated"));
        Assert.Equal("none", response.Region);
        var row = await Live.LedgerRowAsync(response.RequestId!);
        Assert.Equal(("/v1/messages/count_tokens", null, "openai", RequestOutcome.Success), (row.Endpoint, row.DeploymentId, row.Vendor, row.Outcome));
        Assert.True(row.Estimated);
        Assert.False(row.Billable);
    }

    [Fact]
    public async Task AFailingDeployment_IsPassedOver_ForTheNextInTheRoutersOrder_AnAnthropicOneAsksItsUpstream_AnOpenAIKindOneIsCountedHere()
    {
        var log = new ResponseLog();
        var client = Live.Anthropic(log: log);
        var message = await client.Messages.Create(new MessageCreateParams { Model = "claude-fallback", MaxTokens = 100, Messages = Conversation }).WithTimeout();

        var fallback = await client.Messages.CountTokens(new MessageCountTokensParams { Model = "claude-fallback", Messages = Conversation }).WithTimeout();
        var fallbackResponse = log.Last;
        var local = await client.Messages.CountTokens(new MessageCountTokensParams { Model = "claude-via-openai", Messages = [new UserMessageParam("Hello")] }).WithTimeout();
        var localResponse = log.Last;

        Assert.Equal(message.Usage.InputTokens, fallback.InputTokens);
        Assert.Equal("eu-west", fallbackResponse.Region);
        Assert.Null(fallbackResponse.Header("x-corridor-estimated"));
        Assert.Equal(8, local.InputTokens);
        Assert.Equal("true", localResponse.Header("x-corridor-estimated"));
        Assert.Equal("fallback-up-eu", (await Live.LedgerRowAsync(fallbackResponse.RequestId!)).DeploymentId);
    }

    [Theory]
    [InlineData("""{"model":"claude-sonnet-4","messages":[{"role":"user","content":"hi"}]""", "not valid JSON")]
    [InlineData("""{"model":"claude-sonnet-4","messages":"hi"}""", "'messages' must be an array.")]
    [InlineData("""{"model":42,"messages":[{"role":"user","content":"hi"}]}""", "'model' must be a string.")]
    [InlineData("""{"model":"claude-sonnet-4"}""", "'messages' is required.")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "You must provide a model parameter.")]
    public async Task BadInput_Is400_InAnthropicsShape_AndAsksNoUpstream(string body, string message)
    {
        var before = await Live.SimulatorRequestsAsync();

        var (status, error, _) = await PostAsync(body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(message, error.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before.Values.Sum(), (await Live.SimulatorRequestsAsync()).Values.Sum());
    }

    [Fact]
    public async Task AnUnknownModel_IsNotFound_AsForAMessage_AndAnUpstreamsRefusalReachesTheClientInItsShape()
    {
        var client = Live.Anthropic();

        var unknown = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            client.Messages.CountTokens(new MessageCountTokensParams { Model = "claude-unknown", Messages = [new UserMessageParam("hi")] })).WithTimeout();
        var (status, refused, response) = await PostAsync("""{"model":"claude-sonnet-4","messages":[]}""");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using (var body = JsonDocument.Parse(unknown.ResponseBody))
        {
            Assert.Equal("not_found_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("claude-unknown", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        // An empty conversation passes the front door; the simulator, as Anthropic, refuses it, and the client reads why.
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_request_error", refused.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("messages", refused.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("us-east", response.Headers.GetValues("x-corridor-region").Single());
    }

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(string body)
    {
        using var http = Live.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages/count_tokens") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("anthropic-version", "2023-06-01");
        var response = await http.SendAsync(request).WithTimeout();
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WithTimeout()).RootElement.Clone();
        return (response.StatusCode, json, response);
    }

    private async Task<long> CountsUpstreamAsync() =>
        (await Live.SimulatorRequestsAsync()).TryGetValue("/v1/messages/count_tokens", out var count) ? count : 0;
}
