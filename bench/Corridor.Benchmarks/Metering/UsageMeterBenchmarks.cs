using System.Text;
using BenchmarkDotNet.Attributes;
using Corridor.Gateway.Metering;

namespace Corridor.Benchmarks.Metering;

/// <summary>
/// Reading usage and generated text from upstream answers (<see cref="UsageMeter.TryScan"/>), with the
/// default retention of 6000 characters, each request with its own meter as in the gateway.
/// </summary>
[MemoryDiagnoser]
public class UsageMeterBenchmarks
{
    private const int RetainChars = 6000;
    private const int ChunksPerStream = 100;
    private byte[] _completion = [];
    private byte[] _chunk = [];
    private byte[] _usageChunk = [];

    [GlobalSetup]
    public void Setup()
    {
        _completion = Encoding.UTF8.GetBytes(Payloads.Completion);
        _chunk = Encoding.UTF8.GetBytes(Payloads.StreamChunk);
        _usageChunk = Encoding.UTF8.GetBytes(Payloads.UsageChunk);
    }

    /// <summary>A whole chat.completion (about 800 bytes), a new meter for it.</summary>
    [Benchmark]
    public long Completion()
    {
        var meter = new UsageMeter(RetainChars);
        meter.TryScan(_completion);
        return meter.InputTokens + meter.OutputTokens;
    }

    /// <summary>
    /// One content-delta chunk (about 300 bytes), measured per chunk over a stream of 100 of them and
    /// the usage chunk, with one meter for the stream.
    /// </summary>
    [Benchmark(OperationsPerInvoke = ChunksPerStream + 1)]
    public long StreamChunk()
    {
        var meter = new UsageMeter(RetainChars);
        for (var i = 0; i < ChunksPerStream; i++)
        {
            meter.TryScan(_chunk);
        }
        meter.TryScan(_usageChunk);
        return meter.OutputChars + meter.OutputTokens;
    }

    /// <summary>A single content-delta chunk on a fresh meter: the worst case per chunk (the text buffer is created).</summary>
    [Benchmark]
    public long SingleChunkFreshMeter()
    {
        var meter = new UsageMeter(RetainChars);
        meter.TryScan(_chunk);
        return meter.OutputChars;
    }
}
