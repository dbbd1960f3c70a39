using System.Net;

namespace Corridor.Simulator.Tests;

public sealed class RequestErrorTests
{
    [Theory]
    [InlineData("{\"model\":")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} trailing")]
    [InlineData("")]
    public async Task MalformedJson_IsA400_InOpenAIShape(string body)
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        var error = response.Json.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
    }

    [Fact]
    public async Task MalformedJson_IsA400_InAnthropicShape()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostMessagesAsync("{\"messages\": [");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("error", response.Json.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", response.Json.GetProperty("error").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"x"}]}""", "model")]
    [InlineData("""{"model":"m","messages":[]}""", "messages")]
    [InlineData("""{"model":"m"}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"n":"two"}""", "n")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"n":0}""", "n")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}""", "max_tokens")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":2}""", "top_logprobs")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required"}""", "tool_choice")]
    [InlineData("""{"model":"m","messages":"hello"}""", "messages")]
    public async Task InvalidChatRequest_IsA400_NamingTheParam(string body, string param)
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(param, response.Json.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task ToolChoiceNamingAMissingTool_IsA400()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/v1/chat/completions",
            Bodies.OpenAIChat(extra: Bodies.OpenAIWeatherTools + ""","tool_choice":{"type":"function","function":{"name":"nope"}}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("tool_choice", response.Json.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task UnknownFields_AreIgnored()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/v1/chat/completions",
            Bodies.OpenAIChat(extra: ""","temperature":0.2,"metadata":{"a":[1,{"b":null}]},"user":"u1","seed":null"""));

        Assert.Equal(HttpStatusCode.OK, response.Status);
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":7,"content":"x"}]}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":42}]}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":{"text":"x"}}]}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":5}]}]}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":["x"]}]}""")]
    public async Task MessagesOfTheWrongShape_AreA400_AsTheVendorsAnswerThem(string body)
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("messages", response.Json.GetProperty("error").GetProperty("param").GetString());
    }
}
