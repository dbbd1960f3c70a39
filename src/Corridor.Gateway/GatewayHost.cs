using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Recording;
using Corridor.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway;

/// <summary>Builds and runs the gateway's web host.</summary>
public static class GatewayHost
{
    /// <summary>Runs <c>corridor serve</c> until cancelled. Returns the process exit code.</summary>
    public static async Task<int> RunAsync(string configPath, string? urls, CancellationToken cancellationToken)
    {
        var loaded = ConfigLoader.Load(configPath);
        if (!loaded.Succeeded)
        {
            await Console.Error.WriteLineAsync($"corridor: {configPath} is invalid; not starting:");
            foreach (var error in loaded.Errors)
            {
                await Console.Error.WriteLineAsync($"  - {error}");
            }
            return 2;
        }
        RunningGateway gateway;
        try
        {
            gateway = await StartAsync(loaded.Config!, urls, cancellationToken, configPath);
        }
        catch (GatewayStartException e)
        {
            await Console.Error.WriteLineAsync($"corridor: not starting:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", e.Errors)}");
            return 2;
        }
        catch (Exception e) when (e is CorridorStoreException or Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException)
        {
            // The store could not be opened or migrated (unreachable, refused, a migration failed): say why and which store.
            await Console.Error.WriteLineAsync($"corridor: not starting: the store {loaded.Config!.Storage.Describe()} could not be opened:{Environment.NewLine}  - {e.Message}");
            return 2;
        }
        await using (gateway)
        {
            Console.WriteLine($"Corridor is serving on {gateway.BaseAddress} (store: {loaded.Config!.Storage.Describe()})");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }
        return 0;
    }

    /// <summary>
    /// Starts the gateway on <paramref name="urls"/> (or the configured ones) and returns once it listens.
    /// With <paramref name="configPath"/>, the file is watched and reloaded when it changes.
    /// </summary>
    public static async Task<RunningGateway> StartAsync(CorridorConfig config, string? urls, CancellationToken cancellationToken, string? configPath = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var active = ActiveConfig.TryCreate(config, Environment.GetEnvironmentVariable, DateTimeOffset.UtcNow, out var errors)
            ?? throw new GatewayStartException(errors);

        var store = await CorridorStores.OpenAsync(config.Storage, cancellationToken);
        // Corridor's configuration is corridor.yaml, read above. The host's own appsettings.json sources would watch the
        // working directory recursively for changes, and ./data/corridor.db lives there by default: every ledger write
        // would wake a file-system watcher in the gateway. Nothing is read from those files, so nothing is watched.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls(urls ?? config.Server.Urls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = config.Server.MaxRequestBodyBytes;
        });

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(store);
        services.AddSingleton(config.Server);
        services.AddSingleton(config.Ledger);
        services.AddSingleton(config.Storage);
        services.AddSingleton(new GatewayState(active));
        if (configPath is not null)
        {
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConfigWatcher>(sp, configPath));
            services.AddHostedService(sp => sp.GetRequiredService<ConfigWatcher>());
        }
        services.AddSingleton(new UpstreamClient(config.Server.EffectiveConnectTimeout));
        services.AddSingleton<KeyCache>();
        services.AddSingleton<Authenticator>();
        services.AddSingleton<FrontDoor.FrontDoor>();
        services.AddSingleton(sp => new RouteTable(config.Routing, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<Forwarder>();
        services.AddSingleton<LedgerWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<LedgerWriter>());
        services.AddSingleton(new AuditWriterOptions());
        services.AddSingleton<AuditWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditWriter>());
        services.AddHostedService<StoreSync>();
        services.AddSingleton<Recorder>();
        services.AddSingleton<RequestPipeline>();
        services.AddSingleton<ModelsEndpoint>();

        var app = builder.Build();
        await app.Services.GetRequiredService<KeyCache>().RefreshAsync(force: true, cancellationToken);
        MapEndpoints(app);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningGateway(app, store, new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)));
    }

    private static void MapEndpoints(WebApplication app)
    {
        var pipeline = app.Services.GetRequiredService<RequestPipeline>();
        app.MapPost("/v1/chat/completions", context => pipeline.InvokeAsync(context, Dialect.OpenAI, Operation.ChatCompletions));
        app.MapPost("/v1/messages", context => pipeline.InvokeAsync(context, Dialect.Anthropic, Operation.Messages));
        app.MapPost("/v1/embeddings", context => pipeline.InvokeAsync(context, Dialect.OpenAI, Operation.Embeddings));
        app.MapGet("/v1/models", app.Services.GetRequiredService<ModelsEndpoint>().InvokeAsync);
        app.MapGet("/healthz", HealthEndpoint.InvokeAsync);
        Admin.AdminApi.Map(app);
    }
}

/// <summary>A gateway that is listening; disposing it stops it after the ledger is written.</summary>
public sealed class RunningGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ICorridorStore _store;

    internal RunningGateway(WebApplication app, ICorridorStore store, Uri baseAddress)
    {
        _app = app;
        _store = store;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Waits until every ledger row recorded so far is in the store.</summary>
    public Task FlushLedgerAsync(CancellationToken cancellationToken) =>
        _app.Services.GetRequiredService<LedgerWriter>().FlushAsync(cancellationToken);

    /// <summary>Waits until every audit entry enqueued so far is in the store.</summary>
    public Task FlushAuditAsync(CancellationToken cancellationToken) =>
        _app.Services.GetRequiredService<AuditWriter>().FlushAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _store.DisposeAsync();
    }
}

/// <summary>The gateway refused to start; every reason is listed.</summary>
public sealed class GatewayStartException(IReadOnlyList<string> errors) : Exception(string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
