using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A request is served only by a model that can do what it asks (tools, images and documents, reasoning), as the catalog
/// declares its capabilities: an alias skips the models that cannot, and a name with none that can is a 400 in the client's
/// dialect naming the field, never billed and never sent upstream.
/// </summary>
public sealed class CapabilityTests(CapabilityTests.Fixture fixture) : IClassFixture<CapabilityTests.Fixture>
{
    private const string Picture = "https://example.com/cat.png";

    private LiveGateway Live => fixture.Live;

    /// <summary>
    /// The test catalog with <c>text-only</c> (chat and nothing else) on the OpenAI-kind vendor, and the alias
    /// <c>sees-last</c>: <c>text-only</c> first, then gpt-4.1 (chat, tools, vision, reasoning); <c>thinks-last</c>: <c>text-only</c>,
    /// then claude-sonnet-4.
    /// </summary>
    public sealed class Fixture : LiveGatewayFixture
    {
        protected override Task<LiveGateway> StartAsync() => LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator)
            .Replace("\nmodels:\n", "\nmodels:\n  - { id: text-only, vendor: openai, capabilities: [chat], contextWindow: 131072 }\n", StringComparison.Ordinal)
            .Replace("\ndeployments:\n", "\ndeployments:\n  - { id: text-only-jp, model: text-only, region: jp-east, price: { input: 0.1, output: 0.2 } }\n", StringComparison.Ordinal)
            + """

            routing:
              aliases:
                sees-last: [text-only, gpt-4.1]
                thinks-last: [text-only, claude-sonnet-4]
            """);
    }

    [Fact]
    public async Task AnImage_ToAModelThatCannotSee_IsA400NamingMessages_InEachDialect_AndNotBilled()
    {
        var log = new ResponseLog();

        var openAI = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI(log: log).GetChatClient("text-only")
            .CompleteChatAsync([LookAt()])).WithTimeout();
        var openAIRow = await Live.LedgerRowAsync(log.Last.RequestId!);
        var anthropic = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => Live.Anthropic(log: log).Messages
            .Create(AnthropicDialectTests.Ask("text-only", AnthropicLookAt()))).WithTimeout();
        var anthropicRow = await Live.LedgerRowAsync(log.Last.RequestId!);

        Assert.Equal(400, openAI.Status);
        var error = Error(openAI);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("unsupported_value", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Equal("The model 'text-only' does not accept images or documents.", error.GetProperty("message").GetString());
        using (var body = JsonDocument.Parse(anthropic.ResponseBody))
        {
            Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
            Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Equal("The model 'text-only' does not accept images or documents.", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        }
        foreach (var row in new[] { openAIRow, anthropicRow })
        {
            Assert.Equal(400, row.Status);
            LedgerAssert.NotBilled(row);
            Assert.Null(row.DeploymentId);
        }
    }

    [Fact]
    public async Task AnAlias_ServesAnImage_FromItsFirstModelThatSees_AndText_FromItsFirstModel()
    {
        var log = new ResponseLog();
        var chat = Live.OpenAI(log: log).GetChatClient("sees-last");

        await chat.CompleteChatAsync([LookAt()]).WithTimeout();
        var image = await Live.LedgerRowAsync(log.Last.RequestId!);
        await chat.CompleteChatAsync([new UserChatMessage("just words")]).WithTimeout();
        var text = await Live.LedgerRowAsync(log.Last.RequestId!);
        await Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask("sees-last", AnthropicLookAt())).WithTimeout();
        var anthropicImage = await Live.LedgerRowAsync(log.Last.RequestId!);

        Assert.Equal("gpt-4.1-sg", image.DeploymentId);
        Assert.Equal("text-only-jp", text.DeploymentId);
        Assert.Equal("gpt-4.1-sg", anthropicImage.DeploymentId);
    }

    [Fact]
    public async Task APlainTextDocument_ReachesATextOnlyModel_OnlyWhereTheTranslationMakesItText()
    {
        // An Anthropic text document reaches an OpenAI-kind model as a text part, which text-only reads; an OpenAI chat
        // client's text/plain file part goes to an OpenAI-kind upstream as the file part it is, which a text-only API (DeepSeek
        // takes text parts alone) refuses: the alias serves it from gpt-4.1.
        var log = new ResponseLog();
#pragma warning disable OPENAI001 // the SDK marks file parts experimental; clients sending documents use them
        await Live.OpenAI(log: log).GetChatClient("sees-last").CompleteChatAsync([new UserChatMessage(
            ChatMessageContentPart.CreateTextPart("Summarise the minutes."),
            ChatMessageContentPart.CreateFilePart(BinaryData.FromString("Minutes: the board met."), "text/plain", "minutes.txt"))]).WithTimeout();
#pragma warning restore OPENAI001
        var file = await Live.LedgerRowAsync(log.Last.RequestId!);
        await Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask("sees-last", new UserMessageParam
        {
            Content = new List<ContentBlockParam>
            {
                new TextBlockParam { Text = "Summarise the minutes." },
                new DocumentBlockParam { Source = new PlainTextSource { Data = "Minutes: the board met." } },
            },
        })).WithTimeout();
        var document = await Live.LedgerRowAsync(log.Last.RequestId!);

        Assert.Equal("gpt-4.1-sg", file.DeploymentId);
        Assert.Equal("text-only-jp", document.DeploymentId);
    }

    [Fact]
    public async Task Tools_ToAModelWithoutThem_AreA400NamingTools_InEachDialect_AndAnAliasSkipsIt()
    {
        var log = new ResponseLog();
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "The weather in a city.") } };

        var openAI = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI().GetChatClient("text-only")
            .CompleteChatAsync([new UserChatMessage("weather in Tokyo?")], options)).WithTimeout();
        var anthropic = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => Live.Anthropic().Messages.Create(
            AnthropicDialectTests.Ask("text-only", "weather in Tokyo?") with { Tools = [AnthropicDialectTests.WeatherTool()] })).WithTimeout();
        await Live.OpenAI(log: log).GetChatClient("sees-last").CompleteChatAsync([new UserChatMessage("weather in Tokyo?")], options).WithTimeout();
        var aliased = await Live.LedgerRowAsync(log.Last.RequestId!);

        Assert.Equal(400, openAI.Status);
        var error = Error(openAI);
        Assert.Equal("tools", error.GetProperty("param").GetString());
        Assert.Equal("unsupported_parameter", error.GetProperty("code").GetString());
        Assert.Contains("does not support tools", anthropic.ResponseBody, StringComparison.Ordinal);
        Assert.Equal("gpt-4.1-sg", aliased.DeploymentId);
    }

    [Fact]
    public async Task Reasoning_AskedOfAModelThatDoesNotReason_IsA400NamingTheDialectsField()
    {
#pragma warning disable OPENAI001 // the SDK marks reasoning effort experimental; reasoning models' clients set it
        var options = new ChatCompletionOptions { ReasoningEffortLevel = ChatReasoningEffortLevel.High };
#pragma warning restore OPENAI001

        var openAI = await Assert.ThrowsAsync<ClientResultException>(() => Live.OpenAI().GetChatClient("text-only")
            .CompleteChatAsync([new UserChatMessage("think hard")], options)).WithTimeout();
        var anthropic = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => Live.Anthropic().Messages.Create(
            AnthropicDialectTests.Ask("text-only", "think hard") with { MaxTokens = 4096, Thinking = new ThinkingConfigEnabled { BudgetTokens = 2048 } })).WithTimeout();
        var disabled = await Live.Anthropic().Messages.Create(
            AnthropicDialectTests.Ask("text-only", "no thinking") with { Thinking = new ThinkingConfigDisabled() }).WithTimeout();

        Assert.Equal(400, openAI.Status);
        Assert.Equal("reasoning_effort", Error(openAI).GetProperty("param").GetString());
        Assert.Equal("The model 'text-only' does not support reasoning.", Error(openAI).GetProperty("message").GetString());
        Assert.Contains("The model 'text-only' does not support thinking.", anthropic.ResponseBody, StringComparison.Ordinal);
        Assert.NotEmpty(AnthropicDialectTests.Text(disabled));
    }

    /// <summary>
    /// Adaptive thinking lets the model think when it judges it useful; a model that cannot reason satisfies it by not
    /// thinking, so it is served, not refused. Claude Code sends <c>thinking: {"type":"adaptive"}</c> on every request to
    /// whatever model it is pointed at, and would otherwise be refused on every turn. Thinking with a budget still needs a
    /// model that reasons (above).
    /// </summary>
    [Fact]
    public async Task AdaptiveThinking_AskedOfAModelThatDoesNotReason_IsServedWithoutThinking()
    {
        var log = new ResponseLog();

        var message = await Live.Anthropic(log: log).Messages.Create(
            AnthropicDialectTests.Ask("text-only", "think if you must") with { Thinking = new ThinkingConfigAdaptive() }).WithTimeout();
        var streamed = await Live.Anthropic(log: log).Messages.CreateStreaming(
            AnthropicDialectTests.Ask("text-only", "think if you must") with { Thinking = new ThinkingConfigAdaptive() }).ToListWithTimeoutAsync();

        Assert.Equal("end_turn", message.StopReason?.Raw());
        Assert.NotEmpty(AnthropicDialectTests.Text(message));
        Assert.DoesNotContain(message.Content, c => c.TryPickThinking(out _) || c.TryPickRedactedThinking(out _));
        Assert.True(streamed[^1].TryPickStop(out _));
        Assert.All(log.Responses, r => Assert.Equal((200, "jp-east"), (r.Status, r.Region)));
    }

    [Fact]
    public async Task AResponsesRequest_IsRefusedNamingItsOwnFields()
    {
        using var http = Live.Http();
        var image = new { type = "input_image", image_url = Picture };

        using var seeing = await http.PostAsJsonAsync("/v1/responses", new
        {
            model = "text-only",
            input = new[] { new { role = "user", content = new object[] { new { type = "input_text", text = "What is this?" }, image } } },
        }).WithTimeout();
        using var reasoning = await http.PostAsJsonAsync("/v1/responses", new { model = "text-only", input = "think", reasoning = new { effort = "high" } }).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, seeing.StatusCode);
        Assert.Equal("input", JsonDocument.Parse(await seeing.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, reasoning.StatusCode);
        Assert.Equal("reasoning.effort", JsonDocument.Parse(await reasoning.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task ATokenCount_NeedsWhatThePromptNeeds_ButNotReasoning()
    {
        var image = await Assert.ThrowsAsync<AnthropicBadRequestException>(() => Live.Anthropic().Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "text-only",
            Messages = [AnthropicLookAt()],
        })).WithTimeout();
        var thinking = await Live.Anthropic().Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "text-only",
            Messages = [new UserMessageParam { Content = "think hard" }],
            Thinking = new ThinkingConfigEnabled { BudgetTokens = 2048 },
        }).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, image.StatusCode);
        Assert.True(thinking.InputTokens > 0);
    }

    [Fact]
    public async Task ATokenCount_AskingForThinking_IsCountedWhereTheMessageWouldBeServed_AnAliasSkippingAModelThatDoesNotReason()
    {
        // The message itself goes to claude-sonnet-4 (claude-us, us-east), the alias's first model that reasons: its count is
        // that model's, not text-only's (counted by Corridor, region none), whose prompt and tokenizer are not the ones served.
        const string Thinking = """{"model":"thinks-last","thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":"think hard"}]}""";
        const string Plain = """{"model":"thinks-last","messages":[{"role":"user","content":"hi"}]}""";

        var thinking = await CountAsync(Thinking);
        var plain = await CountAsync(Plain);

        Assert.Equal((HttpStatusCode.OK, "us-east"), thinking);
        Assert.Equal((HttpStatusCode.OK, "none"), plain);
    }

    private async Task<(HttpStatusCode Status, string? Region)> CountAsync(string body)
    {
        using var http = Live.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages/count_tokens") { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await http.SendAsync(request).WithTimeout();
        return (response.StatusCode, response.Headers.TryGetValues("x-corridor-region", out var region) ? region.Single() : null);
    }

    private static UserChatMessage LookAt() =>
        new(ChatMessageContentPart.CreateTextPart("What is in this picture?"), ChatMessageContentPart.CreateImagePart(new Uri(Picture)));

    private static UserMessageParam AnthropicLookAt() => new()
    {
        Content = new List<ContentBlockParam>
        {
            new TextBlockParam { Text = "What is in this picture?" },
            new ImageBlockParam { Source = new UrlImageSource { Url = Picture } },
        },
    };

    private static JsonElement Error(ClientResultException refused) =>
        JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString()).RootElement.GetProperty("error").Clone();
}
