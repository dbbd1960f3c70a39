using System.Text;
using System.Text.Json;
using Corridor.Core.Buffers;
using Corridor.Simulator.Faults;
using Corridor.Simulator.Generation;
using Corridor.Simulator.Protocol;

namespace Corridor.Simulator.Tests;

/// <summary>Unit tests of the pure parts: text, schemas, knobs, request reading.</summary>
public sealed class GenerationTests
{
    [Fact]
    public void Text_IsDeterministic_AndWithinBounds()
    {
        for (ulong key = 0; key < 200; key++)
        {
            var pieces = TextGenerator.Generate(key);
            Assert.Equal(pieces, TextGenerator.Generate(key));
            Assert.InRange(pieces.Length, TextGenerator.MinTokens, TextGenerator.MaxTokens);
            Assert.Equal(".", pieces[^1]);
            Assert.DoesNotContain(pieces, piece => piece.Length == 0);
        }
    }

    [Fact]
    public void SplitIntoPieces_KeepsSurrogatePairsTogether()
    {
        var pieces = TextGenerator.SplitIntoPieces("abc🚀def");

        Assert.Equal("abc🚀def", string.Concat(pieces));
        Assert.All(pieces, piece => Assert.False(char.IsHighSurrogate(piece[^1])));
    }

    [Fact]
    public void SchemaValue_SatisfiesTypesEnumsBoundsAndFormats()
    {
        const string Schema = """
            {"type":"object","properties":{
              "s":{"type":"string"},"e":{"enum":["x","y"]},"n":{"type":"number","minimum":2.5},
              "i":{"type":["integer","null"],"maximum":0},"b":{"type":"boolean"},"d":{"type":"string","format":"date-time"},
              "a":{"type":"array","items":{"type":"integer"},"minItems":2},"c":{"const":7},
              "u":{"anyOf":[{"type":"boolean"},{"type":"string"}]},"o":{"properties":{"deep":{"type":"string"}}}},
             "required":["s","e","n","i","b","d","a","c","u","o"]}
            """;

        var json = Write(SchemaOf(Schema), allWhenNoneRequired: true);

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal("simulated s", root.GetProperty("s").GetString());
        Assert.Equal("x", root.GetProperty("e").GetString());
        Assert.Equal(2.5, root.GetProperty("n").GetDouble());
        Assert.Equal(0, root.GetProperty("i").GetInt32());
        Assert.True(root.GetProperty("b").GetBoolean());
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("d").GetString(), out _));
        Assert.Equal(2, root.GetProperty("a").GetArrayLength());
        Assert.Equal(7, root.GetProperty("c").GetInt32());
        Assert.True(root.GetProperty("u").GetBoolean());
        Assert.Equal("simulated deep", root.GetProperty("o").GetProperty("deep").GetString());
    }

    [Fact]
    public void ToolArguments_HoldOnlyRequiredProperties()
    {
        var json = Write(SchemaOf("""{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"required":["b"]}"""), allWhenNoneRequired: false);

        Assert.Equal("""{"b":"simulated b"}""", json);
    }

    [Fact]
    public void ToolArguments_WithoutSchema_AreAnEmptyObject()
    {
        Assert.Equal("{}", Write(null, allWhenNoneRequired: false));
    }

    [Fact]
    public void Knobs_ParseEveryKnob()
    {
        Assert.True(FaultKnobs.TryParse("latency=50,status=503,rate429=0.25,error=1,disconnect=5,garbage,stall=3", out var knobs, out var error));

        Assert.Null(error);
        Assert.Equal(new FaultKnobs(TimeSpan.FromMilliseconds(50), 503, 0.25, 1, 5, Garbage: true, StallAfterTokens: 3), knobs);
    }

    [Fact]
    public void Knobs_Absent_MeanNoFaults()
    {
        Assert.True(FaultKnobs.TryParse(null, out var knobs, out _));
        Assert.Equal(default, knobs);
    }

    [Fact]
    public void Reader_CountsMessageText_AndSkipsIdsAndImages()
    {
        const string Body = """
            {"model":"m","messages":[
              {"role":"user","content":[{"type":"text","text":"12345678"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}]},
              {"role":"assistant","content":null,"tool_calls":[{"id":"call_123456789","type":"function","function":{"name":"lookup","arguments":"1234"}}]},
              {"role":"tool","tool_call_id":"call_123456789","content":"1234"}]}
            """;

        Assert.True(ChatRequestReader.TryRead(Encoding.UTF8.GetBytes(Body), Dialect.OpenAI, out var request, out _));

        // 3 priming + 3 messages x 4 + (8 + 4 + 4 characters) / 4 per message.
        Assert.Equal(3 + 12 + 2 + 1 + 1, request.PromptTokens);
        Assert.Equal(LastTurn.ToolResult, request.LastTurn);
    }

    [Fact]
    public void Reader_CountsADocumentsNameButNotItsBase64_InEitherDialect()
    {
        const string Pdf = "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCng=";
        var chat = $$$"""
            {"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"12345678"},
              {"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,{{{Pdf}}}"}}]}]}
            """;
        var messages = $$$"""
            {"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"12345678"},
              {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"{{{Pdf}}}"},"title":"a.pdf"}]}]}
            """;

        Assert.True(ChatRequestReader.TryRead(Encoding.UTF8.GetBytes(chat), Dialect.OpenAI, out var openAI, out _));
        Assert.True(ChatRequestReader.TryRead(Encoding.UTF8.GetBytes(messages), Dialect.Anthropic, out var anthropic, out _));

        // 3 priming + 4 for the message + (8 + 5 characters) / 4.
        Assert.Equal(3 + 4 + 4, openAI.PromptTokens);
        Assert.Equal(openAI.PromptTokens, anthropic.PromptTokens);
    }

    [Fact]
    public void Reader_HashesUnescapedText_SoEscapingDoesNotChangeTheAnswer()
    {
        Assert.True(ChatRequestReader.TryRead("""{"model":"m","messages":[{"role":"user","content":"A\u00e9"}]}"""u8, Dialect.OpenAI, out var escaped, out _));
        Assert.True(ChatRequestReader.TryRead("""{"model":"m","messages":[{"content":"Aé","role":"user"}]}"""u8, Dialect.OpenAI, out var plain, out _));

        Assert.Equal(plain.LastUserTextHash, escaped.LastUserTextHash);
        Assert.Equal(plain.PromptTokens, escaped.PromptTokens);
    }

    [Fact]
    public void Reader_IgnoresOpenAIFields_OnAnthropicRequests()
    {
        Assert.True(ChatRequestReader.TryRead("""{"model":"m","max_tokens":5,"n":3,"logprobs":true,"messages":[{"role":"user","content":"x"}]}"""u8, Dialect.Anthropic, out var request, out _));

        Assert.Equal(1, request.N);
        Assert.False(request.Logprobs);
    }

    private static SchemaNode SchemaOf(string json)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        reader.Read();
        return SchemaNode.Read(ref reader);
    }

    private static string Write(SchemaNode? schema, bool allWhenNoneRequired)
    {
        using var buffer = new PooledBufferWriter(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            SchemaNode.WriteObject(writer, schema, allWhenNoneRequired);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
