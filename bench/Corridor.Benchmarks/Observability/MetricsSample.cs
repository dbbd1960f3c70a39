using System.Diagnostics.Metrics;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Observability;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Recording;
using Corridor.Gateway.StoredResponses;
using Corridor.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Benchmarks.Observability;

/// <summary>
/// A <see cref="GatewayMetrics"/> and one served request (gpt-4.1, 49 input and 37 output tokens, streamed) to record,
/// without a host: shared by MetricsBenchmarks and the gateway tests' allocation test (linked there). The store is a
/// fresh SQLite file in a temporary folder (its ledger backlog is a gauge); dispose <c>Store</c> to remove it.
/// </summary>
internal static class MetricsSample
{
    public static (GatewayMetrics Metrics, CorridorRequestFeature Call, IAsyncDisposable Store) Create(IMeterFactory meterFactory)
    {
        var loaded = ConfigLoader.Parse("""
            vendors:
              - { id: openai, kind: openai, baseUrl: "http://127.0.0.1:9/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1000 }
            deployments:
              - { id: gpt-sg, model: gpt-4.1, region: sg, price: { input: 2, output: 8 } }
            """, "/srv", environment: null);
        var config = ActiveConfig.TryCreate(loaded.Config!, _ => null, DateTimeOffset.UtcNow, out _)!;
        var store = new SampleStore();
        // The ledger writer's and the monitor's store is never reached: nothing here writes a row or restores the monitor.
        var state = new GatewayState(config);
        var metrics = new GatewayMetrics(meterFactory,
            new LedgerWriter(null!, new LedgerOptions(), TimeProvider.System, NullLogger<LedgerWriter>.Instance),
            store.Store,
            new MonitorService(null!, state, TimeProvider.System, NullLogger<MonitorService>.Instance), new RouteTable(state, TimeProvider.System),
            new ResponseKeeper(store.Store, ResponsesOptions.Default, TimeProvider.System, NullLogger<ResponseKeeper>.Instance), TimeProvider.System);
        config.Catalog.TryGetModel("gpt-4.1", out var model);
        var call = new CorridorRequestFeature(config, "req_1", Dialect.OpenAI, Operation.ChatCompletions, DateTimeOffset.UtcNow, TimeProvider.System.GetTimestamp(), 0)
        {
            Caller = new AuthenticatedKey(ApiKeys.Create("acme", DateTimeOffset.UtcNow).Key, new Tenant("acme", "Acme Ltd.", "SG", DateTimeOffset.UtcNow)),
            Model = model,
            Deployment = model!.Deployments[0],
            Served = true,
            FirstEventTimestamp = TimeProvider.System.GetTimestamp(),
        };
        call.Usage.TryScanObject("""{"usage":{"prompt_tokens":49,"completion_tokens":37}}"""u8);
        return (metrics, call, store);
    }

    private sealed class SampleStore : IAsyncDisposable
    {
        private readonly string _folder = Path.Combine(Path.GetTempPath(), "corridor-metrics-" + Guid.NewGuid().ToString("N"));

        public SampleStore() =>
            Store = CorridorStores.OpenAsync(new StorageOptions(Path.Combine(_folder, "corridor.db")), CancellationToken.None).GetAwaiter().GetResult();

        public ICorridorStore Store { get; }

        public async ValueTask DisposeAsync()
        {
            await Store.DisposeAsync();
            Directory.Delete(_folder, recursive: true);
        }
    }
}
