using System.Text;
using BenchmarkDotNet.Attributes;
using Corridor.Gateway.Metering;

namespace Corridor.Benchmarks.Metering;

/// <summary>
/// Counting a request body's tokens with the gateway's tokenizer (o200k_base), as the estimate of a translated stream's
/// prompt in its <c>message_start</c> is made: on the socket's thread, before the stream's first event.
/// </summary>
[MemoryDiagnoser]
public class TokenCounterBenchmarks
{
    private byte[] _body = [];

    /// <summary>The body's size, a little under this (so that a 32 KiB body is tokenized whole, as before).</summary>
    [Params(2 * 1024, 32 * 1024)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var text = new StringBuilder();
        var words = "The quick brown fox jumps over the lazy dog, then reads the contract's clause 14(b) twice. ".Split(' ');
        var i = 0;
        while (text.Length < Bytes - 200)
        {
            text.Append(words[i++ % words.Length]).Append(' ');
        }
        _body = Encoding.UTF8.GetBytes($$"""{"model":"gpt-4.1","max_tokens":256,"messages":[{"role":"user","content":"{{text}}"}]}""");
        TokenCounter.CountUtf8(_body);
    }

    /// <summary>What the estimate cost before: the whole body tokenized up to 32 KiB.</summary>
    [Benchmark(Baseline = true)]
    public long CountUtf8() => TokenCounter.CountUtf8(_body, maxTokenizedBytes: 32 * 1024);

    /// <summary>The estimate now: the first 2 KiB tokenized and scaled.</summary>
    [Benchmark]
    public long EstimateUtf8() => TokenCounter.EstimateUtf8(_body, sampleBytes: 2 * 1024);
}
