using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Corridor.Gateway.Tests.Functional;
using Corridor.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Tests.Security;

/// <summary>
/// What the gateway's port answers without a tenant's key: <c>/healthz</c> and <c>/readyz</c> give their status (and
/// the status code a load balancer reads) to anyone, and their detail only to the admin token; nothing else is served
/// outside <c>/v1</c> (a key) and <c>/admin</c> (the admin token).
/// </summary>
public sealed class ProbeTests(AdminGatewayFixture fixture) : IClassFixture<AdminGatewayFixture>
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

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(string path, Action<HttpRequestHeaders> set)
    {
        using var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        set(request.Headers);
        using var response = await http.SendAsync(request).WithTimeout();
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private static IEnumerable<string> Names(JsonElement body) => body.EnumerateObject().Select(p => p.Name);
}
