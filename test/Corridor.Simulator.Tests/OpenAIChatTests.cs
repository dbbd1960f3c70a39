using System.Net;
using System.Text;
using System.Text.Json;

namespace Corridor.Simulator.Tests;

public sealed class OpenAIChatTests
{
    [Fact]
    public async Task Completion_HasOpenAIShape_AndSaysItIsSimulated()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("1", response.Header("x-corridor-simulator"));
        Assert.Equal("application/json", response.ContentType?.MediaType);
        var json = response.Json;
        Assert.StartsWith("chatcmpl-", json.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("chat.completion", json.GetProperty("object").GetString());
        Assert.Equal("gpt-4.1", json.GetProperty("model").GetString());
        Assert.Contains("simulator", json.GetProperty("system_fingerprint").GetString(), StringComparison.Ordinal);
        var choice = Assert.Single(json.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        var content = choice.GetProperty("message").GetProperty("content").GetString()!;
        Assert.StartsWith("Simulated response from the Corridor upstream simulator.", content, StringComparison.Ordinal);
        var usage = json.GetProperty("usage");
        Assert.InRange(usage.GetProperty("completion_tokens").GetInt32(), 20, 300);
        Assert.Equal(
            usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(),
            usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task SameRequest_GetsSameAnswer_AndAnotherQuestionAnother()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var first = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("What is a gateway?"));
        var again = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("What is a gateway?"));
        var other = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("What is a ledger?"));
        var otherModel = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("What is a gateway?", model: "deepseek-v4"));

        Assert.Equal(Content(first), Content(again));
        Assert.NotEqual(Content(first), Content(other));
        Assert.NotEqual(Content(first), Content(otherModel));
    }

    [Fact]
    public async Task Seed_ChangesTheAnswer()
    {
        await using var seeded = await SimulatorFixture.StartAsync(new SimulatorOptions { TokenInterval = TimeSpan.Zero, Seed = 7 });
        await using var unseeded = await SimulatorFixture.StartAsync();

        var a = await seeded.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());
        var b = await unseeded.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());

        Assert.NotEqual(Content(a), Content(b));
    }

    [Fact]
    public async Task AnswerLengths_Vary_FromTensToHundredsOfTokens()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var lengths = new HashSet<int>();
        for (var i = 0; i < 12; i++)
        {
            var response = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat($"question {i}"));
            lengths.Add(response.Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        Assert.True(lengths.Count > 6, $"lengths: {string.Join(",", lengths)}");
        Assert.All(lengths, length => Assert.InRange(length, 20, 300));
    }

    [Fact]
    public async Task PromptTokens_FollowMessageText()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var shortPrompt = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("hi"));
        var longPrompt = await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat(new string('x', 4000)));

        var shortTokens = shortPrompt.Json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        var longTokens = longPrompt.Json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32();
        // 4000 characters are about 1000 tokens more.
        Assert.InRange(longTokens - shortTokens, 990, 1010);
        Assert.InRange(shortTokens, 5, 20);
    }

    [Fact]
    public async Task Stream_EndsWithDone_AndUsageChunk_WhenIncludeUsage()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var stream = await sim.StreamAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: ""","stream":true,"stream_options":{"include_usage":true}"""));

        Assert.Equal(HttpStatusCode.OK, stream.Status);
        Assert.Equal("text/event-stream", stream.ContentType?.MediaType);
        Assert.False(stream.Failed);
        Assert.Equal("[DONE]", stream.Events[^1].Data);
        var chunks = stream.JsonEvents.ToList();
        Assert.All(chunks, chunk => Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString()));
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        Assert.True(usageChunk.GetProperty("usage").GetProperty("total_tokens").GetInt32() > 0);
        Assert.All(chunks[..^1], chunk => Assert.Equal(JsonValueKind.Null, chunk.GetProperty("usage").ValueKind));
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Stream_HasNoUsage_WhenNotAskedFor()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var stream = await sim.StreamAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: ""","stream":true"""));

        Assert.Equal("[DONE]", stream.Events[^1].Data);
        Assert.All(stream.JsonEvents, chunk => Assert.False(chunk.TryGetProperty("usage", out _)));
    }

    [Fact]
    public async Task AReasoningModel_ReasonsBeforeItAnswers_AsDeepSeekDoes_WholeAndStreamed_CountingItsReasoningTokens()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var whole = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("Why is the sky blue?", model: "deepseek-reasoner"))).Json;
        var stream = await sim.StreamAsync("/v1/chat/completions",
            Bodies.OpenAIChat("Why is the sky blue?", ""","stream":true,"stream_options":{"include_usage":true}""", "deepseek-reasoner"));
        var plain = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("Why is the sky blue?"))).Json;

        var message = whole.GetProperty("choices")[0].GetProperty("message");
        var reasoning = message.GetProperty("reasoning_content").GetString()!;
        var content = message.GetProperty("content").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(reasoning));
        Assert.NotEqual(reasoning, content);
        var deltas = stream.JsonEvents.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0].GetProperty("delta")).ToList();
        static bool Has(JsonElement delta, string field) =>
            delta.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0;
        string Joined(string field) => string.Concat(deltas.Where(d => Has(d, field)).Select(d => d.GetProperty(field).GetString()));
        Assert.Equal(reasoning, Joined("reasoning_content"));
        Assert.Equal(content, Joined("content"));
        Assert.True(deltas.FindLastIndex(d => Has(d, "reasoning_content")) < deltas.FindIndex(d => Has(d, "content")));
        var usage = whole.GetProperty("usage");
        var reasoningTokens = usage.GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32();
        Assert.Equal(deltas.Count(d => Has(d, "reasoning_content")), reasoningTokens);
        Assert.InRange(reasoningTokens, 1, usage.GetProperty("completion_tokens").GetInt32() - 1);
        Assert.Equal(usage.ToString(), stream.JsonEvents.Last().GetProperty("usage").ToString());
        Assert.False(plain.GetProperty("choices")[0].GetProperty("message").TryGetProperty("reasoning_content", out _));
        Assert.Equal(0, plain.GetProperty("usage").GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
    }

    [Fact]
    public async Task AReasoningModel_WithItsThinkingSwitchedOff_AnswersWithoutReasoning_AndWantsNoneBack_AsDeepSeeksDoes()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Off = ""","thinking":{"type":"disabled"}""";

        var whole = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("Why is the sky blue?", Off, "deepseek-reasoner"))).Json;
        var loop = await sim.PostAsync("/v1/chat/completions", """
            {"model":"deepseek-reasoner","thinking":{"type":"disabled"},"messages":[
              {"role":"user","content":"Weather in Oslo?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"sunny"}]}
            """);

        Assert.False(whole.GetProperty("choices")[0].GetProperty("message").TryGetProperty("reasoning_content", out _));
        Assert.Equal(0, whole.GetProperty("usage").GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal(HttpStatusCode.OK, loop.Status);
    }

    [Fact]
    public async Task AReasoningModel_ReasonsBeforeItsToolCall_AndWantsThatReasoningBackInTheLoop_AsDeepSeeksThinkingModeDoes()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Ask = "Weather in Oslo?";

        var whole = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat(Ask, Bodies.OpenAIWeatherTools, "deepseek-reasoner"))).Json;
        var stream = await sim.StreamAsync("/v1/chat/completions",
            Bodies.OpenAIChat(Ask, Bodies.OpenAIWeatherTools + ""","stream":true,"stream_options":{"include_usage":true}""", "deepseek-reasoner"));

        var message = whole.GetProperty("choices")[0].GetProperty("message");
        var reasoning = message.GetProperty("reasoning_content").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(reasoning));
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        var arguments = call.GetProperty("function").GetProperty("arguments").GetString()!;
        Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(arguments).RootElement.ValueKind);
        var deltas = stream.JsonEvents.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0].GetProperty("delta")).ToList();
        var reasoningDeltas = deltas.Where(d => d.TryGetProperty("reasoning_content", out _)).ToList();
        var callDeltas = deltas.Where(d => d.TryGetProperty("tool_calls", out _)).Select(d => d.GetProperty("tool_calls")[0]).ToList();
        Assert.Equal(reasoning, string.Concat(reasoningDeltas.Select(d => d.GetProperty("reasoning_content").GetString())));
        Assert.True(deltas.FindLastIndex(d => d.TryGetProperty("reasoning_content", out _)) < deltas.FindIndex(d => d.TryGetProperty("tool_calls", out _)));
        Assert.StartsWith("call_", callDeltas[0].GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("get_weather", callDeltas[0].GetProperty("function").GetProperty("name").GetString());
        Assert.Equal(arguments, string.Concat(callDeltas.Select(c => c.GetProperty("function").GetProperty("arguments").GetString())));
        Assert.Equal(reasoningDeltas.Count, whole.GetProperty("usage").GetProperty("completion_tokens_details").GetProperty("reasoning_tokens").GetInt32());
        Assert.Equal(whole.GetProperty("usage").ToString(), stream.JsonEvents.Last().GetProperty("usage").ToString());

        // The loop's next step: DeepSeek refuses the call's turn without its reasoning, and answers it with it.
        string Loop(string? reasoningBack) => $$"""
            {"model":"deepseek-reasoner","messages":[
              {"role":"user","content":{{Bodies.Quote(Ask)}}},
              {"role":"assistant","content":null,{{reasoningBack}}"tool_calls":[{{call.GetRawText()}}]},
              {"role":"tool","tool_call_id":{{Bodies.Quote(call.GetProperty("id").GetString()!)}},"content":"12 degrees"}]
            """ + Bodies.OpenAIWeatherTools + "}";
        var refused = await sim.PostAsync("/v1/chat/completions", Loop(null));
        var answered = await sim.PostAsync("/v1/chat/completions", Loop($"\"reasoning_content\":{Bodies.Quote(reasoning)},"));

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("The reasoning_content in the thinking mode must be passed back to the API.", refused.Json.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", refused.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(HttpStatusCode.OK, answered.Status);
        Assert.Equal("stop", answered.Json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.StartsWith("Simulated", answered.Json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReasoningModelOnVllm_SaysItsReasoningInTheReasoningField_WholeAndStreamed_AndWantsNoneBack()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Model = "qwen3-vllm-reasoner";

        var whole = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("Why is the sky blue?", model: Model))).Json;
        var stream = await sim.StreamAsync("/v1/chat/completions",
            Bodies.OpenAIChat("Why is the sky blue?", ""","stream":true,"stream_options":{"include_usage":true}""", Model));
        var loop = await sim.PostAsync("/v1/chat/completions", $$$"""
            {"model":"{{{Model}}}","messages":[
              {"role":"user","content":"Weather in Oslo?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"12 degrees"}]}
            """);

        var message = whole.GetProperty("choices")[0].GetProperty("message");
        var reasoning = message.GetProperty("reasoning").GetString()!;
        Assert.False(string.IsNullOrWhiteSpace(reasoning));
        Assert.False(message.TryGetProperty("reasoning_content", out _));
        var deltas = stream.JsonEvents.Where(c => c.GetProperty("choices").GetArrayLength() > 0).Select(c => c.GetProperty("choices")[0].GetProperty("delta")).ToList();
        Assert.Equal(reasoning, string.Concat(deltas.Where(d => d.TryGetProperty("reasoning", out _)).Select(d => d.GetProperty("reasoning").GetString())));
        Assert.DoesNotContain(deltas, d => d.TryGetProperty("reasoning_content", out _));
        Assert.Equal(HttpStatusCode.OK, loop.Status);
    }

    [Fact]
    public async Task StreamedText_AndUsage_EqualTheWholeAnswer()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Extra = ""","n":2,"logprobs":true,"top_logprobs":2""";

        var whole = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("Tell me a story", Extra))).Json;
        var stream = await sim.StreamAsync("/v1/chat/completions", Bodies.OpenAIChat("Tell me a story", Extra + ""","stream":true,"stream_options":{"include_usage":true}"""));

        var chunks = stream.JsonEvents.ToList();
        for (var index = 0; index < 2; index++)
        {
            var streamed = new StringBuilder();
            var streamedLogprobs = 0;
            foreach (var choice in chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).Where(c => c.GetProperty("index").GetInt32() == index))
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var piece))
                {
                    streamed.Append(piece.GetString());
                }

                if (choice.GetProperty("logprobs").ValueKind == JsonValueKind.Object)
                {
                    streamedLogprobs += choice.GetProperty("logprobs").GetProperty("content").GetArrayLength();
                }
            }

            var wholeChoice = whole.GetProperty("choices")[index];
            Assert.Equal(wholeChoice.GetProperty("message").GetProperty("content").GetString(), streamed.ToString());
            Assert.Equal(wholeChoice.GetProperty("logprobs").GetProperty("content").GetArrayLength(), streamedLogprobs);
        }

        Assert.Equal(whole.GetProperty("usage").ToString(), chunks[^1].GetProperty("usage").ToString());
    }

    [Fact]
    public async Task N_GivesThatManyChoices_EachDifferent()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: ""","n":3"""))).Json;

        var choices = json.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Equal(3, choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()).Distinct().Count());
        var completion = json.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
        var single = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat())).Json;
        Assert.True(completion > single.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(single.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            choices[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Logprobs_HaveOneEntryPerToken_WithTopAlternatives()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: ""","logprobs":true,"top_logprobs":3"""))).Json;

        var choice = json.GetProperty("choices")[0];
        var entries = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(json.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), entries.Count);
        Assert.Equal(choice.GetProperty("message").GetProperty("content").GetString(), string.Concat(entries.Select(e => e.GetProperty("token").GetString())));
        foreach (var entry in entries)
        {
            var logprob = entry.GetProperty("logprob").GetDouble();
            Assert.InRange(logprob, -10, 0);
            var token = entry.GetProperty("token").GetString()!;
            Assert.Equal(Encoding.UTF8.GetBytes(token), entry.GetProperty("bytes").EnumerateArray().Select(b => (byte)b.GetInt32()));
            var top = entry.GetProperty("top_logprobs").EnumerateArray().Select(t => t.GetProperty("logprob").GetDouble()).ToList();
            Assert.Equal(3, top.Count);
            Assert.Equal(top.OrderDescending(), top);
        }
    }

    [Fact]
    public async Task Logprobs_AreNull_WhenNotAskedFor()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat())).Json;

        Assert.Equal(JsonValueKind.Null, json.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
    }

    [Theory]
    [InlineData("max_tokens")]
    [InlineData("max_completion_tokens")]
    public async Task MaxTokens_CutsTheAnswer_WithFinishReasonLength(string field)
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: $$""","{{field}}":5"""))).Json;
        var stream = await sim.StreamAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: $$""","{{field}}":5,"stream":true"""));

        Assert.Equal("length", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(5, json.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("Simulated response from the Corridor", json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(5, stream.JsonEvents.Count(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var p) && p.GetString()!.Length > 0));
        Assert.Equal("length", stream.JsonEvents.Last().GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task ResponseFormatJsonObject_AnswersValidJson()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: ""","response_format":{"type":"json_object"}"""))).Json;

        var content = json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        using var answer = JsonDocument.Parse(content);
        Assert.True(answer.RootElement.GetProperty("simulated").GetBoolean());
    }

    [Fact]
    public async Task ResponseFormatJsonSchema_AnswersJsonWithTheSchemasProperties()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Format = """
            ,"response_format":{"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":{"type":"object",
            "properties":{"name":{"type":"string"},"age":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}},
            "address":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},"required":["name","age","tags","address"]}}}
            """;

        var json = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: Format))).Json;
        var stream = await sim.StreamAsync("/v1/chat/completions", Bodies.OpenAIChat(extra: Format + ""","stream":true"""));

        var content = json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        using var answer = JsonDocument.Parse(content);
        Assert.Equal(JsonValueKind.String, answer.RootElement.GetProperty("name").ValueKind);
        Assert.Equal(JsonValueKind.Number, answer.RootElement.GetProperty("age").ValueKind);
        Assert.Equal(JsonValueKind.Array, answer.RootElement.GetProperty("tags").ValueKind);
        Assert.Equal(JsonValueKind.String, answer.RootElement.GetProperty("address").GetProperty("city").ValueKind);
        var streamed = string.Concat(stream.JsonEvents.Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("content", out _)).Select(d => d.GetProperty("content").GetString()));
        Assert.Equal(content, streamed);
    }

    [Fact]
    public async Task Tools_WhenUserSpokeLast_AnswerWithACallToTheFirstTool()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("Weather in Oslo?", Bodies.OpenAIWeatherTools))).Json;

        var choice = json.GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.StartsWith("call_", call.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        using var arguments = JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!);
        Assert.Equal(["city", "unit", "days"], arguments.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("celsius", arguments.RootElement.GetProperty("unit").GetString());
        Assert.Equal(3, arguments.RootElement.GetProperty("days").GetInt32());
    }

    [Fact]
    public async Task NamedToolChoice_CallsThatTool()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/chat/completions",
            Bodies.OpenAIChat("What time is it?", Bodies.OpenAIWeatherTools + ""","tool_choice":{"type":"function","function":{"name":"get_time"}}"""))).Json;

        var call = json.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal("get_time", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("""{"zone":"simulated zone"}""", call.GetProperty("function").GetProperty("arguments").GetString());
    }

    [Fact]
    public async Task ToolChoiceNone_AnswersWithText()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("Weather?", Bodies.OpenAIWeatherTools + ""","tool_choice":"none" """))).Json;

        Assert.Equal("stop", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.False(json.GetProperty("choices")[0].GetProperty("message").TryGetProperty("tool_calls", out _));
    }

    [Fact]
    public async Task ToolResultLast_AnswersWithText()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Body = """
            {"model":"gpt-4.1","messages":[
              {"role":"user","content":"Weather in Oslo?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"12 degrees"}]
            """ + Bodies.OpenAIWeatherTools + "}";

        var json = (await sim.PostAsync("/v1/chat/completions", Body)).Json;

        Assert.Equal("stop", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.StartsWith("Simulated", json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamedToolCall_HasOpenAIDeltas_ThatAssembleToTheWholeCall()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var whole = (await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat("Weather?", Bodies.OpenAIWeatherTools))).Json;
        var stream = await sim.StreamAsync("/v1/chat/completions", Bodies.OpenAIChat("Weather?", Bodies.OpenAIWeatherTools + ""","stream":true,"stream_options":{"include_usage":true}"""));

        var deltas = stream.JsonEvents.Where(c => c.GetProperty("choices").GetArrayLength() > 0)
            .Select(c => c.GetProperty("choices")[0]).ToList();
        var first = deltas[0].GetProperty("delta").GetProperty("tool_calls")[0];
        Assert.Equal(0, first.GetProperty("index").GetInt32());
        Assert.StartsWith("call_", first.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("get_weather", first.GetProperty("function").GetProperty("name").GetString());
        var arguments = string.Concat(deltas.Where(d => d.GetProperty("delta").TryGetProperty("tool_calls", out _))
            .Select(d => d.GetProperty("delta").GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString()));
        var wholeCall = whole.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal(wholeCall.GetProperty("function").GetProperty("arguments").GetString(), arguments);
        Assert.Equal("tool_calls", deltas[^1].GetProperty("finish_reason").GetString());
        Assert.Equal(whole.GetProperty("usage").ToString(), stream.JsonEvents.Last().GetProperty("usage").ToString());
    }

    [Fact]
    public async Task Models_ListsSimulatedModels_InOpenAIShape()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.GetAsync("/v1/models")).Json;

        Assert.Equal("list", json.GetProperty("object").GetString());
        var models = json.GetProperty("data").EnumerateArray().ToList();
        Assert.Contains(models, m => m.GetProperty("id").GetString() == "gpt-4.1");
        Assert.All(models, m => Assert.Equal("corridor-simulator", m.GetProperty("owned_by").GetString()));
        Assert.All(models, m => Assert.Equal("model", m.GetProperty("object").GetString()));
    }

    private static string? Content(SimResponse response) =>
        response.Json.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
}
