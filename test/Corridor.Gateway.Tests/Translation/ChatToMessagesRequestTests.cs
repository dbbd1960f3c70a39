using System.Text;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

public sealed class ChatToMessagesRequestTests
{
    private const string Model = "claude-sonnet-4-up";
    private const int DefaultMaxTokens = 1024;

    /// <summary>(case, OpenAI chat request, expected Anthropic messages request).</summary>
    public static TheoryData<string, string, string> Mappings => new()
    {
        {
            "system and developer messages join the top-level system prompt",
            """
            {"model":"gpt-4.1","messages":[
              {"role":"system","content":"Be brief."},
              {"role":"developer","content":[{"type":"text","text":"Answer in French."}]},
              {"role":"user","content":"Hi"}]}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"system":"Be brief.\n\nAnswer in French.",
             "messages":[{"role":"user","content":"Hi"}]}
            """
        },
        {
            "a conversation of system messages alone is sent as one user turn (Anthropic needs a message; OpenAI models answer it)",
            """
            {"model":"gpt-4.1","messages":[
              {"role":"system","content":"Classify the sentiment of: I love it."},
              {"role":"developer","content":"Answer in one word."}],
             "response_format":{"type":"json_object"}}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,
             "messages":[{"role":"user","content":"Classify the sentiment of: I love it.\n\nAnswer in one word.\n\nRespond with a single valid JSON object only, with no text, explanation or code fences before or after it."}]}
            """
        },
        {
            "user text and image parts become text and image blocks",
            """
            {"messages":[{"role":"user","content":[
              {"type":"text","text":"What is this?"},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}},
              {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":[
              {"type":"text","text":"What is this?"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
              {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}]}
            """
        },
        {
            "a PDF file part becomes a base64 document block titled with its filename (a null file_id, as SDKs that write nulls send, is none), a plain-text one a text document",
            """
            {"messages":[{"role":"user","content":[
              {"type":"text","text":"Summarise both."},
              {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0xLjQK","filename":"report.pdf","file_id":null}},
              {"type":"file","file":{"file_data":"data:text/plain;charset=utf-8;base64,Q2Fmw6kgbWVudQ=="}}]}]}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":[
              {"type":"text","text":"Summarise both."},
              {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQK"},"title":"report.pdf"},
              {"type":"document","source":{"type":"text","media_type":"text/plain","data":"Caf\u00e9 menu"}}]}]}
            """
        },
        {
            "tool calls become tool_use blocks and tool messages merge into one user turn",
            """
            {"messages":[
              {"role":"user","content":"Weather in Paris and Rome?"},
              {"role":"assistant","content":null,"tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Rome\"}"}}]},
              {"role":"tool","tool_call_id":"call_1","content":"18C"},
              {"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":""},{"type":"text","text":"22C"}]},
              {"role":"user","content":"Thanks"}]}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[
              {"role":"user","content":"Weather in Paris and Rome?"},
              {"role":"assistant","content":[
                {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},
                {"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Rome"}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"call_1","content":"18C"},
                {"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"22C"}]},
                {"type":"text","text":"Thanks"}]}]}
            """
        },
        {
            "tool call ids with characters Anthropic refuses are rewritten alike in the call and its result",
            """
            {"messages":[
              {"role":"user","content":"List the files."},
              {"role":"assistant","content":null,"tool_calls":[{"id":"functions.Bash:12","type":"function","function":{"name":"Bash","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"functions.Bash:12","content":"a.txt"}]}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[
              {"role":"user","content":"List the files."},
              {"role":"assistant","content":[{"type":"tool_use","id":"functions_Bash_12","name":"Bash","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"functions_Bash_12","content":"a.txt"}]}]}
            """
        },
        {
            "tool call arguments that are not a JSON object, as a model may have written them, are wrapped as Anthropic's documentation wraps invalid input",
            """
            {"messages":[
              {"role":"user","content":"Weather?"},
              {"role":"assistant","content":null,"tool_calls":[
                {"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Par"}},
                {"id":"c2","type":"function","function":{"name":"get_weather","arguments":"[1]"}}]},
              {"role":"tool","tool_call_id":"c1","content":"Error: arguments are not JSON"},
              {"role":"tool","tool_call_id":"c2","content":"Error: arguments are not an object"}]}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[
              {"role":"user","content":"Weather?"},
              {"role":"assistant","content":[
                {"type":"tool_use","id":"c1","name":"get_weather","input":{"INVALID_JSON":"{\"city\": \"Par"}},
                {"type":"tool_use","id":"c2","name":"get_weather","input":{"INVALID_JSON":"[1]"}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"c1","content":"Error: arguments are not JSON"},
                {"type":"tool_result","tool_use_id":"c2","content":"Error: arguments are not an object"}]}]}
            """
        },
        {
            "assistant text before tool calls stays and empty text is dropped",
            """
            {"messages":[
              {"role":"user","content":"Time?"},
              {"role":"assistant","content":"Let me look.","tool_calls":[{"id":"c1","type":"function","function":{"name":"now","arguments":""}}]},
              {"role":"tool","tool_call_id":"c1","content":"12:00"},
              {"role":"assistant","content":""},
              {"role":"assistant","content":"It is noon."}]}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[
              {"role":"user","content":"Time?"},
              {"role":"assistant","content":[
                {"type":"text","text":"Let me look."},
                {"type":"tool_use","id":"c1","name":"now","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"12:00"}]},
              {"role":"assistant","content":"It is noon."}]}
            """
        },
        {
            "consecutive same-role messages merge into one turn",
            """
            {"messages":[{"role":"user","content":"one"},{"role":"user","content":"two"},{"role":"assistant","content":"three"}]}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[
              {"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]},
              {"role":"assistant","content":"three"}]}
            """
        },
        {
            "tools map to input_schema and required with no parallel calls maps to any",
            """
            {"messages":[{"role":"user","content":"hi"}],
             "tools":[
               {"type":"function","function":{"name":"get_weather","description":"Get the weather","strict":true,
                 "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
               {"type":"function","function":{"name":"now"}}],
             "tool_choice":"required","parallel_tool_calls":false}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":"hi"}],
             "tools":[
               {"name":"get_weather","description":"Get the weather",
                "input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
               {"name":"now","input_schema":{"type":"object","properties":{}}}],
             "tool_choice":{"type":"any","disable_parallel_tool_use":true}}
            """
        },
        {
            "a named function choice maps to a tool choice",
            """
            {"messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object"}}}],
             "tool_choice":{"type":"function","function":{"name":"now"}}}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":"hi"}],
             "tools":[{"name":"now","input_schema":{"type":"object"}}],
             "tool_choice":{"type":"tool","name":"now"}}
            """
        },
        {
            "tool choice none maps to none",
            """
            {"messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object"}}}],"tool_choice":"none"}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":"hi"}],
             "tools":[{"name":"now","input_schema":{"type":"object"}}],"tool_choice":{"type":"none"}}
            """
        },
        {
            "parallel_tool_calls false alone becomes auto without parallel use",
            """
            {"messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object"}}}],"parallel_tool_calls":false}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":"hi"}],
             "tools":[{"name":"now","input_schema":{"type":"object"}}],"tool_choice":{"type":"auto","disable_parallel_tool_use":true}}
            """
        },
        {
            "tool choice without tools is dropped",
            """
            {"messages":[{"role":"user","content":"hi"}],"tool_choice":"auto","parallel_tool_calls":false}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}
            """
        },
        {
            "sampling options map and unknown fields are dropped",
            """
            {"model":"gpt-4.1","messages":[{"role":"user","content":"hi","name":"alice"}],
             "max_completion_tokens":300,"max_tokens":100,"temperature":0.2,"top_p":0.9,"stop":"END","user":"u-42",
             "stream":true,"stream_options":{"include_usage":true},"n":1,"logprobs":false,"seed":7,
             "frequency_penalty":0.5,"presence_penalty":0.1,"logit_bias":{"50256":-100},"store":true,
             "metadata":{"k":"v"},"service_tier":"auto","reasoning_effort":"low","some_future_field":{"x":1}}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":300,"messages":[{"role":"user","content":"hi"}],
             "temperature":0.2,"top_p":0.9,"stop_sequences":["END"],"metadata":{"user_id":"u-42"},"stream":true}
            """
        },
        {
            "deprecated max_tokens and a stop array map",
            """
            {"messages":[{"role":"user","content":"hi"}],"max_tokens":50,"stop":["a","b"],"stream":false}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":50,"messages":[{"role":"user","content":"hi"}],"stop_sequences":["a","b"]}
            """
        },
        {
            "temperature above Anthropic's range is capped at 1",
            """
            {"messages":[{"role":"user","content":"hi"}],"temperature":1.7}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":"hi"}],"temperature":1}
            """
        },
        {
            "json_object response format becomes a system instruction",
            """
            {"messages":[{"role":"system","content":"You extract data."},{"role":"user","content":"hi"}],
             "response_format":{"type":"json_object"}}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,
             "system":"You extract data.\n\nRespond with a single valid JSON object only, with no text, explanation or code fences before or after it.",
             "messages":[{"role":"user","content":"hi"}]}
            """
        },
        {
            "json_schema response format puts the schema in the system instruction",
            """
            {"messages":[{"role":"user","content":"hi"}],
             "response_format":{"type":"json_schema","json_schema":{"name":"p","strict":true,
               "schema":{"type":"object","properties":{"name":{"type":"string"}}}}}}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,
             "system":"Respond with a single valid JSON object only, with no text, explanation or code fences before or after it. The object must conform to this JSON schema: {\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}",
             "messages":[{"role":"user","content":"hi"}]}
            """
        },
        {
            "text response format adds nothing",
            """
            {"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"text"}}
            """,
            """
            {"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}
            """
        },
    };

