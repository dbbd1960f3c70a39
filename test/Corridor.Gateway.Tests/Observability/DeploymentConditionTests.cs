using System.Text.Json;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>
/// What routing has observed of each deployment, shown to the operator: <c>GET /admin/deployments</c> and the
/// <c>corridor_deployment_*</c> metrics, from the real gateway after real failures of a deployment the simulator fails.
/// </summary>
public sealed class DeploymentConditionTests(DeploymentConditionTests.Fixture fixture) : IClassFixture<DeploymentConditionTests.Fixture>
{
    /// <summary>The test catalog with breakers that open after two failures in a row, for ten minutes.</summary>
    public sealed class Fixture : Functional.AdminGatewayFixture
    {
        protected override string Yaml(Uri simulator, string tokenEnv) => TestCatalog.Yaml(simulator, tokenEnv) + """

            routing:
              breaker: { failures: 2, openSeconds: 600 }
            """;
    }

    [Fact]
    public async Task AFailingDeploymentsOpenBreaker_AndItsFallbacksLatency_AreShown_WithTheDeploymentsNoRequestReached()
    {
        var started = DateTimeOffset.UtcNow;
        using var http = fixture.Live.Http();
        for (var i = 0; i < 2; i++)
        {
            // flaky-sg answers 503 every time; each request falls back to flaky-jp.
            using var served = await http.PostAsync("/v1/chat/completions", new StringContent(
                """{"model":"flaky","messages":[{"role":"user","content":"route me"}]}""", System.Text.Encoding.UTF8, "application/json")).WithTimeout();
            Assert.Equal(System.Net.HttpStatusCode.OK, served.StatusCode);
        }
        using var admin = fixture.Admin();

        using var listed = JsonDocument.Parse(await admin.GetStringAsync("/admin/deployments").WithTimeout());
        var metrics = await MetricsScrape.ScrapeAsync(admin);

        var byId = listed.RootElement.EnumerateArray().ToDictionary(d => d.GetProperty("id").GetString()!);
        var failing = byId["flaky-sg"];
        Assert.Equal(("flaky", "openai", "sg", 1), (failing.GetProperty("model").GetString(), failing.GetProperty("vendor").GetString(),
            failing.GetProperty("region").GetString(), failing.GetProperty("priority").GetInt32()));
        Assert.Equal(("open", 2), (failing.GetProperty("breaker").GetString(), failing.GetProperty("consecutive_failures").GetInt32()));
        Assert.InRange(failing.GetProperty("open_until").GetDateTimeOffset(), started.AddSeconds(590), DateTimeOffset.UtcNow.AddSeconds(601));
        Assert.Equal(JsonValueKind.Null, failing.GetProperty("latency_ms").ValueKind);
        var fallback = byId["flaky-jp"];
        Assert.Equal(("closed", 0), (fallback.GetProperty("breaker").GetString(), fallback.GetProperty("consecutive_failures").GetInt32()));
        Assert.True(fallback.GetProperty("latency_ms").GetDouble() > 0);
        Assert.InRange(fallback.GetProperty("measured_at").GetDateTimeOffset(), started, DateTimeOffset.UtcNow);
        var untouched = byId["embed-us"];
        Assert.Equal(("closed", JsonValueKind.Null), (untouched.GetProperty("breaker").GetString(), untouched.GetProperty("latency_ms").ValueKind));

        Assert.Equal(1, Sample(metrics, "corridor_deployment_breaker", "flaky-sg", "open"));
        Assert.Equal(0, Sample(metrics, "corridor_deployment_breaker", "flaky-sg", "closed"));
        Assert.Equal(1, Sample(metrics, "corridor_deployment_breaker", "flaky-jp", "closed"));
        Assert.True(Sample(metrics, "corridor_deployment_latency_seconds", "flaky-jp") > 0);
        Assert.DoesNotContain(metrics.Keys, k => k.StartsWith("corridor_deployment_latency_seconds", StringComparison.Ordinal) && k.Contains("\"flaky-sg\"", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheDeployments_AreTheAdminsOnly()
    {
        using var http = fixture.Live.Http();

        using var refused = await http.GetAsync("/admin/deployments").WithTimeout();

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private static double Sample(Dictionary<string, double> metrics, string name, string deployment, string? state = null) =>
        Assert.Single(metrics, s => s.Key.StartsWith(name + "{", StringComparison.Ordinal)
            && s.Key.Contains($"corridor_deployment=\"{deployment}\"", StringComparison.Ordinal)
            && (state is null || s.Key.Contains($"corridor_breaker_state=\"{state}\"", StringComparison.Ordinal))).Value;
}
