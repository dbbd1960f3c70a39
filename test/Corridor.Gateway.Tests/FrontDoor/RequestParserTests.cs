using System.Buffers;
using System.Text;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Tests.FrontDoor;

public sealed class RequestParserTests
{
    internal static ClientRequest Request(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var buffer = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(buffer, 0);
        return new ClientRequest(buffer, bytes.Length);
    }

    [Fact]
    public void Chat_ReadsTheFieldsCorridorActsOn()
    {
        using var request = Request("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"n":2,"logprobs":true,"max_tokens":64,"extra":{"a":[1,2]}}""");

        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
        Assert.Equal("gpt-4.1", request.Model);
        Assert.True(request.Stream);
        Assert.True(request.IncludeUsage);
        Assert.Equal(2, request.N);
        Assert.True(request.Logprobs);
        Assert.Equal(64, request.MaxTokens);
        Assert.Equal("\"gpt-4.1\"", Encoding.UTF8.GetString(request.Body.Span[request.ModelValue]));
        Assert.Equal("""{"include_usage":true}""", Encoding.UTF8.GetString(request.Body.Span[request.StreamOptionsValue!.Value]));
    }

    [Theory]
    [InlineData(""","top_logprobs":3""", true)]
    [InlineData(""","logprobs":false,"top_logprobs":2""", true)]
    [InlineData(""","top_logprobs":2,"logprobs":false""", true)]
    [InlineData(""","top_logprobs":0""", false)]
    [InlineData(""","top_logprobs":null""", false)]
    [InlineData(""","logprobs":true,"top_logprobs":0""", true)]
    public void TopLogprobs_AsksForLogprobs_WithOrWithoutLogprobs(string fields, bool asks)
    {
        using var request = Request("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]""" + fields + "}");

        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
        Assert.Equal(asks, request.Logprobs);
    }

    [Theory]
    [InlineData(",\"reasoning_effort\":\"low\"", true)]
    [InlineData(",\"reasoning_effort\":\"medium\"", true)]
    [InlineData(",\"reasoning_effort\":\"high\"", true)]
    [InlineData(",\"reasoning_effort\":\"xhigh\"", true)]
    [InlineData(",\"reasoning_effort\":\"max\"", true)]
    [InlineData(",\"reasoning_effort\":\"hi\\u0067h\"", true)]
    [InlineData(",\"reasoning_effort\":\"none\"", false)]
    [InlineData(",\"reasoning_effort\":\"minimal\"", false)]
    [InlineData(",\"reasoning_effort\":\"n\\u006fne\"", false)]
    [InlineData(""","reasoning_effort":null""", false)]
    [InlineData(""","thinking":{"type":"enabled","budget_tokens":2048}""", true)]
    [InlineData(""","thinking":{"budget_tokens":2048,"type":"enabled"}""", true)]
    [InlineData(""","thinking":{"type":"adaptive"}""", true)]
    [InlineData(""","thinking":{"type":"adaptive","display":"omitted"}""", true)]
    [InlineData(""","thinking":{"type":"disabled"}""", false)]
    [InlineData(""","thinking":null""", false)]
    [InlineData(",\"thinking\":{\"type\":\"disabled\"},\"reasoning_effort\":\"high\"", true)]
    [InlineData(""","metadata":{"thinking":{"type":"enabled"},"reasoning_effort":"high"}""", false)]
    // vLLM and other OpenAI-compatible servers: Qwen3's enable_thinking, DeepSeek-V3.1's and Granite's thinking.
    [InlineData(""","chat_template_kwargs":{"enable_thinking":true}""", true)]
    [InlineData(""","chat_template_kwargs":{"add_generation_prompt":true,"thinking":true}""", true)]
    [InlineData(""","chat_template_kwargs":{"enable_thinking":false}""", false)]
    [InlineData(""","chat_template_kwargs":{"enable_thinking":null}""", false)]
    [InlineData(""","chat_template_kwargs":{"add_generation_prompt":true}""", false)]
    [InlineData(""","chat_template_kwargs":{"options":{"enable_thinking":true}}""", false)]
    [InlineData(""","chat_template_kwargs":null""", false)]
    [InlineData("", false)]
    public void ReasoningEffortAndThinking_AskForReasoning_UnlessTheyAskForNone(string fields, bool asks)
    {
        using var request = Request("""{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"hi"}]""" + fields + "}");

        Assert.Null(RequestParser.Parse(request, Operation.Messages));
        Assert.Equal(asks, request.Reasoning);
    }

