using System.Text.Json;
using Corridor.Gateway.Admin;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Recording;
using Corridor.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Corridor.Gateway.Observability;

/// <summary>What <c>/readyz</c> found, check by check.</summary>
internal sealed record ReadinessReport(
    string? StoreError,
    bool KeysPastGrace,
    bool PolicyDeclared,
    bool PolicyLoaded,
    int LedgerPending,
    TimeSpan LedgerLag,
    TimeSpan MaxLedgerLag)
{
    /// <summary>Why the gateway should not get traffic; empty when ready.</summary>
    public IReadOnlyList<string> Reasons()
    {
        var reasons = new List<string>();
        if (StoreError is not null)
        {
            reasons.Add($"store unreachable: {StoreError}");
        }
        if (KeysPastGrace)
        {
            reasons.Add("keys not refreshed from the store within the grace period; requests are refused");
        }
        if (PolicyDeclared && !PolicyLoaded)
        {
            reasons.Add("the configuration declares a policy but none is loaded");
        }
        if (LedgerLag > MaxLedgerLag)
        {
            reasons.Add($"ledger lag {LedgerLag.TotalSeconds:0.0} s is above {MaxLedgerLag.TotalSeconds:0} s ({LedgerPending} rows waiting)");
        }
        return reasons;
    }
}

/// <summary>
/// <c>GET /readyz</c>: 200 when the gateway can serve and bill — the store answers (a real query, bounded and shared by
/// callers within a second: <see cref="StoreProbe"/>), keys are fresh, the policy the configuration declares is loaded, and the ledger is
/// no more than <c>observability.readyMaxLedgerLagSeconds</c> behind; otherwise 503. Unlike <c>/healthz</c> (alive and
/// serving, for a restart decision) this one is for the load balancer's routing decision, which reads the status code;
/// the body says <c>ready</c>, and with the admin token also every reason and check (the store's kind, its files, the
/// ledger's backlog are the operator's, not for whoever reaches the port).
/// </summary>
internal static class ReadinessEndpoint
{
    public static async Task InvokeAsync(HttpContext context)
    {
        // Off the socket's event thread (GatewayHost.PreferInlineSocketCompletions): the store's calls may block.
        await Task.Yield();
        var services = context.RequestServices;
        var state = services.GetRequiredService<GatewayState>();
        var ledger = services.GetRequiredService<LedgerWriter>();
        var store = services.GetRequiredService<ICorridorStore>();
        var active = state.Active;
        var report = new ReadinessReport(
            await services.GetRequiredService<StoreProbe>().CheckAsync().WaitAsync(context.RequestAborted),
            services.GetRequiredService<KeyCache>().IsPastGrace,
            active.Config.Policy is not null,
            active.Policy is not null,
            ledger.Pending,
            ledger.Lag,
            active.Config.Observability.EffectiveReadyMaxLedgerLag);
        var reasons = report.Reasons();
        var detail = services.GetRequiredService<OperatorTokens>().IsAdmin(context.Request);
        context.Response.StatusCode = reasons.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteBoolean("ready", reasons.Count == 0);
            if (detail)
            {
                WriteDetail(json, report, reasons, active, state.LastReload is { Succeeded: false }, store);
            }
            json.WriteEndObject();
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>What only the admin token sees: every reason, and each check's finding.</summary>
    private static void WriteDetail(Utf8JsonWriter json, ReadinessReport report, IReadOnlyList<string> reasons, ActiveConfig active, bool lastReloadFailed, ICorridorStore store)
    {
        json.WriteStartArray("reasons");
        foreach (var reason in reasons)
        {
            json.WriteStringValue(reason);
        }
        json.WriteEndArray();
        json.WriteStartObject("checks");
        json.WriteString("store", report.StoreError is null ? "ok" : "unreachable");
        json.WriteString("keys", report.KeysPastGrace ? "stale" : "ok");
        json.WriteString("policy", !report.PolicyDeclared ? "none (every tenant may use every model)" : report.PolicyLoaded ? "loaded" : "missing");
        json.WriteString("config_loaded_at", active.LoadedAt);
        json.WriteBoolean("last_reload_failed", lastReloadFailed);
        json.WriteStartObject("ledger");
        json.WriteNumber("pending", report.LedgerPending);
        json.WriteNumber("lag_seconds", Math.Round(report.LedgerLag.TotalSeconds, 3));
        json.WriteNumber("max_lag_seconds", report.MaxLedgerLag.TotalSeconds);
        json.WriteString("notice", store.LedgerNotice); // null unless the store works around something (not a reason to route elsewhere)
        json.WriteEndObject();
        json.WriteEndObject();
    }

}
