using Corridor.Core.Catalog;
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
using Microsoft.AspNetCore.Http;
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
            gateway = await StartAsync(loaded.Config!, urls, cancellationToken);
        }
        catch (GatewayStartException e)
        {
            await Console.Error.WriteLineAsync($"corridor: not starting:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", e.Errors)}");
            return 2;
        }
        await using (gateway)
        {
            Console.WriteLine($"Corridor is serving on {gateway.BaseAddress} (store: {loaded.Config!.Storage.SqlitePath})");
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

    /// <summary>Starts the gateway on <paramref name="urls"/> (or the configured ones) and returns once it listens.</summary>
    public static async Task<RunningGateway> StartAsync(CorridorConfig config, string? urls, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        var catalog = Catalog.TryCreate(config.Catalog, out var catalogErrors);
        var missing = catalog is null ? [] : Upstreams.MissingCredentials(catalog, Environment.GetEnvironmentVariable).ToList();
        if (catalog is null || missing.Count > 0)
        {
            throw new GatewayStartException([.. catalogErrors, .. missing]);
        }

        var store = await CorridorStores.OpenAsync(config.Storage, cancellationToken);
        var builder = WebApplication.CreateSlimBuilder();
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
        services.AddSingleton(catalog);
        services.AddSingleton<Func<Catalog>>(() => catalog);
        services.AddSingleton(sp => new Upstreams(catalog, Environment.GetEnvironmentVariable, config.Server.EffectiveConnectTimeout));
        services.AddSingleton<KeyCache>();
        services.AddSingleton<Authenticator>();
        services.AddSingleton<Entitlement>();
        services.AddSingleton<FrontDoor.FrontDoor>();
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
        app.MapGet("/healthz", () => Results.Text("ok"));
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
