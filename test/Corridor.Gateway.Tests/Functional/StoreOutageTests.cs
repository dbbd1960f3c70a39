using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The shared PostgreSQL going away under a running gateway: requests are served from the cached keys for the grace period
/// while ledger rows wait in the spool on local disk; past it the gateway refuses with 503 in the client's dialect; when the
/// database is back, requests are served again and every row is written once.
/// </summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class StoreOutageTests : IAsyncLifetime
{
    private const int GraceSeconds = 3;

    private const string AdminToken = "outage-test-admin-token";
    private readonly string AdminTokenEnv = "CORRIDOR_OUTAGE_ADMIN_TOKEN_" + Guid.NewGuid().ToString("N");
    private TestDatabase _database = null!;
    private LiveGateway _live = null!;

    public async Task InitializeAsync()
    {
        _database = await TestPostgres.CreateDatabaseAsync();
        Environment.SetEnvironmentVariable(AdminTokenEnv, AdminToken);
        _live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, AdminTokenEnv) + $"""

            storage:
              postgres: "{_database.ConnectionString}"
              unavailableGraceSeconds: {GraceSeconds}
            """);
    }

    public async Task DisposeAsync()
    {
        await _database.SetReachableAsync(true);
        await _live.DisposeAsync();
        await _database.DisposeAsync();
        Environment.SetEnvironmentVariable(AdminTokenEnv, null);
    }

    [Fact]
    public async Task WhileTheDatabaseIsAway_RequestsAreServedForTheGracePeriod_ThenRefused_AndNoLedgerRowIsLostOrDoubled()
    {
        using var http = _live.Http();
        var served = new List<string> { await ChatAsync(http, HttpStatusCode.OK) };

        await _database.SetReachableAsync(false);
        for (var i = 0; i < 5; i++)
        {
            served.Add(await ChatAsync(http, HttpStatusCode.OK));
        }

        // Usage is read from the store itself: while it is away, a 503 in the client's dialect, not a 500.
        using (var usage = await http.GetAsync("/v1/usage").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, usage.StatusCode);
            var error = (await usage.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error");
            Assert.Equal(("store_unavailable", "api_error"), (error.GetProperty("code").GetString(), error.GetProperty("type").GetString()));
        }

        // So is the admin API: a 503 its caller can retry, nothing changed.
        using (var admin = new HttpClient { BaseAddress = _live.BaseAddress, Timeout = TestTimeouts.Default })
        {
            admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AdminToken);
            using var tenants = await admin.GetAsync("/admin/tenants").WithTimeout();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, tenants.StatusCode);
            Assert.Contains("store cannot be reached", (await tenants.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            using var created = await admin.PostAsJsonAsync("/admin/tenants", new { id = "during-outage", legal_name = "Outage Ltd", country = "SG" }).WithTimeout();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, created.StatusCode);
        }

        var spool = Path.Combine(_live.Directory.Path, "data", "ledger-spool");
        await PollAsync(() => Task.FromResult(Directory.Exists(spool) && Directory.EnumerateFiles(spool).Any()));

        // Past the grace period: refused, in each client's dialect, with the reason.
        await PollAsync(async () => (await PostChatAsync(http)).StatusCode == HttpStatusCode.ServiceUnavailable);
        using (var refused = await PostChatAsync(http))
        {
            var error = (await refused.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error");
            Assert.Equal("store_unavailable", error.GetProperty("code").GetString());
            Assert.Contains("cannot reach its store", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var anthropic = await http.PostAsJsonAsync("/v1/messages", new { model = "claude-sonnet-4", max_tokens = 16, messages = new[] { new { role = "user", content = "hi" } } }).WithTimeout();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, anthropic.StatusCode);
        Assert.Equal("overloaded_error", (await anthropic.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error").GetProperty("type").GetString());

        // Back: served again, the spool drains, and each request is in the ledger once.
        await _database.SetReachableAsync(true);
        await PollAsync(async () => (await PostChatAsync(http)).StatusCode == HttpStatusCode.OK);
        served.Add(await ChatAsync(http, HttpStatusCode.OK));
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        await _live.Gateway.FlushLedgerAsync(cts.Token);
        // Decisions' audit records refused meanwhile wait in the same folder (docs/durability.md).
        await _live.Gateway.FlushAuditAsync(cts.Token);

        Assert.False(Directory.EnumerateFiles(spool).Any());
        var rows = await _live.Store.ReadLedgerAsync(null, null, cts.Token).ToListWithTimeoutAsync();
        Assert.Equal(rows.Count, rows.Select(r => r.RequestId).Distinct().Count());
        Assert.All(served, id => Assert.Single(rows, r => r.RequestId == id && r.Status == 200));
        Assert.Contains(rows, r => r.ErrorCode == "store_unavailable" && r.Status == 503);
    }

    private static Task<HttpResponseMessage> PostChatAsync(HttpClient http) =>
        http.PostAsJsonAsync("/v1/chat/completions", new { model = "gpt-4.1", messages = new[] { new { role = "user", content = "hi" } } }).WithTimeout();

    private static async Task<string> ChatAsync(HttpClient http, HttpStatusCode expected)
    {
        using var response = await PostChatAsync(http);
        Assert.Equal(expected, response.StatusCode);
        return response.Headers.GetValues("x-corridor-request-id").Single();
    }

    /// <summary>Polls until <paramref name="condition"/> holds, within the test timeout.</summary>
    private static async Task PollAsync(Func<Task<bool>> condition)
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (!await condition())
        {
            await Task.Delay(50, cts.Token);
        }
    }
}
