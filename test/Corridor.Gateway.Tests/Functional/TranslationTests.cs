using System.Net.Http.Json;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using Corridor.Core.Metering;
using Corridor.Gateway.Translation;
using Corridor.Storage;
using Corridor.Storage.Compliance;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// Each SDK against a model whose deployment speaks the other dialect: OpenAI chat completions served by an
/// Anthropic-kind deployment, Anthropic messages served by an OpenAI-kind one. The simulator answers a prompt
/// the same way in both dialects, so a translated answer must equal the upstream's native one.
/// </summary>
public sealed class TranslationTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task OpenAIClient_AskingAClaudeModelToReason_GetsItsThinkingAsReasoningContent_WholeAndStreamed()
    {
        const string Prompt = "Why is the sky blue?";
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.WithRoomToThink(TestCatalog.Yaml(simulator)));
        var native = await live.Anthropic().Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4",
            MaxTokens = 4096,
            Thinking = new ThinkingConfigEnabled { BudgetTokens = 3276 },
            Messages = [new UserMessageParam { Content = Prompt }],
        }).WithTimeout();
        var nativeThinking = string.Concat(native.Content.Select(c => c.TryPickThinking(out var thinking) ? thinking.Thinking : ""));
        var chat = live.OpenAI().GetChatClient("claude-sonnet-4");
#pragma warning disable OPENAI001 // the SDK marks reasoning effort experimental; reasoning models' clients set it
        var options = new ChatCompletionOptions { ReasoningEffortLevel = ChatReasoningEffortLevel.High, MaxOutputTokenCount = 4096 };
