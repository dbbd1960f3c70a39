using System.Net;
using System.Text.Json;

namespace Corridor.Simulator.Tests;

public sealed class AnthropicMessagesTests
{
    [Fact]
    public async Task Message_HasAnthropicShape_AndSaysItIsSimulated()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostMessagesAsync(Bodies.AnthropicMessage());

        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal("1", response.Header("x-corridor-simulator"));
        var json = response.Json;
        Assert.StartsWith("msg_", json.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("message", json.GetProperty("type").GetString());
        Assert.Equal("assistant", json.GetProperty("role").GetString());
        Assert.Equal("claude-sonnet-4", json.GetProperty("model").GetString());
        Assert.Equal("end_turn", json.GetProperty("stop_reason").GetString());
        var block = Assert.Single(json.GetProperty("content").EnumerateArray());
        Assert.Equal("text", block.GetProperty("type").GetString());
        Assert.StartsWith("Simulated response from the Corridor upstream simulator.", block.GetProperty("text").GetString(), StringComparison.Ordinal);
        var usage = json.GetProperty("usage");
        Assert.True(usage.GetProperty("input_tokens").GetInt32() > 0);
        Assert.InRange(usage.GetProperty("output_tokens").GetInt32(), 20, 300);
    }

    [Fact]
    public async Task ARequestOfferingWebSearchOrWebFetch_IsAnsweredInText_AndItsUsageCountsOneUseOfEach_WholeAndStreamed()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string ServerTools = ""","tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5},{"type":"web_fetch_20250910","name":"web_fetch"}]""";

        var whole = await sim.PostMessagesAsync(Bodies.AnthropicMessage("What happened today?", ServerTools));
        var stream = await sim.StreamAsync("/v1/messages", Bodies.AnthropicMessage("What happened today?", ServerTools + ""","stream":true"""), ("anthropic-version", "2023-06-01"));
        var searchOnly = await sim.PostMessagesAsync(Bodies.AnthropicMessage("What happened today?", ""","tools":[{"type":"web_search_20250305","name":"web_search"}]"""));
        var plain = await sim.PostMessagesAsync(Bodies.AnthropicMessage("What happened today?"));

