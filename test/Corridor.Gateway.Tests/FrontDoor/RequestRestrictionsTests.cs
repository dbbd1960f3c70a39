using System.Text;
using System.Text.Json;
using Corridor.Core.Policy;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Tests.FrontDoor;

/// <summary>
/// A Decision's restrictions rewrite the top-level fields they name and copy every other property as the client wrote it,
/// for any body the front door accepts.
/// </summary>
public sealed class RequestRestrictionsTests
{
    private static (JsonElement Body, string Text, ClientRequest Restricted) Restrict(string json, Restrictions restrictions)
    {
        var request = RequestParserTests.Request(json);
        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
        var restricted = RequestRestrictions.Apply(request, restrictions, Operation.ChatCompletions);
        var text = Encoding.UTF8.GetString(restricted.Body.Span);
        return (JsonDocument.Parse(restricted.Body, new JsonDocumentOptions { MaxDepth = RequestParser.MaxDepth }).RootElement.Clone(), text, restricted);
    }

    [Fact]
    public void NoRestrictions_LeaveTheRequestAsItIs()
    {
        using var request = RequestParserTests.Request("""{"model":"a","messages":[]}""");
        RequestParser.Parse(request, Operation.ChatCompletions);

        Assert.Same(request, RequestRestrictions.Apply(request, default, Operation.ChatCompletions));
    }

    [Fact]
    public void Embeddings_AreNotRewritten()
    {
        using var request = RequestParserTests.Request("""{"model":"e","input":"text"}""");
        RequestParser.Parse(request, Operation.Embeddings);

        Assert.Same(request, RequestRestrictions.Apply(request, new(MaxTokens: 50, N: 1, StripLogprobs: true), Operation.Embeddings));
    }

    [Fact]
    public void ThinkingTurnedOff_ByOneRewrite_StaysOff_ThroughTheNext()
    {
        // The monitor's throttle strips reasoning; a policy then caps max_tokens on the throttled request.
        var (_, _, throttled) = Restrict("""{"model":"a","messages":[],"reasoning_effort":"high"}""", new(StripReasoning: true));
        using var capped = RequestRestrictions.Apply(throttled, new(MaxTokens: 50), Operation.ChatCompletions);

        Assert.True(throttled.TurnsThinkingOff);
        Assert.True(capped.TurnsThinkingOff);
        Assert.True(capped.Features("a").ThinkingOff);
    }

    [Fact]
    public void TheCap_LowersEveryMaxTokensField_AndIsAddedWhenThereIsNone()
    {
        var (both, _, bothRequest) = Restrict("""{"model":"a","messages":[],"max_tokens":1000,"max_completion_tokens":1000}""", new(MaxTokens: 50));
        var (none, _, noneRequest) = Restrict("""{"model":"a","messages":[]}""", new(MaxTokens: 50));
        var (under, _, underRequest) = Restrict("""{"model":"a","messages":[],"max_completion_tokens":10}""", new(MaxTokens: 50));
        var (nulled, _, nulledRequest) = Restrict("""{"model":"a","messages":[],"max_tokens":null}""", new(MaxTokens: 50));
        using var disposeAll = new Disposables(bothRequest, noneRequest, underRequest, nulledRequest);

        Assert.Equal((50, 50, 50), (both.GetProperty("max_tokens").GetInt32(), both.GetProperty("max_completion_tokens").GetInt32(), bothRequest.MaxTokens));
        Assert.Equal((50, 50), (none.GetProperty("max_tokens").GetInt32(), noneRequest.MaxTokens));
        Assert.Equal((10, 10), (under.GetProperty("max_completion_tokens").GetInt32(), underRequest.MaxTokens));
        Assert.False(under.TryGetProperty("max_tokens", out _));
        Assert.Equal(50, nulled.GetProperty("max_tokens").GetInt32());
        Assert.Equal(50, nulledRequest.MaxTokens);
    }

    [Fact]
    public void N_IsLowered_AndLogprobs_AreRemoved_HoweverTheirNamesAreWritten()
    {
        var (body, text, restricted) = Restrict("""{"model":"a","messages":[],"\u006e":4,"l\u006fgprobs":true,"top_logprobs":3,"user":"u"}""",
            new(N: 1, StripLogprobs: true));
        using var dispose = restricted;

        Assert.Equal((1, 1), (body.GetProperty("n").GetInt32(), restricted.N));
        Assert.False(body.TryGetProperty("logprobs", out _));
        Assert.False(body.TryGetProperty("top_logprobs", out _));
        Assert.DoesNotContain("logprobs", text, StringComparison.Ordinal);
        Assert.Equal("u", body.GetProperty("user").GetString());
        Assert.Same(restricted.RewrittenFrom, restricted.Original);
    }

