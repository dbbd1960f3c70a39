using System.Text;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

public sealed class MessagesToChatRequestTests
{
    private const string Model = "gpt-4.1-up";

    /// <summary>(case, Anthropic messages request, expected OpenAI chat request).</summary>
    public static TheoryData<string, string, string> Mappings => new()
    {
        {
            "a system string becomes a leading system message and max_tokens becomes max_completion_tokens",
            """
            {"model":"claude-sonnet-4","max_tokens":1024,"system":"Be brief.","messages":[{"role":"user","content":"Hi"}]}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],
             "max_completion_tokens":1024}
            """
        },
        {
            "system text blocks join into one system message and cache_control is dropped",
            """
            {"max_tokens":10,"system":[{"type":"text","text":"You are Corridor."},{"type":"text","text":"Cite sources.","cache_control":{"type":"ephemeral"}}],
             "messages":[{"role":"user","content":[{"type":"text","text":"Hi","cache_control":{"type":"ephemeral"}}]}]}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"system","content":"You are Corridor.\n\nCite sources."},{"role":"user","content":"Hi"}],
             "max_completion_tokens":10}
            """
        },
        {
            "image blocks become image_url parts with a data URL for base64",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":[
              {"type":"text","text":"Compare these."},
              {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQSkZJRg=="}},
              {"type":"image","source":{"type":"url","url":"https://example.com/b.png"}}]}]}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":[
              {"type":"text","text":"Compare these."},
              {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQSkZJRg=="}},
              {"type":"image_url","image_url":{"url":"https://example.com/b.png"}}]}],
             "max_completion_tokens":10}
            """
        },
        {
            "a base64 PDF document becomes a file part named after its title, its context a text part before it; a PDF without a title is document.pdf",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":[
              {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQK"},"title":"Q3 report","context":"The board pack.",
               "citations":{"enabled":false},"cache_control":{"type":"ephemeral"}},
              {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="},"title":"scan.PDF"},
              {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}},
              {"type":"text","text":"Compare them."}]}]}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":[
              {"type":"text","text":"Document context: The board pack."},
              {"type":"file","file":{"filename":"Q3 report.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQK"}},
              {"type":"file","file":{"filename":"scan.PDF","file_data":"data:application/pdf;base64,JVBERi0="}},
              {"type":"file","file":{"filename":"document.pdf","file_data":"data:application/pdf;base64,JVBERi0="}},
              {"type":"text","text":"Compare them."}]}],
             "max_completion_tokens":10}
            """
        },
        {
            "a plain-text document becomes a text part headed by its title and context; alone, it is the message's text",
            """
            {"max_tokens":10,"messages":[
              {"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Line one.\nLine two."},"title":"Notes","context":"From the wiki."}]},
              {"role":"assistant","content":"Read."},
              {"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"Untitled."}},{"type":"text","text":"And this?"}]}]}
            """,
            """
            {"model":"gpt-4.1-up","messages":[
              {"role":"user","content":"Document title: Notes\nDocument context: From the wiki.\n\nLine one.\nLine two."},
              {"role":"assistant","content":"Read."},
              {"role":"user","content":[{"type":"text","text":"Untitled."},{"type":"text","text":"And this?"}]}],
             "max_completion_tokens":10}
            """
        },
        {
            "a content document becomes its text and image parts, headed by its title",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":[
              {"type":"document","title":"Slides","source":{"type":"content","content":[
                {"type":"text","text":"Slide one."},
                {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}},
              {"type":"document","source":{"type":"content","content":"Just text."}}]}]}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":[
              {"type":"text","text":"Document title: Slides"},
              {"type":"text","text":"Slide one."},
              {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
              {"type":"text","text":"Just text."}]}],
             "max_completion_tokens":10}
            """
        },
        {
            "tool_use blocks become tool_calls and tool_result blocks become tool messages before the user text",
            """
            {"max_tokens":10,"messages":[
              {"role":"user","content":"Weather in Paris and Rome?"},
              {"role":"assistant","content":[
                {"type":"thinking","thinking":"Two calls.","signature":"sig"},
                {"type":"text","text":"Checking."},
                {"type":"tool_use","id":"toolu_A","name":"get_weather","input":{"city":"Paris"}},
                {"type":"tool_use","id":"toolu_B","name":"get_weather","input":{"city": "Rome", "days": [1, 2]}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"toolu_A","content":"18C"},
                {"type":"tool_result","tool_use_id":"toolu_B","content":[{"type":"text","text":"22C"},{"type":"text","text":"sunny"}]},
                {"type":"text","text":"And tomorrow?"}]}]}
            """,
            """
            {"model":"gpt-4.1-up","messages":[
              {"role":"user","content":"Weather in Paris and Rome?"},
              {"role":"assistant","content":"Checking.","tool_calls":[
                {"id":"toolu_A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
                {"id":"toolu_B","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\",\"days\":[1,2]}"}}]},
              {"role":"tool","tool_call_id":"toolu_A","content":"18C"},
              {"role":"tool","tool_call_id":"toolu_B","content":"22C\n\nsunny"},
              {"role":"user","content":"And tomorrow?"}],
             "max_completion_tokens":10}
            """
        },
        {
            "an error tool result says so in its content and a tool-only assistant turn has null content",
            """
            {"max_tokens":10,"messages":[
              {"role":"user","content":"Time?"},
              {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"now","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"clock unavailable","is_error":true}]},
              {"role":"assistant","content":"Sorry."}]}
            """,
            """
            {"model":"gpt-4.1-up","messages":[
              {"role":"user","content":"Time?"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"toolu_1","type":"function","function":{"name":"now","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"toolu_1","content":"Error: clock unavailable"},
              {"role":"assistant","content":"Sorry."}],
             "max_completion_tokens":10}
            """
        },
        {
            "tools map to functions and any without parallel use maps to required",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":"hi"}],
             "tools":[
               {"name":"get_weather","description":"Get the weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"cache_control":{"type":"ephemeral"}},
               {"type":"custom","name":"now","input_schema":{"type":"object"}}],
             "tool_choice":{"type":"any","disable_parallel_tool_use":true}}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":"hi"}],
             "tools":[
               {"type":"function","function":{"name":"get_weather","description":"Get the weather",
                 "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
               {"type":"function","function":{"name":"now","parameters":{"type":"object"}}}],
             "tool_choice":"required","parallel_tool_calls":false,"max_completion_tokens":10}
            """
        },
        {
            "a tool choice maps to a named function choice",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":"hi"}],
             "tools":[{"name":"now","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"now"}}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object"}}}],
             "tool_choice":{"type":"function","function":{"name":"now"}},"max_completion_tokens":10}
            """
        },
        {
            "auto and none tool choices map to their strings",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":"hi"}],
             "tools":[{"name":"now","input_schema":{"type":"object"}}],"tool_choice":{"type":"none"}}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":"hi"}],
             "tools":[{"type":"function","function":{"name":"now","parameters":{"type":"object"}}}],
             "tool_choice":"none","max_completion_tokens":10}
            """
        },
        {
            "tool choice without tools is dropped",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[],"tool_choice":{"type":"auto"}}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":10}
            """
        },
        {
            "a structured output format (output_config.format) is a strict json_schema response format",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":"2+2?"}],
             "output_config":{"effort":"low","format":{"type":"json_schema","schema":{"type":"object","properties":{"answer":{"type":"number"}},"required":["answer"],"additionalProperties":false}}}}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":"2+2?"}],"max_completion_tokens":10,
             "response_format":{"type":"json_schema","json_schema":{"name":"output","strict":true,
               "schema":{"type":"object","properties":{"answer":{"type":"number"}},"required":["answer"],"additionalProperties":false}}}}
            """
        },
        {
            "the structured outputs beta's output_format is one too; an output_config without a format adds nothing",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":"2+2?"}],
             "output_format":{"type":"json_schema","schema":{"type":"object"}}}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":"2+2?"}],"max_completion_tokens":10,
             "response_format":{"type":"json_schema","json_schema":{"name":"output","strict":true,"schema":{"type":"object"}}}}
            """
        },
        {
            "an output_config with only an effort adds nothing",
            """
            {"max_tokens":10,"messages":[{"role":"user","content":"2+2?"}],"output_config":{"effort":"high","format":null}}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":"2+2?"}],"max_completion_tokens":10}
            """
        },
        {
            "sampling options map, streaming asks for usage and unknown fields are dropped",
            """
            {"model":"claude-sonnet-4","max_tokens":200,"messages":[{"role":"user","content":"hi"}],
             "temperature":0.3,"top_p":0.8,"top_k":40,"stop_sequences":["END","STOP"],"metadata":{"user_id":"u-42"},
             "stream":true,"thinking":{"type":"enabled","budget_tokens":1000},"service_tier":"auto","container":"c1",
             "some_future_field":[1]}
            """,
            """
            {"model":"gpt-4.1-up","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":200,
             "temperature":0.3,"top_p":0.8,"stop":["END","STOP"],"user":"u-42",
             "stream":true,"stream_options":{"include_usage":true}}
            """
        },
    };

    [Theory]
    [MemberData(nameof(Mappings))]
    public void Request_MapsToChatCompletions(string @case, string messagesRequest, string expectedChatRequest)
    {
        Assert.NotEmpty(@case);
        var result = MessagesToChat.TranslateRequest(Encoding.UTF8.GetBytes(messagesRequest), Model);
        TranslationAssert.Body(expectedChatRequest, result);
    }

    [Theory]
    [InlineData(""","thinking":{"type":"disabled"}""", true, ""","thinking":{"type":"disabled"}""")]
    [InlineData(""","thinking":{"type":"enabled","budget_tokens":2048}""", true, ""","thinking":{"type":"enabled"}""")]
    [InlineData(""","thinking":{"type":"adaptive"}""", true, ""","thinking":{"type":"enabled"}""")]
    [InlineData("", true, "")]
    [InlineData(""","thinking":{"type":"disabled"}""", false, "")]
    [InlineData(""","thinking":{"type":"enabled","budget_tokens":2048}""", false, "")]
    public void Thinking_GoesAsTheUpstreamsSwitch_OnlyToOneThatReadsIt(string thinking, bool thinkingSwitch, string expected)
    {
        var result = MessagesToChat.TranslateRequest(Encoding.UTF8.GetBytes(
            """{"max_tokens":4096,"messages":[{"role":"user","content":"Hi"}]""" + thinking + "}"), Model, thinkingSwitch: thinkingSwitch);

        TranslationAssert.Body("""{"model":"gpt-4.1-up","messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":4096""" + expected + "}", result);
    }

    /// <summary>A request whose thinking a policy stripped: the switch goes turned off, to an upstream that reads it only.</summary>
    [Theory]
    [InlineData("", true, ""","thinking":{"type":"disabled"}""")]
    [InlineData(""","thinking":{"type":"disabled"}""", true, ""","thinking":{"type":"disabled"}""")]
    [InlineData("", false, "")]
    public void AStrippedRequest_TurnsTheUpstreamsThinkingOff_WhereItReadsTheSwitch(string thinking, bool thinkingSwitch, string expected)
    {
        var result = MessagesToChat.TranslateRequest(Encoding.UTF8.GetBytes(
            """{"max_tokens":4096,"messages":[{"role":"user","content":"Hi"}]""" + thinking + "}"), Model, thinkingSwitch: thinkingSwitch, thinkingOff: thinkingSwitch);

        TranslationAssert.Body("""{"model":"gpt-4.1-up","messages":[{"role":"user","content":"Hi"}],"max_completion_tokens":4096""" + expected + "}", result);
    }

    /// <summary>(request, expected error param, part of the expected message).</summary>
    public static TheoryData<string, string?, string> Errors => new()
    {
        { """{"messages":[{"role":"user""", null, "not valid JSON" },
        { "\"just a string\"", null, "must be a JSON object" },
        { """{"max_tokens":10,"messages":{"role":"user","content":"hi"}}""", "messages", "must be an array" },
        { """{"max_tokens":10,"messages":[]}""", "messages", "at least one message" },
        { """{"max_tokens":10,"messages":[{"role":"system","content":"hi"}]}""", "messages[0].role", "'user' or 'assistant'" },
        { """{"max_tokens":10,"messages":[{"role":"user"}]}""", "messages[0].content", "is required" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":7}]}""", "messages[0].content", "must be a string or an array" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"text":"no type"}]}]}""", "messages[0].content[0]", "with a 'type'" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://example.com/a.pdf"}}]}]}""", "messages[0].content[0].source.type", "does not fetch" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"file","file_id":"file_011"}}]}]}""", "messages[0].content[0].source.type", "file id" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]}]}""", "messages[0].content[0].source.media_type", "'image/png'" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf"}}]}]}""", "messages[0].content[0].source.data", "is required" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"},"citations":{"enabled":true}}]}]}""", "messages[0].content[0].citations", "citations" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"content","content":[{"type":"document","source":{"type":"text","data":"x"}}]}}]}]}""", "messages[0].content[0].source.content[0].type", "'document' here is not supported" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"document"}]}]}""", "messages[0].content[0].source", "must be an object" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="},"title":7}]}]}""", "messages[0].content[0].title", "must be a string" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]}]}""", "messages[0].content[0].content[0].type", "'document' here is not supported" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_1"}}]}]}""", "messages[0].content[0].source.type", "'file' is not supported" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"image"}]}]}""", "messages[0].content[0].source", "must be an object" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image","source":{"type":"url","url":"https://x/y.png"}}]}]}]}""", "messages[0].content[0].content[0].type", "'image' here is not supported" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}""", "messages[0].content[0].tool_use_id", "is required" },
        { """{"max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":"{}"}]}]}""", "messages[0].content[0].input", "must be an object" },
        { """{"max_tokens":10,"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}""", "messages[0].content[0].type", "'server_tool_use' is not supported" },
        { """{"max_tokens":10,"system":[{"type":"image"}],"messages":[{"role":"user","content":"hi"}]}""", "system[0].type", "'image' here is not supported" },
        { """{"max_tokens":10,"system":5,"messages":[{"role":"user","content":"hi"}]}""", "system", "must be a string or an array" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search_20250305","name":"web_search"}]}""", "tools[0].type", "'web_search_20250305' is not supported" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f"}]}""", "tools[0].input_schema", "JSON schema object" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":{"name":"f"}}""", "tools", "must be an array" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"sometimes"}}""", "tool_choice.type", "'auto', 'any', 'tool' or 'none'" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"tool"}}""", "tool_choice.name", "is required" },
        { """{"max_tokens":"10","messages":[{"role":"user","content":"hi"}]}""", "max_tokens", "must be an integer" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"stop_sequences":"END"}""", "stop_sequences", "array of strings" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":5}}""", "metadata.user_id", "must be a string" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"output_config":{"format":{"type":"regex","pattern":"a+"}}}""", "output_config.format.type", "'json_schema'" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"output_config":{"format":{"type":"json_schema"}}}""", "output_config.format.schema", "JSON schema object" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"output_config":"json"}""", "output_config", "must be an object" },
        { """{"max_tokens":10,"messages":[{"role":"user","content":"hi"}],"output_format":{"type":"json_schema","schema":[]}}""", "output_format.schema", "JSON schema object" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void InvalidOrInexpressibleRequest_IsAnError_NamingTheParameter(string messagesRequest, string? expectedParam, string messagePart)
    {
        var result = MessagesToChat.TranslateRequest(Encoding.UTF8.GetBytes(messagesRequest), Model);
        TranslationAssert.Error(result, expectedParam, messagePart);
    }
}
