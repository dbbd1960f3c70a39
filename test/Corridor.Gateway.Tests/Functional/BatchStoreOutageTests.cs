using System.Net.Http.Json;
using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Simulator;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The shared PostgreSQL going away while a batch's requests run (docs/batches.md): the answers that come meanwhile are kept
/// (saved once the database is back: a result left unsaved would run its request again), the runner's watch over the batch
/// survives not reaching it, and the batch ends with every request answered and billed once.
/// </summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class BatchStoreOutageTests : IAsyncLifetime
{
    private const int GraceSeconds = 30;
    private const int Requests = 8;
    private static readonly TimeSpan Answer = TimeSpan.FromMilliseconds(2500);

    private TestDatabase _database = null!;
    private LiveGateway _live = null!;

    public async Task InitializeAsync()
    {
        _database = await TestPostgres.CreateDatabaseAsync();
        // Each answer takes 2.5 s: the first four requests are answered while the database is away.
        _live = await LiveGateway.StartAsync(
            simulator => TestCatalog.Yaml(simulator) + $"""

                storage:
                  postgres: "{_database.ConnectionString}"
                  unavailableGraceSeconds: {GraceSeconds}
                """,
            new SimulatorOptions { TokenInterval = TimeSpan.Zero, Latency = Answer });
    }

    public async Task DisposeAsync()
    {
        await _database.SetReachableAsync(true);
        await _live.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task ABatchRunningWhileTheDatabaseIsAway_EndsWithEveryRequestAnsweredAndBilledOnce()
    {
        using var http = _live.Http();
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        var requests = Enumerable.Range(0, Requests).Select(i => new
        {
            custom_id = $"q-{i}",
            @params = new { model = "gpt-4.1", max_tokens = 16, messages = new[] { new { role = "user", content = $"Question {i}" } } },
        });
        using var created = await http.PostAsJsonAsync("/v1/messages/batches", new { requests }).WithTimeout();
        created.EnsureSuccessStatusCode();
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("id").GetString()!;

        // The first requests have started (their start is stored before they run); then the database goes away for longer
        // than they take to be answered.
        await PollAsync(async () => (await _live.Store.ReadPendingBatchItemsAsync(id, -1, Requests, CancellationToken.None).WithTimeout()).Count(i => i.StartedAt is not null) >= 4);
        var away = DateTimeOffset.UtcNow;
        await _database.SetReachableAsync(false);
        await Task.Delay(Answer + TimeSpan.FromSeconds(1));
        await _database.SetReachableAsync(true);
        var back = DateTimeOffset.UtcNow;

        JsonElement batch = default;
        await PollAsync(async () =>
        {
            using var response = await http.GetAsync($"/v1/messages/batches/{id}").WithTimeout();
            batch = await response.Content.ReadFromJsonAsync<JsonElement>().WithTimeout();
            return response.IsSuccessStatusCode && batch.GetProperty("processing_status").GetString() == "ended";
        });
        Assert.Equal((Requests, 0), (batch.GetProperty("request_counts").GetProperty("succeeded").GetInt32(), batch.GetProperty("request_counts").GetProperty("errored").GetInt32()));

        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        await _live.Gateway.FlushLedgerAsync(cts.Token);
        var rows = (await _live.Store.ReadLedgerAsync(null, null, cts.Token).ToListWithTimeoutAsync()).Where(r => r.BatchId == id).ToList();
        // The outage was real for the batch: answers came while the database was away.
        Assert.Contains(rows, r => r.Time.AddMilliseconds(r.LatencyMs) > away && r.Time.AddMilliseconds(r.LatencyMs) < back);
        var billed = rows.Where(r => r.Billable).ToList();
        Assert.Equal(Requests, billed.Count);
        Assert.All(billed, r => Assert.Equal(RequestOutcome.Success, r.Outcome));
        // Each asked of the vendor once: an answer given up unsaved would have run again, a second charge by the vendor that
        // the ledger (one row per request id and time) would not show.
        Assert.Equal(Requests, (await _live.SimulatorRequestsAsync()).Values.Sum());

        // And the results say so, request by request.
        using var results = await http.GetAsync($"/v1/messages/batches/{id}/results").WithTimeout();
        var lines = (await results.Content.ReadAsStringAsync().WithTimeout()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Requests, lines.Length);
        Assert.All(lines, line => Assert.Equal("succeeded", JsonDocument.Parse(line).RootElement.GetProperty("result").GetProperty("type").GetString()));
    }

    private static async Task PollAsync(Func<Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (!await condition())
        {
            await Task.Delay(100, cts.Token);
        }
    }
}
