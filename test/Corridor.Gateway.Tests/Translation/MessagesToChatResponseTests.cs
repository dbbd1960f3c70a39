using System.Text;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

public sealed class MessagesToChatResponseTests
{
    private static TranslationResult Translate(string chatResponse) =>
        MessagesToChat.TranslateResponse(Encoding.UTF8.GetBytes(chatResponse), "claude-sonnet-4", "msg_abc123");

    [Fact]
    public void TextCompletion_BecomesMessage_WithCachedTokensAsCacheReads()
    {
        var result = Translate("""
            {"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,"model":"gpt-4.1-2025-04-14",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help?","refusal":null,"annotations":[]},
                         "logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":120,"completion_tokens":9,"total_tokens":129,
                      "prompt_tokens_details":{"cached_tokens":100,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},
             "service_tier":"default","system_fingerprint":"fp_1"}
            """);

        TranslationAssert.Body("""
            {"id":"msg_abc123","type":"message","role":"assistant","model":"claude-sonnet-4",
             "content":[{"type":"text","text":"Hello! How can I help?"}],
             "stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":100,"output_tokens":9}}
            """, result);
    }

    [Fact]
    public void DeepSeeksCacheHits_AreCacheReads()
    {
        var result = Translate("""
            {"id":"c","object":"chat.completion","created":1,"model":"deepseek-chat",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":1000,"completion_tokens":9,"total_tokens":1009,"prompt_cache_hit_tokens":960,"prompt_cache_miss_tokens":40}}
            """);

        TranslationAssert.Body("""
            {"id":"msg_abc123","type":"message","role":"assistant","model":"claude-sonnet-4",
             "content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":960,"output_tokens":9}}
            """, result);
    }

    [Fact]
    public void ToolCalls_BecomeToolUseBlocks_WithObjectInput()
    {
        var result = Translate("""
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4.1",
             "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
               {"id":"call_A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
               {"id":"call_B","type":"function","function":{"name":"now","arguments":""}}]},
               "finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70}}
            """);

        TranslationAssert.Body("""
            {"id":"msg_abc123","type":"message","role":"assistant","model":"claude-sonnet-4",
             "content":[
               {"type":"tool_use","id":"call_A","name":"get_weather","input":{"city":"Paris"}},
               {"type":"tool_use","id":"call_B","name":"now","input":{}}],
             "stop_reason":"tool_use","stop_sequence":null,
             "usage":{"input_tokens":50,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":20}}
            """, result);
    }

    [Fact]
    public void ToolCallIds_AreOnesAnthropicTakes_MadeForCallsWithoutOne()
    {
        var result = Translate("""
            {"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
              {"type":"function","function":{"name":"f","arguments":"{}"}},
              {"id":"","type":"function","function":{"name":"g","arguments":"{}"}},
              {"id":"call_C","type":"function","function":{"name":"h","arguments":"{}"}},
              {"id":"functions.Bash:12","type":"function","function":{"name":"Bash","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}
            """);

        TranslationAssert.Body("""
            {"id":"msg_abc123","type":"message","role":"assistant","model":"claude-sonnet-4",
             "content":[
               {"type":"tool_use","id":"toolu_msg_abc123_0","name":"f","input":{}},
               {"type":"tool_use","id":"toolu_msg_abc123_1","name":"g","input":{}},
               {"type":"tool_use","id":"call_C","name":"h","input":{}},
               {"type":"tool_use","id":"functions_Bash_12","name":"Bash","input":{}}],
             "stop_reason":"tool_use","stop_sequence":null,
             "usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}
            """, result);
    }

    [Fact]
    public void Refusal_BecomesText_WithRefusalStopReason()
    {
        var result = Translate("""
            {"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"content_filter"}],
             "usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}
            """);

        TranslationAssert.Body("""
            {"id":"msg_abc123","type":"message","role":"assistant","model":"claude-sonnet-4",
             "content":[{"type":"text","text":"I can't help with that."}],
             "stop_reason":"refusal","stop_sequence":null,
             "usage":{"input_tokens":5,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":6}}
            """, result);
    }

    [Theory]
    [InlineData("stop", "end_turn")]
    [InlineData("length", "max_tokens")]
    [InlineData("tool_calls", "tool_use")]
    [InlineData("function_call", "tool_use")]
    [InlineData("content_filter", "refusal")]
    [InlineData("something_new", "end_turn")]
    public void FinishReason_MapsToStopReason(string finishReason, string stopReason)
    {
        var result = Translate($$$"""{"choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"{{{finishReason}}}"}]}""");

        Assert.Contains($"\"stop_reason\":\"{stopReason}\"", Encoding.UTF8.GetString(result.Body!), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"city\": \"Par")]
    [InlineData("[\"Paris\"]")]
    [InlineData("{'city': 'Paris'}")]
    public void ToolCallArgumentsThatAreNotAnObject_ReachTheClientWrapped_AndTheAnswerSaysSo(string arguments)
    {
        var result = Translate($$$"""
            {"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"call_A","type":"function","function":{"name":"f","arguments":{{{System.Text.Json.JsonSerializer.Serialize(arguments)}}}}},
              {"id":"call_B","type":"function","function":{"name":"g","arguments":"{\"ok\":true}"}}]},"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":50,"completion_tokens":20,"total_tokens":70}}
            """);

        TranslationAssert.Body($$$"""
            {"id":"msg_abc123","type":"message","role":"assistant","model":"claude-sonnet-4",
             "content":[
               {"type":"tool_use","id":"call_A","name":"f","input":{"INVALID_JSON":{{{System.Text.Json.JsonSerializer.Serialize(arguments)}}}}},
               {"type":"tool_use","id":"call_B","name":"g","input":{"ok":true}}],
             "stop_reason":"tool_use","stop_sequence":null,
             "usage":{"input_tokens":50,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":20}}
            """, result);
        Assert.Equal("upstream_tool_arguments_not_json", result.Anomaly);
    }

    [Fact]
    public void ToolCallArgumentsThatAreAnObject_AreNoAnomaly()
    {
        var result = Translate("""
            {"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
              {"id":"call_A","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}
            """);

        Assert.NotNull(result.Body);
        Assert.Null(result.Anomaly);
    }

    [Fact]
    public void AnAnswerDeepSeekCutForWantOfResources_IsNoMessage_ButAnInterruption()
    {
        var result = Translate("""
            {"choices":[{"index":0,"message":{"role":"assistant","content":"The answer is"},"finish_reason":"insufficient_system_resource"}],
             "usage":{"prompt_tokens":40,"completion_tokens":3,"total_tokens":43}}
            """);

        Assert.True(result.IsInterrupted);
        Assert.Null(result.Body);
        Assert.Equal("upstream_insufficient_resource", result.Anomaly);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"choices\":[]}")]
    [InlineData("{\"error\":{\"message\":\"Rate limit\",\"type\":\"rate_limit_exceeded\"}}")]
    [InlineData("{\"choices\":[{\"index\":0}]}")]
    public void UnreadableUpstreamResponse_IsAnError(string chatResponse)
    {
        var result = Translate(chatResponse);

        Assert.Null(result.Body);
        Assert.NotNull(result.Error);
    }
}
