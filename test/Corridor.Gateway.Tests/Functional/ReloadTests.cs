using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Corridor.Core.Tenants;
using Corridor.Gateway.Configuration;
using Corridor.Simulator;
using Corridor.Storage;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>A running gateway picks up a changed corridor.yaml, and keeps its last good configuration when the change is invalid.</summary>
public sealed class ReloadTests
{
    [Fact]
    public async Task ChangedFile_IsServed_AndABrokenOne_KeepsTheLastGood()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0", new SimulatorOptions { TokenInterval = TimeSpan.Zero }, cts.Token);
        var directory = Path.Combine(Path.GetTempPath(), "corridor-reload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "corridor.yaml");
        using var adminToken = new TokenVariable();
        var original = TestCatalog.Yaml(simulator.BaseAddress, adminToken.Name);
        await File.WriteAllTextAsync(path, original, cts.Token);
        var (gateway, http) = await StartWithKeyAsync(path, cts.Token);
        await using var running = gateway;
        using var client = http;
        using var admin = adminToken.Client(gateway.BaseAddress);

        Assert.Equal(HttpStatusCode.NotFound, await ChatStatusAsync(http, "gpt-4.1-nano", cts.Token));

        await File.WriteAllTextAsync(path, original
            .Replace("models:\n", "models:\n  - { id: gpt-4.1-nano, vendor: openai, capabilities: [chat], contextWindow: 1000 }\n", StringComparison.Ordinal)
            .Replace("deployments:\n", "deployments:\n  - { id: nano-sg, model: gpt-4.1-nano, region: sg, price: { input: 0.1, output: 0.4 } }\n", StringComparison.Ordinal), cts.Token);
        await WaitUntilAsync(async () => await ChatStatusAsync(http, "gpt-4.1-nano", cts.Token) == HttpStatusCode.OK, cts.Token);

        await File.WriteAllTextAsync(path, "vendors: [ {id: broken", cts.Token);
        await WaitUntilAsync(async () => (await HealthAsync(http, cts.Token)).GetProperty("status").GetString() == "degraded", cts.Token);

        // The operator sees why; a tenant's key, or no key, sees that the gateway is degraded and not the reload's errors.
        var health = await HealthAsync(admin, cts.Token);
        Assert.Equal("degraded", health.GetProperty("status").GetString());
        Assert.False(health.GetProperty("last_reload").GetProperty("succeeded").GetBoolean());
        Assert.NotEmpty(health.GetProperty("last_reload").GetProperty("errors").EnumerateArray());
        using var stranger = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = LiveGateway.Timeout };
        foreach (var caller in new[] { http, stranger })
        {
            Assert.Equal("""{"status":"degraded"}""", (await HealthAsync(caller, cts.Token)).GetRawText());
        }
        Assert.Equal(HttpStatusCode.OK, await ChatStatusAsync(http, "gpt-4.1-nano", cts.Token));
    }

    [Fact]
    public async Task AChangedPolicyInclude_IsServed_ThoughCorridorYamlIsUnchanged()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0", new SimulatorOptions { TokenInterval = TimeSpan.Zero }, cts.Token);
        var directory = Path.Combine(Path.GetTempPath(), "corridor-reload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(directory, "policy"));
        var path = Path.Combine(directory, "corridor.yaml");
        var policyPath = Path.Combine(directory, "policy", "openai.yaml");
        const string Grant = """
            version: "include-1"
            rules:
              - id: openai
                match: { vendors: [openai] }
                allow_jurisdictions: ["*"]
            """;
        await File.WriteAllTextAsync(policyPath, Grant, cts.Token);
        await File.WriteAllTextAsync(path, TestCatalog.Yaml(simulator.BaseAddress) + "\npolicy:\n  include: [policy/openai.yaml]\n", cts.Token);
        var (gateway, http) = await StartWithKeyAsync(path, cts.Token);
        await using var running = gateway;
        using var client = http;
        Assert.Equal(HttpStatusCode.OK, await ChatStatusAsync(http, "gpt-4.1", cts.Token));

        // The grant is withdrawn from Singapore in the included file only; corridor.yaml does not change.
        await File.WriteAllTextAsync(policyPath, Grant + "\n    deny_jurisdictions: [SG]\n", cts.Token);
        File.SetLastWriteTimeUtc(policyPath, DateTime.UtcNow.AddSeconds(5));

        using var waited = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        waited.CancelAfter(TimeSpan.FromSeconds(20));
        await WaitUntilAsync(async () => await ChatStatusAsync(http, "gpt-4.1", cts.Token) == HttpStatusCode.Forbidden, waited.Token);
    }

    [Fact]
    public async Task AnEditMadeBetweenTheLoadAndTheStart_IsServed()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0", new SimulatorOptions { TokenInterval = TimeSpan.Zero }, cts.Token);
        var directory = Path.Combine(Path.GetTempPath(), "corridor-reload-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "corridor.yaml");
        var original = TestCatalog.Yaml(simulator.BaseAddress);
        await File.WriteAllTextAsync(path, original, cts.Token);
        var loaded = ConfigLoader.Load(path);

        // `corridor serve` has read the file and is still starting when the operator saves an edit.
        await File.WriteAllTextAsync(path, original
            .Replace("models:\n", "models:\n  - { id: gpt-4.1-nano, vendor: openai, capabilities: [chat], contextWindow: 1000 }\n", StringComparison.Ordinal)
            .Replace("deployments:\n", "deployments:\n  - { id: nano-sg, model: gpt-4.1-nano, region: sg, price: { input: 0.1, output: 0.4 } }\n", StringComparison.Ordinal), cts.Token);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        var (gateway, http) = await StartWithKeyAsync(loaded, cts.Token);
        await using var running = gateway;
        using var client = http;

        using var waited = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        waited.CancelAfter(TimeSpan.FromSeconds(20));
        await WaitUntilAsync(async () => await ChatStatusAsync(http, "gpt-4.1-nano", cts.Token) == HttpStatusCode.OK, waited.Token);
    }

    private static async Task<HttpStatusCode> ChatStatusAsync(HttpClient http, string model, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("/v1/chat/completions", new { model, messages = new[] { new { role = "user", content = "hi" } } }, cancellationToken);
        return response.StatusCode;
    }

    private static async Task<JsonElement> HealthAsync(HttpClient http, CancellationToken cancellationToken) =>
        JsonDocument.Parse(await http.GetStringAsync("/healthz", cancellationToken)).RootElement.Clone();

    /// <summary>
    /// Starts the gateway on the configuration file at <paramref name="path"/> (watched for changes) and gives tenant
    /// <c>acme</c> a key; the client it returns carries the key, which works once the key cache has refreshed.
    /// </summary>
    private static Task<(RunningGateway Gateway, HttpClient Http)> StartWithKeyAsync(string path, CancellationToken cancellationToken) =>
        StartWithKeyAsync(ConfigLoader.Load(path), cancellationToken);

    private static async Task<(RunningGateway Gateway, HttpClient Http)> StartWithKeyAsync(ConfigLoadResult loaded, CancellationToken cancellationToken)
    {
        Assert.True(loaded.Succeeded, string.Join("; ", loaded.Errors));
        var gateway = await GatewayHost.StartAsync(loaded.Config!, "http://127.0.0.1:0", cancellationToken, loaded.Files);
        var store = (ICorridorStore)gateway.Services.GetService(typeof(ICorridorStore))!;
        await store.AddTenantAsync(new Tenant("acme", "Acme Ltd.", "SG", DateTimeOffset.UtcNow), cancellationToken);
        var issued = ApiKeys.Create("acme", DateTimeOffset.UtcNow);
        await store.AddKeyAsync(issued.Key, cancellationToken);
        var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = LiveGateway.Timeout };
        http.DefaultRequestHeaders.Authorization = new("Bearer", issued.Secret);
        // A key added through the store reaches the key cache on its next refresh (every 500 ms), not at once.
        await WaitUntilAsync(async () =>
        {
            using var models = await http.GetAsync("/v1/models", cancellationToken);
            return models.IsSuccessStatusCode;
        }, cancellationToken);
        return (gateway, http);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        while (!await condition())
        {
            await Task.Delay(100, cancellationToken);
        }
    }
}
