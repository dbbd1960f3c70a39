using System.ClientModel;
using Anthropic;
using Anthropic.Models.Messages;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;

namespace Corridor.Simulator.Tests;

/// <summary>The official SDKs, pointed at the simulator, read its answers: the wire format is the vendors'.</summary>
public sealed class SdkCompatibilityTests
{
    private const string Key = "sk-sim-sdk";

    private static Task<SimulatorFixture> StartAsync() =>
        SimulatorFixture.StartAsync(new SimulatorOptions { TokenInterval = TimeSpan.Zero, RequiredApiKey = Key });

    private static OpenAIClient OpenAI(SimulatorFixture sim) =>
        new(new ApiKeyCredential(Key), new OpenAIClientOptions { Endpoint = new Uri(sim.BaseAddress, "v1/"), NetworkTimeout = SimulatorFixture.Timeout, RetryPolicy = null });

    private static AnthropicClient Anthropic(SimulatorFixture sim) =>
        new() { ApiKey = Key, BaseUrl = sim.BaseAddress.ToString().TrimEnd('/'), MaxRetries = 0, Timeout = SimulatorFixture.Timeout };

    [Fact]
    public async Task OpenAISdk_ReadsACompletion_AndAStreamWithUsage()
    {
        await using var sim = await StartAsync();
        var chat = OpenAI(sim).GetChatClient("gpt-4.1");
        ChatMessage[] messages = [new SystemChatMessage("Be brief."), new UserChatMessage("Hello from the SDK")];

        ChatCompletion completion = await chat.CompleteChatAsync(messages).WaitAsync(SimulatorFixture.Timeout);
        using var timeout = new CancellationTokenSource(SimulatorFixture.Timeout);
        var streamed = new System.Text.StringBuilder();
        ChatTokenUsage? streamedUsage = null;
        ChatFinishReason? streamedFinish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, new ChatCompletionOptions(), timeout.Token))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }

            streamedUsage = update.Usage ?? streamedUsage;
            streamedFinish = update.FinishReason ?? streamedFinish;
        }

        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.StartsWith("Simulated", completion.Content[0].Text, StringComparison.Ordinal);
        Assert.Equal(completion.Content[0].Text, streamed.ToString());
        Assert.Equal(ChatFinishReason.Stop, streamedFinish);
        Assert.NotNull(streamedUsage);
        Assert.Equal(completion.Usage.InputTokenCount, streamedUsage.InputTokenCount);
        Assert.Equal(completion.Usage.OutputTokenCount, streamedUsage.OutputTokenCount);
    }

    [Fact]
    public async Task OpenAISdk_ReadsAToolCall()
    {
        await using var sim = await StartAsync();
        var chat = OpenAI(sim).GetChatClient("gpt-4.1");
        var options = new ChatCompletionOptions();
        options.Tools.Add(ChatTool.CreateFunctionTool("get_weather", "Weather", BinaryData.FromString(Bodies.WeatherToolSchema)));

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Weather in Oslo?")], options).WaitAsync(SimulatorFixture.Timeout);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        using var arguments = System.Text.Json.JsonDocument.Parse(call.FunctionArguments);
        Assert.Equal("celsius", arguments.RootElement.GetProperty("unit").GetString());
    }

    [Fact]
    public async Task OpenAISdk_ReadsEmbeddings()
    {
        await using var sim = await StartAsync();
        var embeddings = OpenAI(sim).GetEmbeddingClient("text-embedding-3-small");

        OpenAIEmbedding embedding = await embeddings.GenerateEmbeddingAsync("hello", new EmbeddingGenerationOptions { Dimensions = 64 }).WaitAsync(SimulatorFixture.Timeout);

        var vector = embedding.ToFloats().ToArray();
        Assert.Equal(64, vector.Length);
        Assert.Equal(1.0, Math.Sqrt(vector.Sum(v => (double)v * v)), 4);
    }

    [Fact]
    public async Task OpenAISdk_SeesAnAuthenticationError_WithAWrongKey()
    {
        await using var sim = await StartAsync();
        var chat = new OpenAIClient(new ApiKeyCredential("wrong"), new OpenAIClientOptions { Endpoint = new Uri(sim.BaseAddress, "v1/"), RetryPolicy = null }).GetChatClient("gpt-4.1");

        var error = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hi")])).WaitAsync(SimulatorFixture.Timeout);

        Assert.Equal(401, error.Status);
    }

    [Fact]
    public async Task AnthropicSdk_ReadsAMessage_AndAStream()
    {
        await using var sim = await StartAsync();
        var client = Anthropic(sim);
        var parameters = new MessageCreateParams
        {
            Model = "claude-sonnet-4",
            MaxTokens = 400,
            Messages = [new UserMessageParam("Hello from the SDK")],
        };

        var message = await client.Messages.Create(parameters).WaitAsync(SimulatorFixture.Timeout);
        using var timeout = new CancellationTokenSource(SimulatorFixture.Timeout);
        var streamed = await client.Messages.CreateStreaming(parameters, timeout.Token).Aggregate().WaitAsync(SimulatorFixture.Timeout);

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.StartsWith("Simulated", text.Text, StringComparison.Ordinal);
        Assert.Equal(StopReason.EndTurn, message.StopReason?.Value());
        Assert.True(streamed.Content[0].TryPickText(out var streamedText));
        Assert.Equal(text.Text, streamedText.Text);
        Assert.Equal(message.Usage.InputTokens, streamed.Usage.InputTokens);
        Assert.Equal(message.Usage.OutputTokens, streamed.Usage.OutputTokens);
    }

    [Fact]
    public async Task AnthropicSdk_CountsTokens_AsTheMessageWithTheSamePromptReportsThem()
    {
        await using var sim = await StartAsync();
        var client = Anthropic(sim);
        List<MessageParam> messages = [new UserMessageParam("Hello from the SDK"), new AssistantMessageParam("Hello."), new UserMessageParam("Count me, please.")];

        var message = await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4", MaxTokens = 400, System = "Be brief.", Messages = messages })
            .WaitAsync(SimulatorFixture.Timeout);
        var count = await client.Messages.CountTokens(new MessageCountTokensParams { Model = "claude-sonnet-4", System = "Be brief.", Messages = messages })
            .WaitAsync(SimulatorFixture.Timeout);

        Assert.True(count.InputTokens > 0);
        Assert.Equal(message.Usage.InputTokens, count.InputTokens);
    }
}
