using System.Globalization;
using System.Text.Json;
using Corridor.Gateway.Admin;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Recording;
using Corridor.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Configuration;

/// <summary>
/// <c>GET /healthz</c>: 200 while serving, with <c>status</c> (<c>ok</c>, or <c>degraded</c> after a failed reload).
/// With the admin token it also says when the active configuration was loaded and, when the last reload failed, that
/// the gateway still serves the last good configuration and why the reload failed; the distillation monitor's counters
/// (observed, dropped when its queue was full, failures); and the ledger's and the audit log's writers (written,
/// waiting, spooled). Without it, the status alone: the port is the one customers reach, and the reload's errors name
/// deployments, environment variables and files, the counters the operator's traffic.
/// </summary>
internal static class HealthEndpoint
{
    public static async Task InvokeAsync(HttpContext context)
    {
        var state = context.RequestServices.GetRequiredService<GatewayState>();
        var reload = state.LastReload;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("status", reload is { Succeeded: false } ? "degraded" : "ok");
            if (context.RequestServices.GetRequiredService<OperatorTokens>().IsAdmin(context.Request))
            {
                WriteDetail(json, context.RequestServices, state.Active, reload);
            }
            json.WriteEndObject();
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>What only the admin token sees: the configuration's load and last reload, the monitor, the ledger and the audit log.</summary>
    private static void WriteDetail(Utf8JsonWriter json, IServiceProvider services, ActiveConfig active, ReloadStatus? reload)
    {
        json.WriteString("config_loaded_at", active.LoadedAt);
        if (reload is not null)
        {
            json.WriteStartObject("last_reload");
            json.WriteString("at", reload.At);
            json.WriteBoolean("succeeded", reload.Succeeded);
            if (!reload.Succeeded)
            {
                json.WriteString("note", "the reload failed; serving the last good configuration");
                json.WriteStartArray("errors");
                foreach (var error in reload.Errors)
                {
                    json.WriteStringValue(error);
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
        }
        var monitor = services.GetRequiredService<MonitorService>();
        json.WriteStartObject("monitor");
        json.WriteBoolean("enabled", monitor.Enabled);
        var stats = monitor.Monitor.Stats;
        json.WriteNumber("observed", stats.Observed);
        json.WriteNumber("observed_batch", stats.ObservedBatch);
        json.WriteNumber("pending", monitor.Pump.Pending);
        json.WriteNumber("dropped", monitor.Pump.Dropped);
        json.WriteNumber("failures", monitor.Failures);
        if (monitor.Fleet)
        {
            // Several replicas: this one ships its observations; the leader scores everyone's ("observed" above).
            var (shipped, unshipped, _) = monitor.FleetCounts;
            json.WriteStartObject("fleet");
            json.WriteBoolean("leading", monitor.Scores);
            json.WriteNumber("shipped", shipped);
            json.WriteNumber("unshipped", unshipped);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        WriteLedger(json, services.GetRequiredService<LedgerWriter>(), services.GetRequiredService<ICorridorStore>());
        WriteAudit(json, services.GetRequiredService<AuditWriter>());
    }

    /// <summary>The audit writer's counters: records written since start, records waiting, and the spool's batches waiting for the store.</summary>
    private static void WriteAudit(Utf8JsonWriter json, AuditWriter audit)
    {
        json.WriteStartObject("audit");
        json.WriteNumber("written", audit.Written);
        json.WriteNumber("pending", audit.Pending);
        json.WriteStartObject("spool");
        json.WriteNumber("files", audit.SpoolFiles);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>
    /// The ledger writer's counters, cumulative since start: rows written, commits, rows waiting, and how long responses
    /// waited for their rows to be durable (count, sum and a histogram whose buckets are keyed by their upper bound in µs);
    /// the rows durable in the embedded store's journal but not yet in its database file, its damaged segments set aside, and the spool's files waiting and
    /// set aside as unreadable (docs/durability.md).
    /// </summary>
    private static void WriteLedger(Utf8JsonWriter json, LedgerWriter ledger, ICorridorStore store)
    {
        json.WriteStartObject("ledger");
        json.WriteNumber("written", ledger.Written);
        json.WriteNumber("commits", ledger.Commits);
        json.WriteNumber("pending", ledger.Pending);
        json.WriteNumber("journal_backlog", store.LedgerBacklog);
        json.WriteNumber("journal_set_aside", store.LedgerJournalSetAsideFiles);
        var (spooled, setAside) = ledger.Spool;
        json.WriteStartObject("spool");
        json.WriteNumber("files", spooled);
        json.WriteNumber("set_aside", setAside);
        json.WriteEndObject();
        var waits = ledger.Waits;
        json.WriteStartObject("commit_wait");
        json.WriteNumber("count", waits.Count);
        json.WriteNumber("total_us", waits.TotalMicroseconds);
        json.WriteStartObject("buckets_us");
        for (var i = 0; i <= CommitWaits.BucketBounds.Length; i++)
        {
            json.WriteNumber(i < CommitWaits.BucketBounds.Length ? CommitWaits.BucketBounds[i].ToString(CultureInfo.InvariantCulture) : "inf", waits.BucketCount(i));
        }
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