    [Theory]
    [MemberData(nameof(Mappings))]
    public void Request_MapsToMessages(string @case, string chatRequest, string expectedMessagesRequest)
    {
        Assert.NotEmpty(@case);
        var result = ChatToMessages.TranslateRequest(Encoding.UTF8.GetBytes(chatRequest), Model, DefaultMaxTokens);
        TranslationAssert.Body(expectedMessagesRequest, result);
    }

    [Fact]
    public void AJsonSchemaResponseFormat_IsOutputConfigFormat_ToAnUpstreamThatTakesStructuredOutputs_AndJsonObjectStaysAnInstruction()
    {
        var schema = ChatToMessages.TranslateRequest("""
            {"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"hi"}],
             "response_format":{"type":"json_schema","json_schema":{"name":"p","strict":true,
               "schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}}}
            """u8, Model, DefaultMaxTokens, structuredOutputs: true);
        var jsonObject = ChatToMessages.TranslateRequest("""
            {"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}
            """u8, Model, DefaultMaxTokens, structuredOutputs: true);

        TranslationAssert.Body("""
            {"model":"claude-sonnet-4-up","max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":"hi"}],
             "output_config":{"format":{"type":"json_schema",
               "schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}}}
            """, schema);
        // Anthropic has no plain JSON mode: json_object is the instruction, as to any Claude model.
        TranslationAssert.Body("""
            {"model":"claude-sonnet-4-up","max_tokens":1024,
             "system":"Respond with a single valid JSON object only, with no text, explanation or code fences before or after it.",
             "messages":[{"role":"user","content":"hi"}]}
            """, jsonObject);
    }