        Assert.Equal(HttpStatusCode.OK, whole.Status);
        Assert.Equal("text", Assert.Single(whole.Json.GetProperty("content").EnumerateArray()).GetProperty("type").GetString());
        var used = whole.Json.GetProperty("usage").GetProperty("server_tool_use");
        Assert.Equal((1, 1), (used.GetProperty("web_search_requests").GetInt32(), used.GetProperty("web_fetch_requests").GetInt32()));
        var delta = stream.Events.Single(e => e.Name == "message_delta").Json.GetProperty("usage").GetProperty("server_tool_use");
        Assert.Equal((1, 1), (delta.GetProperty("web_search_requests").GetInt32(), delta.GetProperty("web_fetch_requests").GetInt32()));
        var searched = searchOnly.Json.GetProperty("usage").GetProperty("server_tool_use");
        Assert.Equal((1, 0), (searched.GetProperty("web_search_requests").GetInt32(), searched.GetProperty("web_fetch_requests").GetInt32()));
        Assert.False(plain.Json.GetProperty("usage").TryGetProperty("server_tool_use", out _));
    }

    [Fact]
    public async Task OutputConfigFormat_AnswersJsonOfTheSchema_WholeAndStreamed()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Format = """
            ,"output_config":{"format":{"type":"json_schema","schema":{"type":"object",
            "properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"],"additionalProperties":false}}}
            """;

        var whole = await sim.PostMessagesAsync(Bodies.AnthropicMessage(extra: Format));
        var stream = await sim.StreamAsync("/v1/messages", Bodies.AnthropicMessage(extra: Format + ""","stream":true"""), ("anthropic-version", "2023-06-01"));

        var text = Text(whole)!;
        using var answer = JsonDocument.Parse(text);
        Assert.Equal(JsonValueKind.String, answer.RootElement.GetProperty("name").ValueKind);
        Assert.Equal(JsonValueKind.Number, answer.RootElement.GetProperty("age").ValueKind);
        Assert.Equal(2, answer.RootElement.EnumerateObject().Count());
        var streamed = string.Concat(stream.Events.Where(e => e.Name == "content_block_delta")
            .Select(e => e.Json.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal(text, streamed);
    }

    [Fact]
    public async Task SameRequest_GetsSameAnswer()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var first = await sim.PostMessagesAsync(Bodies.AnthropicMessage("Why?"));
        var again = await sim.PostMessagesAsync(Bodies.AnthropicMessage("Why?"));
        var other = await sim.PostMessagesAsync(Bodies.AnthropicMessage("Why not?"));

        Assert.Equal(Text(first), Text(again));
        Assert.NotEqual(Text(first), Text(other));
    }

    [Fact]
    public async Task Stream_FollowsTheRealEventSequence_WithEventLines()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var stream = await sim.StreamAsync("/v1/messages", Bodies.AnthropicMessage(extra: ""","stream":true"""), ("anthropic-version", "2023-06-01"));

        Assert.Equal(HttpStatusCode.OK, stream.Status);
        Assert.Equal("text/event-stream", stream.ContentType?.MediaType);
        Assert.False(stream.Failed);
        var names = stream.Events.Select(e => e.Name).ToList();
        Assert.Equal(["message_start", "content_block_start", "ping"], names.Take(3));
        Assert.Equal(["content_block_stop", "message_delta", "message_stop"], names.TakeLast(3));
        Assert.All(names.Skip(3).SkipLast(3), name => Assert.Equal("content_block_delta", name));
        Assert.All(stream.Events, e => Assert.Equal(e.Name, e.Json.GetProperty("type").GetString()));
        var start = stream.Events[0].Json.GetProperty("message");
        Assert.Equal(0, start.GetProperty("content").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, start.GetProperty("stop_reason").ValueKind);
        Assert.Equal("text_delta", stream.Events[3].Json.GetProperty("delta").GetProperty("type").GetString());
        var delta = stream.Events[^2].Json;
        Assert.Equal("end_turn", delta.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task StreamedText_AndUsage_EqualTheWholeMessage()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var whole = (await sim.PostMessagesAsync(Bodies.AnthropicMessage("Explain streaming"))).Json;
        var stream = await sim.StreamAsync("/v1/messages", Bodies.AnthropicMessage("Explain streaming", ""","stream":true"""), ("anthropic-version", "2023-06-01"));

        var text = string.Concat(stream.Events.Where(e => e.Name == "content_block_delta").Select(e => e.Json.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal(whole.GetProperty("content")[0].GetProperty("text").GetString(), text);
        var usage = whole.GetProperty("usage");
        Assert.Equal(usage.GetProperty("input_tokens").GetInt32(), stream.Events[0].Json.GetProperty("message").GetProperty("usage").GetProperty("input_tokens").GetInt32());
        Assert.Equal(usage.GetProperty("output_tokens").GetInt32(), stream.Events[^2].Json.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task MaxTokens_CutsTheAnswer_WithStopReasonMaxTokens()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostMessagesAsync(Bodies.AnthropicMessage(maxTokens: 4))).Json;
        var stream = await sim.StreamAsync("/v1/messages", Bodies.AnthropicMessage(extra: ""","stream":true""", maxTokens: 4), ("anthropic-version", "2023-06-01"));

        Assert.Equal("max_tokens", json.GetProperty("stop_reason").GetString());
        Assert.Equal(4, json.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal("Simulated response from the", json.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(4, stream.Events.Count(e => e.Name == "content_block_delta"));
        Assert.Equal("max_tokens", stream.Events[^2].Json.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public async Task WithThinkingEnabled_ASignedThinkingBlockComesBeforeTheText_WholeAndStreamed_CountedInOutputTokens()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Thinking = ""","thinking":{"type":"enabled","budget_tokens":1024}""";

        var json = (await sim.PostMessagesAsync(Bodies.AnthropicMessage("Why is the sky blue?", Thinking, maxTokens: 4096))).Json;
        var again = (await sim.PostMessagesAsync(Bodies.AnthropicMessage("Why is the sky blue?", Thinking, maxTokens: 4096))).Json;
        var plain = (await sim.PostMessagesAsync(Bodies.AnthropicMessage("Why is the sky blue?", maxTokens: 4096))).Json;
        var stream = await sim.StreamAsync("/v1/messages", Bodies.AnthropicMessage("Why is the sky blue?", Thinking + ""","stream":true""", maxTokens: 4096),
            ("anthropic-version", "2023-06-01"));

        var content = json.GetProperty("content");
        Assert.Equal(2, content.GetArrayLength());
        var thinking = content[0];
        Assert.Equal("thinking", thinking.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(thinking.GetProperty("thinking").GetString()));
        Assert.False(string.IsNullOrEmpty(thinking.GetProperty("signature").GetString()));
        Assert.Equal(thinking.GetRawText(), again.GetProperty("content")[0].GetRawText());
        Assert.Equal("text", content[1].GetProperty("type").GetString());
        Assert.Equal(plain.GetProperty("content")[0].GetProperty("text").GetString(), content[1].GetProperty("text").GetString());
        var outputTokens = json.GetProperty("usage").GetProperty("output_tokens").GetInt32();
        Assert.True(outputTokens > plain.GetProperty("usage").GetProperty("output_tokens").GetInt32());

        // As Anthropic streams it: the thinking block (announced empty, with an empty signature), its thinking_delta events, one
        // signature_delta and its stop, then the text block at index 1.
        Assert.False(stream.Failed);
        var events = stream.Events.Select(e => e.Json).ToList();
        var starts = events.Where(e => e.GetProperty("type").GetString() == "content_block_start").ToList();
        Assert.Equal(2, starts.Count);
        Assert.Equal("""{"type":"thinking","thinking":"","signature":""}""", starts[0].GetProperty("content_block").GetRawText());
        Assert.Equal((0, 1), (starts[0].GetProperty("index").GetInt32(), starts[1].GetProperty("index").GetInt32()));
        Assert.Equal("text", starts[1].GetProperty("content_block").GetProperty("type").GetString());
        var deltas = events.Where(e => e.GetProperty("type").GetString() == "content_block_delta").Select(e => e.GetProperty("delta")).ToList();
        string Joined(string type, string field) => string.Concat(deltas.Where(d => d.GetProperty("type").GetString() == type).Select(d => d.GetProperty(field).GetString()));
        Assert.Equal(thinking.GetProperty("thinking").GetString(), Joined("thinking_delta", "thinking"));
        Assert.Equal(thinking.GetProperty("signature").GetString(), Joined("signature_delta", "signature"));
        Assert.Equal(content[1].GetProperty("text").GetString(), Joined("text_delta", "text"));
        var types = deltas.Select(d => d.GetProperty("type").GetString()).ToList();
        Assert.Equal(types.LastIndexOf("thinking_delta") + 1, types.IndexOf("signature_delta"));
        Assert.True(types.IndexOf("signature_delta") < types.IndexOf("text_delta"));
        var stops = events.Where(e => e.GetProperty("type").GetString() == "content_block_stop").Select(e => e.GetProperty("index").GetInt32()).ToList();
        Assert.Equal([0, 1], stops);
        Assert.Equal(outputTokens, events.Single(e => e.GetProperty("type").GetString() == "message_delta").GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task WithAdaptiveThinking_WhichHasNoBudget_TheAnswerThinksAsWithThinkingEnabled()
    {
        // Adaptive thinking has no budget_tokens (Claude Code sends {"type":"adaptive"} on every request): it is served,
        // with the thinking block an enabled budget gets.
        await using var sim = await SimulatorFixture.StartAsync();

        var adaptive = await sim.PostMessagesAsync(Bodies.AnthropicMessage("Why is the sky blue?", ""","thinking":{"type":"adaptive"}""", maxTokens: 4096));
        var enabled = (await sim.PostMessagesAsync(Bodies.AnthropicMessage("Why is the sky blue?", ""","thinking":{"type":"enabled","budget_tokens":1024}""", maxTokens: 4096))).Json;

        Assert.Equal(HttpStatusCode.OK, adaptive.Status);
        Assert.Equal(enabled.GetProperty("content").GetRawText(), adaptive.Json.GetProperty("content").GetRawText());
    }

    [Theory]
    [InlineData(""","thinking":{"type":"enabled","budget_tokens":1000}""", 4096, "thinking.enabled.budget_tokens")]
    [InlineData(""","thinking":{"type":"enabled","budget_tokens":4096}""", 4096, "max_tokens")]
    public async Task AThinkingBudgetAnthropicRefuses_IsAnInvalidRequestError(string thinking, int maxTokens, string messageStart)
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostMessagesAsync(Bodies.AnthropicMessage(extra: thinking, maxTokens: maxTokens));

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_request_error", response.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.StartsWith(messageStart, response.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingMaxTokens_IsAnInvalidRequestError()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostMessagesAsync("""{"model":"claude-sonnet-4","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("error", response.Json.GetProperty("type").GetString());
        Assert.Equal("invalid_request_error", response.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("max_tokens", response.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingAnthropicVersion_IsAnInvalidRequestError()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var response = await sim.PostAsync("/v1/messages", Bodies.AnthropicMessage());

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal("invalid_request_error", response.Json.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("anthropic-version", response.Json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tools_WhenUserSpokeLast_AnswerWithToolUse()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostMessagesAsync(Bodies.AnthropicMessage("Weather in Oslo?", Bodies.AnthropicWeatherTools))).Json;

        Assert.Equal("tool_use", json.GetProperty("stop_reason").GetString());
        var block = Assert.Single(json.GetProperty("content").EnumerateArray());
        Assert.Equal("tool_use", block.GetProperty("type").GetString());
        Assert.StartsWith("toolu_", block.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("get_weather", block.GetProperty("name").GetString());
        var input = block.GetProperty("input");
        Assert.Equal(["city", "unit", "days"], input.EnumerateObject().Select(p => p.Name));
        Assert.Equal(json.GetProperty("usage").GetProperty("output_tokens").GetInt32(), (input.GetRawText().Length + 3) / 4);
    }

    [Fact]
    public async Task NamedToolChoice_UsesThatTool()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostMessagesAsync(Bodies.AnthropicMessage("Time?", Bodies.AnthropicWeatherTools + ""","tool_choice":{"type":"tool","name":"get_time"}"""))).Json;

        Assert.Equal("get_time", json.GetProperty("content")[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task ToolChoiceNone_AnswersWithText()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.PostMessagesAsync(Bodies.AnthropicMessage("Time?", Bodies.AnthropicWeatherTools + ""","tool_choice":{"type":"none"}"""))).Json;

        Assert.Equal("end_turn", json.GetProperty("stop_reason").GetString());
        Assert.Equal("text", json.GetProperty("content")[0].GetProperty("type").GetString());
    }

    [Fact]
    public async Task ToolResultLast_AnswersWithText()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        const string Body = """
            {"model":"claude-sonnet-4","max_tokens":500,"messages":[
              {"role":"user","content":"Weather in Oslo?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Oslo"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"12 degrees"}]}]
            """ + Bodies.AnthropicWeatherTools + "}";

        var json = (await sim.PostMessagesAsync(Body)).Json;

        Assert.Equal("end_turn", json.GetProperty("stop_reason").GetString());
        Assert.Equal("text", json.GetProperty("content")[0].GetProperty("type").GetString());
    }

    [Fact]
    public async Task StreamedToolUse_SendsInputJsonDeltas_ThatAssembleToTheWholeInput()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var whole = (await sim.PostMessagesAsync(Bodies.AnthropicMessage("Weather?", Bodies.AnthropicWeatherTools))).Json;
        var stream = await sim.StreamAsync("/v1/messages", Bodies.AnthropicMessage("Weather?", Bodies.AnthropicWeatherTools + ""","stream":true"""), ("anthropic-version", "2023-06-01"));

        var blockStart = stream.Events[1].Json.GetProperty("content_block");
        Assert.Equal("tool_use", blockStart.GetProperty("type").GetString());
        Assert.Equal("get_weather", blockStart.GetProperty("name").GetString());
        Assert.Empty(blockStart.GetProperty("input").EnumerateObject());
        var deltas = stream.Events.Where(e => e.Name == "content_block_delta").Select(e => e.Json.GetProperty("delta")).ToList();
        Assert.All(deltas, d => Assert.Equal("input_json_delta", d.GetProperty("type").GetString()));
        var input = string.Concat(deltas.Select(d => d.GetProperty("partial_json").GetString()));
        Assert.Equal(whole.GetProperty("content")[0].GetProperty("input").GetRawText(), input);
        Assert.Equal("tool_use", stream.Events[^2].Json.GetProperty("delta").GetProperty("stop_reason").GetString());
        Assert.Equal(whole.GetProperty("usage").GetProperty("output_tokens").GetInt32(), stream.Events[^2].Json.GetProperty("usage").GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task SystemPrompt_CountsAsInput()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        var longSystem = new string('s', 400);

        var without = (await sim.PostMessagesAsync("""{"model":"claude-sonnet-4","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""")).Json;
        var with = (await sim.PostMessagesAsync($$"""{"model":"claude-sonnet-4","max_tokens":10,"system":[{"type":"text","text":"{{longSystem}}"}],"messages":[{"role":"user","content":"hi"}]}""")).Json;

        var difference = with.GetProperty("usage").GetProperty("input_tokens").GetInt32() - without.GetProperty("usage").GetProperty("input_tokens").GetInt32();
        Assert.InRange(difference, 100, 110);
    }

    [Fact]
    public async Task Models_InAnthropicShape_WhenAnthropicVersionIsSent()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var json = (await sim.GetAsync("/v1/models", ("anthropic-version", "2023-06-01"))).Json;

        var models = json.GetProperty("data").EnumerateArray().ToList();
        Assert.NotEmpty(models);
        Assert.All(models, m => Assert.Equal("model", m.GetProperty("type").GetString()));
        Assert.All(models, m => Assert.Contains("simulated", m.GetProperty("display_name").GetString(), StringComparison.Ordinal));
        Assert.All(models, m => Assert.True(DateTimeOffset.TryParse(m.GetProperty("created_at").GetString(), out _)));
        Assert.False(json.GetProperty("has_more").GetBoolean());
        Assert.Equal(models[0].GetProperty("id").GetString(), json.GetProperty("first_id").GetString());
        Assert.Equal(models[^1].GetProperty("id").GetString(), json.GetProperty("last_id").GetString());
    }

    private static string? Text(SimResponse response) => response.Json.GetProperty("content")[0].GetProperty("text").GetString();

    [Fact]
    public async Task CountTokens_NeedsNoMaxTokens_AndRefusesABodyWithoutMessages_InTheDialect()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        (string, string) version = ("anthropic-version", "2023-06-01");

        var counted = await sim.PostAsync("/v1/messages/count_tokens", """{"model":"claude-sonnet-4","messages":[{"role":"user","content":"Hello there"}]}""", version);
        var again = await sim.PostAsync("/v1/messages/count_tokens", """{"model":"claude-sonnet-4","messages":[{"role":"user","content":"Hello there"}]}""", version);
        var refused = await sim.PostAsync("/v1/messages/count_tokens", """{"model":"claude-sonnet-4","messages":"Hello there"}""", version);

        Assert.Equal(HttpStatusCode.OK, counted.Status);
        Assert.Equal(["input_tokens"], counted.Json.EnumerateObject().Select(p => p.Name));
        Assert.Equal(3 + 4 + 3, counted.Json.GetProperty("input_tokens").GetInt32()); // priming, one message, 11 characters
        Assert.Equal(counted.Json.GetProperty("input_tokens").GetInt32(), again.Json.GetProperty("input_tokens").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("invalid_request_error", refused.Json.GetProperty("error").GetProperty("type").GetString());
    }
}
