using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using Corridor.Core.Metering;
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
    public static readonly TimeSpan Timeout = TestTimeouts.Default;

    private LiveGateway(RunningSimulator simulator, RunningGateway gateway, TempDirectory directory, CorridorConfig config)
    {
        Simulator = simulator;
        Gateway = gateway;
        Directory = directory;
        Config = config;
    }

    public RunningSimulator Simulator { get; }

    public RunningGateway Gateway { get; private set; }

    /// <summary>The temporary folder holding the store.</summary>
    public TempDirectory Directory { get; }

    /// <summary>The configuration the gateway runs with.</summary>
    public CorridorConfig Config { get; }

    /// <summary>The tenant <c>acme</c>'s key.</summary>
    public string Secret { get; private set; } = "";

    public Uri BaseAddress => Gateway.BaseAddress;

    public ICorridorStore Store => (ICorridorStore)Gateway.Services.GetService(typeof(ICorridorStore))!;

    /// <summary>The gateway's clock when the test gave one.</summary>
    private TimeProvider? _time;

    /// <summary>
    /// A stack on a fake clock that starts now (so the keys and tenants the stack makes with the wall clock are not from the
    /// future), with the test catalog and <paramref name="moreYaml"/> (sections of its own). The store's grace is years: a
    /// clock moved by hours would otherwise look like a store out of reach for that long.
    /// </summary>
    public static Task<LiveGateway> StartOnFakeClockAsync(out FakeClock clock, string moreYaml = "", string? adminTokenEnv = null)
    {
        clock = new FakeClock(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        return StartAsync(simulator => TestCatalog.Yaml(simulator, adminTokenEnv) + "\n\nstorage:\n  unavailableGraceSeconds: 315360000\n" + moreYaml, time: clock);
    }

    /// <summary>
    /// Starts the stack with <see cref="TestCatalog"/> (or the YAML <paramref name="catalogYaml"/> builds from the simulator's
    /// address), the gateway on <paramref name="time"/> when given (a <see cref="FakeClock"/>: what the gateway waits for on
    /// its clock then waits for the test to move it).
    /// </summary>
    public static async Task<LiveGateway> StartAsync(Func<Uri, string>? catalogYaml = null, SimulatorOptions? simulatorOptions = null, TimeProvider? time = null)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0", simulatorOptions ?? new SimulatorOptions { TokenInterval = TimeSpan.Zero }, cts.Token);
        var directory = new TempDirectory();
        RunningGateway? gateway = null;
        try
        {
            var yaml = (catalogYaml ?? TestCatalog.Yaml)(simulator.BaseAddress);
            var loaded = ConfigLoader.Parse(yaml, directory.Path, environment: null);
            if (!loaded.Succeeded)
            {
                throw new InvalidOperationException("test catalog invalid: " + string.Join("; ", loaded.Errors));
            }
            var config = loaded.Config!;
            gateway = await GatewayHost.StartAsync(config, "http://127.0.0.1:0", cts.Token, time: time);
            var stack = new LiveGateway(simulator, gateway, directory, config) { _time = time };
            stack.Secret = await stack.AddTenantWithKeyAsync("acme", "SG");
            return stack;
        }
        catch
        {
            if (gateway is not null)
            {
                await gateway.DisposeAsync();
            }
            await simulator.DisposeAsync();
            directory.Dispose();
            throw;
        }
    }

    /// <summary>Stops the gateway and starts it again on the same store and configuration (a restart), on a new port.</summary>
    public async Task RestartGatewayAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        await Gateway.DisposeAsync();
        Gateway = await GatewayHost.StartAsync(Config, "http://127.0.0.1:0", cts.Token, time: _time);
    }

    /// <summary>Adds a tenant through the store (as the CLI does) and returns a new key's secret, usable at once.</summary>
    public async Task<string> AddTenantWithKeyAsync(string tenantId, string country, DateTimeOffset? keyExpiresAt = null)
    {
        using var cts = new CancellationTokenSource(Timeout);
        if (await Store.GetTenantAsync(tenantId, cts.Token) is null)
        {
            await Store.AddTenantAsync(new Tenant(tenantId, tenantId + " Ltd.", country, DateTimeOffset.UtcNow), cts.Token);
        }
        var issued = ApiKeys.Create(tenantId, DateTimeOffset.UtcNow, expiresAt: keyExpiresAt);
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
            // On a fake clock the gateway looks at its store again only when the clock has moved that far.
            (_time as FakeClock)?.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>
    /// The ledger row of one request. The row is recorded just after the response is sent, so this
    /// flushes and looks again until it is there (or the timeout passes).
    /// </summary>
    public Task<LedgerEntry> LedgerRowAsync(string requestId) => LedgerRowAsync(row => row.RequestId == requestId);

    /// <summary>The first ledger row that matches, waiting (with the timeout) until one is written.</summary>
    public async Task<LedgerEntry> LedgerRowAsync(Func<LedgerEntry, bool> match)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            await Gateway.FlushLedgerAsync(cts.Token);
            await foreach (var row in Store.ReadLedgerAsync(null, null, cts.Token))
            {
                if (match(row))
                {
                    return row;
                }
            }
            await Task.Delay(20, cts.Token);
        }
    }

    /// <summary>Requests the simulator received, per path (<c>GET /_sim/stats</c>).</summary>
    public async Task<IReadOnlyDictionary<string, long>> SimulatorRequestsAsync() => (await SimulatorStatsAsync())?.Paths ?? [];

    /// <summary>Chat requests the simulator received whose history passed a model's reasoning back (<c>GET /_sim/stats</c>).</summary>
    public async Task<long> SimulatorReasoningPassedBackAsync() => (await SimulatorStatsAsync())?.ReasoningPassedBack ?? 0;

    private async Task<SimulatorStats?> SimulatorStatsAsync()
    {
        using var http = new HttpClient { BaseAddress = Simulator.BaseAddress, Timeout = Timeout };
        return await http.GetFromJsonAsync<SimulatorStats>("/_sim/stats");
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

    /// <summary>The official OpenAI SDK pointed at the gateway, without retries so every failure is seen.</summary>
    public OpenAIClient OpenAI(string? secret = null, ResponseLog? log = null)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(BaseAddress, "/v1"),
            NetworkTimeout = Timeout,
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
        };
        if (log is not null)
        {
            options.AddPolicy(log.CreateOpenAIPolicy(), PipelinePosition.PerCall);
        }
        return new OpenAIClient(new ApiKeyCredential(secret ?? Secret), options);
    }

    /// <summary>The official Anthropic SDK pointed at the gateway, without retries so every failure is seen.</summary>
    public global::Anthropic.AnthropicClient Anthropic(string? secret = null, ResponseLog? log = null) => new()
    {
        ApiKey = secret ?? Secret,
        BaseUrl = BaseAddress.ToString().TrimEnd('/'),
        Timeout = Timeout,
        MaxRetries = 0,
        Handlers = log is null ? [] : [log.CreateHandler()],
    };

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Simulator.DisposeAsync();
        Directory.Dispose();
    }

    private sealed record SimulatorStats(long Total, Dictionary<string, long> Paths, long ReasoningPassedBack);
}
