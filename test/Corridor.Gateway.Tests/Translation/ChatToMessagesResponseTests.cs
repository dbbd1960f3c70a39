using System.Text;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

public sealed class ChatToMessagesResponseTests
{
    private static TranslationResult Translate(string messagesResponse) =>
        ChatToMessages.TranslateResponse(Encoding.UTF8.GetBytes(messagesResponse), "gpt-4.1", "chatcmpl-abc123", FixedTimeProvider.At1700000000);

    [Fact]
    public void TextMessage_BecomesChatCompletion_WithCacheTokensCountedAsPrompt()
    {
        var result = Translate("""
            {"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
             "content":[{"type":"text","text":"Hello! "},{"type":"text","text":"How can I help?"}],
             "stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":12,"cache_creation_input_tokens":3,"cache_read_input_tokens":100,"output_tokens":9,"service_tier":"standard"}}
            """);

        TranslationAssert.Body("""
            {"id":"chatcmpl-abc123","object":"chat.completion","created":1700000000,"model":"gpt-4.1",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help?","refusal":null},
                         "logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":115,"completion_tokens":9,"total_tokens":124,"prompt_tokens_details":{"cached_tokens":100}}}
            """, result);
    }

    [Fact]
    public void ToolUseBlocks_BecomeToolCalls_WithJsonStringArguments()
    {
        var result = Translate("""
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
             "content":[
               {"type":"thinking","thinking":"The user wants weather.","signature":"sig"},
               {"type":"text","text":"Checking both cities."},
               {"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city":"Paris","units":"c"}},
               {"type":"tool_use","id":"toolu_01B","name":"get_weather","input":{"city":"Rome","days":[1, 2]}}],
             "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":40,"output_tokens":60}}
            """);

        TranslationAssert.Body("""
            {"id":"chatcmpl-abc123","object":"chat.completion","created":1700000000,"model":"gpt-4.1",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Checking both cities.","reasoning_content":"The user wants weather.","refusal":null,
               "tool_calls":[
                 {"id":"toolu_01A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"units\":\"c\"}"}},
                 {"id":"toolu_01B","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\",\"days\":[1,2]}"}}]},
               "logprobs":null,"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":40,"completion_tokens":60,"total_tokens":100,"prompt_tokens_details":{"cached_tokens":0}}}
            """, result);
    }

    [Fact]
    public void ThinkingBlocks_AreTheMessagesReasoningContent_AndRedactedThinkingIsLeftOut()
    {
        var result = Translate("""
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",
             "content":[
               {"type":"thinking","thinking":"Oslo is Norway's capital. ","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
               {"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"},
               {"type":"thinking","thinking":"Say it plainly.","signature":"EqQBCgIYAhIMkUmlZ"},
               {"type":"text","text":"Oslo."}],
             "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":90}}
            """);

        TranslationAssert.Body("""
            {"id":"chatcmpl-abc123","object":"chat.completion","created":1700000000,"model":"gpt-4.1",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Oslo.","reasoning_content":"Oslo is Norway's capital. Say it plainly.","refusal":null},
                         "logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":20,"completion_tokens":90,"total_tokens":110,"prompt_tokens_details":{"cached_tokens":0}}}
            """, result);
    }

    [Fact]
    public void ToolUseOnly_HasNullContent()
    {
        var result = Translate("""
            {"type":"message","content":[{"type":"tool_use","id":"toolu_1","name":"now","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}
            """);

        TranslationAssert.Body("""
            {"id":"chatcmpl-abc123","object":"chat.completion","created":1700000000,"model":"gpt-4.1",
             "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,
               "tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"now","arguments":"{}"}}]},
               "logprobs":null,"finish_reason":"tool_calls"}],
             "usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0}}}
            """, result);
    }

    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("refusal", "content_filter")]
    [InlineData("pause_turn", "stop")]
    [InlineData("model_context_window_exceeded", "length")]
    public void StopReason_MapsToFinishReason(string stopReason, string finishReason)
    {
        var result = Translate($$$"""{"type":"message","content":[{"type":"text","text":"x"}],"stop_reason":"{{{stopReason}}}","usage":{"input_tokens":1,"output_tokens":1}}""");

        Assert.Contains($"\"finish_reason\":\"{finishReason}\"", Encoding.UTF8.GetString(result.Body!), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\"content\":[],")]
    [InlineData("\"content\":null,")]
    [InlineData("")]
    public void AMessageWithoutContent_IsAChatCompletionWithEmptyContent_ItsStopReasonAndUsage(string content)
    {
        var result = Translate($$$"""
            {"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",{{{content}}}
             "stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":50,"output_tokens":70}}
            """);

        TranslationAssert.Body("""
            {"id":"chatcmpl-abc123","object":"chat.completion","created":1700000000,"model":"gpt-4.1",
             "choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":"length"}],
             "usage":{"prompt_tokens":50,"completion_tokens":70,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":0}}}
            """, result);
    }

    [Fact]
    public void AMessageWithoutItsType_IsStillAnAnswer_WhenItHasContent()
    {
        // Anthropic-compatible servers may leave "type" out of a whole answer.
        var result = Translate("""
            {"id":"msg_1","role":"assistant","content":[{"type":"text","text":"hi"}],
             "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}
            """);

        TranslationAssert.Body("""
            {"id":"chatcmpl-abc123","object":"chat.completion","created":1700000000,"model":"gpt-4.1",
             "choices":[{"index":0,"message":{"role":"assistant","content":"hi","refusal":null},"logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6,"prompt_tokens_details":{"cached_tokens":0}}}
            """, result);
    }

    [Theory]
    [InlineData("{\"type\":\"message\"")]
    [InlineData("{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":50,\"output_tokens\":70}}")]
    [InlineData("{\"type\":\"message\",\"content\":{\"type\":\"text\",\"text\":\"hi\"}}")]
    [InlineData("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}")]
    [InlineData("{\"content\":\"text\"}")]
    [InlineData("{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"},\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}")]
    [InlineData("{\"type\":\"completion\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}],\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}")]
    public void UnreadableUpstreamResponse_IsAnError(string messagesResponse)
    {
        var result = Translate(messagesResponse);

        Assert.Null(result.Body);
        Assert.NotNull(result.Error);
    }
}