    [Theory]
    [InlineData(""","thinking":{"type":"disabled"}""", true, false)]
    [InlineData(",\"reasoning_effort\":\"none\"", true, true)]
    [InlineData(",\"reasoning_effort\":\"n\\u006fne\"", true, true)]
    [InlineData(""","reasoning_effort":"none","thinking":{"type":"disabled"}""", true, false)]
    [InlineData(""","reasoning_effort":"none","thinking":{"type":"enabled"}""", false, false)]
    [InlineData(""","reasoning_effort":"none","thinking":null""", false, false)]
    [InlineData(",\"reasoning_effort\":\"minimal\"", false, false)]
    [InlineData(""","thinking":{"type":"enabled"}""", false, false)]
    [InlineData(""","chat_template_kwargs":{"enable_thinking":false}""", false, false)]
    [InlineData("", false, false)]
    public void ThinkingDisabled_OrAnEffortOfNone_TurnsThinkingOff_TheEffortBySendingTheSwitch(string fields, bool off, bool corridorSendsTheSwitch)
    {
        using var request = Request("""{"model":"m","max_tokens":4096,"messages":[{"role":"user","content":"hi"}]""" + fields + "}");

        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
        Assert.Equal(off, request.Features("m").ThinkingOff);
        Assert.Equal(corridorSendsTheSwitch, request.TurnsThinkingOff);
    }

    [Theory]
    // OpenAI chat: an image or a file part of a message.
    [InlineData("""[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]""", true)]
    [InlineData("""[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"a.pdf"}}]}]""", true)]
    [InlineData("""[{"role":"user","content":[{"t\u0079pe":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]""", true)]
    // Anthropic: an image or a document block, and an image a tool returned.
    [InlineData("""[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}]""", true)]
    [InlineData("""[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0K"}}]}]}]""", true)]
    // Not visual: text about images, a tool's input shaped like an image block, an image inside a part's other fields.
    [InlineData("""[{"role":"user","content":"the \"image\" and the \"type\":\"image_url\""}]""", false)]
    [InlineData("""[{"role":"user","content":[{"type":"text","text":"image"}]}]""", false)]
    [InlineData("""[{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"draw","input":{"content":[{"type":"image"}],"type":"image"}}]}]""", false)]
    [InlineData("""[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"ok","content":[{"type":"image"}]}]}]}]""", false)]
    [InlineData("""[{"role":"user","content":[{"type":"text","text":"hi","metadata":{"type":"image"}}]}]""", false)]
    [InlineData("""[{"role":"user","name":"image","content":"hi"},{"role":"tool","tool_call_id":"c","content":[{"type":"text","text":"image_url"}]}]""", false)]
    [InlineData("""[{"role":"user","content":[{"\udfff":"image","type":"text","text":"\udfff"}]}]""", false)]
    // An Anthropic document of text alone reaches the model as text; a PDF, an image inside a content source, a video do not.
    [InlineData("""[{"role":"user","content":[{"source":{"data":"x","type":"text","media_type":"text/plain"},"type":"document"}]}]""", false)]
    [InlineData("""[{"role":"user","content":[{"type":"document","source":{"type":"content","content":[{"type":"text","text":"x"}]}}]}]""", false)]
    [InlineData("""[{"role":"user","content":[{"type":"document","source":{"type":"content","content":[{"type":"image","source":{"type":"url","url":"https://example.com/a.png"}}]}}]}]""", true)]
    [InlineData("""[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0="}}]}]""", true)]
    // An OpenAI file part of text goes to an OpenAI-kind upstream as a file part, which a text-only API refuses.
    [InlineData("""[{"role":"user","content":[{"type":"file","file":{"filename":"a.txt","file_data":"data:text/plain;base64,aGk="}}]}]""", true)]
    [InlineData("""[{"role":"user","content":[{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0="}}]}]""", true)]
    [InlineData("""[{"role":"user","content":[{"type":"video_url","video_url":{"url":"https://example.com/a.mp4"}}]}]""", true)]
    [InlineData("""[]""", false)]
    public void ImagesAndDocuments_InTheConversation_NeedAModelThatSees(string messages, bool sees)
    {
        using var request = Request("""{"model":"m","max_tokens":64,"messages":""" + messages + "}");

        Assert.Null(RequestParser.Parse(request, Operation.Messages));
        Assert.Equal(sees, request.Needs.HasFlag(Corridor.Core.Catalog.ModelCapabilities.Vision));
        Assert.False(request.Needs.HasFlag(Corridor.Core.Catalog.ModelCapabilities.Tools));
    }

