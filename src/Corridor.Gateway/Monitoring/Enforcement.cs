using Corridor.Core.Policy;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Monitor.Scoring;

namespace Corridor.Gateway.Monitoring;

/// <summary>
/// What the monitor's level means for one request: the level in force for its key (the highest of the key's, its
/// tenant's and their clusters', pinned or automatic), where it comes from, and what throttling did. Admission reads
/// <see cref="LimitFactor"/>: its rate and concurrency limits for this caller are multiplied by it (1 when not throttled).
/// </summary>
internal readonly record struct RequestEnforcement(EnforcementLevel Level, SubjectRef? Source, double LimitFactor, bool Stripped)
{
    public static readonly RequestEnforcement None = new(EnforcementLevel.None, null, 1.0, false);
}

/// <summary>
/// Step 3 of the pipeline. <c>watch</c> and <c>flag</c> change nothing for the request (they are recorded, and a flag opens
/// a case, in the background); <c>throttle</c> strips the harvest-friendly features the operator configured and lowers
/// limits; <c>suspend</c> refuses with 403 <c>account_suspended</c> in the client's dialect. A lock-free read.
/// </summary>
internal static class Enforcement
{
    public const string SuspendedCode = "account_suspended";

    /// <summary>The refusal of a suspended key's or tenant's request; also what a batch of it ends with (docs/batches.md).</summary>
    public static readonly GatewayError Suspended = new(ErrorKind.PermissionDenied,
        "This account is suspended pending a review of its usage under the model providers' terms. Contact your account manager.",
        SuspendedCode);

    /// <summary>Whether the key or its tenant is suspended now (by the monitor or an operator): its requests are refused, and its mirrors skipped.</summary>
    public static bool IsSuspended(MonitorService monitor, string tenantId, string keyId) =>
        monitor.Enabled && monitor.Monitor.GetEnforcement(tenantId, keyId).Level == EnforcementLevel.Suspend;

    /// <summary>
    /// Whether the request would reason, decided before its model is (an alias may name several): it asks to, or a model of its
    /// name reasons by default and the request does not turn thinking off (<see cref="RequestFeatures.ReasonsOn"/>).
    /// </summary>
    private static bool Reasons(ClientRequest request, ActiveConfig config)
    {
        var features = request.Features(request.Model);
        return features.Reasoning || (!features.ThinkingOff && config.Models.TryGet(request.Model, out var choice) && choice.ReasonsByDefault);
    }

    public static GatewayError? Enforce(CorridorRequestFeature call, MonitorService monitor)
    {
        if (!monitor.Enabled || call.Caller is not { } caller)
        {
            return null;
        }

        var decision = monitor.Monitor.GetEnforcement(caller.Tenant.Id, caller.Key.Id);
        switch (decision.Level)
        {
            case EnforcementLevel.Suspend:
                call.Enforcement = new RequestEnforcement(decision.Level, decision.Source, 0, false);
                return Suspended;
            case EnforcementLevel.Throttle when call.Operation is not (Operation.Embeddings or Operation.CountTokens):
                var throttle = call.Config.Config.Monitor.Throttle;
                var request = call.Request!;
                var restrictions = new Restrictions(
                    throttle.MaxTokens,
                    request.N > throttle.MaxN ? throttle.MaxN : null,
                    throttle.StripLogprobs && request.Logprobs,
                    throttle.StripReasoning && Reasons(request, call.Config));
                if (restrictions.MaxTokens is { } cap && request.MaxTokens is { } asked && asked <= cap)
                {
                    restrictions = restrictions with { MaxTokens = null };
                }

                call.Request = RequestRestrictions.Apply(request, restrictions, call.Operation);
                call.Enforcement = new RequestEnforcement(decision.Level, decision.Source, throttle.LimitFactor, !restrictions.IsNone);
                return null;
            default:
                var factor = decision.Level == EnforcementLevel.Throttle ? call.Config.Config.Monitor.Throttle.LimitFactor : 1.0;
                call.Enforcement = new RequestEnforcement(decision.Level, decision.Source, factor, false);
                return null;
        }
    }
}
