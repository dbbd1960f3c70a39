using System.Net.Http.Json;
using System.Text.Json;
using Corridor.Gateway.Monitoring;
using Corridor.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A batch's requests reach the distillation monitor as a batch's (docs/monitor.md): their content counts like a live
/// request's, their timing (the runner's) does not. On a gateway of its own, so that no other test's batch is observed
/// meanwhile: the monitor's counters are the gateway's.
/// </summary>
public sealed class BatchObservationTests : IAsyncLifetime
{
    private LiveGateway _live = null!;

    public async Task InitializeAsync() => _live = await LiveGateway.StartAsync(TestCatalog.Yaml);

    public async Task DisposeAsync() => await _live.DisposeAsync();

    [Fact]
    public async Task ABatchsRequests_AreObservedByTheMonitor_AsABatchs_AndALiveRequestAsLive()
    {
        var service = _live.Gateway.Services.GetRequiredService<MonitorService>();
        using var http = _live.Http();
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        var before = service.Monitor.Stats;
        var requests = Enumerable.Range(1, 3).Select(i => new
        {
            custom_id = $"q-{i}",
            @params = new { model = "gpt-4.1", max_tokens = 40, messages = new[] { new { role = "user", content = $"Explain topic {i} step by step." } } },
        });
        using (var created = await http.PostAsJsonAsync("/v1/messages/batches", new { requests }).WithTimeout())
        {
            created.EnsureSuccessStatusCode();
            var id = (await created.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("id").GetString();
            await EventuallyAsync(async () =>
                (await http.GetFromJsonAsync<JsonElement>($"/v1/messages/batches/{id}").WithTimeout()).GetProperty("processing_status").GetString() == "ended");
        }
        await EventuallyAsync(() => Task.FromResult(service.Pump.Pending == 0 && service.Monitor.Stats.Observed >= before.Observed + 3));

        Assert.Equal((3L, 3L), (service.Monitor.Stats.Observed - before.Observed, service.Monitor.Stats.ObservedBatch - before.ObservedBatch));

        // A live request of the same key is observed as live.
        using var live = await http.PostAsJsonAsync("/v1/messages",
            new { model = "gpt-4.1", max_tokens = 40, messages = new[] { new { role = "user", content = "Explain topic 4 step by step." } } }).WithTimeout();
        live.EnsureSuccessStatusCode();
        await EventuallyAsync(() => Task.FromResult(service.Pump.Pending == 0 && service.Monitor.Stats.Observed >= before.Observed + 4));
        Assert.Equal((4L, 3L), (service.Monitor.Stats.Observed - before.Observed, service.Monitor.Stats.ObservedBatch - before.ObservedBatch));
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (!await condition())
        {
            await Task.Delay(20, cts.Token);
        }
    }
}
