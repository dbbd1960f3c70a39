using System.Numerics;
using System.Runtime.Intrinsics;
using Corridor.Core.Catalog;
using Corridor.Core.Pricing;

namespace Corridor.Core.Admission;

/// <summary>
/// What admission reserves for a request before it is served: its prompt tokens (estimated from the body, without a
/// tokenizer: this runs on every request), its output tokens at worst (<c>max_tokens</c> times <c>n</c>, or the model's
/// default cap), and the cost of both at the most expensive deployment the request may be routed to, every prompt token
/// at that deployment's dearest input price (a cache write may cost more than fresh input), so neither a fallback nor
/// the vendor's prompt cache ever costs more than was reserved; at a deployment's long-context tier when the prompt's
/// estimate exceeds its threshold.
/// </summary>
public static class Reservation
{
    /// <summary>
    /// A deliberately high estimate of a request body's prompt tokens: a token per three ASCII bytes and per two
    /// non-ASCII bytes (BPE vocabularies give English text about four characters a token and CJK text about one
    /// character, three UTF-8 bytes, a token), the JSON's own syntax counted as text. Never above
    /// <paramref name="contextWindow"/> when one is given: no upstream accepts a longer prompt, and an image sent as a
    /// data URL would otherwise count as many tokens as its base64 has bytes.
    /// </summary>
    public static long PromptTokens(ReadOnlySpan<byte> utf8Body, int contextWindow = 0)
    {
        var nonAscii = CountNonAscii(utf8Body);
        var ascii = utf8Body.Length - nonAscii;
        long tokens = ((ascii + 2) / 3) + ((nonAscii + 1) / 2);
        return contextWindow > 0 ? Math.Min(tokens, contextWindow) : tokens;
    }

    /// <summary>The output a request can cause at most: its own cap (or the default), times the choices it asks for.</summary>
    public static long OutputTokens(int? maxTokens, int choices, int defaultMaxOutputTokens) =>
        (long)(maxTokens is > 0 ? maxTokens.Value : defaultMaxOutputTokens) * Math.Max(1, choices);

    /// <summary>The cost of <paramref name="inputTokens"/> and <paramref name="outputTokens"/> at the dearest of <paramref name="deployments"/>.</summary>
    public static decimal WorstCaseCost(IReadOnlyList<DeploymentEntry> deployments, long inputTokens, long outputTokens)
    {
        ArgumentNullException.ThrowIfNull(deployments);
        if (deployments.Count == 0)
        {
            return 0m;
        }
        // Compared by the cost's numerator (the price book divides every cost by the same million), divided once.
        var worst = PriceBook.WorstCostTimesMillion(deployments[0].Config, inputTokens, outputTokens);
        for (var i = 1; i < deployments.Count; i++)
        {
            worst = Math.Max(worst, PriceBook.WorstCostTimesMillion(deployments[i].Config, inputTokens, outputTokens));
        }
        return worst / PriceBook.TokensPerPriceUnit;
    }

    /// <summary>Tokens as the tokens-per-minute limit counts them: each direction times its weight, rounded up.</summary>
    public static long WeightedTokens(long inputTokens, long outputTokens, double inputWeight, double outputWeight) =>
        (long)Math.Ceiling((inputTokens * inputWeight) + (outputTokens * outputWeight));

    /// <summary>Bytes with the high bit set (the bytes of non-ASCII characters), sixteen at a time.</summary>
    internal static int CountNonAscii(ReadOnlySpan<byte> utf8)
    {
        var count = 0;
        var i = 0;
        if (Vector128.IsHardwareAccelerated)
        {
            for (; i <= utf8.Length - Vector128<byte>.Count; i += Vector128<byte>.Count)
            {
                count += BitOperations.PopCount(Vector128.Create(utf8.Slice(i, Vector128<byte>.Count)).ExtractMostSignificantBits());
            }
        }
        for (; i < utf8.Length; i++)
        {
            if (utf8[i] >= 0x80)
            {
                count++;
            }
        }
        return count;
    }
}
