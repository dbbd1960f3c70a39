using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// Token usage in a shape both vendors map onto. Anthropic reports cache reads and cache writes apart from
/// <c>input_tokens</c>; OpenAI's <c>prompt_tokens</c> already includes cached tokens
/// (<c>prompt_tokens_details.cached_tokens</c>). Every input token is counted as input either way.
/// </summary>
internal readonly record struct UsageCounts(long UncachedInput, long CacheRead, long CacheCreation, long Output)
{
    public long TotalInput => UncachedInput + CacheRead + CacheCreation;

    public TokenUsage ToTokenUsage() => new(TotalInput, Output);

    /// <summary>Reads an Anthropic <c>usage</c> object over these counts: fields it lacks keep their value (message_delta may carry only output_tokens).</summary>
    public UsageCounts WithAnthropic(JsonElement usage) => new(
        Override(usage, "input_tokens", UncachedInput),
        Override(usage, "cache_read_input_tokens", CacheRead),
        Override(usage, "cache_creation_input_tokens", CacheCreation),
        Override(usage, "output_tokens", Output));

    /// <summary>
    /// Reads an OpenAI <c>usage</c> object. Counts are metered, so an upstream's negative number reads as 0. Cached prompt
    /// tokens are OpenAI's <c>prompt_tokens_details.cached_tokens</c>, or DeepSeek's <c>prompt_cache_hit_tokens</c>.
    /// </summary>
    public static UsageCounts FromOpenAI(JsonElement usage)
    {
        var prompt = Math.Max(0, usage.Int64OrZero("prompt_tokens"));
        var cached = usage.TryGet("prompt_tokens_details", out var details) && details.TryGet("cached_tokens", out _)
            ? details.Int64OrZero("cached_tokens")
            : usage.Int64OrZero("prompt_cache_hit_tokens");
        // Cached tokens are part of the prompt; never let odd upstream numbers make input negative.
        cached = Math.Max(0, Math.Min(cached, prompt));
        return new UsageCounts(prompt - cached, cached, 0, Math.Max(0, usage.Int64OrZero("completion_tokens")));
    }

    /// <summary>Writes <c>"usage": {…}</c> in OpenAI's shape.</summary>
    public void WriteOpenAI(Utf8JsonWriter writer)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("prompt_tokens", TotalInput);
        writer.WriteNumber("completion_tokens", Output);
        writer.WriteNumber("total_tokens", TotalInput + Output);
        writer.WriteStartObject("prompt_tokens_details");
        writer.WriteNumber("cached_tokens", CacheRead);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Writes <c>"usage": {…}</c> in Anthropic's shape.</summary>
    public void WriteAnthropic(Utf8JsonWriter writer)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("input_tokens", UncachedInput);
        writer.WriteNumber("cache_creation_input_tokens", CacheCreation);
        writer.WriteNumber("cache_read_input_tokens", CacheRead);
        writer.WriteNumber("output_tokens", Output);
        writer.WriteEndObject();
    }

    private static long Override(JsonElement usage, string name, long current) =>
        usage.TryGet(name, out var element) && element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out var value) ? Math.Max(0, value) : current;
}
