using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Corridor.Gateway.Observability;
using Corridor.Gateway.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Benchmarks.Observability;

/// <summary>
/// What recording one served request's metrics costs (<see cref="GatewayMetrics.Record"/>: a request count, the
/// duration, time to first token and two token-usage values) with nothing listening, and with the <c>/metrics</c>
/// exporter listening as it always does in <c>corridor serve</c>.
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks : IDisposable
{
    private ServiceProvider _services = null!;
    private GatewayMetrics _quiet = null!;
    private GatewayMetrics _scraped = null!;
    private PrometheusExporter _exporter = null!;
    private CorridorRequestFeature _quietCall = null!;
    private CorridorRequestFeature _scrapedCall = null!;
    private IAsyncDisposable? _quietStore;
    private IAsyncDisposable? _scrapedStore;

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = _services.GetRequiredService<IMeterFactory>();
        (_quiet, _quietCall, _quietStore) = MetricsSample.Create(factory);
        (_scraped, _scrapedCall, _scrapedStore) = MetricsSample.Create(factory);
        var scrapedMeter = _scraped.Meter;
        _exporter = new PrometheusExporter(instrument => ReferenceEquals(instrument.Meter, scrapedMeter));
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _exporter?.Dispose();
        _quiet?.Dispose();
        _scraped?.Dispose();
        _quietStore?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _scrapedStore?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _services?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public void NothingListening() => _quiet.Record(_quietCall, 200);

    [Benchmark]
    public void ScrapeListenerOn() => _scraped.Record(_scrapedCall, 200);
}
