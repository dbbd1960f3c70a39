using System.Collections.Concurrent;
using Corridor.Simulator.Protocol;

namespace Corridor.Simulator.Generation;

/// <summary>
/// What a request's prompt read from and wrote to the vendor's prompt cache, in tokens; of the writes, those to
/// Anthropic's one-hour cache.
/// </summary>
internal readonly record struct CacheUse(int Read, int Write, int WriteOneHour = 0);

/// <summary>
/// The vendors' prompt caches, as their usage shows them, per model, for prompts of at least <see cref="MinimumTokens"/>.
/// OpenAI-style: every prompt is cached on its own, and a later prompt that starts with one seen before reads the longest
/// such prefix (at a message's end, counted down to a multiple of <see cref="OpenAIIncrement"/>) from the cache, reported as
/// <c>prompt_tokens_details.cached_tokens</c> within <c>prompt_tokens</c>. Anthropic-style: only prefixes that end at a
/// block marked <c>cache_control</c> are cached; the longest one seen before is read (<c>cache_read_input_tokens</c>), and
/// the prompt up to its last mark, beyond what was read, is written (<c>cache_creation_input_tokens</c>, to the one-hour
/// cache when that mark says <c>"ttl": "1h"</c>), both apart from <c>input_tokens</c>. Nothing expires; the cache is emptied when it holds <see cref="MaxPrefixes"/> prefixes, which bounds
/// its memory.
/// </summary>
internal sealed class PromptCache
{
    public const int MinimumTokens = 1024;
    public const int OpenAIIncrement = 128;
    private const int MaxPrefixes = 100_000;

    private readonly ConcurrentDictionary<(string Model, ulong Prefix), byte> _prefixes = new();

    public CacheUse Use(string model, ChatRequest request, Dialect dialect)
    {
        if (request.PromptTokens < MinimumTokens)
        {
            return default;
        }

        var anthropic = dialect == Dialect.Anthropic;
        var read = 0;
        var cached = new List<PromptPrefix>();
        foreach (var prefix in request.Prefixes())
        {
            if (prefix.Tokens < MinimumTokens || (anthropic && prefix.CacheMark == CacheMark.None))
            {
                continue;
            }

            cached.Add(prefix);
            if (_prefixes.ContainsKey((model, prefix.Hash)))
            {
                read = anthropic ? prefix.Tokens : prefix.Tokens / OpenAIIncrement * OpenAIIncrement;
            }
        }

        if (_prefixes.Count + cached.Count > MaxPrefixes)
        {
            _prefixes.Clear();
        }

        foreach (var prefix in cached)
        {
            _prefixes.TryAdd((model, prefix.Hash), 0);
        }

        var write = anthropic && cached.Count > 0 ? Math.Max(0, cached[^1].Tokens - read) : 0;
        return new CacheUse(read, write, write > 0 && cached[^1].CacheMark == CacheMark.OneHour ? write : 0);
    }
}
