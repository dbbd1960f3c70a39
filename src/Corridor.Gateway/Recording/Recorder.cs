using Corridor.Core.Metering;
using Corridor.Core.Policy;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Recording;

/// <summary>Turns a finished request into its ledger row and hands it to the batched writer.</summary>
internal sealed class Recorder(LedgerWriter ledger, AuditWriter audit, LedgerOptions options, TimeProvider time)
{
    /// <summary>How long responses waited for their rows to be durable.</summary>
    public CommitWaits Waits => ledger.Waits;

    /// <summary>
    /// Queues the request's ledger row and its decision's audit record; the task completes once the row is durable.
    /// <paramref name="lightLoad"/>: no other request is in flight, so the row may be written by this request itself
    /// (<see cref="LedgerWriter.Enqueue"/>).
    /// </summary>
    public Task<bool> Record(HttpContext context, CorridorRequestFeature call, bool lightLoad = false)
    {
        var request = call.Request;
        var usage = call.Usage;
        var billable = call.Served && call.Caller is not null;
        Utf8Text? body = null;
        // The body as the client sent it (spec/traffic-log.md), not as policy or throttling rewrote it: `export`, `replay`
        // and `corridor policy diff` read the request from it.
        if (options.RetainBodies && request?.Original is { } sent && sent.Length <= options.RetainRequestMaxBytes)
        {
            body = Utf8Text.Copy(sent.Body.Span);
        }
        var durable = ledger.Enqueue(new LedgerEntry(
            call.RequestId,
            call.ReceivedAt,
            call.Caller?.Tenant.Id,
            call.Caller?.Key.Id,
            request?.Model ?? "",
            call.Operation.Endpoint(),
            call.Deployment?.Id,
            call.Deployment?.Region,
            call.Status != 0 ? call.Status : context.Response.StatusCode,
            call.Outcome,
            billable ? usage.InputTokens : 0,
            billable ? usage.OutputTokens : 0,
            billable ? call.Cost : 0m,
            call.Estimated,
            (int)time.GetElapsedTime(call.StartTimestamp).TotalMilliseconds,
            billable,
            call.ErrorCode,
            context.Connection.RemoteIpAddress?.ToString(),
            context.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent : null,
            body,
            RetainedText(usage.Text),
            usage.FinishReason)
        {
            Vendor = (call.Deployment?.Model ?? call.Model?.Config)?.Vendor,
            DecisionId = call.DecisionId,
            Revenue = billable ? call.Revenue : 0m,
            CacheReadTokens = billable ? usage.CacheReadTokens : 0,
            CacheWriteTokens = billable ? usage.CacheWriteTokens : 0,
            BatchId = call.InProcess?.BatchId,
        }, mayWriteAlone: lightLoad);
        RecordDecision(call);
        return durable;
    }

    /// <summary>The response text within the ledger's retention; the meter may keep more (or keep it at all) for shadow comparison.</summary>
    private string? RetainedText(string? text) =>
        !options.RetainBodies || text is null ? null : text.Length > options.RetainMaxChars ? text[..options.RetainMaxChars] : text;

    /// <summary>
    /// Queues the decision for the audit log; the audit writer works out its rule trace and details
    /// (<see cref="DecisionToAudit"/>), off the request path.
    /// </summary>
    private void RecordDecision(CorridorRequestFeature call)
    {
        if (call.DecisionId is not { } id || call.DecisionInput is not { } input || call.Config.Policy is not { } policy)
        {
            return;
        }
        audit.Enqueue(new DecisionToAudit(id, call.RequestId, input, policy));
    }
}
