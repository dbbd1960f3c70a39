using System.Buffers;
using System.Text;
using System.Text.Json;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

/// <summary>The Responses API served as a chat completion: the request into chat, the answer and its stream back.</summary>
public sealed class ResponsesToChatTests
{
    private static readonly ResponsesContext Context = new("resp_00ab", 1_700_000_000, "{}"u8.ToArray());

    private static TranslationResult Request(string json) => ResponsesToChat.TranslateRequest(Encoding.UTF8.GetBytes(json), out _, out _);

    [Fact]
    public void AConversation_WithInstructionsImagesFunctionCallsAndOptions_BecomesTheChatRequestThatSaysTheSame()
    {
        var result = Request("""
            {"model":"gpt-4.1","instructions":"Be brief.","stream":true,"max_output_tokens":300,"temperature":0.2,
             "store":false,"metadata":{"team":"ops"},"truncation":"disabled","max_tool_calls":2,"user":"u-1",
             "reasoning":{"effort":"low","summary":"auto"},
             "text":{"format":{"type":"json_schema","name":"weather","schema":{"type":"object"},"strict":true},"verbosity":"low"},
             "include":["message.output_text.logprobs"],"top_logprobs":2,
             "tools":[{"type":"function","name":"get_weather","description":"Weather.","parameters":{"type":"object"},"strict":true}],
             "tool_choice":{"type":"function","name":"get_weather"},"parallel_tool_calls":false,
             "input":[
               {"role":"user","content":[{"type":"input_text","text":"Weather here?"},{"type":"input_image","image_url":"https://example.com/a.png","detail":"low"}]},
               {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Checking.","annotations":[]}]},
               {"type":"reasoning","id":"rs_1","summary":[]},
               {"type":"function_call","call_id":"call_A","name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},
               {"type":"function_call_output","call_id":"call_A","output":"{\"temperature\":4}"},
               {"role":"developer","content":"Use Celsius."}
             ]}
            """);

        TranslationAssert.Body("""
            {"model":"gpt-4.1","messages":[
               {"role":"system","content":"Be brief."},
               {"role":"user","content":[{"type":"text","text":"Weather here?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png","detail":"low"}}]},
               {"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
               {"role":"tool","tool_call_id":"call_A","content":"{\"temperature\":4}"},
               {"role":"developer","content":"Use Celsius."}],
             "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather.","parameters":{"type":"object"},"strict":true}}],
             "tool_choice":{"type":"function","function":{"name":"get_weather"}},
             "parallel_tool_calls":false,"temperature":0.2,"user":"u-1","max_completion_tokens":300,"reasoning_effort":"low",
             "verbosity":"low","response_format":{"type":"json_schema","json_schema":{"name":"weather","schema":{"type":"object"},"strict":true}},
             "logprobs":true,"top_logprobs":2,"stream":true,"stream_options":{"include_usage":true}}
            """, result);
    }

    [Fact]
    public void AnInputFile_IsAChatFilePart_WithItsDataAndFilename()
    {
        var result = Request("""
            {"model":"gpt-4.1","input":[{"role":"user","content":[
               {"type":"input_file","filename":"report.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQK","file_id":null,"file_url":null},
               {"type":"input_text","text":"Summarise it."}]}]}
            """);

        TranslationAssert.Body("""
            {"model":"gpt-4.1","messages":[{"role":"user","content":[
               {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0xLjQK","filename":"report.pdf"}},
               {"type":"text","text":"Summarise it."}]}]}
            """, result);
    }

    [Fact]
    public void AReasoningItemsText_IsTheReasoningContentOfTheAssistantTurnItBegins_AndReasoningNoTurnFollowsIsLeftOut()
    {
        // A stateless tool loop sends back each response's output items: reasoning, then the answer and its calls.
        var result = Request("""
            {"model":"deepseek-reasoner","input":[
               {"role":"user","content":"Weather in Oslo?"},
               {"type":"reasoning","id":"rs_1","summary":[],"content":[{"type":"reasoning_text","text":"I need "},{"type":"reasoning_text","text":"the weather."}]},
               {"type":"function_call","call_id":"call_A","name":"get_weather","arguments":"{}"},
               {"type":"function_call_output","call_id":"call_A","output":"4 degrees"},
               {"type":"reasoning","id":"rs_2","summary":[],"content":[{"type":"reasoning_text","text":"It is cold."}]},
               {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Cold."}]},
               {"type":"reasoning","id":"rs_3","summary":[{"type":"summary_text","text":"A summary is not the reasoning."}],"encrypted_content":"gAAA"},
               {"type":"reasoning","id":"rs_4","summary":[],"content":[{"type":"reasoning_text","text":"A second answer."}]},
               {"type":"message","role":"assistant","content":"Wear a coat."},
               {"type":"reasoning","id":"rs_5","summary":[],"content":[{"type":"reasoning_text","text":"No turn follows."}]},
               {"role":"user","content":"Thanks."}
             ]}
            """);

        TranslationAssert.Body("""
            {"model":"deepseek-reasoner","messages":[
               {"role":"user","content":"Weather in Oslo?"},
               {"role":"assistant","content":null,"reasoning_content":"I need the weather.","tool_calls":[{"id":"call_A","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
               {"role":"tool","tool_call_id":"call_A","content":"4 degrees"},
               {"role":"assistant","content":"Cold.","reasoning_content":"It is cold."},
               {"role":"assistant","content":"Wear a coat.","reasoning_content":"A second answer."},
               {"role":"user","content":"Thanks."}]}
            """, result);
    }