    /// <summary>(request, expected error param, part of the expected message).</summary>
    public static TheoryData<string, string?, string> Errors => new()
    {
        { """{"messages":[""", null, "not valid JSON" },
        { """{"messages":[]} trailing""", null, "not valid JSON" },
        { """[1,2]""", null, "must be a JSON object" },
        { """{"messages":"hello"}""", "messages", "must be an array" },
        { """{"model":"x"}""", "messages", "must be an array" },
        { """{"messages":[]}""", "messages", "at least one message" },
        { """{"messages":[{"role":"user","content":"hi"}],"n":2}""", "n", "'n' greater than 1 is not supported" },
        { """{"messages":[{"role":"user","content":"hi"}],"n":"2"}""", "n", "must be an integer" },
        { """{"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":2}""", "logprobs", "'logprobs' is not supported" },
        { """{"messages":["hi"]}""", "messages[0]", "must be an object" },
        { """{"messages":[{"content":"hi"}]}""", "messages[0].role", "is required" },
        { """{"messages":[{"role":"robot","content":"hi"}]}""", "messages[0].role", "must be one of" },
        { """{"messages":[{"role":"function","name":"f","content":"x"}]}""", "messages[0].role", "deprecated 'function' role" },
        { """{"messages":[{"role":"user","content":42}]}""", "messages[0].content", "must be a string or an array" },
        { """{"messages":[{"role":"user"}]}""", "messages[0].content", "is required" },
        { """{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}""", "messages[0].content[0].type", "'input_audio' is not supported" },
        { """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x/y.png"}}]}]}""", "messages[0].content[0].image_url.url", "data URL or an http(s) URL" },
        { """{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}""", "messages[0].content[0].image_url.url", "base64 data URL" },
        { """{"messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}""", "messages[0].content[0].type", "'image_url' here is not supported" },
        { """{"messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-abc123"}}]}]}""", "messages[0].content[0].file.file_id", "'file_data'" },
        { """{"messages":[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf"}}]}]}""", "messages[0].content[0].file.file_data", "is required" },
        { """{"messages":[{"role":"user","content":[{"type":"file","file":"JVBERi0="}]}]}""", "messages[0].content[0].file", "must be an object" },
        { """{"messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"JVBERi0xLjQK","filename":"a.pdf"}}]}]}""", "messages[0].content[0].file.file_data", "base64 data URL" },
        { """{"messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:text/csv;base64,YSxiCg==","filename":"a.csv"}}]}]}""", "messages[0].content[0].file.file_data", "'text/csv'" },
        { """{"messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:text/plain;base64,/w==","filename":"a.txt"}}]}]}""", "messages[0].content[0].file.file_data", "UTF-8" },
        { """{"messages":[{"role":"user","content":[{"type":"file","file":{"file_data":"data:text/plain;base64,%%%","filename":"a.txt"}}]}]}""", "messages[0].content[0].file.file_data", "base64" },
        { """{"messages":[{"role":"system","content":[{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0="}}]}]}""", "messages[0].content[0].type", "'file' here is not supported" },
        { """{"messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f"}}]}]}""", "messages[0].tool_calls[0].id", "is required" },
        { """{"messages":[{"role":"tool","content":"x"}]}""", "messages[0].tool_call_id", "is required" },
        { """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"custom","custom":{"name":"x"}}]}""", "tools[0].type", "'custom' is not supported" },
        { """{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":"{}"}}]}""", "tools[0].function.parameters", "JSON schema object" },
        { """{"messages":[{"role":"user","content":"hi"}],"tool_choice":"sometimes"}""", "tool_choice", "must be" },
        { """{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}""", "max_tokens", "at least 1" },
        { """{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":"10"}""", "max_completion_tokens", "must be an integer" },
        { """{"messages":[{"role":"user","content":"hi"}],"temperature":"hot"}""", "temperature", "must be a number" },
        { """{"messages":[{"role":"user","content":"hi"}],"stop":[1]}""", "stop", "string or an array of strings" },
        { """{"messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema"}}""", "response_format.json_schema.schema", "JSON schema object" },
        { """{"messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream", "must be a boolean" },
        { """{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"extreme"}""", "reasoning_effort", "must be one of" },
        { """{"messages":[{"role":"user","content":"hi"}],"thinking":true}""", "thinking", "must be an object" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void InvalidOrInexpressibleRequest_IsAnError_NamingTheParameter(string chatRequest, string? expectedParam, string messagePart)
    {
        var result = ChatToMessages.TranslateRequest(Encoding.UTF8.GetBytes(chatRequest), Model, DefaultMaxTokens);
        TranslationAssert.Error(result, expectedParam, messagePart);
    }

    [Fact]
    public void DefaultMaxTokens_IsUsed_WhenTheClientSetsNone()
    {
        var result = ChatToMessages.TranslateRequest("""{"messages":[{"role":"user","content":"hi"}]}"""u8, Model, 4096);
        TranslationAssert.Body("""{"model":"claude-sonnet-4-up","max_tokens":4096,"messages":[{"role":"user","content":"hi"}]}""", result);
    }

    /// <summary>(case, request, default max_tokens, expected Anthropic request).</summary>
    public static TheoryData<string, string, int, string> Reasoning => new()
    {
        {
            "reasoning_effort low, medium, high and xhigh think on 20, 50, 80 and 95 % of max_tokens",
            """{"messages":[{"role":"user","content":"hi"}],"max_completion_tokens":10000,"reasoning_effort":"medium"}""",
            DefaultMaxTokens,
            """{"model":"claude-sonnet-4-up","max_tokens":10000,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":5000}}"""
        },
        {
            "high",
            """{"messages":[{"role":"user","content":"hi"}],"max_tokens":10000,"reasoning_effort":"high"}""",
            DefaultMaxTokens,
            """{"model":"claude-sonnet-4-up","max_tokens":10000,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":8000}}"""
        },
        {
            "xhigh",
            """{"messages":[{"role":"user","content":"hi"}],"max_tokens":10000,"reasoning_effort":"xhigh"}""",
            DefaultMaxTokens,
            """{"model":"claude-sonnet-4-up","max_tokens":10000,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":9500}}"""
        },
        {
            "low is at least Anthropic's least budget, 1024",
            """{"messages":[{"role":"user","content":"hi"}],"max_tokens":2000,"reasoning_effort":"low"}""",
            DefaultMaxTokens,
            """{"model":"claude-sonnet-4-up","max_tokens":2000,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":1024}}"""
        },
        {
            "the budget is at most 32000",
            """{"messages":[{"role":"user","content":"hi"}],"max_tokens":64000,"reasoning_effort":"high"}""",
            DefaultMaxTokens,
            """{"model":"claude-sonnet-4-up","max_tokens":64000,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":32000}}"""
        },
        {
            "without max tokens the budget is a share of the default, which is not raised (it is what the request reserved)",
            """{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high"}""",
            4096,
            """{"model":"claude-sonnet-4-up","max_tokens":4096,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":3276}}"""
        },
        {
            "max_tokens too small for Anthropic's least budget: no thinking",
            """{"messages":[{"role":"user","content":"hi"}],"max_tokens":1024,"reasoning_effort":"high"}""",
            DefaultMaxTokens,
            """{"model":"claude-sonnet-4-up","max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}"""
        },
        {
            "none and minimal ask for no thinking",
            """{"messages":[{"role":"user","content":"hi"}],"max_tokens":10000,"reasoning_effort":"minimal"}""",
            DefaultMaxTokens,
            """{"model":"claude-sonnet-4-up","max_tokens":10000,"messages":[{"role":"user","content":"hi"}]}"""
        },
        {
            "none",
            """{"messages":[{"role":"user","content":"hi"}],"max_tokens":10000,"reasoning_effort":"none"}""",
            DefaultMaxTokens,
            """{"model":"claude-sonnet-4-up","max_tokens":10000,"messages":[{"role":"user","content":"hi"}]}"""
        },
        {
            "Anthropic's own thinking object goes as it is, before reasoning_effort",
            """{"messages":[{"role":"user","content":"hi"}],"max_tokens":10000,"reasoning_effort":"low","thinking":{"type":"enabled","budget_tokens":4096}}""",
            DefaultMaxTokens,
            """{"model":"claude-sonnet-4-up","max_tokens":10000,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":4096}}"""
        },
        {
            "an assistant's reasoning_content goes nowhere: a thinking block needs Anthropic's signature",
            """
            {"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello.","reasoning_content":"Greet back."},{"role":"user","content":"more"}],
             "max_tokens":10000,"reasoning_effort":"medium"}
            """,
            DefaultMaxTokens,
            """
            {"model":"claude-sonnet-4-up","max_tokens":10000,
             "messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello."},{"role":"user","content":"more"}],
             "thinking":{"type":"enabled","budget_tokens":5000}}
            """
        },
        {
            "a tool loop's next step thinks not: Anthropic wants the last assistant turn's signed thinking block before its tool_use",
            """
            {"messages":[{"role":"user","content":"weather?"},
                         {"role":"assistant","content":null,"reasoning_content":"Ask the tool.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{}"}}]},
                         {"role":"tool","tool_call_id":"call_1","content":"sunny"}],
             "max_tokens":10000,"reasoning_effort":"high","thinking":{"type":"enabled","budget_tokens":2048}}
            """,
            DefaultMaxTokens,
            """
            {"model":"claude-sonnet-4-up","max_tokens":10000,
             "messages":[{"role":"user","content":"weather?"},
                         {"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"w","input":{}}]},
                         {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"sunny"}]}]}
            """
        },
        {
            "after the tool loop's answer the next question thinks again",
            """
            {"messages":[{"role":"user","content":"weather?"},
                         {"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{}"}}]},
                         {"role":"tool","tool_call_id":"call_1","content":"sunny"},
                         {"role":"assistant","content":"Sunny."},
                         {"role":"user","content":"tomorrow?"}],
             "max_tokens":10000,"reasoning_effort":"low"}
            """,
            DefaultMaxTokens,
            """
            {"model":"claude-sonnet-4-up","max_tokens":10000,
             "messages":[{"role":"user","content":"weather?"},
                         {"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"w","input":{}}]},
                         {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"sunny"}]},
                         {"role":"assistant","content":"Sunny."},
                         {"role":"user","content":"tomorrow?"}],
             "thinking":{"type":"enabled","budget_tokens":2000}}
            """
        },
    };

    [Theory]
    [MemberData(nameof(Reasoning))]
    public void ReasoningEffort_IsAThinkingBudgetWithinMaxTokens_AndReasoningContentGoesNowhere(string @case, string chatRequest, int defaultMaxTokens, string expectedMessagesRequest)
    {
        Assert.NotEmpty(@case);
        var result = ChatToMessages.TranslateRequest(Encoding.UTF8.GetBytes(chatRequest), Model, defaultMaxTokens);
        TranslationAssert.Body(expectedMessagesRequest, result);
    }

    [Fact]
    public void NonAsciiText_IsWrittenUnescaped()
    {
        var result = ChatToMessages.TranslateRequest("""{"messages":[{"role":"user","content":"你好 <b>&</b>"}]}"""u8, Model, DefaultMaxTokens);
        Assert.Contains("你好 <b>&</b>", Encoding.UTF8.GetString(result.Body!), StringComparison.Ordinal);
    }
}
