using System.Buffers;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

public sealed class ChatToMessagesStreamTests
{
    /// <summary>
    /// An Anthropic stream as the API sends it: text, then two tool calls whose input arrives in many
    /// fragments (the first one empty), pings between events, cache usage at the start and the output count
    /// in message_delta.
    /// </summary>
    private const string RecordedToolStream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_01Up","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"output_tokens":1,"service_tier":"standard"}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me check"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the weather."}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"ci"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ty\": \"Pa"}}

        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":1}

        event: content_block_start
        data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01B","name":"get_weather","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":": \"Rome\"}"}}

        event: content_block_stop
        data: {"type":"content_block_stop","index":2}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":58}}

        event: message_stop
        data: {"type":"message_stop"}


        """;

    private const string Head = "\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4.1\"";

    private static IStreamTranslator Create(bool includeUsage) =>
        ChatToMessages.CreateStreamTranslator("gpt-4.1", "chatcmpl-abc", includeUsage, FixedTimeProvider.At1700000000);

    private static (string?, string) Chunk(string delta, string? finishReason = null, bool usageNull = true)
    {
        var finish = finishReason is null ? "null" : $"\"{finishReason}\"";
        var usage = usageNull ? ",\"usage\":null" : string.Empty;
        return (null, "{" + Head + ",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":" + finish + "}]" + usage + "}");
    }

    [Fact]
    public void ToolCallStream_BecomesChunks_WithUsageChunkAndDone()
    {
        var translator = Create(includeUsage: true);

        var output = TranslationAssert.Feed(translator, RecordedToolStream);

        TranslationAssert.Events(
        [
            Chunk("""{"role":"assistant","content":""}"""),
            Chunk("""{"content":"Let me check"}"""),
            Chunk("""{"content":" the weather."}"""),
            Chunk("""{"tool_calls":[{"index":0,"id":"toolu_01A","type":"function","function":{"name":"get_weather","arguments":""}}]}"""),
            Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}"""),
            Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"ty\": \"Pa"}}]}"""),
            Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"ris\"}"}}]}"""),
            Chunk("""{"tool_calls":[{"index":1,"id":"toolu_01B","type":"function","function":{"name":"get_weather","arguments":""}}]}"""),
            Chunk("""{"tool_calls":[{"index":1,"function":{"arguments":"{\"city\""}}]}"""),
            Chunk("""{"tool_calls":[{"index":1,"function":{"arguments":": \"Rome\"}"}}]}"""),
            Chunk("{}", "tool_calls"),
            (null, "{" + Head + ""","choices":[],"usage":{"prompt_tokens":130,"completion_tokens":58,"total_tokens":188,"prompt_tokens_details":{"cached_tokens":100}}}"""),
            (null, "[DONE]"),
        ], output);
        Assert.True(translator.Completed);
        Assert.Equal(new TokenUsage(130, 58), translator.Usage);
    }

    [Fact]
    public void ThinkingDeltas_AreReasoningContentDeltasBeforeTheContent_SignaturesAndRedactedThinkingAreLeftOut()
    {
        var translator = Create(includeUsage: false);

        var output = TranslationAssert.Feed(translator, """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":20,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Oslo is "}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Norway's capital."}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: content_block_start
            data: {"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":1}

            event: content_block_start
            data: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Oslo."}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":2}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":90}}

            event: message_stop
            data: {"type":"message_stop"}

            """);

        TranslationAssert.Events(
        [
            Chunk("""{"role":"assistant","content":""}""", usageNull: false),
            Chunk("""{"reasoning_content":"Oslo is "}""", usageNull: false),
            Chunk("""{"reasoning_content":"Norway's capital."}""", usageNull: false),
            Chunk("""{"content":"Oslo."}""", usageNull: false),
            Chunk("{}", "stop", usageNull: false),
            (null, "[DONE]"),
        ], output);
        Assert.Equal(new TokenUsage(20, 90), translator.Usage);
    }

    [Fact]
    public void WithoutIncludeUsage_NoUsageFieldOrChunkIsWritten()
    {
        var translator = Create(includeUsage: false);

        var output = TranslationAssert.Feed(translator, """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":1}}

            event: message_stop
            data: {"type":"message_stop"}

            """);

        TranslationAssert.Events(
        [
            Chunk("""{"role":"assistant","content":""}""", usageNull: false),
            Chunk("""{"content":"Hi"}""", usageNull: false),
            Chunk("{}", "length", usageNull: false),
            (null, "[DONE]"),
        ], output);
        Assert.Equal(new TokenUsage(10, 1), translator.Usage);
    }

    [Fact]
    public void AStreamWithoutContentBlocks_IsTheRoleChunk_TheFinishAndTheUsage()
    {
        var translator = Create(includeUsage: true);

        var output = TranslationAssert.Feed(translator, """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":50,"output_tokens":1}}}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":70}}

            event: message_stop
            data: {"type":"message_stop"}

            """);

        TranslationAssert.Events(
        [
            Chunk("""{"role":"assistant","content":""}"""),
            Chunk("{}", "stop"),
            (null, "{" + Head + ""","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":70,"total_tokens":120,"prompt_tokens_details":{"cached_tokens":0}}}"""),
            (null, "[DONE]"),
        ], output);
        Assert.True(translator.Completed);
        Assert.Equal(new TokenUsage(50, 70), translator.Usage);
    }

    [Fact]
    public void UpstreamErrorEvent_BecomesErrorChunk_WithoutDone_AndTheRowSaysTheUpstreamWasOverloaded()
    {
        var translator = Create(includeUsage: true);

        var output = TranslationAssert.Feed(translator, """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

            event: error
            data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

            """);

        TranslationAssert.Events(
        [
            Chunk("""{"role":"assistant","content":""}"""),
            Chunk("""{"content":"Hi"}"""),
            (null, """{"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":null}}"""),
        ], output);
        Assert.False(translator.Completed);
        Assert.Equal("upstream_overloaded", translator.FailureCode);
        Assert.Equal(new TokenUsage(10, 1), translator.Usage);
    }

    [Fact]
    public void StreamCutBeforeMessageStop_IsLeftOpenForTheCallersError_NeitherCompletedNorFailed()
    {
        var translator = Create(includeUsage: false);

        var output = TranslationAssert.Feed(translator, """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

            """);

        TranslationAssert.Events(
        [
            Chunk("""{"role":"assistant","content":""}""", usageNull: false),
            Chunk("""{"content":"Hi"}""", usageNull: false),
        ], output);
        // The forwarder ends it with the error any stream cut short ends with (FaultTests.CutStream_EndsTheRaw…).
        Assert.False(translator.Completed);
        Assert.False(translator.Failed);
        Assert.Null(translator.FailureCode);
    }

    [Fact]
    public void MalformedEvent_BecomesErrorChunk_AndLaterEventsAreIgnored_AndTheRowSaysTheResponseWasInvalid()
    {
        var translator = Create(includeUsage: false);
        var output = new ArrayBufferWriter<byte>();

        translator.OnEvent("message_start", "{\"type\":\"message_sta"u8, output);
        translator.OnEvent("message_stop", """{"type":"message_stop"}"""u8, output);
        translator.OnEnd(output);

        TranslationAssert.Events(
        [
            (null, """{"error":{"message":"The upstream sent an event that could not be read.","type":"api_error","param":null,"code":null}}"""),
        ], System.Text.Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.False(translator.Completed);
        Assert.Equal("upstream_invalid_response", translator.FailureCode);
    }

    [Fact]
    public void EndAfterCompletion_WritesNothing()
    {
        var translator = Create(includeUsage: false);
        TranslationAssert.Feed(translator, RecordedToolStream, end: false);
        var output = new ArrayBufferWriter<byte>();

        translator.OnEnd(output);

        Assert.Equal(0, output.WrittenCount);
        Assert.True(translator.Completed);
    }
}
