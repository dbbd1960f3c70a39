using System.Buffers;
using System.Text;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

public sealed class MessagesToChatStreamTests
{
    /// <summary>
    /// An OpenAI stream with <c>stream_options.include_usage</c> as the API sends it: a role chunk, text, two
    /// parallel tool calls whose arguments arrive in many fragments, the finish chunk, the usage chunk with
    /// empty choices, then [DONE].
    /// </summary>
    private const string RecordedToolStream = """
        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"content":"Checking"},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"content":" both."},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"city"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\":\""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"Paris"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"city\":"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"Rome\"}"}}]},"logprobs":null,"finish_reason":null}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}],"usage":null}

        data: {"id":"chatcmpl-Up1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4.1-2025-04-14","choices":[],"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160,"prompt_tokens_details":{"cached_tokens":20,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}

        data: [DONE]


        """;

    private const string MessageStart = """{"type":"message_start","message":{"id":"msg_abc","type":"message","role":"assistant","model":"claude-sonnet-4","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}}""";

    private static IStreamTranslator Create() => MessagesToChat.CreateStreamTranslator("claude-sonnet-4", "msg_abc");

    private static (string?, string) TextDelta(int index, string textJson) =>
        ("content_block_delta", $$$"""{"type":"content_block_delta","index":{{{index}}},"delta":{"type":"text_delta","text":{{{textJson}}}}}""");

    private static (string?, string) JsonDelta(int index, string partialJson) =>
        ("content_block_delta", $$$"""{"type":"content_block_delta","index":{{{index}}},"delta":{"type":"input_json_delta","partial_json":{{{partialJson}}}}}""");

    private static (string?, string) BlockStop(int index) =>
        ("content_block_stop", $$"""{"type":"content_block_stop","index":{{index}}}""");

