using System.Text.Json;
using Corridor.Core.Catalog;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Tests.FrontDoor;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Forwarding;

public sealed class UpstreamBodyTests
{
    private static JsonElement Body(string json, string upstreamModel, bool openAIStream)
    {
        using var request = RequestParserTests.Request(json);
        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
        var result = UpstreamBody.Create(request, TranslationDirection.None, upstreamModel, 1024, openAIStream);
        var bytes = result.Body ?? request.Body.ToArray();
        return JsonDocument.Parse(bytes).RootElement.Clone();
    }

    [Fact]
    public void SameModel_NoStream_IsForwardedUntouched()
    {
        using var request = RequestParserTests.Request("""{"model":"gpt-4.1","messages":[]}""");
        RequestParser.Parse(request, Operation.ChatCompletions);

        Assert.Null(UpstreamBody.Create(request, TranslationDirection.None, "gpt-4.1", 1024, false).Body);
    }

    [Fact]
    public void UpstreamName_ReplacesTheModel_AndNothingElse()
    {
        var body = Body("""{ "messages":[{"role":"user","content":"\"model\":\"x\""}], "model" : "gpt-4.1", "temperature":0.2}""", "gpt41-eu", false);

        Assert.Equal("gpt41-eu", body.GetProperty("model").GetString());
        Assert.Equal("\"model\":\"x\"", body.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(0.2, body.GetProperty("temperature").GetDouble());
    }

    [Fact]
    public void Stream_WithoutIncludeUsage_AsksForUsage()
    {
        var body = Body("""{"model":"gpt-4.1","messages":[],"stream":true}""", "gpt-4.1", true);

        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public void Stream_WithIncludeUsageFalse_IsOverridden_AndModelRenamed()
    {
        var body = Body("""{"stream_options":{"include_usage":false},"model":"gpt-4.1","messages":[],"stream":true}""", "other", true);

        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal("other", body.GetProperty("model").GetString());
    }

    [Theory]
    [InlineData(true, false, true)] // DeepSeek, which wants it back
    [InlineData(true, true, false)] // OpenAI itself, which has no place for it
    [InlineData(false, true, false)] // Claude, which refuses a signature it did not make
    public void AnAnthropicClientsReasoningBlock_GoesBackOnlyToAnUpstreamThatTakesReasoningContent(bool toOpenAIKind, bool leaveOutReasoning, bool reasoningContent)
    {
        var seal = ReasoningSeal.FromKey("a-reasoning-key-of-at-least-32-characters");
        using var request = RequestParserTests.Request($$"""
            {"model":"deepseek-reasoner","max_tokens":100,"messages":[{"role":"user","content":"Hi"},
             {"role":"assistant","content":[{"type":"thinking","thinking":"Greet.","signature":"{{seal.Sign("Greet.")}}"},{"type":"text","text":"Hello"}]},
             {"role":"user","content":"Again"}]}
            """);
        Assert.Null(RequestParser.Parse(request, Operation.Messages));

        var body = UpstreamBody.Bytes(UpstreamBody.Create(request, toOpenAIKind ? TranslationDirection.MessagesToChat : TranslationDirection.None, "deepseek-reasoner", 1024, false, leaveOutReasoning, seal), request);

        var text = System.Text.Encoding.UTF8.GetString(body.Span);
        Assert.Equal(reasoningContent, text.Contains("\"reasoning_content\":\"Greet.\"", StringComparison.Ordinal));
        Assert.DoesNotContain(ReasoningSeal.Prefix, text, StringComparison.Ordinal);
    }

    private static readonly VendorConfig OpenAIItself = new("openai", VendorKind.OpenAI, "https://api.openai.com/v1");

    private static UpstreamTerms Terms(string? serviceTier = null, string? inferenceGeo = null, VendorConfig? vendor = null)
    {
        vendor ??= OpenAIItself;
        return UpstreamTerms.Of(new DeploymentEntry(
            new DeploymentConfig("d", "m", "us-east", 1m, 1m) { ServiceTier = serviceTier, InferenceGeo = inferenceGeo },
            new ModelConfig("m", vendor.Id, ModelCapabilities.Chat, 100_000),
            vendor));
    }

    private static readonly AuthenticatedKey Acme = new(
        new ApiKey("key_1", "acme", "sk-cor-abc", "hash", DateTimeOffset.UnixEpoch),
        new Tenant("acme", "Acme Ltd.", "SG", DateTimeOffset.UnixEpoch));

    /// <summary>
    /// A vendor told the tenant (<c>endUserId: tenant</c>, or <c>key</c>) gets it where it reads the end user, and never the
    /// client's own (which could name another customer): Anthropic's <c>metadata.user_id</c>, OpenAI's
    /// <c>safety_identifier</c>, another OpenAI-kind server's <c>user</c>. OpenAI's own <c>metadata</c> (tags of a stored
    /// completion) is no end user's and stays. <c>none</c> takes the client's out and sends nothing.
    /// </summary>
    [Theory]
    [InlineData("anthropic", EndUserId.Tenant, """{"model":"m","max_tokens":5,"metadata":{"user_id":"globex"},"messages":[]}""", """{"metadata":{"user_id":"acme"},"model":"m","max_tokens":5,"messages":[]}""")]
    [InlineData("openai", EndUserId.Key, """{"model":"m","user":"globex","safety_identifier":"globex","metadata":{"run":"7"},"messages":[]}""", """{"safety_identifier":"acme/key_1","model":"m","metadata":{"run":"7"},"messages":[]}""")]
    [InlineData("deepseek", EndUserId.Tenant, """{"model":"m","messages":[],"user":"globex"}""", """{"user":"acme","model":"m","messages":[]}""")]
    [InlineData("openai", EndUserId.None, """{"model":"m","safety_identifier":"globex","messages":[]}""", """{"model":"m","messages":[]}""")]
    [InlineData("openai", EndUserId.Client, """{"model":"m","safety_identifier":"globex","messages":[]}""", null)]
    public void TheEndUser_IsTheVendorsSetting_NotTheClientsWord(string vendor, EndUserId endUser, string json, string? sent)
    {
        var config = vendor switch
        {
            "anthropic" => new VendorConfig("anthropic", VendorKind.Anthropic, "https://api.anthropic.com/v1"),
            "deepseek" => new VendorConfig("deepseek", VendorKind.OpenAI, "https://api.deepseek.com/v1"),
            _ => OpenAIItself,
        } with { EndUserId = endUser };
        using var request = RequestParserTests.Request(json);
        Assert.Null(RequestParser.Parse(request, vendor == "anthropic" ? Operation.Messages : Operation.ChatCompletions));

        var body = UpstreamBody.Create(request, TranslationDirection.None, "m", 1024, false, terms: Terms(vendor: config), caller: Acme).Body;

        Assert.Equal(sent, body is null ? null : System.Text.Encoding.UTF8.GetString(body));
    }

    /// <summary>OpenAI's embeddings have no <c>safety_identifier</c>: the end user goes as their <c>user</c>.</summary>
    [Fact]
    public void AnEmbeddingsRequest_ToOpenAIItself_TellsTheEndUserAsItsUser()
    {
        using var request = RequestParserTests.Request("""{"model":"m","input":"hello","user":"globex"}""");
        Assert.Null(RequestParser.Parse(request, Operation.Embeddings));

        var body = UpstreamBody.Create(request, TranslationDirection.None, "m", 0, false,
            terms: Terms(vendor: OpenAIItself with { EndUserId = EndUserId.Tenant }), caller: Acme, operation: Operation.Embeddings).Body!;

        Assert.Equal("""{"user":"acme","model":"m","input":"hello"}""", System.Text.Encoding.UTF8.GetString(body));
    }

    /// <summary>An OpenAI client's <c>user</c> to a Claude deployment told the tenant: the translation's <c>metadata.user_id</c> is the tenant's.</summary>
    [Fact]
    public void ATranslatedRequest_TellsTheVendorTheTenant_NotTheClientsUser()
    {
        using var request = RequestParserTests.Request("""{"model":"claude","user":"globex","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));
        var anthropic = new VendorConfig("anthropic", VendorKind.Anthropic, "https://api.anthropic.com/v1") { EndUserId = EndUserId.Tenant };

        var bytes = UpstreamBody.Create(request, TranslationDirection.ChatToMessages, "claude", 1024, false, terms: Terms(vendor: anthropic), caller: Acme).Body!;

        var body = JsonDocument.Parse(bytes).RootElement;
        Assert.Equal("acme", body.GetProperty("metadata").GetProperty("user_id").GetString());
        Assert.Single(body.EnumerateObject(), p => p.Name == "metadata");
    }

    /// <summary>
    /// A client's service tier, inference geography and fast mode change what the vendor charges or where it serves: they
    /// are taken out, however the name is written (an escaped name is the same name to the upstream), wherever the property
    /// stands, and every other property goes as written.
    /// </summary>
    [Theory]
    [InlineData("""{"service_tier":"priority","model":"gpt-4.1","messages":[{"role":"user","content":"service_tier"}],"temperature":0.5}""")]
    [InlineData("""{"model":"gpt-4.1","messages":[{"role":"user","content":"service_tier"}],"temperature":0.5,"service_tier":"flex"}""")]
    [InlineData("""{ "model" : "gpt-4.1", "service\u005ftier" : "priority", "messages":[{"role":"user","content":"service_tier"}], "temperature":0.5 , "speed":"fast", "inference_geo":"us" }""")]
    public void AClientsTerms_AreTakenOut_EveryOtherPropertyKept(string json)
    {
        using var request = RequestParserTests.Request(json);
        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));

        var bytes = UpstreamBody.Create(request, TranslationDirection.None, "gpt-4.1", 1024, false, terms: Terms()).Body!;

        var body = JsonDocument.Parse(bytes).RootElement;
        Assert.Equal(["model", "messages", "temperature"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("service_tier", body.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(0.5, body.GetProperty("temperature").GetDouble());
    }

    [Theory]
    [InlineData("""{"model":"claude-sonnet-4","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("""{"model":"claude-sonnet-4","max_tokens":10,"inference_geo":"global","service_tier":"auto","speed":"fast","messages":[{"role":"user","content":"hi"}]}""")]
    public void TheDeploymentsTerms_GoInstead_OnceEach(string json)
    {
        using var request = RequestParserTests.Request(json);
        Assert.Null(RequestParser.Parse(request, Operation.Messages));

        var bytes = UpstreamBody.Create(request, TranslationDirection.None, "claude-sonnet-4-20250514", 1024, false,
            terms: Terms(serviceTier: "standard_only", inferenceGeo: "us")).Body!;

        var body = JsonDocument.Parse(bytes).RootElement;
        Assert.Equal(["service_tier", "inference_geo", "model", "max_tokens", "messages"], body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("standard_only", body.GetProperty("service_tier").GetString());
        Assert.Equal("us", body.GetProperty("inference_geo").GetString());
        Assert.Equal("claude-sonnet-4-20250514", body.GetProperty("model").GetString());
    }

    /// <summary>A translated request carries the deployment's terms too: a chat client's request to a Claude deployment, an Anthropic client's to an OpenAI one.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ATranslatedRequest_CarriesTheDeploymentsTerms_NotTheClients(bool chatToMessages)
    {
        using var request = RequestParserTests.Request(chatToMessages
            ? """{"model":"claude-sonnet-4","service_tier":"priority","messages":[{"role":"user","content":"hi"}]}"""
            : """{"model":"gpt-4.1","max_tokens":10,"service_tier":"auto","inference_geo":"us","speed":"fast","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Null(RequestParser.Parse(request, chatToMessages ? Operation.ChatCompletions : Operation.Messages));

        var bytes = UpstreamBody.Create(request, chatToMessages ? TranslationDirection.ChatToMessages : TranslationDirection.MessagesToChat, "upstream", 1024, false,
            terms: chatToMessages ? Terms(inferenceGeo: "us") : Terms(serviceTier: "flex")).Body!;

        var body = JsonDocument.Parse(bytes).RootElement;
        Assert.Equal(chatToMessages ? "us" : null, body.TryGetProperty("inference_geo", out var geo) ? geo.GetString() : null);
        Assert.Equal(chatToMessages ? null : "flex", body.TryGetProperty("service_tier", out var tier) ? tier.GetString() : null);
        Assert.False(body.TryGetProperty("speed", out _));
        Assert.Equal("upstream", body.GetProperty("model").GetString());
    }

    [Fact]
    public void ABodyWithoutTerms_ToADeploymentWithout_GoesUntouched()
    {
        using var request = RequestParserTests.Request("""{"model":"gpt-4.1","messages":[],"metadata":{"service_tier":"flex"}}""");
        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));

        Assert.Null(UpstreamBody.Create(request, TranslationDirection.None, "gpt-4.1", 1024, false, terms: Terms()).Body);
    }
}

public sealed class UsageChunkTests
{
    [Theory]
    [InlineData("""{"id":"x","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}""", true)]
    [InlineData("""{"id":"x", "choices" : [ ], "usage" : { "prompt_tokens":1 } }""", true)]
    [InlineData("""{"id":"x","choices":[{"delta":{"content":"[]"}}],"usage":null}""", false)]
    [InlineData("""{"id":"x","choices":[{"delta":{}}],"usage":{"prompt_tokens":1}}""", false)]
    [InlineData("""not json "usage" """, false)]
    public void UsageOnlyChunk_IsRecognised_WhateverTheSpacing(string chunk, bool expected)
    {
        Assert.Equal(expected, Forwarder.IsUsageOnlyChunk(System.Text.Encoding.UTF8.GetBytes(chunk)));
    }

    [Fact]
    public void Stream_WithStreamOptionsNull_AsksForUsage_InTheOneStreamOptions()
    {
        using var request = RequestParserTests.Request("""{"model":"gpt-4.1","messages":[],"stream":true,"stream_options":null}""");
        Assert.Null(RequestParser.Parse(request, Operation.ChatCompletions));

        var bytes = UpstreamBody.Create(request, TranslationDirection.None, "gpt-4.1", 1024, true).Body!;

        var text = System.Text.Encoding.UTF8.GetString(bytes);
        Assert.Equal(text.IndexOf("\"stream_options\"", StringComparison.Ordinal), text.LastIndexOf("\"stream_options\"", StringComparison.Ordinal));
        Assert.True(JsonDocument.Parse(bytes).RootElement.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

}
