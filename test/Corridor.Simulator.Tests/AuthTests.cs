using System.Net;

namespace Corridor.Simulator.Tests;

/// <summary>With <see cref="SimulatorOptions.RequiredApiKey"/>, the dialect's credential header must carry it.</summary>
public sealed class AuthTests
{
    private const string Key = "sk-sim-test";

    private static Task<SimulatorFixture> StartAsync() =>
        SimulatorFixture.StartAsync(new SimulatorOptions { TokenInterval = TimeSpan.Zero, RequiredApiKey = Key });

    [Fact]
    public async Task OpenAI_AcceptsTheBearerKey_AndRefusesOthers_WithInvalidApiKey()
    {
        await using var sim = await StartAsync();

        var missing = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());
        var wrong = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat(), ("Authorization", "Bearer sk-other"));
        var right = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat(), ("Authorization", $"Bearer {Key}"));

        Assert.Equal(HttpStatusCode.Unauthorized, missing.Status);
        Assert.Equal("invalid_api_key", missing.Json.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", missing.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal(HttpStatusCode.OK, right.Status);
    }

    [Fact]
    public async Task Anthropic_AcceptsXApiKey_OrABearerKey_AndRefusesOthers_WithAuthenticationError()
    {
        await using var sim = await StartAsync();

        var missing = await sim.PostMessagesAsync(Bodies.AnthropicMessage());
        var wrong = await sim.PostMessagesAsync(Bodies.AnthropicMessage(), "", ("x-api-key", "sk-other"));
        var apiKey = await sim.PostMessagesAsync(Bodies.AnthropicMessage(), "", ("x-api-key", Key));
        var bearer = await sim.PostMessagesAsync(Bodies.AnthropicMessage(), "", ("Authorization", $"Bearer {Key}"));

        Assert.Equal(HttpStatusCode.Unauthorized, missing.Status);
        Assert.Equal("error", missing.Json.GetProperty("type").GetString());
        Assert.Equal("authentication_error", missing.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal(HttpStatusCode.OK, apiKey.Status);
        Assert.Equal(HttpStatusCode.OK, bearer.Status);
    }

    [Fact]
    public async Task Azure_AcceptsTheApiKeyHeader()
    {
        await using var sim = await StartAsync();
        const string Path = "/openai/deployments/d/embeddings?api-version=2024-10-21";

        var bearer = await sim.PostAsync(Path, """{"input":"x"}""", ("Authorization", $"Bearer {Key}"));
        var right = await sim.PostAsync(Path, """{"input":"x"}""", ("api-key", Key));

        Assert.Equal(HttpStatusCode.Unauthorized, bearer.Status);
        Assert.Equal(HttpStatusCode.OK, right.Status);
    }

    [Fact]
    public async Task Models_NeedTheKey_InTheDialectOfTheRequest()
    {
        await using var sim = await StartAsync();

        var openAI = await sim.GetAsync("/v1/models", ("Authorization", $"Bearer {Key}"));
        var anthropicWrong = await sim.GetAsync("/v1/models", ("anthropic-version", "2023-06-01"), ("x-api-key", "sk-other"));
        var anthropic = await sim.GetAsync("/v1/models", ("anthropic-version", "2023-06-01"), ("x-api-key", Key));

        Assert.Equal(HttpStatusCode.OK, openAI.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, anthropicWrong.Status);
        Assert.Equal("authentication_error", anthropicWrong.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, anthropic.Status);
    }

    [Fact]
    public async Task WithoutRequiredKey_AnyOrNoCredentialIsAccepted()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());

        Assert.Equal(HttpStatusCode.OK, response.Status);
    }
}
