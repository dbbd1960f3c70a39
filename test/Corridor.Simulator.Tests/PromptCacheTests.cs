using System.Text;
using Corridor.Simulator.Generation;
using Corridor.Simulator.Protocol;

namespace Corridor.Simulator.Tests;

/// <summary>The simulator's prompt caches, as the vendors' usage shows theirs.</summary>
public sealed class PromptCacheTests
{
    private static readonly string Long = string.Concat(Enumerable.Repeat("Answer politely, cite the manual, never guess. ", 125));

    private static ChatRequest Read(string body, Dialect dialect)
    {
        Assert.True(ChatRequestReader.TryRead(Encoding.UTF8.GetBytes(body), dialect, out var request, out var problem), problem.Message);
        return request;
    }

    private static string OpenAI(string system, string question) =>
        $$"""{"model":"m","messages":[{"role":"system","content":"{{system}}"},{"role":"user","content":"{{question}}"}]}""";

    private static string Anthropic(string system, string question, bool marked) =>
        $$"""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"{{question}}"}],"system":[{"type":"text","text":"{{system}}"{{(marked ? ""","cache_control":{"type":"ephemeral"}""" : "")}}}]}""";

    [Fact]
    public void OpenAI_ARepeatedPrefixOfAtLeast1024Tokens_IsRead_InStepsOf128()
    {
        var cache = new PromptCache();

        var first = cache.Use("m", Read(OpenAI(Long, "one"), Dialect.OpenAI), Dialect.OpenAI);
        var second = Read(OpenAI(Long, "two"), Dialect.OpenAI);
        var use = cache.Use("m", second, Dialect.OpenAI);

        Assert.Equal(default, first);
        Assert.Equal(0, use.Write);
        Assert.InRange(use.Read, PromptCache.MinimumTokens, second.PromptTokens - 1);
        Assert.Equal(0, use.Read % PromptCache.OpenAIIncrement);
        // Another model's cache is its own; a short prompt is never cached.
        Assert.Equal(default, cache.Use("other", Read(OpenAI(Long, "two"), Dialect.OpenAI), Dialect.OpenAI));
        Assert.Equal(default, cache.Use("m", Read(OpenAI("short", "one"), Dialect.OpenAI), Dialect.OpenAI));
        Assert.Equal(default, cache.Use("m", Read(OpenAI("short", "one"), Dialect.OpenAI), Dialect.OpenAI));
    }

    [Fact]
    public void Anthropic_OnlyAMarkedPrefixIsCached_WrittenFirst_ThenRead_WhereverSystemIsInTheBody()
    {
        var cache = new PromptCache();

        Assert.Equal(default, cache.Use("m", Read(Anthropic(Long, "one", marked: false), Dialect.Anthropic), Dialect.Anthropic));
        var written = cache.Use("m", Read(Anthropic(Long, "one", marked: true), Dialect.Anthropic), Dialect.Anthropic);
        // system after messages in the body: the model still reads system first.
        var read = cache.Use("m", Read(Anthropic(Long, "two", marked: true), Dialect.Anthropic), Dialect.Anthropic);

        Assert.True(written.Write > PromptCache.MinimumTokens);
        Assert.Equal(0, written.Read);
        Assert.Equal(new CacheUse(written.Write, 0), read);
    }

    [Fact]
    public void Anthropic_AWriteUnderAOneHourMark_IsToTheOneHourCache()
    {
        var cache = new PromptCache();
        var body = Anthropic(Long, "one", marked: true).Replace("""{"type":"ephemeral"}""", """{"type":"ephemeral","ttl":"1h"}""", StringComparison.Ordinal);

        var written = cache.Use("m", Read(body, Dialect.Anthropic), Dialect.Anthropic);

        Assert.True(written.Write > PromptCache.MinimumTokens);
        Assert.Equal(written.Write, written.WriteOneHour);
    }
}