    [Fact]
    public void ToolCallStream_BecomesMessageEvents_WithOneBlockPerToolCall()
    {
        var translator = Create();

        var output = TranslationAssert.Feed(translator, RecordedToolStream);

        TranslationAssert.Events(
        [
            ("message_start", MessageStart),
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
            TextDelta(0, "\"Checking\""),
            TextDelta(0, "\" both.\""),
            BlockStop(0),
            ("content_block_start", """{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_A","name":"get_weather","input":{}}}"""),
            JsonDelta(1, """ "{\"city\":\"Paris\"}" """),
            BlockStop(1),
            ("content_block_start", """{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"call_B","name":"get_weather","input":{}}}"""),
            JsonDelta(2, """ "{\"city\":\"Rome\"}" """),
            BlockStop(2),
            ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":20,"output_tokens":40}}"""),
            ("message_stop", """{"type":"message_stop"}"""),
        ], output);
        Assert.True(translator.Completed);
        Assert.Equal(new TokenUsage(120, 40), translator.Usage);
        Assert.Null(translator.Anomaly);
    }

    [Fact]
    public void StreamedArgumentsThatAreNotAnObject_ReachTheClientWrapped_WhenTheCallEnds()
    {
        var translator = Create();

        var output = TranslationAssert.Feed(translator, """
            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"f","arguments":"{\"city\": "}}]},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Par"}}]},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"g","arguments":"{\"ok\":true}"}}]},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}

            data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":5,"total_tokens":14}}

            data: [DONE]

            """);

        TranslationAssert.Events(
        [
            ("message_start", MessageStart),
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"call_A","name":"f","input":{}}}"""),
            JsonDelta(0, """ "{\"INVALID_JSON\":\"{\\\"city\\\": \\\"Par\"}" """),
            BlockStop(0),
            ("content_block_start", """{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_B","name":"g","input":{}}}"""),
            JsonDelta(1, """ "{\"ok\":true}" """),
            BlockStop(1),
            ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":5}}"""),
            ("message_stop", """{"type":"message_stop"}"""),
        ], output);
        Assert.Equal("upstream_tool_arguments_not_json", translator.Anomaly);
        Assert.Equal(new TokenUsage(9, 5), translator.Usage);
    }

    [Fact]
    public void MessageStart_SaysTheEstimatedPrompt_AndMessageDeltaTheUpstreamsCounts()
    {
        var translator = MessagesToChat.CreateStreamTranslator("claude-sonnet-4", "msg_abc", estimatedInputTokens: 130);

        var output = TranslationAssert.Feed(translator, RecordedToolStream);

        var events = TranslationAssert.ParseSse(output);
        TranslationAssert.JsonEqual(MessageStart.Replace("\"input_tokens\":0", "\"input_tokens\":130", StringComparison.Ordinal), events[0].Data);
        TranslationAssert.JsonEqual(
            """{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":100,"cache_creation_input_tokens":0,"cache_read_input_tokens":20,"output_tokens":40}}""",
            events.Single(e => e.Event == "message_delta").Data);
        Assert.Equal(new TokenUsage(120, 40), translator.Usage);
    }

    [Fact]
    public void MessageDelta_KeepsTheEstimates_WhenTheUpstreamReportedNoUsage_NotZeros()
    {
        // A server that ignores stream_options.include_usage: the Anthropic SDKs take message_delta's counts over the
        // start's, so zeros there would say the answer cost nothing; the ledger bills an estimate.
        var translator = MessagesToChat.CreateStreamTranslator("claude-sonnet-4", "msg_abc", estimatedInputTokens: 130);

        var output = TranslationAssert.Feed(translator, """
            data: {"choices":[{"index":0,"delta":{"content":"Sixteen characters, four tokens."},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}

            data: [DONE]

            """);

        TranslationAssert.JsonEqual(
            """{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":130,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":8}}""",
            TranslationAssert.ParseSse(output).Single(e => e.Event == "message_delta").Data);
        Assert.Equal(default, translator.Usage);
    }

    [Fact]
    public void MessageStart_SaysTheUpstreamsPromptCount_WhenItsFirstChunkHasIt()
    {
        var translator = MessagesToChat.CreateStreamTranslator("claude-sonnet-4", "msg_abc", estimatedInputTokens: 130);

        var output = TranslationAssert.Feed(translator, """
            data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":4}}}

            data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":4}}}

            data: [DONE]

            """);

        TranslationAssert.JsonEqual(
            """{"type":"message_start","message":{"id":"msg_abc","type":"message","role":"assistant","model":"claude-sonnet-4","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":8,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"output_tokens":1}}}""",
            TranslationAssert.ParseSse(output)[0].Data);
    }

    [Fact]
    public void StreamedToolCallIds_AreOnesAnthropicTakes_MadeForCallsWithoutOne()
    {
        var translator = Create();

        var output = TranslationAssert.Feed(translator, """
            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"","type":"function","function":{"name":"g","arguments":"{}"}}]},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":2,"id":"functions.Bash:12","type":"function","function":{"name":"Bash","arguments":"{}"}}]},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

            data: [DONE]

            """);

        var starts = TranslationAssert.ParseSse(output).Where(e => e.Event == "content_block_start").Select(e => e.Data).ToList();
        TranslationAssert.JsonEqual("""{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_msg_abc_0","name":"f","input":{}}}""", starts[0]);
        TranslationAssert.JsonEqual("""{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_msg_abc_1","name":"g","input":{}}}""", starts[1]);
        TranslationAssert.JsonEqual("""{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"functions_Bash_12","name":"Bash","input":{}}}""", starts[2]);
    }

    [Fact]
    public void TextStream_EndsTurn_AndNothingMoreIsWrittenAtEnd()
    {
        var translator = Create();
        var stream = """
            data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Bonjour"},"finish_reason":null}]}

            data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" à tous"},"finish_reason":null}]}

            data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}]}

            data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}

            data: [DONE]

            """;

        var output = TranslationAssert.Feed(translator, stream);

        TranslationAssert.Events(
        [
            ("message_start", MessageStart),
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
            TextDelta(0, "\"Bonjour\""),
            TextDelta(0, "\" à tous\""),
            BlockStop(0),
            ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"input_tokens":7,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}}"""),
            ("message_stop", """{"type":"message_stop"}"""),
        ], output);
        Assert.Equal(new TokenUsage(7, 3), translator.Usage);
    }

    [Fact]
    public void StreamWithoutDone_IsFinishedAtEnd_WhenAFinishReasonWasSeen()
    {
        var translator = Create();

        var output = TranslationAssert.Feed(translator, """
            data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}}

            """);

        TranslationAssert.Events(
        [
            ("message_start", MessageStart),
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
            TextDelta(0, "\"Hi\""),
            BlockStop(0),
            ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":4,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}"""),
            ("message_stop", """{"type":"message_stop"}"""),
        ], output);
        Assert.True(translator.Completed);
    }

    [Fact]
    public void TextAfterToolCall_OpensANewTextBlock()
    {
        var translator = Create();

        var output = TranslationAssert.Feed(translator, """
            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"now","arguments":"{}"}}]},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"content":"Done."},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

            data: [DONE]

            """);

        TranslationAssert.Events(
        [
            ("message_start", MessageStart),
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"call_1","name":"now","input":{}}}"""),
            JsonDelta(0, "\"{}\""),
            BlockStop(0),
            ("content_block_start", """{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"""),
            TextDelta(1, "\"Done.\""),
            BlockStop(1),
            // No usage from the upstream: seven characters of output, estimated at four a token.
            ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}"""),
            ("message_stop", """{"type":"message_stop"}"""),
        ], output);
    }

    [Fact]
    public void UpstreamErrorChunk_BecomesErrorEvent_AndTheRowSaysTheUpstreamSentAnError()
    {
        var translator = Create();

        var output = TranslationAssert.Feed(translator, """
            data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}

            data: {"error":{"message":"Rate limit reached","type":"rate_limit_exceeded","param":null,"code":"rate_limit_exceeded"}}

            """);

        TranslationAssert.Events(
        [
            ("message_start", MessageStart),
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
            TextDelta(0, "\"Hi\""),
            ("error", """{"type":"error","error":{"type":"rate_limit_error","message":"Rate limit reached"}}"""),
        ], output);
        Assert.False(translator.Completed);
        Assert.Equal("upstream_stream_error", translator.FailureCode);
    }

    [Fact]
    public void AStreamDeepSeekCutForWantOfResources_EndsWithAnOverloadedErrorEvent_AfterItsUsage()
    {
        var translator = Create();

        var output = TranslationAssert.Feed(translator, """
            data: {"choices":[{"index":0,"delta":{"content":"The answer is"},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"content":""},"finish_reason":"insufficient_system_resource"}]}

            data: {"choices":[],"usage":{"prompt_tokens":40,"completion_tokens":3,"total_tokens":43}}

            data: [DONE]

            """);

        TranslationAssert.Events(
        [
            ("message_start", MessageStart),
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
            TextDelta(0, "\"The answer is\""),
            ("error", """{"type":"error","error":{"type":"overloaded_error","message":"The upstream ran out of capacity and stopped the answer before it was complete; retry later."}}"""),
        ], output);
        Assert.False(translator.Completed);
        Assert.Equal("upstream_insufficient_resource", translator.FailureCode);
        Assert.Equal(new TokenUsage(40, 3), translator.Usage);
    }

    [Fact]
    public void StreamCutBeforeFinish_IsLeftOpenForTheCallersError_NeitherCompletedNorFailed()
    {
        var translator = Create();

        var output = TranslationAssert.Feed(translator, """
            data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}

            """);

        TranslationAssert.Events(
        [
            ("message_start", MessageStart),
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
            TextDelta(0, "\"Hi\""),
        ], output);
        // The forwarder ends it with the error any stream cut short ends with (FaultTests.CutStream_EndsTheRaw…).
        Assert.False(translator.Completed);
        Assert.False(translator.Failed);
        Assert.Equal(default, translator.Usage);
    }

    [Fact]
    public void MalformedChunk_BecomesErrorEvent_AndTheRowSaysTheResponseWasInvalid()
    {
        var translator = Create();
        var output = new ArrayBufferWriter<byte>();

        translator.OnEvent(null, "{\"choices\":[{\"ind"u8, output);
        translator.OnEnd(output);

        TranslationAssert.Events(
        [
            ("error", """{"type":"error","error":{"type":"api_error","message":"The upstream sent an event that could not be read."}}"""),
        ], Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.Equal("upstream_invalid_response", translator.FailureCode);
    }
}
