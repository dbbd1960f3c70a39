using System.Diagnostics.Metrics;
using Corridor.Benchmarks.Observability;
using Corridor.Gateway.Observability;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>
/// Recording a request's metrics allocates nothing once its series exist, with the <c>/metrics</c> exporter listening, and
/// every measurement lands in its own tag set's series however the tag sets alternate.
/// </summary>
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

    [Fact]
    public async Task TagSetsAlternatingFromTwoThreads_AreEachCountedExactly()
    {
        using var meter = new Meter("corridor.test.exporter");
        var counter = meter.CreateCounter<long>("test.requests");
        using var exporter = new PrometheusExporter(instrument => ReferenceEquals(instrument.Meter, meter));
        // More tag sets than the exporter remembers, in turn, so that recent ones are found and others replaced.
        var models = Enumerable.Range(0, 7).Select(i => "model-" + i).ToArray();

        void Count(int times)
        {
            for (var i = 0; i < times; i++)
            {
                foreach (var model in models)
                {
                    counter.Add(1, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("type", "input"));
                    counter.Add(2, new KeyValuePair<string, object?>("model", model), new KeyValuePair<string, object?>("type", "output"));
                }
            }
        }
        await Task.WhenAll(Task.Run(() => Count(5_000)), Task.Run(() => Count(5_000)));

        var text = exporter.Scrape();
        foreach (var model in models)
        {
            Assert.Contains($"test_requests_total{{model=\"{model}\",type=\"input\"}} 10000\n", text, StringComparison.Ordinal);
            Assert.Contains($"test_requests_total{{model=\"{model}\",type=\"output\"}} 20000\n", text, StringComparison.Ordinal);
        }
        Assert.Equal(14, text.Split('\n').Count(line => line.StartsWith("test_requests_total{", StringComparison.Ordinal)));
    }
}