    [Fact]
    public void WithoutReasoning_LeavesOutTheMessagesReasoningContent_AndKeepsEveryOtherProperty()
    {
        var chat = """
            {"model":"gpt-4.1","messages":[{"role":"user","content":"Say \"reasoning_content\"."},
               {"role":"assistant","content":null,"reasoning_content":"Think.","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
               {"role":"tool","tool_call_id":"c","content":"ok"}],"temperature":0.50,"stream":true}
            """u8;

        Assert.True(ResponsesToChat.CarriesReasoning(chat));
        Assert.False(ResponsesToChat.CarriesReasoning("""{"model":"gpt-4.1","messages":[{"role":"user","content":"Say \"reasoning_content\"."}]}"""u8));
        TranslationAssert.Body("""
            {"model":"gpt-4.1","messages":[{"role":"user","content":"Say \"reasoning_content\"."},
               {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},
               {"role":"tool","tool_call_id":"c","content":"ok"}],"temperature":0.50,"stream":true}
            """, ResponsesToChat.WithoutReasoning(chat));
    }

    [Fact]
    public void AutomaticTruncation_IsServedAsDisabled_AndEchoedAsApplied()
    {
        // Corridor drops no input items: an input that fits is served as OpenAI serves it, and the answer says what was applied.
        var result = ResponsesToChat.TranslateRequest("""{"model":"m","input":"Hi","truncation":"auto"}"""u8, out var echo, out _);

        TranslationAssert.Body("""{"model":"m","messages":[{"role":"user","content":"Hi"}]}""", result);
        Assert.Equal("\"disabled\"", Encoding.UTF8.GetString(ResponsesToChat.ReadEcho(echo).Single(e => e.Name == "truncation").Value));
    }

    [Fact]
    public void TextInput_IsTheUsersMessage_AndTheEchoKeepsWhatTheAnswerRepeats()
    {
        var result = ResponsesToChat.TranslateRequest("""{"model":"m","input":"Hi","instructions":"Be kind.","tools":[],"stream":false,"store":true,"max_tool_calls":3,"truncation":"disabled"}"""u8, out var echo, out _);

        TranslationAssert.Body("""{"model":"m","messages":[{"role":"system","content":"Be kind."},{"role":"user","content":"Hi"}],"stream":false}""", result);
        TranslationAssert.JsonEqual("""{"instructions":"Be kind.","max_tool_calls":3,"tools":[],"truncation":"disabled"}""", Encoding.UTF8.GetString(echo));
    }

    [Fact]
    public void CallsAfterAnAnswer_JoinItsMessage_AndCallsWithoutOne_HaveNoContent()
    {
        var result = Request("""
            {"model":"m","input":[
               {"type":"function_call","call_id":"a","name":"f","arguments":"{}"},
               {"type":"function_call","call_id":"b","name":"g","arguments":"{}"},
               {"type":"function_call_output","call_id":"a","output":[{"type":"input_text","text":"one"}]},
               {"type":"function_call_output","call_id":"b","output":"two"}]}
            """);

        TranslationAssert.Body("""
            {"model":"m","messages":[
               {"role":"assistant","content":null,"tool_calls":[
                  {"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},
                  {"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]},
               {"role":"tool","tool_call_id":"a","content":"one"},
               {"role":"tool","tool_call_id":"b","content":"two"}]}
            """, result);
    }

    [Fact]
    public void AToolSchemaNestedAsDeepAsTheFrontDoorAccepts_IsTranslated_InEitherDirection()
    {
        // 100 levels of parameters: the front door takes up to RequestParser.MaxDepth (128); the JSON reader's default is 64.
        var schema = string.Concat(Enumerable.Repeat("""{"type":"object","properties":{"a":""", 48)) + """{"type":"string"}""" + new string('}', 96);
        var responses = Request($$"""{"model":"m","input":"x","tools":[{"type":"function","name":"f","parameters":{{schema}}}]}""");
        var chat = ChatToMessages.TranslateRequest(Encoding.UTF8.GetBytes($$$"""{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{{{schema}}}}}]}"""), "m", 100);

        Assert.True(responses.Succeeded, responses.Error);
        Assert.True(chat.Succeeded, chat.Error);
    }

