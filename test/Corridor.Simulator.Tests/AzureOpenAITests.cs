using System.Net;

namespace Corridor.Simulator.Tests;

public sealed class AzureOpenAITests
{
    private const string ChatPath = "/openai/deployments/gpt4-prod/chat/completions?api-version=2024-10-21";

    [Fact]
    public async Task DeploymentChat_AnswersLikeOpenAI_NamingTheDeploymentWhenNoModelIsSent()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync(ChatPath, """{"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("chat.completion", response.Json.GetProperty("object").GetString());
        Assert.Equal("gpt4-prod", response.Json.GetProperty("model").GetString());
    }

    [Fact]
    public async Task DeploymentChat_AnswersAsOpenAIDoes_ForTheSameModelAndQuestion()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var azure = await sim.PostAsync(ChatPath, Bodies.OpenAIChat("Same question"));
        var openAI = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("Same question"));

        Assert.Equal(
            openAI.Json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            azure.Json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task DeploymentStream_EndsWithDone()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var stream = await sim.StreamAsync(ChatPath, Bodies.OpenAIChat(extra: ""","stream":true"""));

        Assert.Equal("[DONE]", stream.Events[^1].Data);
    }

    [Fact]
    public async Task DeploymentEmbeddings_AnswerWithVectors()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/openai/deployments/embed-prod/embeddings?api-version=2024-10-21", """{"input":["a","b"],"dimensions":16}""");

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("embed-prod", response.Json.GetProperty("model").GetString());
        Assert.Equal(2, response.Json.GetProperty("data").GetArrayLength());
        Assert.Equal(16, response.Json.GetProperty("data")[0].GetProperty("embedding").GetArrayLength());
    }

    [Fact]
    public async Task MissingApiVersion_IsA400()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/openai/deployments/gpt4-prod/chat/completions", Bodies.OpenAIChat());

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("api-version", response.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
