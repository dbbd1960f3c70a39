using System.Diagnostics.Metrics;
using Corridor.Benchmarks.Observability;
using Corridor.Gateway.Observability;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>Recording a request's metrics allocates nothing once its series exist, with the <c>/metrics</c> exporter listening.</summary>
public sealed class MetricsRecordingTests
{
    [Fact]
    public async Task Record_AllocatesNothing_OnceItsSeriesExist()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var (metrics, call, store) = MetricsSample.Create(services.GetRequiredService<IMeterFactory>());
        await using var storeDisposal = store;
        using var exporter = new PrometheusExporter(instrument => ReferenceEquals(instrument.Meter, metrics.Meter));
        for (var i = 0; i < 100; i++)
        {
            metrics.Record(call, 200);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            metrics.Record(call, 200);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Contains("gen_ai_client_token_usage_sum{gen_ai_operation_name=\"chat\",gen_ai_provider_name=\"openai\",gen_ai_request_model=\"gpt-4.1\",gen_ai_response_model=\"gpt-4.1\",gen_ai_token_type=\"output\"} 40700",
            exporter.Scrape(), StringComparison.Ordinal);
    }
}
