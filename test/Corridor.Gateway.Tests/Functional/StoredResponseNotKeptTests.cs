using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Corridor.Gateway.Tests.Observability;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// A Responses answer that is not kept says so (docs/responses.md, "Stored responses"): served all the same, its
/// <c>store</c> is false (a stream's last event), and <c>corridor.responses.not_kept</c> counts it by reason.
/// </summary>
public sealed class StoredResponseNotKeptTests
{
    private static string NotKept(string reason) => $"corridor_responses_not_kept_total{{corridor_reason=\"{reason}\"}}";

    /// <summary>Creates a response through HTTP (whole or streamed) and returns the response object answered (a stream's last event's).</summary>
    internal static async Task<JsonElement> CreateAsync(HttpClient http, bool streamed, string text = "Where is parcel 4471?")
    {
        using var answer = await http.PostAsJsonAsync("/v1/responses", new { model = "gpt-4.1", input = text, stream = streamed }).WithTimeout();
        var body = await answer.Content.ReadAsStringAsync().WithTimeout();
        Assert.True(answer.IsSuccessStatusCode, body);
        if (!streamed)
        {
            return JsonDocument.Parse(body).RootElement;
        }
        var last = body.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Last();
        using var completed = JsonDocument.Parse(last["data: ".Length..]);
        Assert.Equal("response.completed", completed.RootElement.GetProperty("type").GetString());
        return completed.RootElement.GetProperty("response").Clone();
    }

    [Fact]
    public async Task AnAnswerTheStoreRefuses_IsServed_SaysStoreFalse_AndIsCounted()
    {
        using var adminToken = new TokenVariable();
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, adminToken.Name)).WithTimeout();
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={live.Config.Storage.SqlitePath};Pooling=False"))
        {
            // Every response the gateway keeps now fails to be written.
            await connection.OpenAsync().WithTimeout();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TABLE responses;";
            await command.ExecuteNonQueryAsync().WithTimeout();
        }
        using var scraper = adminToken.Client(live.BaseAddress);
        var before = await MetricsScrape.ScrapeAsync(scraper);
        using var http = live.Http();

        var whole = await CreateAsync(http, streamed: false);
        var streamed = await CreateAsync(http, streamed: true);

        Assert.Equal((false, "completed"), (whole.GetProperty("store").GetBoolean(), whole.GetProperty("status").GetString()));
        Assert.Equal((false, "completed"), (streamed.GetProperty("store").GetBoolean(), streamed.GetProperty("status").GetString()));
        Assert.NotEmpty(whole.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString()!);
        var after = await MetricsScrape.ScrapeAsync(scraper);
        Assert.Equal(2, MetricsScrape.Delta(before, after, NotKept("store_failed")));
    }

    [Fact]
    public async Task ATenantPastItsStoredBytes_IsServed_ButNotKept_AndSaysSo_WhileAnotherTenantsAreKept()
    {
        using var adminToken = new TokenVariable();
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, adminToken.Name) + """

            responses:
              maxTenantBytes: 1024
            """).WithTimeout();
        using var scraper = adminToken.Client(live.BaseAddress);
        var before = await MetricsScrape.ScrapeAsync(scraper);
        using var http = live.Http();

        // The first fits (none kept yet) and takes the tenant past 1024 bytes; the next are served, not kept.
        var first = await CreateAsync(http, streamed: false);
        var whole = await CreateAsync(http, streamed: false, "And parcel 4472?");
        var streamed = await CreateAsync(http, streamed: true, "And parcel 4473?");
        using var other = live.Http(await live.AddTenantWithKeyAsync("globex", "SG"));
        var others = await CreateAsync(other, streamed: false);

        Assert.True(first.GetProperty("store").GetBoolean());
        Assert.Equal((false, false), (whole.GetProperty("store").GetBoolean(), streamed.GetProperty("store").GetBoolean()));
        Assert.Equal("completed", whole.GetProperty("status").GetString());
        Assert.True(others.GetProperty("store").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"/v1/responses/{first.GetProperty("id").GetString()}").WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/responses/{whole.GetProperty("id").GetString()}").WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/responses/{streamed.GetProperty("id").GetString()}").WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync($"/v1/responses/{others.GetProperty("id").GetString()}").WithTimeout()).StatusCode);
        var after = await MetricsScrape.ScrapeAsync(scraper);
        Assert.Equal(2, MetricsScrape.Delta(before, after, NotKept("tenant_bytes")));
    }
}
