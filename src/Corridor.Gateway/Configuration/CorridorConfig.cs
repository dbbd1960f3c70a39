using Corridor.Core.Admission;
using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Routing;
using Corridor.Core.Shadow;
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

    /// <summary>The <c>limits:</c> section: how tokens are weighted, the default output cap, and default limits.</summary>
    public AdmissionOptions Admission { get; init; } = AdmissionOptions.Default;
    /// <summary>The <c>shadow:</c> section: which models' traffic is mirrored to which candidates.</summary>
    public ShadowConfig Shadow { get; init; } = ShadowConfig.None;

    /// <summary>The <c>policy:</c> section as loaded (with its includes); null when the file has none.</summary>
    public PolicyLoadResult? Policy { get; init; }

    /// <summary>The <c>monitor:</c> section: the distillation monitor's scoring, what each level does, and cases.</summary>
    public MonitorSettings Monitor { get; init; } = MonitorSettings.Default;

    /// <summary>The <c>observability:</c> section: log format, OTLP export of the metrics, readiness bounds.</summary>
    public Observability.ObservabilityOptions Observability { get; init; } = Gateway.Observability.ObservabilityOptions.Default;

    /// <summary>The <c>batches:</c> section: how batches run and how large they and their files may be.</summary>
    public Batches.BatchOptions Batches { get; init; } = Gateway.Batches.BatchOptions.Default;

    /// <summary>The <c>responses:</c> section: how long stored Responses API answers are kept.</summary>
    public StoredResponses.ResponsesOptions Responses { get; init; } = StoredResponses.ResponsesOptions.Default;
}

public sealed record ServerOptions(
    string Urls = "http://127.0.0.1:8080",
    long MaxRequestBodyBytes = 8 * 1024 * 1024,
    string AdminTokenEnv = "CORRIDOR_ADMIN_TOKEN",
    TimeSpan? StreamIdleTimeout = null,
    TimeSpan? ConnectTimeout = null,
    TimeSpan? ShutdownTimeout = null)
{
    /// <summary>Header, header-time and body-rate limits on clients (Kestrel's), from the same <c>server:</c> section.</summary>
    public ClientLimits Clients { get; init; } = ClientLimits.Default;

    /// <summary>
    /// The environment variable holding the token a metrics scraper presents for <c>/metrics</c>, so it needs no admin
    /// token (which opens the whole admin API); <c>/metrics</c> also takes the admin token.
    /// </summary>
    public string MetricsTokenEnv { get; init; } = "CORRIDOR_METRICS_TOKEN";

    /// <summary>
    /// The environment variable holding the key Corridor signs and seals the reasoning it gives Anthropic clients with
    /// (docs/translation.md): the same on every gateway of a fleet, so a tool loop's next step may reach any of them and
    /// a restart; unset, the gateways use the key the store keeps.
    /// </summary>
    public string ReasoningKeyEnv { get; init; } = "CORRIDOR_REASONING_KEY";

    /// <summary>
    /// The environment variable holding the reasoning key <see cref="ReasoningKeyEnv"/>'s replaced, still accepted for the
    /// blocks it made but never used to make one (docs/operations.md, "Rotating the reasoning key").
    /// </summary>
    public string ReasoningPreviousKeyEnv { get; init; } = "CORRIDOR_REASONING_PREVIOUS_KEY";
    /// <summary>
    /// The longest <see cref="ShutdownTimeout"/>: <c>corridor serve</c> ends regardless a few minutes after the signal
    /// (the command line's grace, Cli.ShutdownGrace), and the ledger and audit flush must fit in after the drain.
    /// </summary>
    public static readonly TimeSpan MaxShutdownTimeout = TimeSpan.FromSeconds(300);

    public TimeSpan EffectiveStreamIdleTimeout => StreamIdleTimeout ?? TimeSpan.FromSeconds(120);
    public TimeSpan EffectiveConnectTimeout => ConnectTimeout ?? TimeSpan.FromSeconds(10);

    /// <summary>How long a graceful shutdown lets requests in flight (streams included) finish before cutting them off.</summary>
    public TimeSpan EffectiveShutdownTimeout => ShutdownTimeout ?? TimeSpan.FromSeconds(30);
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

    /// <summary>
    /// Extra time a batch gathers before its commit. None by default: with group commit a batch is whatever arrived while
    /// the previous one was written, and every response waits for its batch (docs/durability.md).
    /// </summary>
    public TimeSpan EffectiveFlushInterval => FlushInterval ?? TimeSpan.Zero;

    /// <summary>The largest <see cref="BatchSize"/>: the writer keeps two lists of that capacity.</summary>
    public const int MaxBatchSize = 65_536;

    /// <summary>The longest <see cref="FlushInterval"/>: every response waits that much longer for its row.</summary>
    public static readonly TimeSpan MaxFlushInterval = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Every error at once. Out of these bounds the writer would loop on empty batches (0), fail to start (negative),
    /// stop on its first timer (a negative interval), or fail each request it records (a negative cap).
    /// </summary>
    public IEnumerable<string> Validate()
    {
        if (BatchSize is < 1 or > MaxBatchSize)
        {
            yield return $"ledger.batchSize must be from 1 to {MaxBatchSize}";
        }
        if (FlushInterval is { } interval && (interval < TimeSpan.Zero || interval > MaxFlushInterval))
        {
            yield return $"ledger.flushIntervalMs must be from 0 to {MaxFlushInterval.TotalMilliseconds:0}";
        }
        if (RetainMaxChars < 0)
        {
            yield return "ledger.retainMaxChars must not be negative";
        }
        if (RetainRequestMaxBytes < 0)
        {
            yield return "ledger.retainRequestMaxBytes must not be negative";
        }
    }
}

/// <summary>
/// How admission counts: tokens per minute are input tokens times <see cref="InputTokenWeight"/> plus output tokens times
/// <see cref="OutputTokenWeight"/>; a request without <c>max_tokens</c> reserves its model's <c>maxOutputTokens</c>, else
/// <see cref="DefaultMaxOutputTokens"/>. Tenants and keys without limits of their own (field by field) have the defaults.
/// Budgets are in <see cref="Currency"/>, the currency the price book is written in.
/// </summary>
public sealed record AdmissionOptions(
    string Currency = "USD",
    double InputTokenWeight = 1,
    double OutputTokenWeight = 1,
    int DefaultMaxOutputTokens = 4096)
{
    public static readonly AdmissionOptions Default = new();

    /// <summary>
    /// The output a request without <c>max_tokens</c> may have from <paramref name="model"/>: what admission reserves, what
    /// an estimate never exceeds, and the <c>max_tokens</c> an upstream that requires one (Anthropic's) is sent. One figure
    /// for all three, so the upstream can never produce more than was reserved.
    /// </summary>
    public int DefaultOutputTokens(ModelConfig model) => model.DefaultMaxOutputTokens ?? DefaultMaxOutputTokens;

    public Limits TenantDefaults { get; init; } = Limits.None;

    public Limits KeyDefaults { get; init; } = Limits.None;
}
