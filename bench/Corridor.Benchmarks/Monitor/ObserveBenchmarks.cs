using BenchmarkDotNet.Attributes;
using Corridor.Monitor;
using Corridor.Monitor.Features;
using Corridor.Monitor.Replay;

namespace Corridor.Benchmarks.Monitor;

/// <summary>
/// The monitor's per-request cost: extract and observe (what the gateway's background recorder pays), and a whole
/// traffic-log line (parse, extract, observe: what replay pays). Steady state over 1,000 keys in 500 tenants at 1,000
/// requests a second of event time; one key in ten harvests.
/// </summary>
[MemoryDiagnoser]
public class ObserveBenchmarks
{
    private const int Keys = 1000;
    private RequestFeatures[] _features = [];
    private byte[][] _lines = [];
    private DistillationMonitor _monitor = new();
    private TrafficLogLine _parser = new();
    private readonly string[] _keyIds = Enumerable.Range(0, Keys).Select(i => $"key-{i}").ToArray();
    private readonly string[] _tenantIds = Enumerable.Range(0, Keys).Select(i => $"tenant-{i / 2}").ToArray();
    private int _next;
    private long _clock;

    [GlobalSetup]
    public void Setup()
    {
        _features = new RequestFeatures[30_000];
        for (var i = 0; i < _features.Length; i++)
        {
            _features[i] = FeatureExtractor.Extract(MonitorSamples.Metadata(i, $"key-{i % Keys}", $"tenant-{i % Keys / 2}"), MonitorSamples.BodyOf(i % Keys));
        }

        _lines = MonitorSamples.LogLines(30_000, Keys);
        _monitor = new DistillationMonitor();
        _parser = new TrafficLogLine();

        // Warm: every key and tenant has state, as on a running gateway.
        foreach (var features in _features)
        {
            _monitor.Observe(features);
        }

        _clock = _features[^1].TimestampMs + 1;
    }

    /// <summary>The enforcement step's read (pipeline step 3, on the request's path): key, tenant and their clusters, lock-free.</summary>
    [Benchmark(Description = "GetEnforcement (the enforcement step's read)")]
    public EnforcementDecision GetEnforcement()
    {
        var i = _next++ % Keys;
        return _monitor.GetEnforcement(_tenantIds[i], _keyIds[i]);
    }

    [Benchmark(Description = "Observe (features already extracted)")]
    public void Observe()
    {
        var i = _next++ % _features.Length;
        var features = _features[i];
        features.TimestampMs = _clock++;
        _monitor.Observe(features);
    }

    [Benchmark(Description = "Extract + Observe (the gateway's per-request cost)")]
    public void ExtractAndObserve()
    {
        var i = _next++;
        var metadata = MonitorSamples.Metadata(0, _keyIds[i % Keys], _tenantIds[i % Keys]);
        FeatureExtractor.Extract(metadata, MonitorSamples.BodyOf(i % Keys), out var features);
        features.TimestampMs = _clock++;
        _monitor.Observe(features);
    }

    [Benchmark(Description = "Replay one log line (parse + extract + observe)")]
    public void ReplayLine()
    {
        var i = _next++ % _lines.Length;
        if (_parser.TryParse(_lines[i], out _, out var features, out _, out _))
        {
            features.TimestampMs = _clock++;
            _monitor.Observe(features);
        }
    }
}
