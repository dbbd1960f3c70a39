using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Routing;
using Corridor.Storage;

namespace Corridor.Gateway.Configuration;

/// <summary>Everything <c>corridor.yaml</c> holds, after environment overrides.</summary>
public sealed record CorridorConfig(
    ServerOptions Server,
    StorageOptions Storage,
    LedgerOptions Ledger,
    CatalogConfig Catalog)
{
    public RoutingConfig Routing { get; init; } = RoutingConfig.Default;

    /// <summary>The <c>policy:</c> section as loaded (with its includes); null when the file has none.</summary>
    public PolicyLoadResult? Policy { get; init; }
}

public sealed record ServerOptions(
    string Urls = "http://127.0.0.1:8080",
    long MaxRequestBodyBytes = 8 * 1024 * 1024,
    string AdminTokenEnv = "CORRIDOR_ADMIN_TOKEN",
    TimeSpan? StreamIdleTimeout = null,
    TimeSpan? ConnectTimeout = null)
{
    public TimeSpan EffectiveStreamIdleTimeout => StreamIdleTimeout ?? TimeSpan.FromSeconds(120);
    public TimeSpan EffectiveConnectTimeout => ConnectTimeout ?? TimeSpan.FromSeconds(10);
}

/// <summary>How ledger rows are batched and what of each request is retained for export and evidence.</summary>
public sealed record LedgerOptions(
    int BatchSize = 512,
    TimeSpan? FlushInterval = null,
    bool RetainBodies = true,
    int RetainMaxChars = 6000,
    int RetainRequestMaxBytes = 64 * 1024,
    string? SpoolPath = null)
{
    /// <summary>Where batches the store refused wait to be written (relative to the config file): <c>./data/ledger-spool</c>.</summary>
    public const string DefaultSpoolPath = "./data/ledger-spool";

    public TimeSpan EffectiveFlushInterval => FlushInterval ?? TimeSpan.FromMilliseconds(200);
}
