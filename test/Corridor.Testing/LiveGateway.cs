using System.ClientModel;
using Corridor.Core.Tenants;
using Corridor.Gateway;
using Corridor.Gateway.Configuration;
using Corridor.Simulator;
using Corridor.Storage;
using OpenAI;

namespace Corridor.Testing;

/// <summary>
/// A real simulator and a real gateway on loopback ports, with a throwaway SQLite file, one tenant and one key.
/// Every functional test talks to it over HTTP with the official SDKs.
/// </summary>
public sealed class LiveGateway : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private LiveGateway(RunningSimulator simulator, RunningGateway gateway, string directory, string secret)
    {
        Simulator = simulator;
        Gateway = gateway;
        Directory = directory;
        Secret = secret;
    }

    public RunningSimulator Simulator { get; }

    public RunningGateway Gateway { get; }

    /// <summary>The temporary folder holding the store.</summary>
    public string Directory { get; }

    /// <summary>The tenant <c>acme</c>'s key.</summary>
    public string Secret { get; }

    public Uri BaseAddress => Gateway.BaseAddress;

    public ICorridorStore Store => (ICorridorStore)Gateway.Services.GetService(typeof(ICorridorStore))!;

    /// <summary>Starts the stack with <see cref="TestCatalog"/> (or the YAML <paramref name="catalogYaml"/> builds from the simulator's address).</summary>
    public static async Task<LiveGateway> StartAsync(Func<Uri, string>? catalogYaml = null, SimulatorOptions? simulatorOptions = null)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0", simulatorOptions ?? new SimulatorOptions { TokenInterval = TimeSpan.Zero }, cts.Token);
        var directory = Path.Combine(Path.GetTempPath(), "corridor-test-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var yaml = (catalogYaml ?? TestCatalog.Yaml)(simulator.BaseAddress);
        var loaded = ConfigLoader.Parse(yaml, directory, environment: null);
        if (!loaded.Succeeded)
        {
            throw new InvalidOperationException("test catalog invalid: " + string.Join("; ", loaded.Errors));
        }
        var config = loaded.Config! with { Ledger = loaded.Config!.Ledger with { FlushInterval = TimeSpan.FromMilliseconds(5) } };
        var gateway = await GatewayHost.StartAsync(config, "http://127.0.0.1:0", cts.Token);
        var store = (ICorridorStore)gateway.Services.GetService(typeof(ICorridorStore))!;
        var stack = new LiveGateway(simulator, gateway, directory, "");
        var secret = await stack.AddTenantWithKeyAsync("acme", "SG");
        return new LiveGateway(simulator, gateway, directory, secret);
    }

    /// <summary>Adds a tenant through the store (as the CLI does) and returns a new key's secret, usable at once.</summary>
    public async Task<string> AddTenantWithKeyAsync(string tenantId, string country)
    {
        using var cts = new CancellationTokenSource(Timeout);
        if (await Store.GetTenantAsync(tenantId, cts.Token) is null)
        {
            await Store.AddTenantAsync(new Tenant(tenantId, tenantId + " Ltd.", country, DateTimeOffset.UtcNow), cts.Token);
        }
        var issued = ApiKeys.Create(tenantId, DateTimeOffset.UtcNow);
        await Store.AddKeyAsync(issued.Key, cts.Token);
        await WaitForKeyAsync(issued.Secret, cts.Token);
        return issued.Secret;
    }

    /// <summary>Waits until the gateway's key cache has picked up a change made through the store.</summary>
    private async Task WaitForKeyAsync(string secret, CancellationToken cancellationToken)
    {
        using var http = Http(secret);
        while (true)
        {
            using var response = await http.GetAsync(new Uri(BaseAddress, "/v1/models"), cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return;
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    public HttpClient Http(string? secret = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout };
        if ((secret ?? Secret) is { Length: > 0 } key)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    /// <summary>The official OpenAI SDK pointed at the gateway.</summary>
    public OpenAIClient OpenAI(string? secret = null) =>
        new(new ApiKeyCredential(secret ?? Secret), new OpenAIClientOptions { Endpoint = new Uri(BaseAddress, "/v1"), NetworkTimeout = Timeout });

    /// <summary>The official Anthropic SDK pointed at the gateway.</summary>
    public Anthropic.AnthropicClient Anthropic(string? secret = null) =>
        new() { ApiKey = secret ?? Secret, BaseUrl = BaseAddress.ToString().TrimEnd('/'), Timeout = Timeout };

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Simulator.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
