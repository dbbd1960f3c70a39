using Corridor.Core.Admission;
using Corridor.Gateway.Admission;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Observability;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Recording;
using Corridor.Gateway.Shadow;
using Corridor.Gateway.Translation;
using Corridor.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
        PreferInlineSocketCompletions();
        RunningGateway gateway;
        try
        {
            gateway = await StartAsync(loaded.Config!, urls, cancellationToken, loaded.Files);
        }
        catch (GatewayStartException e)
        {
            await Console.Error.WriteLineAsync($"corridor: not starting:{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", e.Errors)}");
            return 2;
        }
        catch (Exception e) when (CorridorStoreException.IsStoreFailure(e))
        {
            // The store could not be opened or migrated (unreachable, refused, a migration failed): say why and which store.
            await Console.Error.WriteLineAsync($"corridor: not starting: the store {loaded.Config!.Storage.Describe()} could not be opened:{Environment.NewLine}  - {e.Message}");
            return 2;
        }
        var ledger = gateway.Services.GetRequiredService<LedgerWriter>();
        await using (gateway)
        {
            Console.WriteLine($"Corridor is serving on {gateway.BaseAddress} (store: {loaded.Config!.Storage.Describe()})");
            var store = gateway.Services.GetRequiredService<ICorridorStore>();
            if (store.LedgerNotice is { } notice)
            {
                await Console.Error.WriteLineAsync($"corridor: warning: {notice}");
            }
            try
            {
                await WithdrawLedgerNoticeAsync(store, cancellationToken);
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
            Console.WriteLine($"Corridor is stopping: no new connections; requests in flight get up to {loaded.Config!.Server.EffectiveShutdownTimeout.TotalSeconds:0} s");
        }
        Console.WriteLine($"Corridor stopped: {ledger.Written} ledger rows written in {ledger.Commits} commits, {ledger.Lost} lost");
        return ledger.Lost == 0 ? 0 : 1;
    }

    /// <summary>
    /// While the store's ledger notice holds (another process has the ledger journal), checks once a second whether it
    /// still does, and says so on the console once it no longer does, so the start's warning is not left standing.
    /// </summary>
    private static async Task WithdrawLedgerNoticeAsync(ICorridorStore store, CancellationToken cancellationToken)
    {
        if (store.LedgerNotice is null)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            if (store.LedgerNotice is null)
            {
                await Console.Error.WriteLineAsync("corridor: the ledger journal is this gateway's now: the warning above no longer applies");
                return;
            }
        }
    }

    /// <summary>
    /// Socket completions run on the runtime's event threads (one per core) instead of being queued to the thread pool:
    /// with Kestrel's inline scheduling, a request is read, forwarded and answered without waking a pool thread at each
    /// step. On two cores that took the context switches per request at 1,000 requests/s from about 10 to about 3 and is
    /// the larger part of the gain at saturation (bench/README.md). The price: code on the request path must not block,
    /// so store calls there are not allowed, and the admin API, which calls the store, moves to the thread pool first.
    /// Set by <c>corridor serve</c> only, before the first socket exists, and only when the operator did not choose
    /// (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c> turns it off).
    /// </summary>
    private static void PreferInlineSocketCompletions()
    {
        const string name = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(name) is null)
        {
            Environment.SetEnvironmentVariable(name, "1");
        }
    }

    /// <summary>
    /// Starts the gateway on <paramref name="urls"/> (or the configured ones) and returns once it listens.
    /// With <paramref name="configFiles"/> (<see cref="ConfigLoadResult.Files"/> of the load that gave
    /// <paramref name="config"/>), those files are watched and the configuration reloaded when one of them changes.
    /// <paramref name="time"/> is the gateway's clock (the system's unless a test gives a fake one).
    /// </summary>
    public static async Task<RunningGateway> StartAsync(CorridorConfig config, string? urls, CancellationToken cancellationToken, IReadOnlyList<ConfigFile>? configFiles = null,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var active = ActiveConfig.TryCreate(config, Environment.GetEnvironmentVariable, DateTimeOffset.UtcNow, out var errors)
            ?? throw new GatewayStartException(errors);

        var seal = ReasoningSeal.FromEnvironment(config.Server.ReasoningKeyEnv, config.Server.ReasoningPreviousKeyEnv, Environment.GetEnvironmentVariable, out var keyError);
        if (keyError is not null)
        {
            throw new GatewayStartException([keyError]);
        }

        var store = await CorridorStores.OpenAsync(config.Storage, cancellationToken);
        seal ??= await StoredReasoningSealAsync(store, config.Server.ReasoningKeyEnv, time ?? TimeProvider.System, cancellationToken);
        // Corridor's configuration is corridor.yaml, read above. The host's own appsettings.json sources would watch the
        // working directory recursively for changes, and ./data/corridor.db lives there by default: every ledger write
        // would wake a file-system watcher in the gateway. Nothing is read from those files, so nothing is watched.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Logging.AddConsoleLog(config.Observability);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // ASP.NET Core starts an Activity for every request whenever this category would log at Critical, only to
        // give the request's log lines a trace id; nothing here reads it, and it cost a few percent of a request's
        // CPU (bench/README.md). The category logs request start and end, below the Warning minimum anyway.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        builder.WebHost.UseUrls(urls ?? config.Server.Urls);
        // Run the request on the thread that completed the socket read instead of queueing it to the thread pool once
        // more for the application and once for each send (see PreferInlineSocketCompletions).
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = config.Server.MaxRequestBodyBytes;
            ApplyClientLimits(kestrel.Limits, config.Server.Clients);
        });

        var services = builder.Services;
        // Graceful shutdown (docs/shutdown.md): the server stops accepting and gives requests in flight this long to finish;
        // then the hosted services stop in reverse order, the ledger and audit writers last, each writing what it holds.
        services.Configure<HostOptions>(host => host.ShutdownTimeout = config.Server.EffectiveShutdownTimeout);
        services.AddSingleton(time ?? TimeProvider.System);
        services.AddSingleton(store);
        services.AddSingleton(config.Server);
        services.AddSingleton<Admin.OperatorTokens>();
        services.AddSingleton(seal);
        services.AddSingleton<Observability.StoreProbe>();
        services.AddSingleton(config.Ledger);
        services.AddSingleton(config.Storage);
        services.AddSingleton(new GatewayState(active));
        if (configFiles is { Count: > 0 })
        {
            services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ConfigWatcher>(sp, configFiles));
            services.AddHostedService(sp => sp.GetRequiredService<ConfigWatcher>());
        }
        // Made by the container, so the container disposes it (its pooled connections and idle sweep) at shutdown.
        services.AddSingleton(_ => new UpstreamClient(config.Server.EffectiveConnectTimeout));
        services.AddSingleton<KeyCache>();
        services.AddSingleton<Authenticator>();
        services.AddSingleton<FrontDoor.FrontDoor>();
        services.AddSingleton<RouteTable>();
        // With a store a fleet shares (PostgreSQL), rates and hard budgets are leased from it (docs/limits-and-budgets.md).
        FleetLeaseWorker.AddAdmissionCounters(services, store, new LeaseSizing { Expiry = config.Storage.LeaseExpiry });
        services.AddSingleton<Admitter>();
        services.AddSingleton<Forwarder>();
        services.AddSingleton<LedgerWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<LedgerWriter>());
        // Audit batches the store refuses wait beside the ledger's (docs/durability.md).
        services.AddSingleton(new AuditWriterOptions(SpoolPath: config.Ledger.SpoolPath));
        services.AddSingleton<AuditWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<AuditWriter>());
        services.AddHostedService<StoreSync>();
        services.AddSingleton<MonitorService>();
        services.AddHostedService(sp => sp.GetRequiredService<MonitorService>());
        services.AddSingleton<Recorder>();
        // After the ledger and audit writers, so it stops before them and its last rows still land.
        services.AddSingleton<ShadowMirror>();
        services.AddHostedService(sp => sp.GetRequiredService<ShadowMirror>());
        // Last, so that the host stops it first of these, right after the requests in flight: from then on the stop's store
        // work waits for the store until one deadline, the signal plus the shutdown timeout (docs/shutdown.md).
        services.AddSingleton(sp => new StopDeadline(sp.GetRequiredService<TimeProvider>(), config.Server.EffectiveShutdownTimeout));
        services.AddHostedService(sp => sp.GetRequiredService<StopDeadline>());
        // Batches run their requests through the pipeline, so their runner stops before the ledger's and the monitor's.
        services.AddSingleton(config.Batches);
        services.AddSingleton<Batches.BatchRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<Batches.BatchRunner>());
        services.AddHostedService<Batches.BatchRetentionSweep>();
        services.AddSingleton<Batches.BatchEndpoint>();
        services.AddSingleton<Batches.OpenAIBatchApi>();
        services.AddSingleton<Batches.MessageBatchApi>();
        services.AddSingleton(config.Responses);
        services.AddSingleton<StoredResponses.ResponseKeeper>();
        services.AddSingleton<StoredResponses.ResponsesApi>();
        services.AddSingleton<RequestsInFlight>();
        services.AddSingleton<RequestPipeline>();
        services.AddSingleton<TokenCountPipeline>();
        services.AddSingleton<ModelsEndpoint>();
        services.AddSingleton<UnservedEndpoint>();
        services.AddSingleton<UsageEndpoint>();
        services.AddObservability(config.Observability);

        var app = builder.Build();
        await app.Services.GetRequiredService<KeyCache>().RefreshAsync(force: true, cancellationToken);
        await SpendRestore.RestoreAsync(store, app.Services.GetRequiredService<IAdmissionCounters>(), app.Services.GetRequiredService<TimeProvider>(), cancellationToken);
        Metering.TokenCounter.WarmUp();
        await app.Services.GetRequiredService<MonitorService>().RestoreAsync(cancellationToken);
        MapEndpoints(app);
        app.StartObservability();
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningGateway(app, store, new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)));
    }

    /// <summary>
    /// The seal of the reasoning key the store keeps, made by the first gateway on it (docs/translation.md), with the key its
    /// last rotation replaced: without it no gateway starts, since one with a key of its own would refuse the blocks every
    /// other gateway gives out. Running, the gateway takes up the store's rotations (StoreSync).
    /// </summary>
    private static async Task<ReasoningSeal> StoredReasoningSealAsync(ICorridorStore store, string keyEnv, TimeProvider time, CancellationToken cancellationToken)
    {
        string reason;
        try
        {
            // The revision first: a rotation committed after it moves it, and the running gateway reads the keys again.
            var revision = await store.GetRevisionAsync(cancellationToken);
            var secret = await store.GetSecretAsync(GatewaySecrets.ReasoningKey, cancellationToken);
            if (ReasoningSeal.FromStoredKey(secret, time, revision) is { } seal)
            {
                return seal;
            }
            var (which, length) = secret.Value.Length < GatewaySecrets.Bytes ? ("key", secret.Value.Length) : ("previous key", secret.Previous!.Length);
            reason = $"the {which} it keeps has {length} bytes, not {GatewaySecrets.Bytes} (delete the row '{GatewaySecrets.ReasoningKey}' of gateway_secrets for a new one)";
        }
        catch (Exception e) when (CorridorStoreException.IsStoreFailure(e))
        {
            reason = e.Message;
        }
        await store.DisposeAsync();
        throw new GatewayStartException([$"server.reasoningKeyEnv: {keyEnv} is not set and the store could not give the reasoning key: {reason}; "
            + $"set {keyEnv} to keep the key outside the store (docs/translation.md)"]);
    }

    /// <summary>Kestrel's limits on clients, set explicitly (docs/faults.md, "Hostile clients").</summary>
    private static void ApplyClientLimits(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerLimits limits, ClientLimits clients)
    {
        limits.MaxRequestHeadersTotalSize = clients.MaxRequestHeaderBytes;
        limits.MaxRequestHeaderCount = clients.MaxRequestHeaderCount;
        limits.RequestHeadersTimeout = clients.EffectiveRequestHeadersTimeout;
        limits.MinRequestBodyDataRate = clients.MinRequestBodyBytesPerSecond > 0
            ? new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(clients.MinRequestBodyBytesPerSecond, clients.EffectiveMinRequestBodyGrace)
            : null;
    }

    private static void MapEndpoints(WebApplication app)
    {
        var pipeline = app.Services.GetRequiredService<RequestPipeline>();
        app.MapPost("/v1/chat/completions", context => pipeline.InvokeAsync(context, Dialect.OpenAI, Operation.ChatCompletions));
        app.MapPost("/v1/messages", context => pipeline.InvokeAsync(context, Dialect.Anthropic, Operation.Messages));
        app.MapPost("/v1/messages/count_tokens", app.Services.GetRequiredService<TokenCountPipeline>().InvokeAsync);
        app.MapPost("/v1/responses", context => pipeline.InvokeAsync(context, Dialect.OpenAI, Operation.Responses));
        var stored = app.Services.GetRequiredService<StoredResponses.ResponsesApi>();
        app.MapGet("/v1/responses/{id}", stored.GetAsync);
        app.MapDelete("/v1/responses/{id}", stored.DeleteAsync);
        app.MapGet("/v1/responses/{id}/input_items", stored.ListInputItemsAsync);
        app.MapPost("/v1/embeddings", context => pipeline.InvokeAsync(context, Dialect.OpenAI, Operation.Embeddings));
        var models = app.Services.GetRequiredService<ModelsEndpoint>();
        app.MapGet("/v1/models", models.ListAsync);
        app.MapGet("/v1/models/{**id}", models.RetrieveAsync);
        app.MapGet("/v1/usage", app.Services.GetRequiredService<UsageEndpoint>().InvokeAsync);
        var files = app.Services.GetRequiredService<Batches.OpenAIBatchApi>();
        app.MapPost("/v1/files", files.UploadFileAsync);
        app.MapGet("/v1/files", files.ListFilesAsync);
        app.MapGet("/v1/files/{id}", files.GetFileAsync);
        app.MapDelete("/v1/files/{id}", files.DeleteFileAsync);
        app.MapGet("/v1/files/{id}/content", files.GetFileContentAsync);
        app.MapPost("/v1/batches", files.CreateBatchAsync);
        app.MapGet("/v1/batches", files.ListBatchesAsync);
        app.MapGet("/v1/batches/{id}", files.GetBatchAsync);
        app.MapPost("/v1/batches/{id}/cancel", files.CancelBatchAsync);
        var messageBatches = app.Services.GetRequiredService<Batches.MessageBatchApi>();
        app.MapPost("/v1/messages/batches", messageBatches.CreateAsync);
        app.MapGet("/v1/messages/batches", messageBatches.ListAsync);
        app.MapGet("/v1/messages/batches/{id}", messageBatches.GetAsync);
        app.MapDelete("/v1/messages/batches/{id}", messageBatches.DeleteAsync);
        app.MapPost("/v1/messages/batches/{id}/cancel", messageBatches.CancelAsync);
        app.MapGet("/v1/messages/batches/{id}/results", messageBatches.ResultsAsync);
        app.MapGet("/healthz", HealthEndpoint.InvokeAsync);
        Admin.AdminApi.Map(app);
        app.MapFallback("/v1/{**path}", app.Services.GetRequiredService<UnservedEndpoint>().InvokeAsync);
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
        // The store's listener (PostgreSQL's LISTEN) is waited for until the stop's deadline at most, as the rest of the stop's
        // store work is: one connecting again to a database that stopped answering held the exit for 60 s.
        if (_store is IStoreChangeNotifications notifications)
        {
            await notifications.StopListeningAsync(_app.Services.GetRequiredService<StopDeadline>().StoreTimeout);
        }
        await _app.DisposeAsync();
        await _store.DisposeAsync();
    }
}

/// <summary>The gateway refused to start; every reason is listed.</summary>
public sealed class GatewayStartException(IReadOnlyList<string> errors) : Exception(string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
