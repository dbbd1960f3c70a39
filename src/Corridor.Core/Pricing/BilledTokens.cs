namespace Corridor.Core.Pricing;

/// <summary>
/// The tokens a request is billed for. <see cref="Input"/> counts every prompt token, those read from the vendor's prompt
/// cache (<see cref="CacheRead"/>) and those written to it (<see cref="CacheWrite"/>) included: both vendors' caching is
/// priced per token apart from fresh input, so the three are priced apart and never counted twice. Of the writes,
/// <see cref="CacheWriteOneHour"/> went to Anthropic's one-hour cache, priced above its five-minute one. Beside the tokens,
/// <see cref="WebSearches"/> counts the vendor's web searches the request made (Anthropic's server tool), priced per use.
/// </summary>
public readonly record struct BilledTokens(long Input, long Output, long CacheRead = 0, long CacheWrite = 0, long CacheWriteOneHour = 0, long WebSearches = 0)
{
    /// <summary>Prompt tokens neither read from nor written to the cache.</summary>
    public long FreshInput => Math.Max(0, Input - CacheRead - CacheWrite);

    /// <summary>Cache writes to the five-minute cache (all but the one-hour cache's).</summary>
    public long CacheWriteFiveMinutes => Math.Max(0, CacheWrite - CacheWriteOneHour);
}
