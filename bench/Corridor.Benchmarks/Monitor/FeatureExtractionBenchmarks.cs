using BenchmarkDotNet.Attributes;
using Corridor.Monitor.Features;

namespace Corridor.Benchmarks.Monitor;

/// <summary>Per-request feature extraction on the gateway's path: budget 20 µs and 2 KB allocated per request.</summary>
[MemoryDiagnoser]
public class FeatureExtractionBenchmarks
{
    private readonly RequestMetadata _metadata = MonitorSamples.Metadata(1);

    [Benchmark(Description = "support chat, 4 messages, 1.2 KB system prompt")]
    public RequestFeatures SupportChat() => FeatureExtractor.Extract(_metadata, MonitorSamples.SupportChat);

    [Benchmark(Description = "reasoning harvest prompt")]
    public RequestFeatures ReasoningHarvest() => FeatureExtractor.Extract(_metadata, MonitorSamples.ReasoningHarvest);

    [Benchmark(Description = "coding question with a code block")]
    public RequestFeatures CodingQuestion() => FeatureExtractor.Extract(_metadata, MonitorSamples.CodingQuestion);
}
