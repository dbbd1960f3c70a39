using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Corridor.Gateway.Tests.Functional;
using Corridor.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Tests.Security;

/// <summary>A gateway with the admin token and a metrics token, each in a variable of its own.</summary>
public sealed class ProbeGatewayFixture : AdminGatewayFixture
{
    public TokenVariable MetricsToken { get; } = new();

    protected override string Yaml(Uri simulator, string tokenEnv) => TestCatalog.Yaml(simulator, tokenEnv, MetricsToken.Name);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        MetricsToken.Dispose();
    }
}

/// <summary>
/// What the gateway's port answers without a tenant's key: <c>/healthz</c> and <c>/readyz</c> give their status (and
/// the status code a load balancer reads) to anyone, and their detail only to the admin token; <c>/metrics</c> answers
/// the metrics token and the admin token only; nothing else is served outside <c>/v1</c> (a key) and <c>/admin</c>.
/// </summary>
public sealed class ProbeTests(ProbeGatewayFixture fixture) : IClassFixture<ProbeGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    /// <summary>Everyone who is not the operator: no credential, a tenant's key, a wrong admin token, the token elsewhere.</summary>
    private (string Name, Action<HttpRequestHeaders> Set)[] Strangers =>
    [
        ("no credential", _ => { }),
        ("tenant key as bearer", h => h.Authorization = new AuthenticationHeaderValue("Bearer", Live.Secret)),
        ("wrong admin token", h => h.Authorization = new AuthenticationHeaderValue("Bearer", Secrets.OneCharacterOff(fixture.AdminToken))),
        ("admin token as x-api-key", h => h.Add("x-api-key", fixture.AdminToken)),
    ];

    [Fact]
    public void EveryRoute_OutsideV1AndAdmin_IsAProbeOrMetrics()
    {
        var open = Live.Gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Select(e => e.RoutePattern.RawText!)
            .Where(p => !p.StartsWith("/v1/", StringComparison.Ordinal) && !p.StartsWith("/admin", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

        Assert.Equal(["/healthz", "/metrics", "/readyz"], open);
    }

    [Fact]
    public async Task Healthz_AnswersItsStatusAlone_ToAnyoneButTheOperator_AndItsDetail_ToTheAdminToken()
    {
        foreach (var (name, set) in Strangers)
        {
            var (status, body) = await GetAsync("/healthz", set);
            Assert.True(status == HttpStatusCode.OK, $"{name}: {(int)status}");
            Assert.True(Names(body).SequenceEqual(["status"]), $"{name} saw {body}");
            Assert.Equal("ok", body.GetProperty("status").GetString());
        }

        var (adminStatus, detail) = await GetAsync("/healthz", h => h.Authorization = new AuthenticationHeaderValue("Bearer", fixture.AdminToken));
        Assert.Equal(HttpStatusCode.OK, adminStatus);
        Assert.Equal("ok", detail.GetProperty("status").GetString());
        Assert.Superset(new HashSet<string>(["config_loaded_at", "monitor", "ledger", "audit"]), new HashSet<string>(Names(detail)));
    }

    [Fact]
    public async Task Readyz_AnswersReadyAlone_ToAnyoneButTheOperator_AndEveryCheck_ToTheAdminToken()
    {
        foreach (var (name, set) in Strangers)
        {
            var (status, body) = await GetAsync("/readyz", set);
            Assert.True(status == HttpStatusCode.OK, $"{name}: {(int)status}");
            Assert.True(Names(body).SequenceEqual(["ready"]), $"{name} saw {body}");
            Assert.True(body.GetProperty("ready").GetBoolean());
        }

        var (adminStatus, detail) = await GetAsync("/readyz", h => h.Authorization = new AuthenticationHeaderValue("Bearer", fixture.AdminToken));
        Assert.Equal(HttpStatusCode.OK, adminStatus);
        Assert.Equal(0, detail.GetProperty("reasons").GetArrayLength());
        Assert.Equal("ok", detail.GetProperty("checks").GetProperty("store").GetString());
        Assert.Equal(0, detail.GetProperty("checks").GetProperty("ledger").GetProperty("pending").GetInt32());
    }

    [Fact]
    public async Task Metrics_AnswerTheMetricsAndAdminTokens_AndRefuseEveryoneElse()
    {
        foreach (var (name, set) in Strangers)
        {
            using var refused = await SendAsync("/metrics", set);
            var body = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{name}: {(int)refused.StatusCode}");
            Assert.DoesNotContain("corridor_", body, StringComparison.Ordinal);
            Assert.DoesNotContain("gen_ai", body, StringComparison.Ordinal);
        }

        foreach (var token in new[] { fixture.MetricsToken.Token, fixture.AdminToken })
        {
            using var scraped = await SendAsync("/metrics", h => h.Authorization = new AuthenticationHeaderValue("Bearer", token));
            Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
            Assert.Contains("# TYPE corridor_ledger_pending gauge", await scraped.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task TheMetricsToken_OpensMetricsAlone_NotTheAdminApiNorTheProbesDetail()
    {
        Action<HttpRequestHeaders> scraper = h => h.Authorization = new AuthenticationHeaderValue("Bearer", fixture.MetricsToken.Token);

        using (var admin = await SendAsync("/admin/tenants", scraper))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, admin.StatusCode);
        }
        Assert.Equal("""{"status":"ok"}""", (await GetAsync("/healthz", scraper)).Body.GetRawText());
        Assert.Equal("""{"ready":true}""", (await GetAsync("/readyz", scraper)).Body.GetRawText());
    }

    [Fact]
    public async Task Metrics_AreOff_WithNeitherTokenConfigured()
    {
        // Variables of this test's own that nobody sets.
        var unset = "CORRIDOR_TEST_UNSET_" + Guid.NewGuid().ToString("N");
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, unset + "_ADMIN", unset + "_METRICS")).WithTimeout();
        using var http = new HttpClient { BaseAddress = live.BaseAddress, Timeout = TestTimeouts.Default };

        using var response = await http.GetAsync("/metrics").WithTimeout();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains($"set {unset}_METRICS", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<HttpResponseMessage> SendAsync(string path, Action<HttpRequestHeaders> set)
    {
        using var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        set(request.Headers);
        return await http.SendAsync(request).WithTimeout();
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path, Action<HttpRequestHeaders> set)
    {
        using var response = await SendAsync(path, set);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static IEnumerable<string> Names(JsonElement body) => body.EnumerateObject().Select(p => p.Name);
}