    [Theory]
    [InlineData(""","tools":[{"type":"function","function":{"name":"f","parameters":{}}}]""", true)]
    [InlineData(""","tools":[{"name":"f","input_schema":{"type":"object"}}]""", true)]
    [InlineData(""","functions":[{"name":"f","parameters":{}}]""", true)]
    [InlineData(""","tools":[]""", false)]
    [InlineData(""","tools":null""", false)]
    [InlineData(""","metadata":{"tools":[{"name":"f"}]}""", false)]
    [InlineData("", false)]
    public void Tools_NeedAModelThatCallsThem_WhenThereIsOne(string fields, bool calls)
    {
        using var request = Request("""{"model":"m","max_tokens":64,"messages":[{"role":"user","content":"hi"}]""" + fields + "}");

        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
        Assert.Equal(calls, request.Needs.HasFlag(Corridor.Core.Catalog.ModelCapabilities.Tools));
        Assert.Equal(calls, request.Copy().Needs.HasFlag(Corridor.Core.Catalog.ModelCapabilities.Tools));
    }

    [Theory]
    [InlineData(""","tools":{"name":"f"}""", "tools")]
    [InlineData(",\"functions\":\"f\"", "functions")]
    [InlineData(""","tools":[],"tools":[{"name":"f"}]""", "tools")]
    public void Tools_OfTheWrongTypeOrRepeated_AreAClientError_NamingTheParameter(string fields, string param)
    {
        using var request = Request("""{"model":"m","messages":[{"role":"user","content":"hi"}]""" + fields + "}");

        Assert.Equal(param, RequestParser.Parse(request, Operation.ChatCompletions)?.Param);
    }

    [Theory]
    [InlineData(""","reasoning_effort":3""", "reasoning_effort", "'reasoning_effort' must be a string.")]
    [InlineData(""","reasoning_effort":{"effort":"high"}""", "reasoning_effort", "'reasoning_effort' must be a string.")]
    [InlineData(",\"reasoning_effort\":\"low\",\"reasoning_effort\":\"high\"", "reasoning_effort", "'reasoning_effort' appears more than once in the request body.")]
    [InlineData(""","thinking":true""", "thinking", "'thinking' must be an object.")]
    [InlineData(",\"thinking\":\"enabled\"", "thinking", "'thinking' must be an object.")]
    [InlineData(""","thinking":{"budget_tokens":1024}""", "thinking", "'thinking' needs a string 'type'.")]
    [InlineData(""","thinking":{"type":1}""", "thinking", "'thinking' needs a string 'type'.")]
    [InlineData(""","thinking":{"type":"disabled"},"thinking":{"type":"enabled"}""", "thinking", "'thinking' appears more than once in the request body.")]
    [InlineData(""","thinking":{"type":"disabled","type":"enabled","budget_tokens":1024}""", "thinking", "'thinking' has more than one 'type'.")]
    [InlineData(""","thinking":{"type":"enabled","t\u0079pe":"disabled"}""", "thinking", "'thinking' has more than one 'type'.")]
    [InlineData(""","chat_template_kwargs":true""", "chat_template_kwargs", "'chat_template_kwargs' must be an object.")]
    [InlineData(""","chat_template_kwargs":{"enable_thinking":false,"enable_thinking":true}""", "chat_template_kwargs", "'chat_template_kwargs' has more than one 'enable_thinking'.")]
    [InlineData(""","chat_template_kwargs":{"thinking":false,"thinkin\u0067":true}""", "chat_template_kwargs", "'chat_template_kwargs' has more than one 'thinking'.")]
    public void ReasoningEffortAndThinking_OfTheWrongType_AreAClientError_NamingTheParameter(string fields, string param, string message)
    {
        using var request = Request("""{"model":"m","max_tokens":4096,"messages":[]""" + fields + "}");

        var error = RequestParser.Parse(request, Operation.Messages);

        Assert.Equal((400, param, message), (error?.Status, error?.Param, error?.Message));
    }

    [Theory]
    [InlineData("not json", null)]
    [InlineData("[1,2]", null)]
    [InlineData("""{"model":"gpt-4.1","messages":[]""", null)]
    [InlineData("""{"model":42,"messages":[]}""", "model")]
    [InlineData("""{"messages":[]}""", "model")]
    [InlineData("""{"model":"","messages":[]}""", "model")]
    [InlineData("""{"model":"gpt-4.1","messages":"hi"}""", "messages")]
    [InlineData("""{"model":"gpt-4.1","messages":[],"top_logprobs":"3"}""", "top_logprobs")]
    [InlineData("""{"model":"gpt-4.1","messages":[],"top_logprobs":-1}""", "top_logprobs")]
    [InlineData("""{"model":"gpt-4.1"}""", "messages")]
    [InlineData("""{"model":"gpt-4.1","messages":[],"stream":"yes"}""", "stream")]
    [InlineData("""{"model":"gpt-4.1","messages":[],"n":0}""", "n")]
    [InlineData("""{"model":"gpt-4.1","messages":[],"n":1.5}""", "n")]
    [InlineData("""{"model":"gpt-4.1","messages":[],"max_tokens":"many"}""", "max_tokens")]
    [InlineData("""{"model":"gpt-4.1","messages":[]} trailing""", null)]
    public void Chat_BadInput_IsAClientError(string json, string? param)
    {
        using var request = Request(json);

        var error = RequestParser.Parse(request, Operation.ChatCompletions);

        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal(param, error.Param);
    }

