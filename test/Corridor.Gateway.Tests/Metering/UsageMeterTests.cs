using System.Text;
using Corridor.Gateway.Metering;

namespace Corridor.Gateway.Tests.Metering;

public sealed class UsageMeterTests
{
    private static bool Scan(UsageMeter meter, string json) => meter.TryScan(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void OpenAICompletion_UsageTextAndFinishReason()
    {
        var meter = new UsageMeter(retainChars: 5);

        Scan(meter, """{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4}}}""");

        Assert.True(meter.Reported);
        Assert.Equal(12, meter.InputTokens);
        Assert.Equal(3, meter.OutputTokens);
        Assert.Equal("stop", meter.FinishReason);
        Assert.Equal("Hello", meter.Text);
        Assert.Equal(11, meter.OutputChars);
    }

    [Theory]
    // OpenAI: cached tokens are part of prompt_tokens.
    [InlineData("""{"prompt_tokens":1200,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0}}""", 1200, 1024, 0)]
    // DeepSeek: its own name for the same thing; where both are sent, they say the same and count once.
    [InlineData("""{"prompt_tokens":1200,"completion_tokens":3,"prompt_cache_hit_tokens":1024,"prompt_cache_miss_tokens":176}""", 1200, 1024, 0)]
    [InlineData("""{"prompt_tokens":1200,"completion_tokens":3,"prompt_cache_hit_tokens":1024,"prompt_tokens_details":{"cached_tokens":1024}}""", 1200, 1024, 0)]
    // Anthropic: reads and writes beside input_tokens, all of them prompt tokens.
    [InlineData("""{"input_tokens":10,"cache_read_input_tokens":2000,"cache_creation_input_tokens":500,"cache_creation":{"ephemeral_5m_input_tokens":500},"output_tokens":3}""", 2510, 2000, 500)]
    // An upstream claiming more cached tokens than its prompt: never more cached than the prompt, never a token twice.
    [InlineData("""{"prompt_tokens":100,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":5000}}""", 100, 100, 0)]
    // cached_tokens anywhere but under prompt_tokens_details is not the prompt's.
    [InlineData("""{"prompt_tokens":100,"completion_tokens":3,"completion_tokens_details":{"cached_tokens":50},"cached_tokens":60}""", 100, 0, 0)]
    public void PromptCacheTokens_AreCountedApart_WithinTheInput(string usage, long input, long read, long write)
    {
        var meter = new UsageMeter(100);

        Scan(meter, """{"choices":[{"message":{"content":"Hello"},"finish_reason":"stop"}],"usage":""" + usage + "}");

        Assert.Equal((input, read, write), (meter.InputTokens, meter.CacheReadTokens, meter.CacheWriteTokens));
        Assert.Equal(new Core.Pricing.BilledTokens(input, 3, read, write), meter.Billed);
    }

    [Theory]
    [InlineData("""{"input_tokens":10,"cache_creation_input_tokens":500,"cache_creation":{"ephemeral_5m_input_tokens":200,"ephemeral_1h_input_tokens":300},"output_tokens":3}""", 500, 300)]
    // More one-hour writes than writes, or the name outside cache_creation: never more than the writes, never counted.
    [InlineData("""{"input_tokens":10,"cache_creation_input_tokens":500,"cache_creation":{"ephemeral_1h_input_tokens":900},"output_tokens":3}""", 500, 500)]
    [InlineData("""{"input_tokens":10,"cache_creation_input_tokens":500,"ephemeral_1h_input_tokens":300,"output_tokens":3}""", 500, 0)]
    public void AnthropicsOneHourCacheWrites_AreCountedWithinTheWrites(string usage, long write, long oneHour)
    {
        var meter = new UsageMeter(100);

        Scan(meter, """{"type":"message","usage":""" + usage + "}");

        Assert.Equal((write, oneHour), (meter.CacheWriteTokens, meter.CacheWriteOneHourTokens));
        Assert.Equal(oneHour, meter.Billed.CacheWriteOneHour);
    }

    [Fact]
    public void AnthropicStream_KeepsTheCacheCountsOfMessageStart_UnlessALaterUsageCountsTheInputAgain()
    {
        var meter = new UsageMeter(100);
        Scan(meter, """{"type":"message_start","message":{"id":"m","usage":{"input_tokens":10,"cache_creation_input_tokens":500,"cache_read_input_tokens":2000,"output_tokens":1}}}""");
        Scan(meter, """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":40}}""");

        Assert.Equal((2510L, 2000L, 500L, 40L), (meter.InputTokens, meter.CacheReadTokens, meter.CacheWriteTokens, meter.OutputTokens));

        // Newer streams repeat the input counts in message_delta: the last usage that counts the input says it all.
        Scan(meter, """{"type":"message_delta","delta":{},"usage":{"input_tokens":2510,"output_tokens":41}}""");
        Assert.Equal((2510L, 0L, 0L, 41L), (meter.InputTokens, meter.CacheReadTokens, meter.CacheWriteTokens, meter.OutputTokens));
    }

    [Fact]
    public void AnthropicsServerToolUses_AreCounted_WholeAndStreamed_TheLastCountStanding()
    {
        var whole = new UsageMeter(100);
        Scan(whole, """{"type":"message","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{"query":"web_search_requests"}}],"usage":{"input_tokens":10,"output_tokens":3,"server_tool_use":{"web_search_requests":2,"web_fetch_requests":1}}}""");
        Assert.Equal((2L, 1L), (whole.WebSearchRequests, whole.WebFetchRequests));
        Assert.Equal(2, whole.Billed.WebSearches);

        // Streamed: message_delta's usage is cumulative, as its output count is.
        var streamed = new UsageMeter(100);
        Scan(streamed, """{"type":"message_start","message":{"id":"m","usage":{"input_tokens":10,"output_tokens":1}}}""");
        Scan(streamed, """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":40,"server_tool_use":{"web_search_requests":1}}}""");
        Scan(streamed, """{"type":"message_delta","delta":{},"usage":{"output_tokens":41,"server_tool_use":{"web_search_requests":3}}}""");
        Assert.Equal((3L, 0L, 41L), (streamed.WebSearchRequests, streamed.WebFetchRequests, streamed.OutputTokens));

        // Counts no request can have, or outside server_tool_use, are not counted.
        var odd = new UsageMeter(100);
        Scan(odd, """{"usage":{"input_tokens":1,"output_tokens":1,"web_search_requests":5,"server_tool_use":{"web_search_requests":-1}}}""");
        Assert.Equal(0, odd.WebSearchRequests);
    }

    [Fact]
    public void WhereTheVendorRanTheInference_IsReadFromItsUsage_AndNowhereElse()
    {
        var whole = new UsageMeter(100);
        Scan(whole, """{"type":"message","content":[{"type":"tool_use","id":"t","name":"f","input":{"inference_geo":"eu"}}],"usage":{"input_tokens":10,"output_tokens":3,"inference_geo":"us"}}""");
        Assert.Equal("us", whole.InferenceGeo);

        var streamed = new UsageMeter(100);
        Scan(streamed, """{"type":"message_start","message":{"id":"m","usage":{"input_tokens":10,"output_tokens":1,"inference_geo":"global"}}}""");
        Assert.Equal("global", streamed.InferenceGeo);

        var silent = new UsageMeter(100);
        Scan(silent, """{"inference_geo":"us","usage":{"input_tokens":1,"output_tokens":1}}""");
        Assert.Null(silent.InferenceGeo);
    }

    [Fact]
    public void AWholeResponseThatIsNotValid_LeavesTheCacheCountsAsTheyWere()
    {
        var meter = new UsageMeter(100);
        Assert.True(meter.TryScanObject(Encoding.UTF8.GetBytes("""{"usage":{"prompt_tokens":1200,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":1024}}}""")));

        Assert.False(meter.TryScanObject(Encoding.UTF8.GetBytes("""{"usage":{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":5}}} trailing""")));

        Assert.Equal((1200L, 1024L), (meter.InputTokens, meter.CacheReadTokens));
    }

    [Theory]
    [InlineData("""{"prompt_tokens":-1000,"completion_tokens":-50}""")]
    [InlineData("""{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807}""")]
    [InlineData("""{"input_tokens":-5,"cache_read_input_tokens":-7,"output_tokens":-3}""")]
    public void UsageCountsNoRequestCanHave_AreNotUsage(string usage)
    {
        var meter = new UsageMeter(100);

        Scan(meter, """{"choices":[{"message":{"content":"Hello"},"finish_reason":"stop"}],"usage":""" + usage + "}");

        Assert.False(meter.Reported);
        Assert.Equal((0L, 0L), (meter.InputTokens, meter.OutputTokens));
    }

    [Fact]
    public void EscapedNames_AreReadAsTheNamesTheySpell()
    {
        var meter = new UsageMeter(100);

        // JSON lets any name be escaped; a name longer than any known one, escaped or not, is no known name.
        Scan(meter, """{"choices":[{"message":{"c\u006fntent":"Hi"},"finish\u005freason":"stop"}],"\u0075\u0073\u0061\u0067\u0065":{"prompt_tokens":3,"\u0063ache_creation_input_tokens":2,"completion\u005Ftokens":4},"""
            + "\"" + string.Concat(Enumerable.Repeat("\\u0075", 40)) + "\":{\"prompt_tokens\":99}}");

        Assert.Equal((5L, 4L), (meter.InputTokens, meter.OutputTokens));
        Assert.Equal("stop", meter.FinishReason);
        Assert.Equal("Hi", meter.Text);
    }

    [Fact]
    public void ReasoningTokens_AreTakenFromTheUsage_OfOpenAIAndDeepSeek()
    {
        var meter = new UsageMeter(100);
        Scan(meter, """{"choices":[{"message":{"content":"4","reasoning_content":"two and two"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":900,"completion_tokens_details":{"reasoning_tokens":850}}}""");
        Assert.Equal(850, meter.ReasoningTokens);
        Assert.True(meter.ReasoningReturned);
        Assert.Equal("4", meter.Text); // the reasoning is not the answer

        // OpenAI's reasoning models count their reasoning and keep it hidden.
        var hidden = new UsageMeter(100);
        Scan(hidden, """{"choices":[{"message":{"content":"4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":900,"completion_tokens_details":{"reasoning_tokens":850}}}""");
        Assert.Equal(850, hidden.ReasoningTokens);
        Assert.False(hidden.ReasoningReturned);
    }

    [Fact]
    public void ReasoningServedAsText_IsEstimated_WhenTheUsageDoesNotCountIt()
    {
        // vLLM streams reasoning in the delta's reasoning (formerly reasoning_content) and may report no reasoning_tokens.
        var vllm = new UsageMeter(100);
        Scan(vllm, """{"choices":[{"index":0,"delta":{"reasoning":"ABCDEFGHIJKLMNOPQRST"}}]}""");
        Scan(vllm, """{"choices":[{"index":0,"delta":{"reasoning_content":"ABCDEFGHIJKLMNOPQRST"}}]}""");
        Scan(vllm, """{"choices":[{"index":0,"delta":{"content":"4"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":30}}""");
        Assert.Equal(10, vllm.ReasoningTokens);
        Assert.Equal("4", vllm.Text);

        // Anthropic counts thinking in output_tokens; its text comes in thinking blocks and thinking deltas.
        var anthropic = new UsageMeter(100);
        Scan(anthropic, """{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}""");
        Scan(anthropic, """{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"ABCDEFGHIJKLMNOPQRSTABCDEFGHIJKLMNOPQRST"}}""");
        Scan(anthropic, """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":40}}""");
        Assert.Equal(10, anthropic.ReasoningTokens);

        var whole = new UsageMeter(100);
        Scan(whole, """{"content":[{"type":"thinking","thinking":"ABCDEFGHIJKLMNOPQRST","signature":"sig"},{"type":"text","text":"4"}],"usage":{"input_tokens":5,"output_tokens":3}}""");
        Assert.Equal(3, whole.ReasoningTokens); // never more than the output counted
        Assert.Equal("4", whole.Text);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public void ToolArgumentsNamedLikeReasoning_AreNotReasoning(int retainChars)
    {
        // A tool's own parameters may well be called reasoning or thinking: in Anthropic's tool_use input they are JSON
        // properties, not the model's reasoning returned.
        var anthropic = new UsageMeter(retainChars);
        Scan(anthropic, """{"content":[{"type":"tool_use","id":"t","name":"plan","input":{"reasoning":"because","thinking":"hard","steps":[{"reasoning_content":"x"}]}}],"usage":{"input_tokens":5,"output_tokens":30}}""");
        Assert.False(anthropic.ReasoningReturned);
        Assert.Equal(0, anthropic.ReasoningTokens);

        var nested = new UsageMeter(retainChars);
        Scan(nested, """{"choices":[{"message":{"content":"4","audio":{"reasoning":"not this"}},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":3}}""");
        Assert.False(nested.ReasoningReturned);
    }

    [Fact]
    public void OpenAIStream_TakesTheUsageChunk()
    {
        var meter = new UsageMeter(100);

        Scan(meter, """{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}],"usage":null}""");
        Scan(meter, """{"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"length"}],"usage":null}""");
        Assert.False(meter.Reported);
        Scan(meter, """{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":2}}""");

        Assert.Equal((7L, 2L), (meter.InputTokens, meter.OutputTokens));
        Assert.Equal("Hello", meter.Text);
        Assert.Equal("length", meter.FinishReason);
    }

    [Fact]
    public void AnthropicStream_InputFromStart_OutputCumulativeFromDelta()
    {
        var meter = new UsageMeter(100);

        Scan(meter, """{"type":"message_start","message":{"id":"msg_1","content":[],"usage":{"input_tokens":20,"cache_read_input_tokens":5,"output_tokens":1}}}""");
        Scan(meter, """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}""");
        Scan(meter, """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}""");
        Scan(meter, """{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}""");

        Assert.Equal(25, meter.InputTokens);
        Assert.Equal(9, meter.OutputTokens);
        Assert.Equal("tool_use", meter.FinishReason);
        Assert.Equal("Hi", meter.Text);
        Assert.Equal(2 + 7, meter.OutputChars);
    }

    [Fact]
    public void AnthropicStream_CutBeforeMessageDelta_EstimatesTheOutputItSent()
    {
        var meter = new UsageMeter(100);

        Scan(meter, """{"type":"message_start","message":{"id":"msg_1","content":[],"usage":{"input_tokens":20,"output_tokens":1}}}""");
        Scan(meter, """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Twelve chars"}}""");

        Assert.True(meter.OutputProvisional);
        Assert.True(meter.EstimateIfMissing(new byte[400]));
        Assert.Equal(20, meter.InputTokens);
        // "Twelve chars" is 3 tokens in o200k_base.
        Assert.Equal(3, meter.OutputTokens);
    }

    [Fact]
    public void AStreamCutAfterItsReasoning_EstimatesTheReasoningItSent_AsOutput()
    {
        // A client that leaves as the answer's text begins has been sent the model's thinking, which the vendor bills as
        // output: the estimate counts it, as it counts the text and a tool call's arguments.
        const string Thinking = "ABCDEFGHIJKLMNOPQRSTABCDEFGHIJKLMNOPQRSTABCDEFGHIJKLMNOPQRSTABCDEFGHIJKLMNOPQRST"; // 80 bytes
        var anthropic = new UsageMeter(100);
        Scan(anthropic, """{"type":"message_start","message":{"id":"msg_1","content":[],"usage":{"input_tokens":20,"output_tokens":1}}}""");
        Scan(anthropic, """{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}""");
        Scan(anthropic, $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"{{{Thinking}}}"}}""");
        Scan(anthropic, """{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Twelve chars"}}""");

        Assert.True(anthropic.EstimateIfMissing(new byte[400]));
        // "Twelve chars" is 3 tokens in o200k_base; the thinking is estimated at four bytes a token, as ReasoningTokens is.
        Assert.Equal(3 + 20, anthropic.OutputTokens);
        Assert.Equal(20, anthropic.ReasoningTokens);

        // DeepSeek's reasoning_content, streamed before the content, with no usage yet.
        var deepSeek = new UsageMeter(100);
        Scan(deepSeek, $$$"""{"choices":[{"index":0,"delta":{"reasoning_content":"{{{Thinking}}}","content":null}}]}""");
        Scan(deepSeek, """{"choices":[{"index":0,"delta":{"content":"Twelve chars"}}]}""");

        Assert.True(deepSeek.EstimateIfMissing("""{"model":"deepseek-reasoner","messages":[{"role":"user","content":"Say hello to the world"}]}"""u8));
        Assert.Equal(3 + 20, deepSeek.OutputTokens);
    }

    [Fact]
    public void AnthropicStream_Complete_IsNotEstimated()
    {
        var meter = new UsageMeter(100);

        Scan(meter, """{"type":"message_start","message":{"id":"msg_1","content":[],"usage":{"input_tokens":20,"output_tokens":1}}}""");
        Scan(meter, """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Twelve chars"}}""");
        Scan(meter, """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}""");

        Assert.False(meter.OutputProvisional);
        Assert.False(meter.EstimateIfMissing(new byte[400]));
        Assert.Equal((20L, 2L), (meter.InputTokens, meter.OutputTokens));
    }

    [Fact]
    public void NoUsage_WithoutRetainedText_IsEstimatedFromCharacters_AndThePromptWithTheTokenizer()
    {
        var meter = new UsageMeter(0);
        Scan(meter, """{"choices":[{"delta":{"content":"12345678"}}]}""");

        Assert.True(meter.EstimateIfMissing("""{"model":"gpt-4.1","messages":[{"role":"user","content":"Say hello to the world"}]}"""u8));
        Assert.Equal(26, meter.InputTokens);
        Assert.Equal(2, meter.OutputTokens);
        Assert.Null(meter.Text);
    }

    [Fact]
    public void NoUsage_IsCountedWithTheTokenizer_ScaledUpWhenOnlyPartOfTheTextWasRetained()
    {
        var meter = new UsageMeter(12);
        Scan(meter, """{"choices":[{"delta":{"content":"Hello there, "}}]}""");
        Scan(meter, """{"choices":[{"delta":{"content":"how are you today?"}}]}""");

        Assert.True(meter.EstimateIfMissing([]));
        Assert.Equal("Hello there,", meter.Text);
        Assert.Equal(31, meter.OutputChars);
        // "Hello there," is 3 tokens in o200k_base; 31 characters seen of 12 retained.
        Assert.Equal(8, meter.OutputTokens);
        Assert.Equal(0, meter.InputTokens);
    }

    [Fact]
    public void AnEstimate_NeverExceedsWhatTheRequestAllowed()
    {
        var meter = new UsageMeter(1000);
        Scan(meter, """{"choices":[{"delta":{"content":"one two three four five six seven eight nine ten"}}]}""");

        Assert.True(meter.EstimateIfMissing([], maxOutputTokens: 4));
        Assert.Equal(4, meter.OutputTokens);
    }

    [Fact]
    public void Garbage_IsReportedNotThrown()
    {
        Assert.False(new UsageMeter(10).TryScan("<html>"u8));
    }

    [Theory]
    [InlineData("""{"choices":[{"message":{"content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2}} trailing""")]
    [InlineData("""{"choices":[{"message":{"content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2},""")]
    [InlineData("""[{"usage":{"prompt_tokens":7,"completion_tokens":2}}]""")]
    [InlineData("")]
    public void WholeResponse_NotOneObject_IsRejectedAndMetersNothing(string json)
    {
        var meter = new UsageMeter(retainChars: 100);

        Assert.False(meter.TryScanObject(Encoding.UTF8.GetBytes(json)));

        Assert.False(meter.Reported);
        Assert.Equal(0, meter.InputTokens);
        Assert.Equal(0, meter.OutputTokens);
        Assert.Null(meter.FinishReason);
        Assert.Equal(0, meter.OutputChars);
        Assert.True(string.IsNullOrEmpty(meter.Text));
    }

    [Fact]
    public void WholeResponse_OneObject_IsScanned()
    {
        var meter = new UsageMeter(retainChars: 100);

        Assert.True(meter.TryScanObject(Encoding.UTF8.GetBytes("""{"choices":[{"message":{"content":"Hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":2}}""" + "\n")));

        Assert.Equal((7, 2, "stop", "Hi"), (meter.InputTokens, meter.OutputTokens, meter.FinishReason, meter.Text));
    }

    [Fact]
    public void Text_IsUnescapedAndCountedWhetherShortOrLong()
    {
        var longText = new string('x', 1000);
        var meter = new UsageMeter(retainChars: 1200);

        Scan(meter, """{"choices":[{"delta":{"content":"caf\u00e9 \"ok\"\n"}}]}""");
        Scan(meter, $$$"""{"choices":[{"delta":{"content":"{{{longText}}}"}}]}""");

        Assert.Equal(10 + 1000, meter.OutputChars);
        Assert.Equal("café \"ok\"\n" + longText, meter.Text);
    }

    [Fact]
    public void Text_StopsAtTheRetentionCapButKeepsCounting()
    {
        var meter = new UsageMeter(retainChars: 300);

        Scan(meter, $$$"""{"choices":[{"message":{"content":"{{{new string('a', 280)}}}"}}]}""");
        Scan(meter, $$$"""{"choices":[{"delta":{"content":"{{{new string('b', 500)}}}"}}]}""");

        Assert.Equal(780, meter.OutputChars);
        Assert.Equal(new string('a', 280) + new string('b', 20), meter.Text);
    }

    [Fact]
    public void ToolCalls_AreKept_NamesAndArguments_InEitherDialect()
    {
        var openAI = new UsageMeter(100);
        var openAIStream = new UsageMeter(100);
        var anthropic = new UsageMeter(100);
        var anthropicStream = new UsageMeter(100);

        Scan(openAI, """{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":7}}""");
        Scan(openAIStream, """{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","function":{"name":"get_weather","arguments":""}}]}}]}""");
        Scan(openAIStream, """{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}}]}""");
        Scan(openAIStream, """{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}}]}""");
        Scan(anthropic, """{"type":"message","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","usage":{"input_tokens":9,"output_tokens":7}}""");
        Scan(anthropicStream, """{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t1","name":"get_weather","input":{}}}""");
        Scan(anthropicStream, """{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Paris\"}"}}""");

        foreach (var meter in new[] { openAI, openAIStream, anthropic, anthropicStream })
        {
            Assert.Equal(["get_weather"], meter.ToolNames);
        }
        Assert.Equal("{\"city\":\"Paris\"}", openAI.ToolArguments);
        Assert.Equal("{\"city\":\"Paris\"}", openAIStream.ToolArguments);
        Assert.Equal("{\"city\":\"Paris\"}", anthropic.ToolArguments);
        Assert.Equal("{\"city\": \"Paris\"}", anthropicStream.ToolArguments);
        Assert.Equal((9, 7), (anthropic.InputTokens, anthropic.OutputTokens));
    }

    [Fact]
    public void WithoutRetention_NoToolCallsAreKept()
    {
        var meter = new UsageMeter(0);

        Scan(meter, """{"type":"message","content":[{"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"Paris"}}],"usage":{"input_tokens":9,"output_tokens":7}}""");

        Assert.Empty(meter.ToolNames);
        Assert.Null(meter.ToolArguments);
    }

    [Theory]
    [InlineData("""{"choices":[{"delta":{"content":"\udfff"}}]}""")]
    [InlineData("""{"choices":[{"finish_reason":"\ud800"}]}""")]
    [InlineData("""{"type":"content_block_start","content_block":{"type":"tool_use","name":"\udc00x","input":{}}}""")]
    public void AStringThatDecodesToNoText_IsRefusedAsAValue_NotThrown(string json)
    {
        var meter = new UsageMeter(retainChars: 100);

        Assert.False(meter.TryScan(System.Text.Encoding.UTF8.GetBytes(json)));
        Assert.False(meter.TryScanObject(System.Text.Encoding.UTF8.GetBytes(json)));
    }
}
