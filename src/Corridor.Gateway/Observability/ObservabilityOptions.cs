namespace Corridor.Gateway.Observability;

/// <summary>How the gateway writes its logs.</summary>
public enum LogFormat
{
    /// <summary>JSON when standard output is not a terminal (a container, a service manager, a pipe), text otherwise.</summary>
    Auto,
    Text,
    Json,
}

/// <summary>
/// The <c>observability:</c> section: log format, the OTLP metrics export, and when <c>/readyz</c> says ready.
/// <see cref="OtlpEndpoint"/> falls back to the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> variable; without either,
/// nothing is exported (the metrics are still at <c>/metrics</c>).
/// </summary>
public sealed record ObservabilityOptions(
    LogFormat LogFormat = LogFormat.Auto,
    Uri? OtlpEndpoint = null,
    string OtlpProtocol = "grpc",
    TimeSpan? OtlpExportInterval = null,
    TimeSpan? ReadyMaxLedgerLag = null)
{
    public static readonly ObservabilityOptions Default = new();

    public TimeSpan EffectiveOtlpExportInterval => OtlpExportInterval ?? TimeSpan.FromSeconds(15);

    /// <summary>Above this ledger lag <c>/readyz</c> answers 503: the store is not keeping up with the traffic.</summary>
    public TimeSpan EffectiveReadyMaxLedgerLag => ReadyMaxLedgerLag ?? TimeSpan.FromSeconds(30);

    /// <summary>Whether to write JSON, deciding <see cref="LogFormat.Auto"/> by whether the output is redirected.</summary>
    public bool JsonLogs => LogFormat == LogFormat.Json || (LogFormat == LogFormat.Auto && Console.IsOutputRedirected);
}
