using System.Text;
using System.Text.Json;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

/// <summary>
/// What each vendor does that the other's format allows: OpenAI's tool calls that finish with <c>stop</c>, whitespace
/// Anthropic refuses, and a streamed call without parameters.
/// </summary>
public sealed class VendorQuirksTests
{
    private static JsonElement Parse(TranslationResult result)
    {
        Assert.True(result.Body is not null, $"failed: {result.Error}");
        return JsonDocument.Parse(result.Body).RootElement;
    }

    [Fact]
    public void ToolCallsThatFinishWithStop_AreAnAnthropicToolUse()
    {
        var body = """
            {"id":"c","object":"chat.completion","created":1,"model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":null,
             "tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}
            """;

        var root = Parse(MessagesToChat.TranslateResponse(Encoding.UTF8.GetBytes(body), "claude", "msg_1"));

        Assert.Equal(("tool_use", "tool_use"), (root.GetProperty("content")[0].GetProperty("type").GetString(), root.GetProperty("stop_reason").GetString()));
    }

    [Fact]
    public void StreamedToolCallsThatFinishWithStop_AreAnAnthropicToolUse()
    {
        var translator = MessagesToChat.CreateStreamTranslator("claude", "msg_1");

        var output = TranslationAssert.Feed(translator, """
            data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"w","arguments":""}}]},"finish_reason":null}]}

            data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]},"finish_reason":null}]}

            data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

            data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}

            data: [DONE]

            """);

        var delta = TranslationAssert.ParseSse(output).Single(e => e.Event == "message_delta").Data;
        Assert.Equal("tool_use", JsonDocument.Parse(delta).RootElement.GetProperty("delta").GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void AnswersWithoutToolCalls_ThatFinishWithStop_StillEndTheTurn()
    {
        var body = """{"id":"c","object":"chat.completion","created":1,"model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}""";

        Assert.Equal("end_turn", Parse(MessagesToChat.TranslateResponse(Encoding.UTF8.GetBytes(body), "claude", "msg_1")).GetProperty("stop_reason").GetString());
    }

    [Fact]
    public void WhitespaceOnlyText_IsNotSentToAnthropic_InTurnsOrToolResults()
    {
        var body = """
            {"messages":[
              {"role":"user","content":"Weather?"},
              {"role":"assistant","content":"\n\n","tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"  "},
              {"role":"user","content":[{"type":"text","text":" "},{"type":"text","text":"And tomorrow?"}]}]}
            """;

        var root = Parse(ChatToMessages.TranslateRequest(Encoding.UTF8.GetBytes(body), "claude", 1024));

        var texts = root.GetProperty("messages").EnumerateArray()
            .SelectMany(m => m.GetProperty("content").ValueKind == JsonValueKind.Array ? m.GetProperty("content").EnumerateArray() : Enumerable.Empty<JsonElement>())
            .Where(b => b.GetProperty("type").GetString() == "text").Select(b => b.GetProperty("text").GetString()).ToList();
        Assert.All(texts, text => Assert.False(string.IsNullOrWhiteSpace(text)));
        Assert.Contains("And tomorrow?", texts);
        var result = root.GetProperty("messages")[2].GetProperty("content")[0];
        Assert.Equal("tool_result", result.GetProperty("type").GetString());
        Assert.False(result.TryGetProperty("content", out _));
    }

    [Fact]
    public void WhitespaceOnlyStopSequences_AreLeftOut()
    {
        var root = Parse(ChatToMessages.TranslateRequest("""{"messages":[{"role":"user","content":"hi"}],"stop":["\n","END"]}"""u8, "claude", 1024));
        var single = Parse(ChatToMessages.TranslateRequest("""{"messages":[{"role":"user","content":"hi"}],"stop":"\n"}"""u8, "claude", 1024));

        Assert.Equal(["END"], root.GetProperty("stop_sequences").EnumerateArray().Select(s => s.GetString()));
        Assert.False(single.TryGetProperty("stop_sequences", out _));
    }

    [Fact]
    public void AStreamedCallWithoutParameters_HasArgumentsThatAreAJsonObject()
    {
        var translator = ChatToMessages.CreateStreamTranslator("gpt-4.1", "chatcmpl-abc", false, FixedTimeProvider.At1700000000);

        var output = TranslationAssert.Feed(translator, """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_time","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: content_block_start
            data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_2","name":"get_weather","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":\"Paris\"}"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":1}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":5}}

            event: message_stop
            data: {"type":"message_stop"}

            """);

        var arguments = new Dictionary<int, StringBuilder>();
        foreach (var (_, data) in TranslationAssert.ParseSse(output).Where(e => e.Data != "[DONE]"))
        {
            foreach (var choice in JsonDocument.Parse(data).RootElement.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("tool_calls", out var calls))
                {
                    foreach (var call in calls.EnumerateArray())
                    {
                        var index = call.GetProperty("index").GetInt32();
                        (arguments.TryGetValue(index, out var text) ? text : arguments[index] = new StringBuilder()).Append(call.GetProperty("function").GetProperty("arguments").GetString());
                    }
                }
            }
        }
        Assert.Equal("{}", arguments[0].ToString());
        Assert.Equal("""{"city":"Paris"}""", arguments[1].ToString());
    }

    [Fact]
    public void AnAnswerWhoseContentIsAnArrayOfParts_ReachesAnAnthropicClientAsItsText()
    {
        var body = """
            {"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant",
             "content":[{"type":"text","text":"The capital "},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"is Paris."}]},"finish_reason":"stop"}]}
            """;

        var root = Parse(MessagesToChat.TranslateResponse(Encoding.UTF8.GetBytes(body), "claude", "msg_1"));

        var block = Assert.Single(root.GetProperty("content").EnumerateArray());
        Assert.Equal(("text", "The capital is Paris."), (block.GetProperty("type").GetString(), block.GetProperty("text").GetString()));
    }

    [Fact]
    public void StreamedDeltasWhoseContentIsAnArrayOfParts_AreTextDeltas()
    {
        var translator = MessagesToChat.CreateStreamTranslator("claude", "msg_1");

        var output = TranslationAssert.Feed(translator, """
            data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":[{"type":"text","text":"Hel"}]},"finish_reason":null}]}

            data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}

            data: [DONE]

            """);

        var texts = TranslationAssert.ParseSse(output).Where(e => e.Event == "content_block_delta")
            .Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("delta").GetProperty("text").GetString());
        Assert.Equal(["Hel", "lo"], texts);
    }

    [Fact]
    public void ARefusal_IsTheTextWhenTheContentIsEmpty()
    {
        var body = """{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":"I can't help with that."},"finish_reason":"stop"}]}""";

        var root = Parse(MessagesToChat.TranslateResponse(Encoding.UTF8.GetBytes(body), "claude", "msg_1"));

        Assert.Equal("I can't help with that.", root.GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public void ANeutralTopP_IsNotSentToAnthropic_OtherValuesAre()
    {
        var neutral = Parse(ChatToMessages.TranslateRequest("""{"messages":[{"role":"user","content":"hi"}],"temperature":0.2,"top_p":1}"""u8, "claude", 1024));
        var narrowed = Parse(ChatToMessages.TranslateRequest("""{"messages":[{"role":"user","content":"hi"}],"top_p":0.9}"""u8, "claude", 1024));

        Assert.Equal(0.2, neutral.GetProperty("temperature").GetDouble());
        Assert.False(neutral.TryGetProperty("top_p", out _));
        Assert.Equal(0.9, narrowed.GetProperty("top_p").GetDouble());
    }
}
