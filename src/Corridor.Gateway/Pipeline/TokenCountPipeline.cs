using Corridor.Gateway.Admission;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Observability;
using Corridor.Gateway.Recording;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// <c>POST /v1/messages/count_tokens</c>, the way of a request that asks how many tokens a Messages request's prompt is,
/// top to bottom. It is checked as a message is (the same front door, key, enforcement and entitlement: a model the caller
/// may not use is refused as a message to it would be), takes one request from its tenant's and key's requests per minute
/// and nothing else, as <c>/v1/usage</c> does (no tokens, no budget: a count generates nothing and is billed nothing), is
/// counted among the deployments the decision allows (<see cref="Forwarder.CountTokensAsync"/>), and is recorded with a
/// ledger row that is not billable (the request, its decision and the deployment that counted it, no tokens, no cost) and
/// the decision's audit record. The monitor does not observe it: it asks for no output, and free requests counted beside a
/// caller's real ones would dilute the signals of harvesting. Nothing is mirrored to a shadow candidate.
/// </summary>
internal sealed class TokenCountPipeline(
    FrontDoor.FrontDoor frontDoor,
    Authenticator authenticator,
    Admitter admitter,
    Forwarder forwarder,
    Recorder recorder,
    MonitorService monitor,
    GatewayMetrics metrics,
    GatewayState state,
    TimeProvider time)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var receivedAt = time.GetUtcNow();
        var call = new CorridorRequestFeature(state.Active, RequestPipeline.NewRequestId(receivedAt), Dialect.Anthropic, Operation.CountTokens,
            receivedAt, time.GetTimestamp(), retainChars: 0);
        context.Features.Set(call);
        RequestPipeline.WriteRequestId(context.Response, call.RequestId);
        context.Response.Headers["x-corridor-region"] = "none";
        try
        {
            // 1–4. As a message: the body read and checked, the key, the monitor's enforcement, the decision.
            var error = await frontDoor.ReadAsync(context, call);
            error ??= authenticator.Authenticate(context, call);
            error ??= Enforcement.Enforce(call, monitor);
            error ??= Entitlement.Entitle(context, call, call.ReceivedAt);

            // 5. Admit: one request of the caller's requests per minute; no tokens, no stream slot, no budget.
            error ??= await admitter.AdmitRequestOnlyAsync(context, call);

            // 6–7. Counted by the first allowed deployment, in the router's order, that can count it.
            error ??= await forwarder.CountTokensAsync(context, call);

            if (error is not null)
            {
                RequestPipeline.RespondWithError(context, call, error);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            call.Outcome = Core.Metering.RequestOutcome.ClientDisconnected;
        }
        finally
        {
            // 8–9. Nothing to meter or bill (call.Served stays false); the admission cleared, the row and decision recorded.
            admitter.Settle(call);
            _ = recorder.Record(context, call);
            metrics.Record(call, call.Status != 0 ? call.Status : context.Response.StatusCode);
            call.DisposeRequests();
        }
        // Not held for the row's durability: nothing in this answer is billed.
        await call.Held.ReleaseAsync(context.Response, context.RequestAborted);
    }
}