    [Fact]
    public void AModelThatIsNotUnicodeText_IsAnError_NotAnException()
    {
        using var request = Request("""{"model":"gpt\ud800","messages":[]}""");

        var error = RequestParser.Parse(request, Operation.ChatCompletions);

        Assert.Equal(("model", "'model' is not valid Unicode text."), (error?.Param, error?.Message));
    }

    [Fact]
    public void Messages_RequireMaxTokens()
    {
        using var request = Request("""{"model":"claude-sonnet-4","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal("max_tokens", RequestParser.Parse(request, Operation.Messages)?.Param);
    }

    [Theory]
    [InlineData("""{"model":"e","input":"text"}""", null)]
    [InlineData("""{"model":"e","input":["a","b"]}""", null)]
    [InlineData("""{"model":"e","input":3}""", "input")]
    [InlineData("""{"model":"e"}""", "input")]
    public void Embeddings_NeedInput(string json, string? param)
    {
        using var request = Request(json);

        Assert.Equal(param, RequestParser.Parse(request, Operation.Embeddings)?.Param);
    }

    [Fact]
    public void EscapedNames_AreTheFieldsTheyDecodeTo_AsEveryOtherParserReadsThem()
    {
        using var request = Request("""{"mod\u0065l":"gpt-4.1","m\u0065ssages":[],"\u006e":3,"l\u006fgprobs":true,"max_\u0074okens":9,"str\u0065am":true}""");

        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
        Assert.Equal(("gpt-4.1", 3, true, 9, true), (request.Model, request.N, request.Logprobs, request.MaxTokens, request.Stream));
        Assert.Equal("\"gpt-4.1\"", Encoding.UTF8.GetString(request.Body.Span[request.ModelValue]));
    }

    [Theory]
    [InlineData("""{"model":"a","messages":[],"model":"b"}""", "model")]
    [InlineData("""{"model":"a","messages":[],"mod\u0065l":"b"}""", "model")]
    [InlineData("""{"model":"a","messages":[],"n":1,"\u006e":100}""", "n")]
    [InlineData("""{"model":"a","messages":[],"stream":false,"stream":true}""", "stream")]
    [InlineData("""{"model":"a","messages":[],"logprobs":false,"logprobs":true}""", "logprobs")]
    [InlineData("""{"model":"a","messages":[],"top_logprobs":1,"top_logprobs":5}""", "top_logprobs")]
    [InlineData("""{"model":"a","messages":[],"max_tokens":10,"max_tokens":1000}""", "max_tokens")]
    [InlineData("""{"model":"a","messages":[],"max_completion_tokens":1000,"max_tokens":10}""", "max_completion_tokens")]
    [InlineData("""{"model":"a","messages":[],"stream_options":null,"stream_options":{"include_usage":true}}""", "stream_options")]
    public void AFieldCorridorActsOn_WrittenTwiceOrTwoWays_IsRefused(string json, string param)
    {
        using var request = Request(json);

        var error = RequestParser.Parse(request, Operation.ChatCompletions);

        Assert.Equal((400, param), (error?.Status, error?.Param));
    }

    [Fact]
    public void OtherNames_MayRepeat_AsTheUpstreamDecides()
    {
        using var request = Request("""{"model":"a","messages":[],"temperature":1,"temperature":0.5,"metadata":{"n":1,"n":2}}""");

        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
    }

    [Fact]
    public void BothMaxTokenFields_Agreeing_AreOneLimit()
    {
        using var both = Request("""{"model":"a","messages":[],"max_tokens":64,"max_completion_tokens":64}""");
        using var completion = Request("""{"model":"a","messages":[],"max_completion_tokens":64,"max_tokens":null}""");

        Assert.Null(RequestParser.Parse(both, Operation.ChatCompletions));
        Assert.Null(RequestParser.Parse(completion, Operation.ChatCompletions));
        Assert.Equal((64, 64), (both.MaxTokens, completion.MaxTokens));
    }

    [Fact]
    public void ANameThatIsNotUnicodeText_IsAnError_NotAnException()
    {
        using var request = Request("""{"model":"a","messages":[],"\ud800":1}""");

        Assert.Equal(400, RequestParser.Parse(request, Operation.ChatCompletions)?.Status);
    }

    [Fact]
    public void StreamOptionsNull_IsWhereUsageWillBeAskedFor()
    {
        using var request = Request("""{"model":"a","messages":[],"stream":true,"stream_options":null}""");

        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
        Assert.False(request.IncludeUsage);
        Assert.Equal("null", Encoding.UTF8.GetString(request.Body.Span[request.StreamOptionsValue!.Value]));
    }
}
