using System.Net;
using System.Text.Json;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>
/// <c>/readyz</c> tells the truth about PostgreSQL: 503 naming the store within a second of its going away, then the ledger
/// lag once rows wait longer than the bound (the spool is put where it cannot be written, so rows wait in memory),
/// and 200 again when the database is back and the rows are written; <c>/healthz</c> stays 200 throughout (alive). Why
/// is for the admin token: other callers get the same status codes with <c>ready</c> alone.
/// </summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class ReadinessTests : IAsyncLifetime, IDisposable
{
    private readonly TokenVariable _adminToken = new();
    private TestDatabase _database = null!;
    private LiveGateway _live = null!;

    public async Task InitializeAsync()
    {
        _database = await TestPostgres.CreateDatabaseAsync();
        // The spool goes where it cannot be written (under a file), so refused rows wait in memory and the lag shows.
        _live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, _adminToken.Name).Replace("retainMaxChars: 600", "retainMaxChars: 600\n  spool: /dev/null/spool", StringComparison.Ordinal) + $"""

            storage:
              postgres: "{_database.ConnectionString}"
              unavailableGraceSeconds: 60
            observability:
              readyMaxLedgerLagSeconds: 1
            """);
    }

    public async Task DisposeAsync()
    {
        await _database.SetReachableAsync(true);
        await _live.DisposeAsync();
        await _database.DisposeAsync();
    }

    public void Dispose() => _adminToken.Dispose();

    [Fact]
    public async Task StoreAway_Is503WithTheStore_ThenTheLedgerLag_AndReadyAgainWhenBack()
    {
        using var http = _live.Http();
        using var admin = _adminToken.Client(_live.BaseAddress);
        var (status, _) = await ReadyAsync(admin);
        Assert.Equal(HttpStatusCode.OK, status);

        // The store's last answer serves probes for up to a second (StoreProbe.Reuse).
        await _database.SetReachableAsync(false);
        await PollAsync(async () => (await ReadyAsync(admin)).Status == HttpStatusCode.ServiceUnavailable);
        (status, var body) = await ReadyAsync(admin);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.False(body.GetProperty("ready").GetBoolean());
        Assert.Equal("unreachable", body.GetProperty("checks").GetProperty("store").GetString());
        Assert.Contains(Reasons(body), r => r.StartsWith("store unreachable", StringComparison.Ordinal));
        Assert.DoesNotContain(_database.ConnectionString, body.ToString(), StringComparison.Ordinal);

        // Without the admin token (a tenant's key, or a load balancer's probe with none): the same 503, not why.
        using var probe = new HttpClient { BaseAddress = _live.BaseAddress, Timeout = TestTimeouts.Default };
        foreach (var caller in new[] { http, probe })
        {
            (status, body) = await ReadyAsync(caller);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.Equal("""{"ready":false}""", body.GetRawText());
        }

        // Served from the cached keys (within the grace), but its ledger row cannot be written.
        using (var served = await ChatAsync(http))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }
        await PollAsync(async () => Reasons((await ReadyAsync(admin)).Body).Any(r => r.StartsWith("ledger lag", StringComparison.Ordinal)));
        using (var healthz = await probe.GetAsync("/healthz").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        }

        await _database.SetReachableAsync(true);
        await PollAsync(async () => (await ReadyAsync(probe)).Status == HttpStatusCode.OK);
        (_, body) = await ReadyAsync(admin);
        Assert.Equal(0, body.GetProperty("checks").GetProperty("ledger").GetProperty("pending").GetInt32());
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ReadyAsync(HttpClient http)
    {
        using var response = await http.GetAsync("/readyz").WithTimeout();
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static string[] Reasons(JsonElement body) => [.. body.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)];

    private static Task<HttpResponseMessage> ChatAsync(HttpClient http) =>
        http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json")).WithTimeout();

    private static async Task PollAsync(Func<Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (!await condition())
        {
            await Task.Delay(100, cts.Token);
        }
    }
}