#pragma warning restore OPENAI001

        var result = await chat.CompleteChatAsync([new UserChatMessage(Prompt)], options).WithTimeout();
        var updates = await chat.CompleteChatStreamingAsync([new UserChatMessage(Prompt)], options).ToListWithTimeoutAsync();

        // reasoning_effort high with 4096 tokens is the 3276-token budget the native request asked for: the same answer.
        Assert.False(string.IsNullOrWhiteSpace(nativeThinking));
        var completion = result.Value;
        Assert.Equal(AnthropicDialectTests.Text(native), Assert.Single(completion.Content).Text);
        Assert.Equal(native.Usage.OutputTokens, completion.Usage.OutputTokenCount);
        // The .NET SDK does not read reasoning_content: it is read from the body.
        using var body = JsonDocument.Parse(result.GetRawResponse().Content.ToString());
        Assert.Equal(nativeThinking, body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("reasoning_content").GetString());
        Assert.Equal(completion.Content[0].Text, string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(part => part.Text)));
    }

    [Fact]
    public async Task OpenAIClient_ToAnAnthropicModel_GetsTheAnthropicAnswerAsAChatCompletion()
    {
        const string Prompt = "Translate me to Claude.";
        var native = await Live.Anthropic().Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", Prompt)).WithTimeout();
        var chat = Live.OpenAI().GetChatClient("claude-sonnet-4");

        var result = await chat.CompleteChatAsync([new UserChatMessage(Prompt)], null, default).WithTimeout();

        var completion = result.Value;
        Assert.Equal("claude-sonnet-4", completion.Model);
        Assert.Equal(AnthropicDialectTests.Text(native), Assert.Single(completion.Content).Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(native.Usage.InputTokens, completion.Usage.InputTokenCount);
        Assert.Equal(native.Usage.OutputTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-corridor-region", out var region));
        Assert.Equal("us-east", region);
        Assert.True(headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.Equal("/v1/chat/completions", row.Endpoint);
        LedgerAssert.Billed(Live, row, "claude-us", completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task OpenAIClient_ConversationOfASystemMessageAlone_IsAnsweredByAnAnthropicModel_AsOpenAIModelsAnswerIt()
    {
        // OpenAI's API answers a conversation with no user message; Anthropic's refuses one with no message at all.
        const string Instruction = "Write a one-line greeting for the functional tests.";
        var native = await Live.Anthropic().Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", Instruction)).WithTimeout();
        var openAI = await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new SystemChatMessage(Instruction)], null, default).WithTimeout();

        var result = await Live.OpenAI().GetChatClient("claude-sonnet-4").CompleteChatAsync([new SystemChatMessage(Instruction)], null, default).WithTimeout();

        Assert.False(string.IsNullOrWhiteSpace(Assert.Single(openAI.Value.Content).Text));
        Assert.Equal(AnthropicDialectTests.Text(native), Assert.Single(result.Value.Content).Text);
        Assert.Equal(native.Usage.InputTokens, result.Value.Usage.InputTokenCount);
        var row = await Live.LedgerRowAsync(result.GetRawResponse().Headers.Header("x-corridor-request-id")!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
    }

    [Fact]
    public async Task OpenAIClient_StreamsFromAnAnthropicModel_AsChatCompletionChunksEndingWithUsage()
    {
        const string Prompt = "Stream me from Claude.";
        var native = await Live.Anthropic().Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", Prompt)).WithTimeout();
        var log = new ResponseLog();
        var chat = Live.OpenAI(log: log).GetChatClient("claude-sonnet-4");

        var updates = await chat.CompleteChatStreamingAsync([new UserChatMessage(Prompt)], null, default).ToListWithTimeoutAsync();

        Assert.Equal(AnthropicDialectTests.Text(native), string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text)));
        Assert.Equal(ChatFinishReason.Stop, Assert.Single(updates, u => u.FinishReason is not null).FinishReason);
        var usage = Assert.Single(updates, u => u.Usage is not null).Usage;
        Assert.Same(updates[^1].Usage, usage);
        Assert.Equal(native.Usage.InputTokens, usage.InputTokenCount);
        Assert.Equal(native.Usage.OutputTokens, usage.OutputTokenCount);
        Assert.All(updates, u => Assert.Equal("claude-sonnet-4", u.Model));
        var response = log.Last;
        Assert.Equal("us-east", response.Region);
        var row = await Live.LedgerRowAsync(response.RequestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "claude-us", usage.InputTokenCount, usage.OutputTokenCount);
    }

    [Fact]
    public async Task OpenAIClient_ToolCallsOnAnAnthropicModel_RoundTripThroughToolResults()
    {
        var chat = Live.OpenAI().GetChatClient("claude-sonnet-4");
        var options = new ChatCompletionOptions { Tools = { WeatherFunction() } };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Singapore?")];

        var first = (await chat.CompleteChatAsync(messages, options, default).WithTimeout()).Value;

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.StartsWith("toolu_", call.Id, StringComparison.Ordinal);
        using (var arguments = JsonDocument.Parse(call.FunctionArguments))
        {
            Assert.Equal(JsonValueKind.String, arguments.RootElement.GetProperty("city").ValueKind);
        }

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, """{"city":"Singapore","temperature":31}"""));
        var second = (await chat.CompleteChatAsync(messages, options, default).WithTimeout()).Value;

        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Empty(second.ToolCalls);
        Assert.False(string.IsNullOrWhiteSpace(second.Content[0].Text));
    }

    [Fact]
    public async Task OpenAIClient_StreamedToolCallFromAnAnthropicModel_JoinsIntoTheWholeArguments()
    {
        var chat = Live.OpenAI().GetChatClient("claude-sonnet-4");
        var options = new ChatCompletionOptions { Tools = { WeatherFunction() } };
        ChatMessage[] messages = [new UserChatMessage("What is the weather in Oslo?")];
        var whole = (await chat.CompleteChatAsync(messages, options, default).WithTimeout()).Value;

        var updates = await chat.CompleteChatStreamingAsync(messages, options, default).ToListWithTimeoutAsync();

        var pieces = updates.SelectMany(u => u.ToolCallUpdates).ToList();
        Assert.Equal("get_weather", Assert.Single(pieces, p => p.FunctionName is not null).FunctionName);
        Assert.StartsWith("toolu_", Assert.Single(pieces, p => p.ToolCallId is not null).ToolCallId, StringComparison.Ordinal);
        using var streamed = JsonDocument.Parse(string.Concat(pieces.Select(p => p.FunctionArgumentsUpdate?.ToString())));
        using var expected = JsonDocument.Parse(whole.ToolCalls[0].FunctionArguments);
        Assert.True(JsonElement.DeepEquals(expected.RootElement, streamed.RootElement), $"{expected.RootElement} != {streamed.RootElement}");
        Assert.Equal(ChatFinishReason.ToolCalls, Assert.Single(updates, u => u.FinishReason is not null).FinishReason);
        Assert.NotNull(updates[^1].Usage);
    }

    [Fact]
    public async Task AnthropicClient_ToAnOpenAIModel_GetsTheOpenAIAnswerAsAMessage()
    {
        const string Prompt = "Translate me to GPT.";
        var native = (await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage(Prompt)], null, default).WithTimeout()).Value;
        var log = new ResponseLog();

        var message = await Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask("gpt-4.1", Prompt)).WithTimeout();

        Assert.Equal("gpt-4.1", message.Model.Raw());
        Assert.Equal(native.Content[0].Text, AnthropicDialectTests.Text(message));
        Assert.Equal("end_turn", message.StopReason?.Raw());
        Assert.Equal(native.Usage.InputTokenCount, message.Usage.InputTokens);
        Assert.Equal(native.Usage.OutputTokenCount, message.Usage.OutputTokens);
        var response = log.Last;
        Assert.Equal(200, response.Status);
        Assert.Equal("sg", response.Region);
        var row = await Live.LedgerRowAsync(response.RequestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.Equal("/v1/messages", row.Endpoint);
        LedgerAssert.Billed(Live, row, "gpt-4.1-sg", message.Usage.InputTokens, message.Usage.OutputTokens);
    }

    /// <summary>
    /// Structured outputs: an Anthropic client's <c>output_config.format</c> constrains the answer to its JSON schema (the
    /// SDKs' <c>parse</c> reads the text as that JSON). On an OpenAI-kind model it is the upstream's json_schema response
    /// format, whole and streamed; dropped, the answer would be free text.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnthropicClient_AskingAnOpenAIModelForStructuredOutput_GetsJsonOfItsSchema(bool streamed)
    {
        var ask = AnthropicDialectTests.Ask("gpt-4.1", "What is two plus two? Answer with the number.") with
        {
            OutputConfig = new OutputConfig
            {
                Format = new JsonOutputFormat
                {
                    Schema = new Dictionary<string, JsonElement>
                    {
                        ["type"] = JsonSerializer.SerializeToElement("object"),
                        ["properties"] = JsonSerializer.SerializeToElement(new { answer = new { type = "integer" }, unit = new { type = "string" } }),
                        ["required"] = JsonSerializer.SerializeToElement(new[] { "answer", "unit" }),
                        ["additionalProperties"] = JsonSerializer.SerializeToElement(false),
                    },
                },
            },
        };
        var client = Live.Anthropic();

        var text = streamed
            ? string.Concat((await client.Messages.CreateStreaming(ask).ToListWithTimeoutAsync())
                .Select(e => e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var piece) ? piece.Text : ""))
            : AnthropicDialectTests.Text(await client.Messages.Create(ask).WithTimeout());

        using var answer = JsonDocument.Parse(text);
        Assert.Equal(JsonValueKind.Number, answer.RootElement.GetProperty("answer").ValueKind);
        Assert.Equal(JsonValueKind.String, answer.RootElement.GetProperty("unit").ValueKind);
        Assert.Equal(2, answer.RootElement.EnumerateObject().Count());
    }

    /// <summary>
    /// The reverse: an OpenAI client's <c>response_format</c> json_schema (what the SDKs' structured-output helpers send) on a
    /// Claude model of a vendor that takes Anthropic's structured outputs (<c>structuredOutputs: true</c>) goes as
    /// <c>output_config.format</c>, Anthropic's constrained decoding, which the simulator honours; an instruction in the system
    /// prompt it would ignore, answering text.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OpenAIClient_AskingAClaudeModelForStructuredOutput_GetsJsonOfItsSchema_WhereItsVendorTakesStructuredOutputs(bool streamed)
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator).Replace(
            "{ id: anthropic, kind: anthropic, baseUrl: ", "{ id: anthropic, kind: anthropic, structuredOutputs: true, baseUrl: ", StringComparison.Ordinal));
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("sum", BinaryData.FromString("""
                {"type":"object","properties":{"answer":{"type":"integer"},"unit":{"type":"string"}},"required":["answer","unit"],"additionalProperties":false}
                """), jsonSchemaIsStrict: true),
        };
        var chat = live.OpenAI().GetChatClient("claude-sonnet-4");
        ChatMessage[] prompt = [new UserChatMessage("What is two plus two? Answer with the number.")];

        var text = streamed
            ? string.Concat((await chat.CompleteChatStreamingAsync(prompt, options, default).ToListWithTimeoutAsync()).SelectMany(u => u.ContentUpdate).Select(p => p.Text))
            : (await chat.CompleteChatAsync(prompt, options, default).WithTimeout()).Value.Content[0].Text;

        using var answer = JsonDocument.Parse(text);
        Assert.Equal(JsonValueKind.Number, answer.RootElement.GetProperty("answer").ValueKind);
        Assert.Equal(JsonValueKind.String, answer.RootElement.GetProperty("unit").ValueKind);
        Assert.Equal(2, answer.RootElement.EnumerateObject().Count());
    }

    [Fact]
    public async Task AnthropicClient_StreamsFromAnOpenAIModel_AsMessageEventsFromStartToStop()
    {
        const string Prompt = "Stream me from GPT.";
        var native = (await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage(Prompt)], null, default).WithTimeout()).Value;
        var log = new ResponseLog();

        var events = await Live.Anthropic(log: log).Messages.CreateStreaming(AnthropicDialectTests.Ask("gpt-4.1", Prompt)).ToListWithTimeoutAsync();

        Assert.True(events[0].TryPickStart(out var start));
        Assert.True(events[^1].TryPickStop(out _));
        Assert.Equal(
            ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Json.GetProperty("type").GetString()).Distinct());
        Assert.Equal("gpt-4.1", start.Message.Model.Raw());
        Assert.Equal(native.Content[0].Text, string.Concat(events.Select(e => e.TryPickContentBlockDelta(out var d) && d.Delta.TryPickText(out var t) ? t.Text : "")));
        Assert.True(Assert.Single(events, e => e.TryPickDelta(out _)).TryPickDelta(out var final));
        Assert.Equal("end_turn", final.Delta.StopReason?.Raw());
        Assert.Equal(native.Usage.OutputTokenCount, final.Usage.OutputTokens);
        var inputTokens = final.Usage.InputTokens ?? start.Message.Usage.InputTokens;
        Assert.Equal(native.Usage.InputTokenCount, inputTokens);
        var response = log.Last;
        Assert.Equal("sg", response.Region);
        var row = await Live.LedgerRowAsync(response.RequestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "gpt-4.1-sg", native.Usage.InputTokenCount, native.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task AnthropicClient_StreamingFromAnOpenAIModel_ReadsAnEstimatedPromptAtTheStart_AndTheUpstreamsExactUsageAtTheEnd()
    {
        const string Prompt = "Count my prompt, streamed from GPT.";
        var native = (await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage(Prompt)], null, default).WithTimeout()).Value;
        var client = Live.Anthropic();

        var events = await client.Messages.CreateStreaming(AnthropicDialectTests.Ask("gpt-4.1", Prompt)).ToListWithTimeoutAsync();
        var log = new ResponseLog();
        var aggregated = await Live.Anthropic(log: log).Messages.CreateStreaming(AnthropicDialectTests.Ask("gpt-4.1", Prompt)).Aggregate().WithTimeout();

        // OpenAI counts the prompt only at the end; message_start has the gateway's estimate, a count of the same order.
        Assert.True(events[0].TryPickStart(out var start));
        Assert.InRange(start.Message.Usage.InputTokens, 1, 10 * native.Usage.InputTokenCount);
        // The SDK's accumulated usage is the upstream's own, as the ledger's is.
        Assert.Equal(native.Usage.InputTokenCount, aggregated.Usage.InputTokens);
        Assert.Equal(native.Usage.OutputTokenCount, aggregated.Usage.OutputTokens);
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "gpt-4.1-sg", native.Usage.InputTokenCount, native.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task AnthropicClient_ToolUseOnAnOpenAIModel_RoundTripsThroughToolResults()
    {
        var client = Live.Anthropic();
        var question = new UserMessageParam { Content = "What is the weather in Singapore?" };
        var ask = AnthropicDialectTests.Ask("gpt-4.1", question) with { Tools = [AnthropicDialectTests.WeatherTool()] };

        var first = await client.Messages.Create(ask).WithTimeout();

        Assert.Equal("tool_use", first.StopReason?.Raw());
        Assert.True(Assert.Single(first.Content, c => c.TryPickToolUse(out _)).TryPickToolUse(out var call));
        Assert.Equal("get_weather", call.Name);
        Assert.False(string.IsNullOrEmpty(call.ID));
        Assert.Equal(JsonValueKind.String, call.Input["city"].ValueKind);

        var second = await client.Messages.Create(ask with
        {
            Messages =
            [
                question,
                new AssistantMessageParam { Content = new List<ContentBlockParam> { new ToolUseBlockParam { ID = call.ID, Name = call.Name, Input = call.Input } } },
                new UserMessageParam
                {
                    Content = new List<ContentBlockParam> { new ToolResultBlockParam(call.ID) { Content = """{"city":"Singapore","temperature":31}""" } },
                },
            ],
        }).WithTimeout();

        Assert.Equal("end_turn", second.StopReason?.Raw());
        Assert.DoesNotContain(second.Content, c => c.TryPickToolUse(out _));
        Assert.False(string.IsNullOrWhiteSpace(AnthropicDialectTests.Text(second)));
    }

    [Fact]
    public async Task AnthropicClient_StreamedToolUseFromAnOpenAIModel_JoinsIntoTheWholeInput()
    {
        var client = Live.Anthropic();
        var ask = AnthropicDialectTests.Ask("gpt-4.1", "What is the weather in Oslo?") with { Tools = [AnthropicDialectTests.WeatherTool()] };
        var whole = await client.Messages.Create(ask).WithTimeout();
        Assert.True(whole.Content.Single(c => c.TryPickToolUse(out _)).TryPickToolUse(out var wholeCall));

        var events = await client.Messages.CreateStreaming(ask).ToListWithTimeoutAsync();

        Assert.True(Assert.Single(events, e => e.TryPickContentBlockStart(out var s) && s.ContentBlock.TryPickToolUse(out _)).TryPickContentBlockStart(out var started));
        Assert.True(started.ContentBlock.TryPickToolUse(out var streamedCall));
        Assert.Equal("get_weather", streamedCall.Name);
        using var input = JsonDocument.Parse(string.Concat(events.Select(e => e.TryPickContentBlockDelta(out var d) && d.Delta.TryPickInputJson(out var j) ? j.PartialJson : "")));
        Assert.Equal(wholeCall.Input["city"].GetString(), input.RootElement.GetProperty("city").GetString());
        Assert.True(events.Single(e => e.TryPickDelta(out _)).TryPickDelta(out var final));
        Assert.Equal("tool_use", final.Delta.StopReason?.Raw());
        Assert.True(events[^1].TryPickStop(out _));
    }

    /// <summary>The test catalog with DeepSeek's reasoning model, and the reasoning key read from <paramref name="keyEnv"/>.</summary>
    private static Func<Uri, string> WithReasonerAndKey(string keyEnv) => simulator =>
        TestCatalog.WithReasoner(TestCatalog.Yaml(simulator)).Replace("server:\n", $"server:\n  reasoningKeyEnv: {keyEnv}\n", StringComparison.Ordinal);

    /// <summary>
    /// An Anthropic SDK agent's tool loop on DeepSeek's thinking mode: it asks, gets the call, runs the tool and sends its
    /// history back, the answer's blocks as it got them (the .NET SDK has no conversion from an answer's blocks to a request's:
    /// an agent writes it, as here). The simulator refuses a step whose history holds a call without its reasoning, as
    /// DeepSeek does ("The reasoning_content in the thinking mode must be passed back to the API"). Returns the first answer
    /// and the second.
    /// </summary>
    private static async Task<(Message First, Message Second)> RunToolLoopAsync(LiveGateway live, bool thinking, bool streamed, Func<Task>? between = null)
    {
        var client = live.Anthropic();
        var question = new UserMessageParam { Content = "What is the weather in Singapore?" };
        var ask = AnthropicDialectTests.Ask("deepseek-reasoner", question) with
        {
            MaxTokens = 4096,
            Tools = [AnthropicDialectTests.WeatherTool()],
        };
        if (thinking)
        {
            ask = ask with { Thinking = new ThinkingConfigEnabled { BudgetTokens = 2048 } };
        }
        var first = streamed ? await client.Messages.CreateStreaming(ask).Aggregate().WithTimeout() : await client.Messages.Create(ask).WithTimeout();
        Assert.Equal("tool_use", first.StopReason?.Raw());
        if (between is not null)
        {
            await between();
        }
        var second = await live.Anthropic().Messages.Create(ask with { Messages = NextStep(question, first, withReasoning: true) }).WithTimeout();
        return (first, second);
    }

    /// <summary>
    /// A tool loop's next step as an agent sends it: the question, the answer's blocks as it got them (its reasoning block
    /// too when <paramref name="withReasoning"/>) and the tool's result.
    /// </summary>
    private static List<MessageParam> NextStep(MessageParam question, Message first, bool withReasoning, (ReasoningSeal From, ReasoningSeal To)? remade = null)
    {
        Assert.True(first.Content.Single(c => c.TryPickToolUse(out _)).TryPickToolUse(out var call));
        var sentBack = new List<ContentBlockParam>();
        foreach (var block in first.Content)
        {
            if (block.TryPickThinking(out var thought) && withReasoning)
            {
                sentBack.Add(new ThinkingBlockParam { Thinking = thought.Thinking, Signature = remade?.To.Sign(thought.Thinking) ?? thought.Signature });
            }
            else if (block.TryPickRedactedThinking(out var redacted) && withReasoning)
            {
                sentBack.Add(new RedactedThinkingBlockParam { Data = remade is var (from, to) ? to.Seal(from.Open(redacted.Data)!) : redacted.Data });
            }
            else if (block.TryPickToolUse(out var use))
            {
                sentBack.Add(new ToolUseBlockParam { ID = use.ID, Name = use.Name, Input = use.Input });
            }
        }
        return
        [
            question,
            new AssistantMessageParam { Content = sentBack },
            new UserMessageParam { Content = new List<ContentBlockParam> { new ToolResultBlockParam(call.ID) { Content = """{"city":"Singapore","temperature":31}""" } } },
        ];
    }

    [Fact]
    public async Task AnAnthropicClient_SwitchingThinkingOff_OnDeepSeek_GetsNoReasoning_PaysForNone_AndItsToolLoopNeedsNoneBack()
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.WithReasoner(TestCatalog.Yaml(simulator)));
        var log = new ResponseLog();
        var client = live.Anthropic(log: log);
        var question = new UserMessageParam { Content = "What is the weather in Singapore?" };
        var ask = AnthropicDialectTests.Ask("deepseek-reasoner", question) with
        {
            MaxTokens = 4096,
            Tools = [AnthropicDialectTests.WeatherTool()],
            Thinking = new ThinkingConfigDisabled(),
        };

        var first = await client.Messages.Create(ask).WithTimeout();
        var firstRow = await live.LedgerRowAsync(log.Last.RequestId!);
        var streamed = await client.Messages.CreateStreaming(ask).Aggregate().WithTimeout();
        var second = await client.Messages.Create(ask with { Messages = NextStep(question, first, withReasoning: true) }).WithTimeout();
        var defaulted = await client.Messages.Create(ask with { Thinking = null }).WithTimeout();

        // Before, thinking was dropped on the way to DeepSeek, whose thinking mode is on by default: the client that switched it
        // off got a redacted_thinking block and paid for the reasoning in it.
        Assert.DoesNotContain(first.Content, c => c.TryPickThinking(out _) || c.TryPickRedactedThinking(out _));
        Assert.DoesNotContain(streamed.Content, c => c.TryPickThinking(out _) || c.TryPickRedactedThinking(out _));
        Assert.Equal("tool_use", first.StopReason?.Raw());
        Assert.Equal(first.Usage.OutputTokens, firstRow.OutputTokens);
        Assert.True(first.Usage.OutputTokens < defaulted.Usage.OutputTokens, $"{first.Usage.OutputTokens} output tokens without thinking, {defaulted.Usage.OutputTokens} with");
        Assert.Equal("end_turn", second.StopReason?.Raw());
        Assert.True(defaulted.Content[0].TryPickRedactedThinking(out _));
    }

    /// <summary>
    /// A vendor that says it takes no thinking switch (a strict OpenAI-compatible server, which refuses a field it does not
    /// know) is sent none: neither an Anthropic client's <c>thinking</c> nor the switch Corridor adds for an effort of none.
    /// The simulator's reasoner, not told, thinks.
    /// </summary>
    [Fact]
    public async Task AVendorSayingItTakesNoThinkingSwitch_IsSentNone()
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.WithReasoner(TestCatalog.Yaml(simulator))
            .Replace("{ id: openai, kind: openai, baseUrl: ", "{ id: openai, kind: openai, thinkingSwitch: false, baseUrl: ", StringComparison.Ordinal));
        var ask = AnthropicDialectTests.Ask("deepseek-reasoner", new UserMessageParam { Content = "What is the weather in Singapore?" }) with
        {
            MaxTokens = 4096,
            Thinking = new ThinkingConfigDisabled(),
        };
        using var http = live.Http();

        var message = await live.Anthropic().Messages.Create(ask).WithTimeout();
        using var chat = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "deepseek-reasoner",
            reasoning_effort = "none",
            messages = new[] { new { role = "user", content = "Reason it through." } },
        }).WithTimeout();

        Assert.True(message.Content[0].TryPickRedactedThinking(out _));
        Assert.Equal(System.Net.HttpStatusCode.OK, chat.StatusCode);
        using var answer = JsonDocument.Parse(await chat.Content.ReadAsStringAsync());
        Assert.True(answer.RootElement.GetProperty("choices")[0].GetProperty("message").TryGetProperty("reasoning_content", out _));
    }

    /// <summary>
    /// Where a policy strips reasoning, a client that asked a DeepSeek-like model to think is served without thinking: the
    /// switch is sent turned off (DeepSeek thinks by default, so removing the client's request for it left it thinking, and the
    /// tenant got, and paid for, the reasoning the rule refused). Each dialect, each way it asks.
    /// </summary>
    [Fact]
    public async Task WhereAPolicyStripsReasoning_ADeepSeekLikeModel_IsToldNotToThink_InEachDialect()
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.WithReasoner(TestCatalog.Yaml(simulator)) + """

            policy:
              version: "strip-deepseek"
              rules:
                - id: everyone
                  allow_jurisdictions: ["*"]
                - id: no-reasoning-on-deepseek
                  match: { models: [deepseek-reasoner] }
                  features: { reasoning: strip }
            """);
        var question = new UserMessageParam { Content = "What is the weather in Singapore?" };
        var ask = AnthropicDialectTests.Ask("deepseek-reasoner", question) with { MaxTokens = 4096, Thinking = new ThinkingConfigEnabled { BudgetTokens = 2048 } };
        using var http = live.Http();

        var anthropic = await live.Anthropic().Messages.Create(ask).WithTimeout();
        var streamed = await live.Anthropic().Messages.CreateStreaming(ask).Aggregate().WithTimeout();
        using var chat = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "deepseek-reasoner",
            reasoning_effort = "high",
            messages = new[] { new { role = "user", content = "Reason it through." } },
        }).WithTimeout();
        using var unasked = await http.PostAsJsonAsync("/v1/chat/completions", new
        {
            model = "deepseek-reasoner",
            messages = new[] { new { role = "user", content = "Reason it through." } },
        }).WithTimeout();

        Assert.DoesNotContain(anthropic.Content, c => c.TryPickThinking(out _) || c.TryPickRedactedThinking(out _));
        Assert.DoesNotContain(streamed.Content, c => c.TryPickThinking(out _) || c.TryPickRedactedThinking(out _));
        Assert.Equal(System.Net.HttpStatusCode.OK, chat.StatusCode);
        using (var answer = JsonDocument.Parse(await chat.Content.ReadAsStringAsync()))
        {
            Assert.False(answer.RootElement.GetProperty("choices")[0].GetProperty("message").TryGetProperty("reasoning_content", out _));
        }
        // A request that did not ask is not restricted: the model does as it does by default (docs/policy.md).
        using (var answer = JsonDocument.Parse(await unasked.Content.ReadAsStringAsync()))
        {
            Assert.True(answer.RootElement.GetProperty("choices")[0].GetProperty("message").TryGetProperty("reasoning_content", out _));
        }
    }

    [Fact]
    public async Task ATokenCount_OnDeepSeek_CountsTheReasoningTheLoopsNextStepSendsBack_AsThatStepIsSentIt()
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.WithReasoner(TestCatalog.Yaml(simulator)));
        var client = live.Anthropic();
        var question = new UserMessageParam { Content = "What is the weather in Singapore?" };
        var first = await client.Messages.Create(AnthropicDialectTests.Ask("deepseek-reasoner", question) with
        {
            MaxTokens = 4096,
            Tools = [AnthropicDialectTests.WeatherTool()],
        }).WithTimeout();

        // Counted here (an OpenAI-kind deployment has no count endpoint), as the step would be sent: with its reasoning_content.
        var withReasoning = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "deepseek-reasoner",
            Messages = NextStep(question, first, withReasoning: true),
            Tools = [AnthropicDialectTests.WeatherTool()],
        }).WithTimeout();
        var withoutReasoning = await client.Messages.CountTokens(new MessageCountTokensParams
        {
            Model = "deepseek-reasoner",
            Messages = NextStep(question, first, withReasoning: false),
            Tools = [AnthropicDialectTests.WeatherTool()],
        }).WithTimeout();

        Assert.True(first.Content[0].TryPickRedactedThinking(out _));
        Assert.True(withReasoning.InputTokens > withoutReasoning.InputTokens,
            $"the reasoning sent back counted nothing: {withReasoning.InputTokens} tokens with it, {withoutReasoning.InputTokens} without");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnthropicClient_AskingDeepSeeksThinkingModeToThink_GetsItsReasoningAsASignedThinkingBlock_AndItsToolLoopGoesOn(bool streamed)
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.WithReasoner(TestCatalog.Yaml(simulator)));
        var native = await live.OpenAI().GetChatClient("deepseek-reasoner").CompleteChatAsync([new UserChatMessage("What is the weather in Singapore?")],
            new ChatCompletionOptions { Tools = { WeatherFunction() } }).WithTimeout();
        using var nativeBody = JsonDocument.Parse(native.GetRawResponse().Content.ToString());
        var nativeReasoning = nativeBody.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("reasoning_content").GetString();
        var before = await live.SimulatorReasoningPassedBackAsync().WithTimeout();

        var (first, second) = await RunToolLoopAsync(live, thinking: true, streamed);

        Assert.True(first.Content[0].TryPickThinking(out var thinking));
        Assert.Equal(nativeReasoning, thinking.Thinking);
        Assert.StartsWith("corridor.v1.", thinking.Signature, StringComparison.Ordinal);
        Assert.Equal("end_turn", second.StopReason?.Raw());
        Assert.False(string.IsNullOrWhiteSpace(AnthropicDialectTests.Text(second)));
        Assert.Equal(before + 1, await live.SimulatorReasoningPassedBackAsync().WithTimeout());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnthropicClient_NotAskingForThinking_GetsDeepSeeksReasoningSealedInARedactedThinkingBlock_AndItsToolLoopGoesOn(bool streamed)
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.WithReasoner(TestCatalog.Yaml(simulator)));

        var (first, second) = await RunToolLoopAsync(live, thinking: false, streamed);

        Assert.DoesNotContain(first.Content, c => c.TryPickThinking(out _));
        Assert.True(first.Content[0].TryPickRedactedThinking(out var redacted));
        Assert.StartsWith("corridor.v1.", redacted.Data, StringComparison.Ordinal);
        Assert.Equal("end_turn", second.StopReason?.Raw());
    }

    [Fact]
    public async Task TheReasoningKey_ReadsTheBlocksAnotherGatewayOrABeforeRestartGaveOut_WhenTheOperatorSetsIt()
    {
        using var key = new TokenVariable();
        await using var live = await LiveGateway.StartAsync(WithReasonerAndKey(key.Name));

        // The loop's next step reaches the gateway after a restart: a gateway with the same key, as another of a fleet is.
        var (first, second) = await RunToolLoopAsync(live, thinking: true, streamed: false, between: live.RestartGatewayAsync);

        Assert.Equal("end_turn", second.StopReason?.Raw());
        // The operator's key, not the one the store keeps, signed the block.
        Assert.True(first.Content[0].TryPickThinking(out var thinking));
        Assert.True(ReasoningSeal.FromKey(key.Token).Verifies(thinking.Thinking, thinking.Signature));
    }

    [Fact]
    public async Task TheReasoningKey_ReadsTheBlocksABeforeRestartGaveOut_WhenTheStoreKeepsIt()
    {
        // No key from the operator: the variable the configuration names is one no test sets.
        await using var live = await LiveGateway.StartAsync(WithReasonerAndKey("CORRIDOR_TEST_UNSET_" + Guid.NewGuid().ToString("N")));

        // The loop's next step reaches the gateway after a restart on the same SQLite file, which holds the key.
        var (_, second) = await RunToolLoopAsync(live, thinking: true, streamed: false, between: live.RestartGatewayAsync);

        Assert.Equal("end_turn", second.StopReason?.Raw());
    }

    [Fact]
    public async Task AGateway_DoesNotStart_WhenTheStoresReasoningKeyWasCutShort_AndSaysWhatToDo()
    {
        var keyEnv = "CORRIDOR_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        await using var live = await LiveGateway.StartAsync(WithReasonerAndKey(keyEnv));
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={live.Config.Storage.SqlitePath};Pooling=False"))
        {
            // Someone with the file shortens the key to 16 bytes.
            await connection.OpenAsync().WithTimeout();
            using var command = connection.CreateCommand();
            command.CommandText = "UPDATE gateway_secrets SET value = substr(value, 1, 16) WHERE name = 'reasoning-key'";
            Assert.Equal(1, await command.ExecuteNonQueryAsync().WithTimeout());
        }

        // Another gateway starting on the same file: with a key of its own it would refuse every other gateway's blocks.
        var error = await Assert.ThrowsAsync<GatewayStartException>(() => GatewayHost.StartAsync(live.Config, "http://127.0.0.1:0", CancellationToken.None)).WithTimeout();

        var message = Assert.Single(error.Errors);
        Assert.Contains($"{keyEnv} is not set", message, StringComparison.Ordinal);
        Assert.Contains("16 bytes", message, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>corridor secrets rotate-reasoning-key</c> under a running gateway (on a fake clock), a signed and a sealed block
    /// each: a block made before the rotation still goes back in its loop after it; the gateway takes the rotation up without a
    /// restart, accepting the new key at once while still making blocks with the old one until
    /// <see cref="GatewaySecrets.SealingDelay"/> after the rotation (so a replica that has not taken it up yet reads them), then
    /// with the new key; after a second rotation a block of the first key, two rotations old, is left out as a foreign one,
    /// and DeepSeek (the simulator) refuses the step without its reasoning.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ABlockMadeBeforeARotation_GoesOnInItsLoopAfterIt_ARunningGatewayTakesTheRotationUp_AndTwoRotationsLaterItIsForeign(bool thinking)
    {
        var clock = new FakeClock(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        // No key from the operator; the store's grace is years, as the clock moves by a minute at once.
        await using var live = await LiveGateway.StartAsync(simulator => WithReasonerAndKey("CORRIDOR_TEST_UNSET_" + Guid.NewGuid().ToString("N"))(simulator)
            + "\n\nstorage:\n  unavailableGraceSeconds: 315360000\n", time: clock);
        var client = live.Anthropic();
        var question = new UserMessageParam { Content = "What is the weather in Singapore?" };
        var ask = AnthropicDialectTests.Ask("deepseek-reasoner", question) with { MaxTokens = 4096, Tools = [AnthropicDialectTests.WeatherTool()] };
        if (thinking)
        {
            ask = ask with { Thinking = new ThinkingConfigEnabled { BudgetTokens = 2048 } };
        }
        Task<Message> Step(Message first, (ReasoningSeal, ReasoningSeal)? remade = null) =>
            client.Messages.Create(ask with { Messages = NextStep(question, first, withReasoning: true, remade) }).WithTimeout();
        async Task<ReasoningSeal> RotateAsync()
        {
            Assert.NotNull(await AdminChanges.RotateReasoningKeyAsync(live.Store, "cli:test", clock.GetUtcNow(), CancellationToken.None).WithTimeout());
            return StoredKeyAlone((await live.Store.GetSecretAsync(GatewaySecrets.ReasoningKey, CancellationToken.None).WithTimeout()).Value);
        }
        async Task TakenUpAsync(Message first, ReasoningSeal from, ReasoningSeal to) => await TestTimeouts.UntilAsync(async () =>
        {
            // The gateway looks at its store when its clock has moved a poll's worth; it then accepts a block of the new key.
            clock.Advance(TimeSpan.FromMilliseconds(500));
            try
            {
                return (await Step(first, (from, to))).StopReason?.Raw() == "end_turn";
            }
            catch (Anthropic.Exceptions.AnthropicBadRequestException)
            {
                return false;
            }
        });
        var k0 = StoredKeyAlone((await live.Store.GetSecretAsync(GatewaySecrets.ReasoningKey, CancellationToken.None).WithTimeout()).Value);
        var before = await client.Messages.Create(ask).WithTimeout();

        var rotatedAt = clock.GetUtcNow();
        var k1 = await RotateAsync();
        await TakenUpAsync(before, k0, k1);
        var inTheDelay = await client.Messages.Create(ask).WithTimeout();
        var tookUpWithin = clock.GetUtcNow() - rotatedAt;
        clock.Advance(GatewaySecrets.SealingDelay);
        var after = await client.Messages.Create(ask).WithTimeout();
        var beforeGoesOn = await Step(before);

        Assert.True(MadeWith(before, k0));
        Assert.True(tookUpWithin < GatewaySecrets.SealingDelay, $"taken up {tookUpWithin} after the rotation");
        Assert.True(MadeWith(inTheDelay, k0));
        Assert.False(MadeWith(inTheDelay, k1));
        Assert.True(MadeWith(after, k1));
        Assert.False(MadeWith(after, k0));
        Assert.Equal("end_turn", beforeGoesOn.StopReason?.Raw());

        var k2 = await RotateAsync();
        await TakenUpAsync(before, k0, k2);
        var passedBack = await live.SimulatorReasoningPassedBackAsync().WithTimeout();

        await Assert.ThrowsAsync<Anthropic.Exceptions.AnthropicBadRequestException>(() => Step(before)).WithTimeout();
        Assert.Equal(passedBack, await live.SimulatorReasoningPassedBackAsync().WithTimeout());
        Assert.Equal("end_turn", (await Step(after)).StopReason?.Raw());
    }

    /// <summary>
    /// The operator's rotation of a key from the environment (docs/operations.md): the gateway restarted with the new key in
    /// <c>server.reasoningKeyEnv</c>'s variable and the old one in <c>server.reasoningPreviousKeyEnv</c>'s takes a loop's block
    /// the old key made, and makes new blocks with the new key only.
    /// </summary>
    [Fact]
    public async Task TheOperatorsRotation_TheOldKeyInThePreviousVariable_KeepsTheLoopsInFlight()
    {
        using var key = new TokenVariable();
        var previousEnv = "CORRIDOR_TEST_PREVIOUS_" + Guid.NewGuid().ToString("N");
        var newKey = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        await using var live = await LiveGateway.StartAsync(simulator => WithReasonerAndKey(key.Name)(simulator)
            .Replace("server:\n", $"server:\n  reasoningPreviousKeyEnv: {previousEnv}\n", StringComparison.Ordinal));
        try
        {
            var (first, second) = await RunToolLoopAsync(live, thinking: true, streamed: false, between: () =>
            {
                Environment.SetEnvironmentVariable(previousEnv, key.Token);
                Environment.SetEnvironmentVariable(key.Name, newKey);
                return live.RestartGatewayAsync();
            });
            var (after, _) = await RunToolLoopAsync(live, thinking: true, streamed: false);

            Assert.True(MadeWith(first, ReasoningSeal.FromKey(key.Token)));
            Assert.Equal("end_turn", second.StopReason?.Raw());
            Assert.True(MadeWith(after, ReasoningSeal.FromKey(newKey)));
            Assert.False(MadeWith(after, ReasoningSeal.FromKey(key.Token)));
        }
        finally
        {
            Environment.SetEnvironmentVariable(previousEnv, null);
        }
    }

    /// <summary>A seal of the store's key <paramref name="value"/> alone, to tell which key made a block.</summary>
    private static ReasoningSeal StoredKeyAlone(byte[] value) => ReasoningSeal.FromStoredKey(new GatewaySecret(value), TimeProvider.System)!;

    /// <summary>Whether <paramref name="answer"/>'s reasoning block was made with <paramref name="seal"/>'s key.</summary>
    private static bool MadeWith(Message answer, ReasoningSeal seal) =>
        answer.Content[0].TryPickThinking(out var thought) ? seal.Verifies(thought.Thinking, thought.Signature)
        : answer.Content[0].TryPickRedactedThinking(out var redacted) && seal.Open(redacted.Data) is not null;

    private static ChatTool WeatherFunction() => ChatTool.CreateFunctionTool("get_weather", "The current weather in a city.", BinaryData.FromString(
        """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));
}
