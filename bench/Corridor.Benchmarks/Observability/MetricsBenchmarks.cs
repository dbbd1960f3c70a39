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
    private ServiceProvider _quietServices = null!;
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
        // One meter factory each: a factory hands out one meter per name, and a meter one instrument per name, so with one
        // factory the quiet side would record into the very instruments the exporter listens to.
        _quietServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        (_quiet, _quietCall, _quietStore) = MetricsSample.Create(_quietServices.GetRequiredService<IMeterFactory>());
        (_scraped, _scrapedCall, _scrapedStore) = MetricsSample.Create(_services.GetRequiredService<IMeterFactory>());
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
        _quietServices?.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public void NothingListening() => _quiet.Record(_quietCall, 200);

    [Benchmark]
    public void ScrapeListenerOn() => _scraped.Record(_scrapedCall, 200);
}
