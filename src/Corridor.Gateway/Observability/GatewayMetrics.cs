using System.Diagnostics;
using System.Diagnostics.Metrics;
using Corridor.Core.Catalog;
using Corridor.Core.Metering;
using Corridor.Core.Policy;
using Corridor.Core.Routing;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Recording;
using Corridor.Monitor.Scoring;
using Corridor.Storage;

namespace Corridor.Gateway.Observability;

/// <summary>
/// The gateway's metrics, on one <see cref="Meter"/> named <see cref="MeterName"/> made by the host's
/// <see cref="IMeterFactory"/>. The request metrics follow the OpenTelemetry GenAI semantic conventions (server side:
/// Corridor serves the model API): <c>gen_ai.client.token.usage</c>, <c>gen_ai.server.request.duration</c> and
/// <c>gen_ai.server.time_to_first_token</c>, with <c>gen_ai.operation.name</c>, <c>gen_ai.provider.name</c>,
/// <c>gen_ai.request.model</c>, <c>gen_ai.response.model</c> and, on failure, <c>error.type</c>. Corridor's own:
/// requests by outcome and error code, policy decisions by reason, monitor levels and ledger lag.
/// Recording allocates nothing: the tags are a <see cref="TagList"/> of strings the catalog already holds, and with
/// nothing listening (no <c>/metrics</c> scrape listener, no OTLP) an instrument's Record returns at once.
/// </summary>
internal sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Corridor.Gateway";

    // Bucket boundaries the GenAI conventions recommend for each histogram.
    private static readonly double[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
    private static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] FirstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];

    private static readonly string[] OutcomeNames = Enum.GetValues<RequestOutcome>().Select(o => ToSnake(o.ToString())).ToArray();
    private static readonly string[] ReasonNames = Enum.GetValues<DecisionReason>().Select(DecisionReasons.WireName).ToArray();
    private static readonly string[] StatusTexts = Enumerable.Range(0, 600).Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    private readonly Meter _meter;
    private readonly TimeProvider _time;
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _firstToken;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _decisions;

    public GatewayMetrics(IMeterFactory meterFactory, LedgerWriter ledger, ICorridorStore store, MonitorService monitor, RouteTable routes,
        StoredResponses.ResponseKeeper responses, TimeProvider time)
    {
        _time = time;
        _meter = meterFactory.Create(MeterName);
        _tokens = _meter.CreateHistogram("gen_ai.client.token.usage", "{token}",
            "Input and output tokens of each served request, as billed (the upstream's usage, or Corridor's estimate).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [.. TokenBuckets.Select(b => (long)b)] });
        _duration = _meter.CreateHistogram("gen_ai.server.request.duration", "s",
            "Time from receiving a model request to sending its last byte (the whole stream for streamed answers).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _firstToken = _meter.CreateHistogram("gen_ai.server.time_to_first_token", "s",
            "Time from receiving a streamed request to relaying the first event of a successful answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = FirstTokenBuckets });
        _requests = _meter.CreateCounter<long>("corridor.requests", "{request}",
            "Model requests by outcome (corridor.outcome), error code (error.type) and status (http.response.status_code).");
        _decisions = _meter.CreateCounter<long>("corridor.policy.decisions", "{decision}",
            "Policy decisions by result (corridor.decision: allow or deny) and reason (corridor.decision.reason).");
        _meter.CreateObservableGauge("corridor.ledger.pending", () => (long)ledger.Pending, "{row}",
            "Ledger rows recorded but not yet written to the store (queued, or in the batch being written).");
        _meter.CreateObservableGauge("corridor.ledger.lag", () => ledger.Lag.TotalSeconds, "s",
            "Age of the oldest ledger row not yet written to the store; 0 when every row is written.");
        _meter.CreateObservableCounter("corridor.ledger.written", () => ledger.Written, "{row}", "Ledger rows written to the store.");
        _meter.CreateObservableGauge("corridor.ledger.journal_backlog", () => store.LedgerBacklog, "{row}",
            "Ledger rows durable in the embedded store's journal and not yet in its database file; 0 for PostgreSQL.");
        _meter.CreateObservableCounter("corridor.ledger.spool.set_aside", () => ledger.SpoolSetAside, "{file}",
            "Ledger spool files set aside because they could not be read; their rows are not in the ledger.");
        _meter.CreateObservableCounter("corridor.responses.not_kept", () => NotKept(responses), "{response}",
            "Responses API answers to keep (store true) that were served but not kept, by reason (corridor.reason): store_failed, tenant_bytes.");
        _meter.CreateObservableGauge("corridor.monitor.subjects", () => MonitorLevels(monitor), "{subject}",
            "Keys, tenants and clusters at each distillation-monitor level (corridor.monitor.level), pinned or automatic.");
        _meter.CreateObservableCounter("corridor.monitor.dropped", () => monitor.Pump.Dropped, "{observation}",
            "Observations the monitor dropped because its queue was full.");
        _meter.CreateObservableGauge("corridor.deployment.breaker", () => Breakers(routes), "{deployment}",
            "1 for each deployment's present circuit-breaker state (corridor.breaker.state: closed, open, half_open), 0 for the others.");
        _meter.CreateObservableGauge("corridor.deployment.latency", () => Latencies(routes), "s",
            "Each deployment's decayed latency to its answers' headers, as lowest-latency routing sees it; absent before its first success.");
    }

    public Meter Meter => _meter;

    /// <summary>Records one finished model request (step 9 of the pipeline).</summary>
    public void Record(CorridorRequestFeature call, int status)
    {
        if (_requests.Enabled)
        {
            var tags = new TagList
            {
                { "corridor.outcome", OutcomeNames[(int)call.Outcome] },
                { "http.response.status_code", (uint)status < (uint)StatusTexts.Length ? StatusTexts[status] : "other" },
            };
            if (call.ErrorCode is { } code)
            {
                tags.Add("error.type", code);
            }
            _requests.Add(1, tags);
        }
        if (call.Decision is { } decision && _decisions.Enabled)
        {
            _decisions.Add(1, new TagList
            {
                { "corridor.decision", decision.Allowed ? "allow" : "deny" },
                { "corridor.decision.reason", ReasonNames[(int)decision.Reason] },
            });
        }
        // The GenAI metrics only for requests that reached a known model: a client-chosen model name is not a label. A token
        // count is no GenAI operation: its duration would be read as a chat's.
        if (call.Model is not { } model || call.Operation == Operation.CountTokens)
        {
            return;
        }
        var deployment = call.Deployment;
        var genAi = new TagList
        {
            { "gen_ai.operation.name", call.Operation == Operation.Embeddings ? "embeddings" : "chat" },
            { "gen_ai.provider.name", ProviderName((deployment?.Vendor ?? model.Vendor).Kind) },
            { "gen_ai.request.model", model.Config.Id },
        };
        if (deployment is not null)
        {
            genAi.Add("gen_ai.response.model", deployment.UpstreamModel);
        }
        var failed = call.Outcome != RequestOutcome.Success;
        if (failed)
        {
            genAi.Add("error.type", call.ErrorCode ?? OutcomeNames[(int)call.Outcome]);
        }
        _duration.Record(_time.GetElapsedTime(call.StartTimestamp).TotalSeconds, genAi);
        if (call.FirstEventTimestamp != 0 && !failed)
        {
            _firstToken.Record(_time.GetElapsedTime(call.StartTimestamp, call.FirstEventTimestamp).TotalSeconds, genAi);
        }
        if (call.Served && call.Caller is not null && _tokens.Enabled)
        {
            var usage = call.Usage;
            genAi.Add("gen_ai.token.type", "input");
            _tokens.Record(usage.InputTokens, genAi);
            // The same tags with the last one changed: a TagList is a struct, so this copies, it does not allocate.
            var output = genAi;
            output[output.Count - 1] = new("gen_ai.token.type", "output");
            _tokens.Record(usage.OutputTokens, output);
        }
    }

    /// <summary>The names the GenAI conventions give each vendor kind (<c>gen_ai.provider.name</c>).</summary>
    internal static string ProviderName(VendorKind kind) => kind switch
    {
        VendorKind.Anthropic => "anthropic",
        VendorKind.AzureOpenAI => "azure.ai.openai",
        _ => "openai",
    };

    private static readonly EnforcementLevel[] ReportedLevels = [EnforcementLevel.Watch, EnforcementLevel.Flag, EnforcementLevel.Throttle, EnforcementLevel.Suspend];

    /// <summary>Every level, zeros included, so a level that empties shows 0 rather than its last count.</summary>
    private static readonly BreakerState[] BreakerStates = Enum.GetValues<BreakerState>();

    private static IEnumerable<Measurement<long>> Breakers(RouteTable routes)
    {
        foreach (var (deployment, condition) in routes.Conditions())
        {
            foreach (var state in BreakerStates)
            {
                yield return new Measurement<long>(condition.State == state ? 1 : 0,
                    new KeyValuePair<string, object?>("corridor.deployment", deployment.Id),
                    new KeyValuePair<string, object?>("corridor.breaker.state", Admin.DeploymentView.BreakerName(state)));
            }
        }
    }

    private static IEnumerable<Measurement<double>> Latencies(RouteTable routes)
    {
        foreach (var (deployment, condition) in routes.Conditions())
        {
            if (condition.LatencyMs is { } ms)
            {
                yield return new Measurement<double>(ms / 1000, new KeyValuePair<string, object?>("corridor.deployment", deployment.Id));
            }
        }
    }

    private static Measurement<long>[] NotKept(StoredResponses.ResponseKeeper responses) =>
    [
        new(responses.NotKeptStoreFailed, new KeyValuePair<string, object?>("corridor.reason", "store_failed")),
        new(responses.NotKeptTenantBytes, new KeyValuePair<string, object?>("corridor.reason", "tenant_bytes")),
    ];

    private static Measurement<long>[] MonitorLevels(MonitorService monitor)
    {
        var counts = new long[ReportedLevels.Length + 1];
        var snapshot = monitor.Monitor.Snapshot();
        foreach (var subject in snapshot.Subjects)
        {
            counts[(int)subject.CurrentLevel]++;
        }
        foreach (var cluster in snapshot.Clusters)
        {
            counts[(int)cluster.CurrentLevel]++;
        }
        var measurements = new Measurement<long>[ReportedLevels.Length];
        for (var i = 0; i < ReportedLevels.Length; i++)
        {
            measurements[i] = new Measurement<long>(counts[(int)ReportedLevels[i]], new KeyValuePair<string, object?>("corridor.monitor.level", ReportedLevels[i].Name()));
        }
        return measurements;
    }

    private static string ToSnake(string name)
    {
        var builder = new System.Text.StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            if (char.IsUpper(c) && builder.Length > 0)
            {
                builder.Append('_');
            }
            builder.Append(char.ToLowerInvariant(c));
        }
        return builder.ToString();
    }

    public void Dispose() => _meter.Dispose();
}
