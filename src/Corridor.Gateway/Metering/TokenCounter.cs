using System.Text;
using Microsoft.ML.Tokenizers;

namespace Corridor.Gateway.Metering;

/// <summary>
/// Counts tokens where an upstream did not (a stream cut before its usage arrived): OpenAI's o200k_base encoding
/// (GPT-4o, GPT-4.1), from Microsoft.ML.Tokenizers. Exact for those models; for other vendors' models an estimate, which
/// is why such ledger rows are marked estimated. The vocabulary loads on first use (or at <see cref="WarmUp"/>).
/// Very large texts are estimated at four bytes a token instead: tokenizing megabytes would hold the request's end for
/// long (a prompt's images and documents are counted as what they are before, <see cref="MediaTokens"/>). Counting never throws: should the
/// tokenizer fail (its vocabulary not loading, say), the same four bytes a token stand in, so metering always settles.
/// </summary>
internal static class TokenCounter
{
    private const int MaxTokenizedBytes = 256 * 1024;
    private static readonly Lazy<Tokenizer> Encoding200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    public static void WarmUp() => _ = Task.Run(() => Encoding200k.Value);

    public static long Count(string text)
    {
        if (text.Length == 0)
        {
            return 0;
        }
        try
        {
            return Encoding200k.Value.CountTokens(text);
        }
        catch (Exception)
        {
            return (Encoding.UTF8.GetByteCount(text) + 3) / 4;
        }
    }

    /// <summary>
    /// An estimate of the tokens of UTF-8 text that tokenizes at most <paramref name="sampleBytes"/> of it: exact up to
    /// that length, and past it the sample's count scaled by the text's length. For an answer that must not wait (a
    /// translated stream's first event): tokenizing takes about 30 µs a KiB here, so a 32 KiB prompt would hold the socket's
    /// thread, and every connection it serves, for about a millisecond (bench/Corridor.Benchmarks, TokenCounterBenchmarks).
    /// </summary>
    public static long EstimateUtf8(ReadOnlySpan<byte> utf8, int sampleBytes)
    {
        if (utf8.Length <= sampleBytes)
        {
            return CountUtf8(utf8);
        }
        var sample = utf8[..sampleBytes];
        while (sample.Length > 0 && (sample[^1] & 0xC0) == 0x80)
        {
            sample = sample[..^1]; // not in the middle of a character
        }
        if (sample.Length > 0 && sample[^1] >= 0xC0)
        {
            sample = sample[..^1];
        }
        return sample.IsEmpty ? (utf8.Length + 3) / 4 : (long)Math.Round((double)CountUtf8(sample) * utf8.Length / sample.Length);
    }

    /// <summary>The tokens of UTF-8 text; above <paramref name="maxTokenizedBytes"/> estimated at four bytes a token instead.</summary>
    public static long CountUtf8(ReadOnlySpan<byte> utf8, int maxTokenizedBytes = MaxTokenizedBytes) =>
        utf8.Length > maxTokenizedBytes ? (utf8.Length + 3) / 4 : Count(Encoding.UTF8.GetString(utf8));
}