    [Theory]
    [InlineData("""{"model":"m","input":"x","previous_response_id":5}""", "previous_response_id", "must be a string")]
    [InlineData("""{"model":"m","input":"x","store":"yes"}""", "store", "a boolean")]
    [InlineData("""{"model":"m","input":"x","conversation":"conv_1"}""", "conversation", "keeps responses, not conversations")]
    [InlineData("""{"model":"m","input":"x","prompt":{"id":"pmpt_1"}}""", "prompt", "Stored prompts")]
    [InlineData("""{"model":"m","input":"x","background":true}""", "background", "Background responses")]
    [InlineData("""{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}""", "input[0].type", "Item references")]
    [InlineData("""{"model":"m","input":[{"type":"web_search_call","id":"ws_1"}]}""", "input[0].type", "'web_search_call' is not supported")]
    [InlineData("""{"model":"m","input":"x","tools":[{"type":"web_search"}]}""", "tools[0].type", "function tools")]
    [InlineData("""{"model":"m","input":"x","tool_choice":{"type":"file_search"}}""", "tool_choice", "'tool_choice' must be")]
    [InlineData("""{"model":"m"}""", "input", "'input' is required")]
    [InlineData("""{"model":"m","input":[]}""", "input", "must not be empty")]
    [InlineData("""{"model":"m","input":42}""", "input", "must be a string or an array")]
    [InlineData("""{"model":"m","input":[{"role":"robot","content":"x"}]}""", "input[0].role", "must be 'user'")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}""", "input[0].content[0].image_url", "does not keep files")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}""", "input[0].content[0].file_id", "does not keep files")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_url":"https://example.com/a.pdf"}]}]}""", "input[0].content[0].file_url", "does not fetch")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_file","filename":"a.pdf"}]}]}""", "input[0].content[0].file_data", "is required")]
    [InlineData("""{"model":"m","input":[{"role":"user","content":[{"type":"input_audio"}]}]}""", "input[0].content[0].type", "'input_audio' is not supported")]
    [InlineData("""{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}""", "input[0].call_id", "'input[0].call_id' is required")]
    [InlineData("""{"model":"m","input":"x","max_output_tokens":0}""", "max_output_tokens", "positive integer")]
    [InlineData("""{"model":"m","input":"x","stream":"yes"}""", "stream", "a boolean")]
    [InlineData("""{"model":"m","input":"x","reasoning":{"effort":5}}""", "reasoning.effort", "a string")]
    [InlineData("""{"model":"m","input":"x","text":{"format":{"type":"json_schema","schema":{}}}}""", "text.format.name", "is required")]
    [InlineData("""{"model":"m","input":"x","include":"message.output_text.logprobs"}""", "include", "an array of strings")]
    [InlineData("""{"model":"m","input":"x","truncation":"middle"}""", "truncation", "'truncation' must be 'auto' or 'disabled'")]
    [InlineData("""{"model":"m","input":"x","max_tool_calls":"3"}""", "max_tool_calls", "an integer")]
    public void WhatCorridorCannotServe_IsRefused_NamingTheParameter(string body, string param, string messagePart) =>
        TranslationAssert.Error(Request(body), param, messagePart);

    [Fact]
    public void ARequestThatContinuesAStoredResponse_IsLeftForLater_ByTheFrontDoor_ButWhatIsRefusedAnywayIsRefused()
    {
        var later = ResponsesToChat.TranslateUnlessContinuing("""{"model":"m","input":"x","previous_response_id":"resp_1","store":false}"""u8, out _, out _, out var keeping);
        var refused = ResponsesToChat.TranslateUnlessContinuing("""{"model":"m","input":"x","previous_response_id":"resp_1","background":true}"""u8, out _, out _, out _);
        var served = ResponsesToChat.TranslateUnlessContinuing("""{"model":"m","input":"x"}"""u8, out _, out _, out _);

        Assert.Null(later);
        Assert.Equal(("resp_1", false), (keeping.PreviousResponseId, keeping.Store));
        TranslationAssert.Error(refused!.Value, "background", "Background responses");
        TranslationAssert.Body("""{"model":"m","messages":[{"role":"user","content":"x"}]}""", served!.Value);
    }

    [Fact]
    public void AContinuedRequest_IsServedTheEarlierItemsFirst_ItsOwnStringInputAsAUserMessageAfterThem()
    {
        string[] earlier = ["""[{"id":"msg_1_in0","type":"message","role":"user","content":[{"type":"input_text","text":"Where is parcel 4471?"}]}]""",
            """[{"id":"msg_1_0","type":"message","status":"completed","role":"assistant","content":[{"type":"output_text","text":"In Oslo.","annotations":[]}]}]"""];

        var result = ResponsesToChat.TranslateRequest("""{"model":"m","instructions":"Be brief.","input":"And 4472?","previous_response_id":"resp_1"}"""u8,
            earlier, out _, out var sources, out var keeping);

        TranslationAssert.Body("""
            {"model":"m","messages":[{"role":"system","content":"Be brief."},
              {"role":"user","content":[{"type":"text","text":"Where is parcel 4471?"}]},
              {"role":"assistant","content":"In Oslo."},{"role":"user","content":"And 4472?"}]}
            """, result);
        // As served: the instructions, then input[0] (the earlier input), input[1] (its answer), input[2] (the request's own).
        Assert.Equal("input[2].content", ResponsesToChat.ResponsesParam("messages[3].content", sources));
        Assert.Equal("resp_1", keeping.PreviousResponseId);
    }

    [Fact]
    public void AContinuedRequestsOwnItem_IsNamedAsItsClientSentIt_WhenRefused()
    {
        string[] earlier = ["""[{"type":"message","role":"user","content":"Hi"}]""", """[]"""];

        var result = ResponsesToChat.TranslateRequest("""{"model":"m","input":[{"role":"user","content":"x"},{"role":"robot","content":"x"}]}"""u8,
            earlier, out _, out _, out _);

        TranslationAssert.Error(result, "input[1].role", "must be 'user'");
    }

    [Fact]
    public void AnAnswer_BecomesAResponse_WithItsTextItsCallsAndItsUsage_AndEchoesTheRequest()
    {
        var context = new ResponsesContext("resp_00ab", 1_700_000_000, """{"instructions":"Be brief.","max_output_tokens":300,"tools":[{"type":"function","name":"get_weather"}]}"""u8.ToArray());
        var chat = """
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4.1-2025-04-14",
             "choices":[{"index":0,"finish_reason":"tool_calls","logprobs":null,
               "message":{"role":"assistant","content":"Checking.","refusal":null,
                 "tool_calls":[{"id":"call_A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
                               {"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]}}],
             "usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160,"prompt_tokens_details":{"cached_tokens":20},"completion_tokens_details":{"reasoning_tokens":8}}}
            """u8;

        var result = ResponsesToChat.TranslateResponse(chat, context, "gpt-4.1");

        TranslationAssert.Body("""
            {"id":"resp_00ab","object":"response","created_at":1700000000,"status":"completed","background":false,"error":null,
             "incomplete_details":null,"model":"gpt-4.1",
             "output":[
               {"id":"msg_00ab_0","type":"message","status":"completed","role":"assistant",
                "content":[{"type":"output_text","text":"Checking.","annotations":[],"logprobs":[]}]},
               {"id":"fc_00ab_1","type":"function_call","status":"completed","call_id":"call_A","name":"get_weather","arguments":"{\"city\":\"Oslo\"}"},
               {"id":"fc_00ab_2","type":"function_call","status":"completed","call_id":"call_00ab_2","name":"get_weather","arguments":"{\"city\":\"Rome\"}"}],
             "previous_response_id":null,"store":false,
             "instructions":"Be brief.","max_output_tokens":300,"max_tool_calls":null,"metadata":{},"parallel_tool_calls":true,"prompt_cache_key":null,
             "reasoning":{"effort":null,"summary":null},"safety_identifier":null,"service_tier":"default","temperature":1.0,
             "text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[{"type":"function","name":"get_weather"}],
             "top_logprobs":0,"top_p":1.0,"truncation":"disabled","user":null,
             "usage":{"input_tokens":120,"input_tokens_details":{"cached_tokens":20},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":8},"total_tokens":160}}
            """, result);
    }

    [Theory]
    [InlineData("max_tokens", "max_output_tokens")]
    [InlineData("max_completion_tokens", "max_output_tokens")]
    [InlineData("messages", "input")]
    [InlineData("messages[3].content[0].image_url", "input")]
    [InlineData("response_format", "text.format")]
    [InlineData("response_format.json_schema", "text.format")]
    [InlineData("response_format.json_schema.schema", "text.format.schema")]
    [InlineData("reasoning_effort", "reasoning.effort")]
    [InlineData("verbosity", "text.verbosity")]
    [InlineData("logprobs", "include")]
    [InlineData("tools[2].function.parameters", "tools[2].parameters")]
    [InlineData("tools[0].function", "tools[0]")]
    [InlineData("tool_choice.function.name", "tool_choice.name")]
    [InlineData("temperature", "temperature")]
    [InlineData("tools[1]", "tools[1]")]
    public void AnUpstreamErrorsParam_IsTheResponsesParameterItNames_ItsMessageAsItWas(string chatParam, string responsesParam)
    {
        var error = $$$"""{"error":{"message":"Invalid '{{{chatParam}}}'.","type":"invalid_request_error","param":"{{{chatParam}}}","code":"invalid_value"}}""";

        var relayed = ResponsesToChat.TranslateError(Encoding.UTF8.GetBytes(error));

        TranslationAssert.JsonEqual($$$"""{"error":{"message":"Invalid '{{{chatParam}}}'.","type":"invalid_request_error","param":"{{{responsesParam}}}","code":"invalid_value"}}""",
            relayed is null ? error : Encoding.UTF8.GetString(relayed));
        Assert.Equal(chatParam == responsesParam, relayed is null);
    }

    [Theory]
    [InlineData("messages[0]", "instructions")]
    [InlineData("messages[1].content", "input[0].content")]
    [InlineData("messages[2].tool_calls[0].function.arguments", "input")]
    [InlineData("messages[3].content", "input[3].output")]
    [InlineData("messages[4]", "input[4]")]
    [InlineData("messages[4].role", "input[4].role")]
    [InlineData("messages[4].content[0].text", "input[4].content[0].text")]
    [InlineData("messages[4].content[1].image_url.url", "input[4].content[1].image_url")]
    [InlineData("messages[4].content[1].image_url.detail", "input[4].content[1].detail")]
    [InlineData("messages[4].content[2].file.file_data", "input[4].content[2].file_data")]
    [InlineData("messages[4].content[2].file", "input[4].content[2]")]
    [InlineData("messages[5].content", "input")]
    [InlineData("messages.x", "input")]
    public void AParamOfAChatMessage_NamesTheInputItemItWasMadeOf_AsOpenAINamesIt(string chatParam, string responsesParam)
    {
        // Instructions are the first message, an answer and its call one message: message i is not input item i.
        var result = ResponsesToChat.TranslateRequest("""
            {"model":"m","instructions":"Be brief.","input":[
               {"role":"user","content":"Where is parcel 4471?"},
               {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Looking."}]},
               {"type":"function_call","call_id":"c1","name":"track","arguments":"{}"},
               {"type":"function_call_output","call_id":"c1","output":"Oslo"},
               {"role":"user","content":[{"type":"input_text","text":"And this?"},{"type":"input_image","image_url":"https://example.com/p.png","detail":"low"},
                 {"type":"input_file","filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0="}]}]}
            """u8, out _, out var sources);
        Assert.NotNull(result.Body);
        var error = $$$"""{"error":{"message":"Invalid '{{{chatParam}}}'.","type":"invalid_request_error","param":"{{{chatParam}}}","code":"invalid_value"}}""";

        var (message, param) = ResponsesToChat.ForResponsesClient($"'{chatParam}' is not supported for this model.", chatParam, sources);
        var relayed = ResponsesToChat.TranslateError(Encoding.UTF8.GetBytes(error), sources);

        Assert.Equal(responsesParam, param);
        Assert.Equal($"'{responsesParam}' is not supported for this model.", message);
        Assert.Equal(responsesParam, JsonDocument.Parse(relayed!).RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Theory]
    [InlineData("""{"error":{"message":"No param.","type":"invalid_request_error","param":null}}""")]
    [InlineData("""{"error":"just a string"}""")]
    [InlineData("""{"detail":"Not Found"}""")]
    public void AnUpstreamErrorWithoutAChatParam_IsRelayedAsItCame(string error) =>
        Assert.Null(ResponsesToChat.TranslateError(Encoding.UTF8.GetBytes(error)));

    [Fact]
    public void WhatPolicyChangedInTheForwardedRequest_IsEchoedAsApplied_TheRestAsAsked()
    {
        var context = new ResponsesContext("resp_00ab", 1_700_000_000,
            """{"max_output_tokens":2000,"reasoning":{"effort":"high","summary":"auto"},"top_logprobs":2,"temperature":0.5}"""u8.ToArray());
        // The client's chat request asked for 2000 tokens, reasoning and log probabilities; the forwarded one for 50 and neither.
        context.Forwarded(new PolicyParameters(2000, Reasoning: true, Logprobs: true), new PolicyParameters(50, Reasoning: false, Logprobs: false));
        var result = ResponsesToChat.TranslateResponse("""{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Hi"}}]}"""u8, context, "m");

        var echoed = JsonDocument.Parse(result.Body).RootElement;
        Assert.Equal(50, echoed.GetProperty("max_output_tokens").GetInt32());
        TranslationAssert.JsonEqual("""{"effort":null,"summary":"auto"}""", echoed.GetProperty("reasoning").GetRawText());
        Assert.Equal(0, echoed.GetProperty("top_logprobs").GetInt32());
        Assert.Equal(0.5, echoed.GetProperty("temperature").GetDouble());
    }

    [Fact]
    public void ParametersNestedAsDeepAsTheFrontDoorAccepts_AreEchoed_AndStrippedReasoningToo()
    {
        // A tool schema (or any echoed object) 100 levels deep: the front door and the translation take it (128), so its echo
        // must read it too, once for the answer and again when policy changed what was forwarded.
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 100)) + "1" + new string('}', 100);
        var result = ResponsesToChat.TranslateRequest(Encoding.UTF8.GetBytes(
            $$"""{"model":"m","input":"Hi","reasoning":{"effort":"high","x":{{deep}}},"tools":[{"type":"function","name":"f","parameters":{{deep}}}]}"""), out var echo, out _);
        Assert.NotNull(result.Body);

        var context = ResponsesContext.For("00ab", DateTimeOffset.UnixEpoch, echo);
        context.Forwarded(new PolicyParameters(null, Reasoning: true, Logprobs: false), new PolicyParameters(null, Reasoning: false, Logprobs: false));
        var answer = ResponsesToChat.TranslateResponse("""{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Hi"}}]}"""u8, context, "m");

        var echoed = JsonDocument.Parse(answer.Body, new JsonDocumentOptions { MaxDepth = 256 }).RootElement;
        Assert.Equal(JsonValueKind.Null, echoed.GetProperty("reasoning").GetProperty("effort").ValueKind);
        Assert.Equal(JsonValueKind.Object, echoed.GetProperty("tools")[0].GetProperty("parameters").GetProperty("a").ValueKind);
    }

    [Fact]
    public void AForwardedRequestPolicyDidNotChange_LeavesTheEchoAsAsked()
    {
        var context = new ResponsesContext("resp_00ab", 1_700_000_000, """{"top_logprobs":2}"""u8.ToArray());
        // Log probabilities were not asked for (no include): none were stripped, and top_logprobs is echoed as sent.
        context.Forwarded(new PolicyParameters(40, Reasoning: false, Logprobs: false), new PolicyParameters(40, Reasoning: false, Logprobs: false));
        var result = ResponsesToChat.TranslateResponse("""{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Hi"}}]}"""u8, context, "m");

        var echoed = JsonDocument.Parse(result.Body).RootElement;
        Assert.Equal(JsonValueKind.Null, echoed.GetProperty("max_output_tokens").ValueKind);
        Assert.Equal(2, echoed.GetProperty("top_logprobs").GetInt32());
        TranslationAssert.JsonEqual("""{"effort":null,"summary":null}""", echoed.GetProperty("reasoning").GetRawText());
    }

    [Theory]
    [InlineData("length", "max_output_tokens")]
    [InlineData("content_filter", "content_filter")]
    public void AnAnswerCutShort_IsIncomplete_AndSaysWhy(string finishReason, string reason)
    {
        var chat = $$$"""{"choices":[{"index":0,"finish_reason":"{{{finishReason}}}","message":{"role":"assistant","content":"Once upon"}}],"usage":{"prompt_tokens":5,"completion_tokens":2}}""";

        var result = ResponsesToChat.TranslateResponse(Encoding.UTF8.GetBytes(chat), Context, "m");

        using var response = JsonDocument.Parse(result.Body);
        Assert.Equal("incomplete", response.RootElement.GetProperty("status").GetString());
        Assert.Equal(reason, response.RootElement.GetProperty("incomplete_details").GetProperty("reason").GetString());
        Assert.Equal("incomplete", response.RootElement.GetProperty("output")[0].GetProperty("status").GetString());
    }

    [Fact]
    public void AnAnswerTheUpstreamCouldNotFinish_IsInterrupted_AsForEveryClient()
    {
        var result = ResponsesToChat.TranslateResponse("""{"choices":[{"index":0,"finish_reason":"insufficient_system_resource","message":{"role":"assistant","content":"Once"}}]}"""u8, Context, "m");

        Assert.True(result.IsInterrupted);
    }

    [Fact]
    public void DeepSeeksReasoning_IsAReasoningItem_BeforeTheMessage_WithItsTokensCounted()
    {
        var chat = """
            {"choices":[{"index":0,"finish_reason":"stop",
               "message":{"role":"assistant","content":"Oslo.","reasoning_content":"The user asks for a city."}}],
             "usage":{"prompt_tokens":10,"completion_tokens":9,"total_tokens":19,"completion_tokens_details":{"reasoning_tokens":6}}}
            """u8;

        var result = ResponsesToChat.TranslateResponse(chat, Context, "deepseek-reasoner");

        using var response = JsonDocument.Parse(result.Body);
        TranslationAssert.JsonEqual("""
            [{"id":"rs_00ab_0","type":"reasoning","status":"completed","summary":[],"content":[{"type":"reasoning_text","text":"The user asks for a city."}]},
             {"id":"msg_00ab_1","type":"message","status":"completed","role":"assistant",
              "content":[{"type":"output_text","text":"Oslo.","annotations":[],"logprobs":[]}]}]
            """, response.RootElement.GetProperty("output").GetRawText());
        TranslationAssert.JsonEqual("""{"input_tokens":10,"input_tokens_details":{"cached_tokens":0},"output_tokens":9,"output_tokens_details":{"reasoning_tokens":6},"total_tokens":19}""",
            response.RootElement.GetProperty("usage").GetRawText());
    }

    [Fact]
    public void VllmsReasoningField_IsAReasoningItemToo_WholeAndStreamed()
    {
        var whole = ResponsesToChat.TranslateResponse("""
            {"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Oslo.","reasoning":"The user asks for a city."}}]}
            """u8, Context, "qwen3");
        var events = Parse(TranslationAssert.Feed(ResponsesToChat.CreateStreamTranslator(Context, "qwen3"), """
            data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning":"The user"},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"content":null,"reasoning":" asks."},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"content":"Oslo."},"finish_reason":"stop"}]}

            data: [DONE]

            """));

        using var response = JsonDocument.Parse(whole.Body);
        TranslationAssert.JsonEqual("""{"id":"rs_00ab_0","type":"reasoning","status":"completed","summary":[],"content":[{"type":"reasoning_text","text":"The user asks for a city."}]}""",
            response.RootElement.GetProperty("output")[0].GetRawText());
        TranslationAssert.JsonEqual("""{"id":"rs_00ab_0","type":"reasoning","status":"completed","summary":[],"content":[{"type":"reasoning_text","text":"The user asks."}]}""",
            events[^1].Data.GetProperty("response").GetProperty("output")[0].GetRawText());
    }

    [Fact]
    public void DeepSeeksStreamedReasoning_IsStreamedAsReasoningText_BeforeTheMessage()
    {
        var events = Parse(TranslationAssert.Feed(ResponsesToChat.CreateStreamTranslator(Context, "deepseek-reasoner"), """
            data: {"choices":[{"index":0,"delta":{"role":"assistant","content":null,"reasoning_content":""},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"content":null,"reasoning_content":"The user"},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"content":null,"reasoning_content":" asks."},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"content":"Oslo.","reasoning_content":null},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"completion_tokens_details":{"reasoning_tokens":3}}}

            data: [DONE]

            """));

        Assert.Equal(
        [
            "response.created", "response.in_progress",
            "response.output_item.added", "response.content_part.added", "response.reasoning_text.delta", "response.reasoning_text.delta",
            "response.reasoning_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added", "response.content_part.added", "response.output_text.delta",
            "response.output_text.done", "response.content_part.done", "response.output_item.done",
            "response.completed",
        ], events.Select(e => e.Name));
        TranslationAssert.JsonEqual("""{"id":"rs_00ab_0","type":"reasoning","status":"in_progress","summary":[],"content":[]}""", events[2].Data.GetProperty("item").GetRawText());
        TranslationAssert.JsonEqual("""{"type":"reasoning_text","text":""}""", events[3].Data.GetProperty("part").GetRawText());
        TranslationAssert.JsonEqual("""{"type":"response.reasoning_text.delta","sequence_number":4,"item_id":"rs_00ab_0","output_index":0,"content_index":0,"delta":"The user"}""",
            events[4].Data.GetRawText());
        TranslationAssert.JsonEqual("""{"type":"response.reasoning_text.done","sequence_number":6,"item_id":"rs_00ab_0","output_index":0,"content_index":0,"text":"The user asks."}""",
            events[6].Data.GetRawText());
        TranslationAssert.JsonEqual("""{"type":"reasoning_text","text":"The user asks."}""", events[7].Data.GetProperty("part").GetRawText());
        Assert.Equal(("msg_00ab_1", 1), (events[11].Data.GetProperty("item_id").GetString(), events[11].Data.GetProperty("output_index").GetInt32()));
        var response = events[^1].Data.GetProperty("response");
        TranslationAssert.JsonEqual("""{"id":"rs_00ab_0","type":"reasoning","status":"completed","summary":[],"content":[{"type":"reasoning_text","text":"The user asks."}]}""",
            response.GetProperty("output")[0].GetRawText());
        Assert.Equal(3, response.GetProperty("usage").GetProperty("output_tokens_details").GetProperty("reasoning_tokens").GetInt32());
    }

    [Fact]
    public void LogProbabilities_AreTheTextsOwn()
    {
        var chat = """{"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Hi"},"logprobs":{"content":[{"token":"Hi","logprob":-0.1,"bytes":[72,105],"top_logprobs":[]}]}}]}"""u8;

        var result = ResponsesToChat.TranslateResponse(chat, Context, "m");

        using var response = JsonDocument.Parse(result.Body);
        var part = response.RootElement.GetProperty("output")[0].GetProperty("content")[0];
        TranslationAssert.JsonEqual("""[{"token":"Hi","logprob":-0.1,"bytes":[72,105],"top_logprobs":[]}]""", part.GetProperty("logprobs").GetRawText());
    }

    /// <summary>An OpenAI stream as the API sends it: text, two tool calls in fragments, the finish chunk, the usage chunk, [DONE].</summary>
    private const string ToolStream = """
        data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

        data: {"choices":[{"index":0,"delta":{"content":"Checking"},"finish_reason":null}]}

        data: {"choices":[{"index":0,"delta":{"content":" both."},"finish_reason":null}]}

        data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}

        data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}

        data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]}

        data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},"finish_reason":null}]}

        data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

        data: {"choices":[],"usage":{"prompt_tokens":120,"completion_tokens":40,"total_tokens":160,"prompt_tokens_details":{"cached_tokens":20}}}

        data: [DONE]


        """;

    [Fact]
    public void AStream_BecomesTheLifecycleEvents_NumberedInOrder_EndingWithTheWholeResponse()
    {
        var translator = ResponsesToChat.CreateStreamTranslator(Context, "gpt-4.1");

        var events = Parse(TranslationAssert.Feed(translator, ToolStream));

        Assert.Equal(
        [
            "response.created", "response.in_progress",
            "response.output_item.added", "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
            "response.output_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
            "response.completed",
        ], events.Select(e => e.Name));
        Assert.All(events, e => Assert.Equal(e.Name, e.Data.GetProperty("type").GetString()));
        Assert.Equal(Enumerable.Range(0, events.Count), events.Select(e => e.Data.GetProperty("sequence_number").GetInt32()));
        Assert.Equal("Checking both.", events[6].Data.GetProperty("text").GetString());
        Assert.Equal("{\"city\":\"Paris\"}", events[12].Data.GetProperty("arguments").GetString());
        Assert.Equal(1, events[12].Data.GetProperty("output_index").GetInt32());
        var response = events[^1].Data.GetProperty("response");
        Assert.Equal("completed", response.GetProperty("status").GetString());
        Assert.Equal(["message", "function_call", "function_call"], response.GetProperty("output").EnumerateArray().Select(i => i.GetProperty("type").GetString()));
        Assert.Equal("call_B", response.GetProperty("output")[2].GetProperty("call_id").GetString());
        TranslationAssert.JsonEqual("""{"input_tokens":120,"input_tokens_details":{"cached_tokens":20},"output_tokens":40,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":160}""",
            response.GetProperty("usage").GetRawText());
        Assert.Equal("in_progress", events[0].Data.GetProperty("response").GetProperty("status").GetString());
        Assert.True(translator.Completed);
        Assert.Equal(new TokenUsage(120, 40), translator.Usage);
    }

    [Fact]
    public void AStreamCutAtTheTokenCap_EndsWithResponseIncomplete()
    {
        var events = Parse(TranslationAssert.Feed(ResponsesToChat.CreateStreamTranslator(Context, "m"), """
            data: {"choices":[{"index":0,"delta":{"content":"Once"},"finish_reason":null}]}

            data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}

            data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1}}

            data: [DONE]

            """));

        Assert.Equal("response.incomplete", events[^1].Name);
        Assert.Equal("incomplete", events[^2].Data.GetProperty("item").GetProperty("status").GetString());
        Assert.Equal("incomplete", events[^1].Data.GetProperty("response").GetProperty("output")[0].GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", events[^1].Data.GetProperty("response").GetProperty("incomplete_details").GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("""
        data: {"choices":[{"index":0,"delta":{"content":"Once"},"finish_reason":null}]}

        data: {"error":{"message":"The server had an error.","type":"server_error"}}

        """, "server_error", "The server had an error.", "upstream_stream_error")]
    public void AStreamThatFails_EndsWithAnErrorEvent_AndResponseFailed(string sse, string code, string message, string? failureCode)
    {
        var translator = ResponsesToChat.CreateStreamTranslator(Context, "m");

        var events = Parse(TranslationAssert.Feed(translator, sse));

        Assert.Equal(["error", "response.failed"], events[^2..].Select(e => e.Name));
        Assert.Equal((code, message), (events[^2].Data.GetProperty("code").GetString(), events[^2].Data.GetProperty("message").GetString()));
        var response = events[^1].Data.GetProperty("response");
        Assert.Equal("failed", response.GetProperty("status").GetString());
        Assert.Equal(message, response.GetProperty("error").GetProperty("message").GetString());
        var cut = Assert.Single(response.GetProperty("output").EnumerateArray());
        Assert.Equal(("incomplete", "Once"), (cut.GetProperty("status").GetString(), cut.GetProperty("content")[0].GetProperty("text").GetString()));
        Assert.True(translator.Failed);
        Assert.False(translator.Completed);
        Assert.Equal(failureCode, translator.FailureCode);
    }

    [Fact]
    public void AStreamCut_IsLeftOpenForTheForwardersError_WhichEndsItWithResponseFailed()
    {
        var translator = ResponsesToChat.CreateStreamTranslator(Context, "m");
        var output = new ArrayBufferWriter<byte>();
        translator.OnEvent(null, """{"choices":[{"index":0,"delta":{"content":"Once"},"finish_reason":null}]}"""u8, output);
        var written = output.WrittenCount;

        translator.OnEnd(output);

        Assert.Equal(written, output.WrittenCount);
        Assert.False(translator.Failed);
        Assert.False(translator.Completed);
        translator.Fail(output, "api_error", "The upstream stream ended before it was complete.", "upstream_stream_broken");
        var events = Parse(Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.Equal(["error", "response.failed"], events[^2..].Select(e => e.Name));
        var cut = Assert.Single(events[^1].Data.GetProperty("response").GetProperty("output").EnumerateArray());
        Assert.Equal(("incomplete", "Once"), (cut.GetProperty("status").GetString(), cut.GetProperty("content")[0].GetProperty("text").GetString()));
        Assert.Equal("upstream_stream_broken", translator.FailureCode);
    }

    [Fact]
    public void AnErrorFoundOutsideTheTranslator_EndsTheStreamInTheResponsesShape()
    {
        var translator = ResponsesToChat.CreateStreamTranslator(Context, "m");
        var output = new ArrayBufferWriter<byte>();

        translator.Fail(output, "api_error", "The upstream reported an error.", "upstream_stream_error");

        var events = Parse(Encoding.UTF8.GetString(output.WrittenSpan));
        Assert.Equal(["error", "response.failed"], events.Select(e => e.Name));
        Assert.Equal("upstream_stream_error", translator.FailureCode);
    }

    [Fact]
    public void AnAnthropicUpstreamsStream_IsTranslatedTwice_IntoTheSameEvents()
    {
        var translator = ResponsesToChat.CreateStreamTranslator(Context, "claude-sonnet-4",
            ChatToMessages.CreateStreamTranslator("claude-sonnet-4", "chatcmpl-x", includeUsage: true));

        var events = Parse(TranslationAssert.Feed(translator, """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4","content":[],"usage":{"input_tokens":12,"cache_read_input_tokens":30,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}

            event: message_stop
            data: {"type":"message_stop"}

            """));

        Assert.Equal("response.created", events[0].Name);
        Assert.Equal("Hello", Assert.Single(events, e => e.Name == "response.output_text.delta").Data.GetProperty("delta").GetString());
        var usage = events[^1].Data.GetProperty("response").GetProperty("usage");
        Assert.Equal("response.completed", events[^1].Name);
        Assert.Equal((42, 30, 7), (usage.GetProperty("input_tokens").GetInt32(), usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt32(), usage.GetProperty("output_tokens").GetInt32()));
        Assert.True(translator.Completed);
        Assert.Equal(new TokenUsage(42, 7), translator.Usage);
    }

    private static List<(string? Name, JsonElement Data)> Parse(string sse) =>
        [.. TranslationAssert.ParseSse(sse).Select(e => (e.Event, JsonDocument.Parse(e.Data).RootElement.Clone()))];
}
