// The OpenAI SDK marks its Responses client experimental (OPENAI001); it is what newer OpenAI applications call.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Testing;
using OpenAI.Chat;
using OpenAI.Responses;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The OpenAI SDK's Responses client (<c>POST /v1/responses</c>) against models of both kinds: Corridor serves it as a
/// chat completion and answers in the Responses shape, so the answer must equal the chat client's for the same prompt,
/// whole and streamed, and be billed and recorded under <c>/v1/responses</c>.
/// </summary>
public sealed class ResponsesApiTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    private ResponsesClient Responses(ResponseLog? log = null) => Live.OpenAI(log: log).GetResponsesClient();

    private async Task<ChatCompletion> NativeAsync(string model, string prompt, string? instructions = null)
    {
        List<ChatMessage> messages = instructions is null ? [] : [new SystemChatMessage(instructions)];
        messages.Add(new UserChatMessage(prompt));
        return (await Live.OpenAI().GetChatClient(model).CompleteChatAsync(messages, null, default).WithTimeout()).Value;
    }

    [Theory]
    [InlineData("gpt-4.1", "gpt-4.1-sg")]
    [InlineData("claude-sonnet-4", "claude-us")]
    public async Task AResponse_CarriesTheModelsAnswer_AndIsBilledUnderV1Responses(string model, string deployment)
    {
        const string Instructions = "You answer shipping questions.";
        const string Prompt = "Where is parcel 4471?";
        var native = await NativeAsync(model, Prompt, Instructions);
        var log = new ResponseLog();

        var response = (await Responses(log).CreateResponseAsync(new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem(Prompt)])
        {
            Instructions = Instructions,
        }).WithTimeout()).Value;

        Assert.StartsWith("resp_", response.Id, StringComparison.Ordinal);
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal(model, response.Model);
        Assert.Equal(native.Content[0].Text, response.GetOutputText());
        var message = Assert.IsAssignableFrom<MessageResponseItem>(Assert.Single(response.OutputItems));
        Assert.Equal(MessageRole.Assistant, message.Role);
        Assert.Equal(native.Usage.InputTokenCount, response.Usage.InputTokenCount);
        Assert.Equal(native.Usage.OutputTokenCount, response.Usage.OutputTokenCount);
        Assert.Equal(response.Usage.InputTokenCount + response.Usage.OutputTokenCount, response.Usage.TotalTokenCount);
        Assert.Equal(Instructions, Assert.Single(response.Instructions) is MessageResponseItem echoed ? echoed.Content[0].Text : null);
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(("/v1/responses", RequestOutcome.Success), (row.Endpoint, row.Outcome));
        LedgerAssert.Billed(Live, row, deployment, response.Usage.InputTokenCount, response.Usage.OutputTokenCount);
        // The row keeps the request as the chat completion it was served as: the traffic log's shape, which replay reads.
        using var kept = JsonDocument.Parse(row.RequestBody!.ToString());
        Assert.Equal(["system", "user"], kept.RootElement.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.StartsWith(row.ResponseText!, response.GetOutputText(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gpt-4.1", "gpt-4.1-sg")]
    [InlineData("claude-sonnet-4", "claude-us")]
    public async Task AStreamedResponse_SendsTheLifecycleEventsInOrder_EndingWithTheUsage(string model, string deployment)
    {
        const string Prompt = "Stream the status of parcel 4471.";
        var native = await NativeAsync(model, Prompt);
        var log = new ResponseLog();

        var updates = await (await Responses(log).CreateResponseStreamingAsync(new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem(Prompt)]) { StreamingEnabled = true })
            .WithTimeout()).ToListWithTimeoutAsync();

        Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]);
        Assert.IsType<StreamingResponseInProgressUpdate>(updates[1]);
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response;
        Assert.Equal(Enumerable.Range(0, updates.Count), updates.Select(u => u.SequenceNumber));
        var text = string.Concat(updates.OfType<StreamingResponseOutputTextDeltaUpdate>().Select(u => u.Delta));
        Assert.Equal(native.Content[0].Text, text);
        Assert.Equal(text, Assert.Single(updates.OfType<StreamingResponseOutputTextDoneUpdate>()).Text);
        Assert.Equal(text, completed.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, completed.Status);
        Assert.Equal(native.Usage.InputTokenCount, completed.Usage.InputTokenCount);
        Assert.Equal(native.Usage.OutputTokenCount, completed.Usage.OutputTokenCount);
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(("/v1/responses", RequestOutcome.Success, false), (row.Endpoint, row.Outcome, row.Estimated));
        LedgerAssert.Billed(Live, row, deployment, completed.Usage.InputTokenCount, completed.Usage.OutputTokenCount);
    }

    [Theory]
    [InlineData("gpt-4.1")]
    [InlineData("claude-sonnet-4")]
    public async Task AFunctionCall_RoundTripsThroughItsOutput(string model)
    {
        var client = Responses();
        List<ResponseItem> input = [ResponseItem.CreateUserMessageItem("What is the weather in Singapore?")];
        var options = new CreateResponseOptions(model, input) { Tools = { WeatherFunction() } };

        var first = (await client.CreateResponseAsync(options).WithTimeout()).Value;

        var call = Assert.Single(first.OutputItems.OfType<FunctionCallResponseItem>());
        Assert.Equal("get_weather", call.FunctionName);
        Assert.False(string.IsNullOrEmpty(call.CallId));
        Assert.StartsWith("fc_", call.Id, StringComparison.Ordinal);
        using (var arguments = JsonDocument.Parse(call.FunctionArguments))
        {
            Assert.Equal(JsonValueKind.String, arguments.RootElement.GetProperty("city").ValueKind);
        }

        input.AddRange(first.OutputItems);
        input.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, """{"city":"Singapore","temperature":31}"""));
        var second = (await client.CreateResponseAsync(new CreateResponseOptions(model, input) { Tools = { WeatherFunction() } }).WithTimeout()).Value;

        Assert.Empty(second.OutputItems.OfType<FunctionCallResponseItem>());
        Assert.False(string.IsNullOrWhiteSpace(second.GetOutputText()));
    }

    [Theory]
    [InlineData("gpt-4.1")]
    [InlineData("claude-sonnet-4")]
    public async Task AStreamedFunctionCall_JoinsIntoTheWholeArguments(string model)
    {
        var client = Responses();
        var options = new CreateResponseOptions(model, [ResponseItem.CreateUserMessageItem("What is the weather in Oslo?")]) { Tools = { WeatherFunction() } };
        var whole = Assert.Single((await client.CreateResponseAsync(options).WithTimeout()).Value.OutputItems.OfType<FunctionCallResponseItem>());

        options.StreamingEnabled = true;
        var updates = await (await client.CreateResponseStreamingAsync(options).WithTimeout()).ToListWithTimeoutAsync();

        var streamed = string.Concat(updates.OfType<StreamingResponseFunctionCallArgumentsDeltaUpdate>().Select(u => u.Delta.ToString()));
        var done = Assert.IsType<FunctionCallResponseItem>(Assert.Single(updates.OfType<StreamingResponseOutputItemDoneUpdate>(), u => u.Item is FunctionCallResponseItem).Item);
        Assert.Equal(streamed, done.FunctionArguments.ToString());
        using var expected = JsonDocument.Parse(whole.FunctionArguments);
        using var actual = JsonDocument.Parse(streamed);
        Assert.True(JsonElement.DeepEquals(expected.RootElement, actual.RootElement), $"{expected.RootElement} != {actual.RootElement}");
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response;
        Assert.Equal(done.CallId, Assert.Single(completed.OutputItems.OfType<FunctionCallResponseItem>()).CallId);
    }

    private static string WithReasoner(Uri simulator) => TestCatalog.WithReasoner(TestCatalog.Yaml(simulator));

    /// <summary>The test catalog with a reasoning model served by vLLM (an OpenAI-kind vendor), which says its reasoning in <c>reasoning</c>.</summary>
    private static string WithVllmReasoner(Uri simulator) => TestCatalog.WithReasoningModel(TestCatalog.Yaml(simulator), "qwen3-vllm-reasoner");

    [Fact]
    public async Task DeepSeeksReasoning_IsAReasoningItemBeforeTheAnswer_WholeAndStreamed_AsTheChatClientGetsIt()
    {
        await using var live = await LiveGateway.StartAsync(WithReasoner);

        var (chatUsage, whole, streamed) = await AssertReasoningAsTheChatClientGetsItAsync(live,
            $$"""{"model":"deepseek-reasoner","messages":[{"role":"user","content":"{{ReasoningPrompt}}"}]}""",
            new CreateResponseOptions("deepseek-reasoner", [ResponseItem.CreateUserMessageItem(ReasoningPrompt)]));

        var chatReasoningTokens = chatUsage.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32();
        Assert.InRange(chatReasoningTokens, 1, int.MaxValue);
        Assert.Equal(chatReasoningTokens, whole.Usage.OutputTokenDetails.ReasoningTokenCount);
        Assert.Equal(chatReasoningTokens, streamed.Usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AReasoningItemSentBack_IsTheAssistantTurnsReasoningContent_SoDeepSeeksToolLoopGoesOn(bool streamed)
    {
        await using var live = await LiveGateway.StartAsync(WithReasoner);
        var log = new ResponseLog();
        var client = live.OpenAI(log: log).GetResponsesClient();
        List<ResponseItem> input = [ResponseItem.CreateUserMessageItem("What is the weather in Singapore?")];
        var options = new CreateResponseOptions("deepseek-reasoner", input) { Tools = { WeatherFunction() } };
        ResponseResult first;
        string reasoning;
        if (streamed)
        {
            options.StreamingEnabled = true;
            var updates = await (await client.CreateResponseStreamingAsync(options).WithTimeout()).ToListWithTimeoutAsync();
            first = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response;
            reasoning = Assert.Single(updates.OfType<StreamingResponseReasoningTextDoneUpdate>()).Text;
        }
        else
        {
            var whole = await client.CreateResponseAsync(options).WithTimeout();
            first = whole.Value;
            // The .NET SDK reads a reasoning item's summary, not its reasoning text: the text is read from the body.
            using var body = JsonDocument.Parse(whole.GetRawResponse().Content.ToString());
            reasoning = body.RootElement.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString()!;
        }

        // DeepSeek's thinking mode reasons before its call, and wants that reasoning back beside the call in the loop's next
        // step: the SDK sends the reasoning item back with the rest of the output, as a stateless tool loop does.
        Assert.IsType<ReasoningResponseItem>(first.OutputItems[0]);
        var call = Assert.IsType<FunctionCallResponseItem>(first.OutputItems[1]);
        Assert.False(string.IsNullOrWhiteSpace(reasoning));
        input.AddRange(first.OutputItems);
        input.Add(ResponseItem.CreateFunctionCallOutputItem(call.CallId, """{"city":"Singapore","temperature":31}"""));
        var second = (await client.CreateResponseAsync(new CreateResponseOptions("deepseek-reasoner", input) { Tools = { WeatherFunction() } }).WithTimeout()).Value;

        Assert.Equal(ResponseStatus.Completed, second.Status);
        Assert.False(string.IsNullOrWhiteSpace(second.GetOutputText()));
        var row = await live.LedgerRowAsync(log.Last.RequestId!);
        using var kept = JsonDocument.Parse(row.RequestBody!.ToString());
        var assistant = kept.RootElement.GetProperty("messages")[1];
        Assert.Equal(("assistant", reasoning), (assistant.GetProperty("role").GetString(), assistant.GetProperty("reasoning_content").GetString()));
        Assert.Equal(call.CallId, assistant.GetProperty("tool_calls")[0].GetProperty("id").GetString());
    }

    /// <summary>A tool loop whose first step a model that reasons in text (DeepSeek's) answered, sent on to <paramref name="model"/>.</summary>
    private static string ReasoningToolLoop(string model) => """
        {"model":"MODEL","input":[
          {"role":"user","content":"What is the weather in Oslo?"},
          {"type":"reasoning","id":"rs_1","summary":[],"content":[{"type":"reasoning_text","text":"I need the weather."}]},
          {"type":"function_call","call_id":"call_A","name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},
          {"type":"function_call_output","call_id":"call_A","output":"4 degrees"}],
         "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]}
        """.Replace("MODEL", model, StringComparison.Ordinal);

    [Fact]
    public async Task ReasoningSentBack_ReachesAnOpenAIKindUpstream_ButNotAzureOpenAI_WhichHasNoPlaceForIt()
    {
        await using var live = await LiveGateway.StartAsync(TestCatalog.Yaml);
        using var http = live.Http();

        var before = await live.SimulatorReasoningPassedBackAsync().WithTimeout();
        using var openAIKind = await http.PostAsync("/v1/responses", new StringContent(ReasoningToolLoop("gpt-4.1"), Encoding.UTF8, "application/json")).WithTimeout();
        var afterOpenAIKind = await live.SimulatorReasoningPassedBackAsync().WithTimeout();
        using var azure = await http.PostAsync("/v1/responses", new StringContent(ReasoningToolLoop("gpt-4.1-azure"), Encoding.UTF8, "application/json")).WithTimeout();
        var afterAzure = await live.SimulatorReasoningPassedBackAsync().WithTimeout();

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (openAIKind.StatusCode, azure.StatusCode));
        Assert.Equal((before + 1, before + 1), (afterOpenAIKind, afterAzure));
    }

    [Fact]
    public async Task ReasoningSentBack_InAMirroredRequest_FollowsTheCandidatesUpstream_AsTheForwarderDoes()
    {
        // Each model mirrored to the other: the shadow's upstream body is built apart from the primary's, and must leave the
        // reasoning out toward Azure OpenAI (which has no place for it) and keep it toward an OpenAI-kind upstream.
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator) + """

            shadow:
              models:
                gpt-4.1: { candidate: gpt-4.1-azure, share: 1 }
                gpt-4.1-azure: { candidate: gpt-4.1, share: 1 }
            """);
        using var http = live.Http();
        async Task<long> PassedBackAsync(string model)
        {
            var before = await live.SimulatorReasoningPassedBackAsync().WithTimeout();
            using var response = await http.PostAsync("/v1/responses", new StringContent(ReasoningToolLoop(model), Encoding.UTF8, "application/json")).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var primary = response.Headers.GetValues("x-corridor-request-id").Single();
            await live.LedgerRowAsync(r => r.ShadowOf == primary).WithTimeout();
            return await live.SimulatorReasoningPassedBackAsync().WithTimeout() - before;
        }

        // The primary on the OpenAI-kind upstream takes it, its mirror on Azure does not; the other way round, the other way round.
        Assert.Equal((1L, 1L), (await PassedBackAsync("gpt-4.1"), await PassedBackAsync("gpt-4.1-azure")));
    }

    [Fact]
    public async Task VllmsReasoningField_IsAReasoningItemBeforeTheAnswer_WholeAndStreamed_AndReachesAChatClientAsItCame()
    {
        await using var live = await LiveGateway.StartAsync(WithVllmReasoner);
        var chatBody = $$"""{"model":"qwen3-vllm-reasoner","messages":[{"role":"user","content":"{{ReasoningPrompt}}"}]}""";

        await AssertReasoningAsTheChatClientGetsItAsync(live, chatBody,
            new CreateResponseOptions("qwen3-vllm-reasoner", [ResponseItem.CreateUserMessageItem(ReasoningPrompt)]), reasoningField: "reasoning");

        // A chat client gets vLLM's field as vLLM sent it, whole and streamed.
        using var http = live.Http();
        using var wholeChat = await http.PostAsync("/v1/chat/completions", new StringContent(chatBody, Encoding.UTF8, "application/json")).WithTimeout();
        using var streamedChat = await http.PostAsync("/v1/chat/completions",
            new StringContent(chatBody[..^1] + ""","stream":true}""", Encoding.UTF8, "application/json")).WithTimeout();
        using var message = JsonDocument.Parse(await wholeChat.Content.ReadAsStringAsync().WithTimeout());
        var deltas = (await streamedChat.Content.ReadAsStringAsync().WithTimeout()).Split('\n')
            .Where(line => line.StartsWith("data: {", StringComparison.Ordinal))
            .Select(line => JsonDocument.Parse(line["data: ".Length..]).RootElement)
            .Where(chunk => chunk.GetProperty("choices").GetArrayLength() > 0)
            .Select(chunk => chunk.GetProperty("choices")[0].GetProperty("delta")).ToList();
        var reasoning = message.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("reasoning").GetString();
        Assert.False(string.IsNullOrWhiteSpace(reasoning));
        Assert.Equal(reasoning, string.Concat(deltas.Where(d => d.TryGetProperty("reasoning", out _)).Select(d => d.GetProperty("reasoning").GetString())));
        Assert.DoesNotContain(deltas, d => d.TryGetProperty("reasoning_content", out _));
    }

    [Fact]
    public async Task AClaudeModelsThinking_IsAReasoningItemBeforeTheAnswer_WholeAndStreamed_AsTheChatClientGetsIt()
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.WithRoomToThink(TestCatalog.Yaml(simulator)));

        await AssertReasoningAsTheChatClientGetsItAsync(live,
            $$"""{"model":"claude-sonnet-4","max_completion_tokens":4096,"reasoning_effort":"medium","messages":[{"role":"user","content":"{{ReasoningPrompt}}"}]}""",
            new CreateResponseOptions("claude-sonnet-4", [ResponseItem.CreateUserMessageItem(ReasoningPrompt)])
            {
                MaxOutputTokenCount = 4096,
                ReasoningOptions = new ResponseReasoningOptions { ReasoningEffortLevel = ResponseReasoningEffortLevel.Medium },
            });
    }

    private const string ReasoningPrompt = "Which city is the capital of Norway?";

    /// <summary>
    /// Asks <paramref name="chatBody"/> as a chat completion and <paramref name="options"/> through the Responses API, whole
    /// then streamed, and checks that the Responses client gets the chat client's reasoning as a reasoning item before the
    /// answer, and its answer; the chat answer says its reasoning in <paramref name="reasoningField"/>. Returns the chat answer's
    /// usage and the two responses.
    /// </summary>
    private static async Task<(JsonElement ChatUsage, ResponseResult Whole, ResponseResult Streamed)> AssertReasoningAsTheChatClientGetsItAsync(
        LiveGateway live, string chatBody, CreateResponseOptions options, string reasoningField = "reasoning_content")
    {
        using var http = live.Http();
        using var chatResponse = await http.PostAsync("/v1/chat/completions", new StringContent(chatBody, Encoding.UTF8, "application/json")).WithTimeout();
        using var chat = JsonDocument.Parse(await chatResponse.Content.ReadAsStringAsync());
        var chatMessage = chat.RootElement.GetProperty("choices")[0].GetProperty("message");
        var client = live.OpenAI().GetResponsesClient();

        var whole = await client.CreateResponseAsync(options).WithTimeout();
        options.StreamingEnabled = true;
        var updates = await (await client.CreateResponseStreamingAsync(options).WithTimeout()).ToListWithTimeoutAsync();

        var response = whole.Value;
        Assert.Equal(2, response.OutputItems.Count);
        Assert.IsType<ReasoningResponseItem>(response.OutputItems[0]);
        Assert.IsAssignableFrom<MessageResponseItem>(response.OutputItems[1]);
        Assert.Equal(chatMessage.GetProperty("content").GetString(), response.GetOutputText());
        // The .NET SDK reads a reasoning item's summary, not its reasoning text: the text is read from the body.
        using var body = JsonDocument.Parse(whole.GetRawResponse().Content.ToString());
        var reasoning = body.RootElement.GetProperty("output")[0].GetProperty("content")[0];
        Assert.Equal("reasoning_text", reasoning.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(reasoning.GetProperty("text").GetString()));
        Assert.Equal(chatMessage.GetProperty(reasoningField).GetString(), reasoning.GetProperty("text").GetString());

        Assert.Equal(reasoning.GetProperty("text").GetString(), string.Concat(updates.OfType<StreamingResponseReasoningTextDeltaUpdate>().Select(u => u.Delta)));
        Assert.Equal(reasoning.GetProperty("text").GetString(), Assert.Single(updates.OfType<StreamingResponseReasoningTextDoneUpdate>()).Text);
        Assert.True(updates.FindLastIndex(u => u is StreamingResponseReasoningTextDeltaUpdate) < updates.FindIndex(u => u is StreamingResponseOutputTextDeltaUpdate));
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response;
        Assert.IsType<ReasoningResponseItem>(completed.OutputItems[0]);
        Assert.Equal(response.GetOutputText(), completed.GetOutputText());
        return (chat.RootElement.GetProperty("usage").Clone(), response, completed);
    }

    [Fact]
    public async Task AnAnswerCutAtMaxOutputTokens_IsIncomplete_AndSaysWhy()
    {
        var response = (await Responses().CreateResponseAsync(new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("Tell me a long story about parcels.")])
        {
            MaxOutputTokenCount = 16,
        }).WithTimeout()).Value;

        Assert.Equal(ResponseStatus.Incomplete, response.Status);
        Assert.Equal(ResponseIncompleteStatusReason.MaxOutputTokens, response.IncompleteStatusDetails.Reason);
        Assert.Equal(16, response.Usage.OutputTokenCount);
        Assert.Equal(16, response.MaxOutputTokenCount);
    }

    [Fact]
    public async Task MaxOutputTokensAboveTheModelsBound_IsA400_NamingMaxOutputTokens()
    {
        var options = new CreateResponseOptions("claude-sonnet-4", [ResponseItem.CreateUserMessageItem("Write a book.")]) { MaxOutputTokenCount = 5000 };

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Responses().CreateResponseAsync(options).WithTimeout());

        Assert.Equal(400, refused.Status);
        using var error = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString());
        Assert.Equal("max_output_tokens", error.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.StartsWith("max_output_tokens is too large: 5000.", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AConversation_IsRefusedWith400_NamingTheParameter_AndNotBilled()
    {
        using var http = Live.Http();

        using var refused = await http.PostAsync("/v1/responses", new StringContent("""{"model":"gpt-4.1","input":"And then?","conversation":"conv_1"}""", Encoding.UTF8, "application/json")).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("conversation", error.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Contains("keeps responses, not conversations", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var row = await Live.LedgerRowAsync(refused.Headers.GetValues("x-corridor-request-id").Single());
        Assert.Equal(("/v1/responses", RequestOutcome.ClientError, false, 0m), (row.Endpoint, row.Outcome, row.Billable, row.Cost));
    }

    [Fact]
    public async Task AutomaticTruncation_IsServedAsDisabled_AndMaxToolCallsIsEchoed()
    {
        var client = Responses();
        var truncated = new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("Hello?")]) { TruncationMode = ResponseTruncationMode.Auto };
        var limited = new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("What is the weather in Oslo?")])
        {
            Tools = { WeatherFunction() },
            MaxToolCallCount = 1,
            TruncationMode = ResponseTruncationMode.Disabled,
        };

        var answered = (await client.CreateResponseAsync(truncated).WithTimeout()).Value;
        var served = (await client.CreateResponseAsync(limited).WithTimeout()).Value;

        // An input that fits is served whatever the truncation; Corridor drops no input items, so it echoes what it applied.
        Assert.Equal(ResponseStatus.Completed, answered.Status);
        Assert.False(string.IsNullOrEmpty(answered.GetOutputText()));
        Assert.Equal(ResponseTruncationMode.Disabled, answered.TruncationMode);
        // max_tool_calls counts calls to OpenAI's built-in tools, which Corridor never runs: a function call is not one of them.
        Assert.Single(served.OutputItems.OfType<FunctionCallResponseItem>());
        Assert.Equal(1, served.MaxToolCallCount);
        Assert.Equal(ResponseTruncationMode.Disabled, served.TruncationMode);
    }

    [Fact]
    public async Task AVendorHostedTool_IsRefusedWith400()
    {
        var options = new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("Search the web.")]) { Tools = { ResponseTool.CreateWebSearchTool() } };

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Responses().CreateResponseAsync(options).WithTimeout());

        Assert.Equal(400, refused.Status);
        Assert.Contains("function tools", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RetrievingAResponseNeverKept_Is404_ResponseNotFound_AndCancellingOneToo()
    {
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Responses().GetResponseAsync("resp_abc").WithTimeout());
        using var http = Live.Http();
        using var cancel = await http.PostAsync("/v1/responses/resp_abc/cancel", null).WithTimeout();

        Assert.Equal(404, refused.Status);
        using var error = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString());
        Assert.Equal(("response_not_found", "Response with id 'resp_abc' not found."),
            (error.RootElement.GetProperty("error").GetProperty("code").GetString(), error.RootElement.GetProperty("error").GetProperty("message").GetString()));
        // Only a background response can be cancelled, and Corridor makes none.
        Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        Assert.Contains("response_not_found", await cancel.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CountingAResponsesRequestsInputTokens_IsA404_ThatSaysItIsNotServed_NotThatAResponseIsNotFound()
    {
        var body = System.ClientModel.BinaryContent.Create(BinaryData.FromString("""{"model":"gpt-4.1","input":"Where is parcel 4471?"}"""));

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Responses().GetInputTokenCountAsync(body, "application/json").WithTimeout());

        Assert.Equal(404, refused.Status);
        using var error = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString());
        var fields = error.RootElement.GetProperty("error");
        Assert.Equal(("invalid_request_error", "endpoint_not_served"), (fields.GetProperty("type").GetString(), fields.GetProperty("code").GetString()));
        Assert.StartsWith("Counting a Responses request's input tokens (POST /v1/responses/input_tokens) is not served by Corridor", fields.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownModel_Is404_InOpenAIsShape()
    {
        var refused = await Assert.ThrowsAsync<ClientResultException>(
            () => Responses().CreateResponseAsync("no-such-model", "Hello?").WithTimeout());

        Assert.Equal(404, refused.Status);
    }

    [Fact]
    public async Task AMalformedBody_Is400_AndTheGatewayKeepsServing()
    {
        using var http = Live.Http();

        using var malformed = await http.PostAsync("/v1/responses", new StringContent(""""{"model":"gpt-4.1","input":[{"type":"message"""", Encoding.UTF8, "application/json")).WithTimeout();
        using var wrongType = await http.PostAsync("/v1/responses", new StringContent("""{"model":"gpt-4.1","input":42}""", Encoding.UTF8, "application/json")).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        using var error = JsonDocument.Parse(await wrongType.Content.ReadAsStringAsync());
        Assert.Equal("input", error.RootElement.GetProperty("error").GetProperty("param").GetString());
        var served = (await Responses().CreateResponseAsync("gpt-4.1", "Still there?").WithTimeout()).Value;
        Assert.Equal(ResponseStatus.Completed, served.Status);
    }

    private static FunctionTool WeatherFunction() => ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString(
        """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""), strictModeEnabled: null, "The current weather in a city.");
}