    [Fact]
    public void Reasoning_IsRemoved_HoweverItsNamesAreWritten_AndEverythingElseIsCopiedAsWritten()
    {
        const string Json = """
            {"model":"a", "reasoning_\u0065ffort" : "high","messages":[{"role":"user","content":"think"}],"thinking":{"type":"enabled","budget_tokens":2048},"logprobs":true,"metadata":{"thinking":{"type":"enabled"},"reasoning_effort":"high"},"temperature":1,"temperature":0.5}
            """;
        var (_, text, restricted) = Restrict(Json, new(StripReasoning: true));
        using var dispose = restricted;

        Assert.Equal("""
            {"model":"a","messages":[{"role":"user","content":"think"}],"logprobs":true,"metadata":{"thinking":{"type":"enabled"},"reasoning_effort":"high"},"temperature":1,"temperature":0.5}
            """, text);
        Assert.True(restricted.Original.Reasoning);
        Assert.False(restricted.Reasoning);
        Assert.True(restricted.Logprobs);
    }

    [Fact]
    public void ChatTemplateThinking_IsRemoved_AndTheOtherTemplateArgumentsKept()
    {
        const string Json = """
            {"model":"a","chat_template_kwargs": {"add_generation_prompt":true, "enable_\u0074hinking" : true,"thinking":true,"documents":[{"a":1}]},"messages":[]}
            """;
        var (body, text, restricted) = Restrict(Json, new(StripReasoning: true));
        using var dispose = restricted;

        Assert.Equal("""
            {"model":"a","chat_template_kwargs": {"add_generation_prompt":true,"documents":[{"a":1}]},"messages":[]}
            """, text);
        Assert.True(restricted.Original.Reasoning);
        Assert.False(restricted.Reasoning);
        Assert.True(body.GetProperty("chat_template_kwargs").GetProperty("add_generation_prompt").GetBoolean());
    }

    [Fact]
    public void ChatTemplateThinkingTurnedOff_IsKept_WhenReasoningAskedElsewhereIsStripped()
    {
        // Removing enable_thinking:false would turn Qwen3's thinking back on, its default.
        var (_, text, restricted) = Restrict("""{"model":"a","reasoning_effort":"high","chat_template_kwargs":{"enable_thinking":false},"messages":[]}""",
            new(StripReasoning: true));
        using var dispose = restricted;

        Assert.Equal("""{"model":"a","chat_template_kwargs":{"enable_thinking":false},"messages":[]}""", text);
    }

    [Fact]
    public void ThinkingTurnedOff_IsKept_WhenReasoningAskedElsewhereIsStripped()
    {
        // DeepSeek reads an Anthropic client's thinking as its switch, and thinks by default: removing "disabled" would turn it on.
        var (_, text, restricted) = Restrict("""{"model":"a","reasoning_effort":"high","thinking":{"type":"disabled"},"messages":[]}""",
            new(StripReasoning: true));
        using var dispose = restricted;

        Assert.Equal("""{"model":"a","thinking":{"type":"disabled"},"messages":[]}""", text);
        Assert.False(restricted.Reasoning);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("minimal")]
    public void AReasoningEffortOfNoneOrMinimal_IsKept_WhenReasoningIsStripped(string effort)
    {
        // OpenAI's reasoning models reason at their default effort (medium) without it: removing "none" would ask for more.
        var (_, text, restricted) = Restrict($$"""{"model":"a","reasoning_effort":"{{effort}}","messages":[]}""", new(StripReasoning: true));
        using var dispose = restricted;

        Assert.Equal($$"""{"model":"a","reasoning_effort":"{{effort}}","messages":[]}""", text);
        Assert.False(restricted.Reasoning);
    }

    [Fact]
    public void EverythingElse_IsCopiedAsWritten_DeepNestingAndRepeatedNamesIncluded()
    {
        var deep = new string('[', 100) + new string(']', 100);
        var json = "{\"model\":\"mod\\u0065l-a\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\u00e9 \\\"quoted\\\"\"}],\"temperature\":1,\"temperature\":0.5,\"metadata\":"
            + deep + ",\"logprobs\":true}";
        var (_, text, restricted) = Restrict(json, new(StripLogprobs: true));
        using var dispose = restricted;

        Assert.Equal(json.Replace(",\"logprobs\":true", "", StringComparison.Ordinal), text);
        Assert.Equal("model-a", restricted.Model);
    }

    [Fact]
    public void ARemovedLastField_LeavesNoStrayComma_BeforeAnAddedCap()
    {
        var (_, text, restricted) = Restrict("""{"model":"a","messages":[],"logprobs":true}""", new(MaxTokens: 5, StripLogprobs: true));
        using var dispose = restricted;

        Assert.Equal("""{"model":"a","messages":[],"max_tokens":5}""", text);
    }

    private sealed class Disposables(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
