using System.Globalization;
using Corridor.Core.Admission;
using Corridor.Core.Catalog;
using Corridor.Gateway.Batches;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Admission;

/// <summary>
/// Step 5 of the pipeline: rate limits, stream slots and the budget reservation of the caller's tenant and key, and
/// their settlement once the request has ended, whatever the ending. The arithmetic lives in
/// <see cref="IAdmissionCounters"/> (Corridor.Core); this class turns a request into what it reserves, and a refusal
/// into an error and headers in the client's dialect. A batch's request (<see cref="CorridorRequestFeature.Batch"/>) may fill
/// only <see cref="BatchOptions.LimitShare"/> of each rate limit, so batches leave live requests the rest.
/// </summary>
internal sealed partial class Admitter(IAdmissionCounters counters, TimeProvider time, ILogger<Admitter> logger, BatchOptions? batches = null)
{
    /// <summary>The share of each rate limit a batch's request may fill (<c>batches.limitShare</c>, read at start).</summary>
    private readonly double _batchShare = (batches ?? BatchOptions.Default).LimitShare;

    /// <summary>
    /// How long a request waits for a fleet replica's slice of a shared allowance to arrive from the database (in
    /// milliseconds, normally) before it is refused with "try again in 1s", and how often it looks.
    /// </summary>
    internal static readonly TimeSpan AllowanceWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan AllowancePoll = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Admits the request or says why not. Completes synchronously except on a fleet replica still fetching its slice of a
    /// shared allowance (the subject's first request there, or a top-up not yet back): that request waits for the slice,
    /// up to <see cref="AllowanceWait"/>, rather than being refused at once.
    /// </summary>
    public ValueTask<GatewayError?> AdmitAsync(HttpContext context, CorridorRequestFeature call)
    {
        var caller = call.Caller!;
        var options = call.Config.Config.Admission;
        var limits = caller.Effective(options);
        var request = call.Request!;
        long tokens = 0;
        var worstCase = 0m;
        if (limits.HasBudgets || limits.HasTokenLimit)
        {
            var model = call.Model!.Config;
            var input = Reservation.PromptTokens(request.Body.Span, model.ContextWindow);
            var output = call.Operation == Operation.Embeddings
                ? 0
                : Reservation.OutputTokens(request.MaxTokens, request.N, DefaultOutputTokens(call.AllowedDeployments, options, model));
            if (limits.HasTokenLimit)
            {
                tokens = Reservation.WeightedTokens(input, output, options.InputTokenWeight, options.OutputTokenWeight);
            }
            if (limits.HasBudgets)
            {
                worstCase = Reservation.WorstCaseCost(call.AllowedDeployments, input, output);
            }
        }
        var admission = new AdmissionRequest(caller.Tenant.Id, limits.Tenant, caller.Key.Id, limits.Key, tokens, worstCase,
            request.Stream && call.Operation != Operation.Embeddings, call.Enforcement.LimitFactor, call.Batch ? _batchShare : 1.0);
        return AdmitAsync(context, call, admission);
    }

    /// <summary>
    /// Admits a request of the caller's that is not for a model (<c>GET /v1/usage</c>): it takes one request from the
    /// requests-per-minute windows of its tenant and key, as a model's request does, and nothing else: no tokens, no
    /// stream slot, and no budget (a spent budget must not keep a tenant from reading what it spent). Refused as a model's
    /// request is, with the same error, headers and <c>Retry-After</c>; settled with <see cref="Settle"/> like any admission.
    /// </summary>
    public ValueTask<GatewayError?> AdmitRequestOnlyAsync(HttpContext context, CorridorRequestFeature call)
    {
        var caller = call.Caller!;
        var limits = caller.Effective(call.Config.Config.Admission);
        return AdmitAsync(context, call, new AdmissionRequest(caller.Tenant.Id, RequestsOnly(limits.Tenant), caller.Key.Id, RequestsOnly(limits.Key),
            Tokens: 0, WorstCaseCost: 0m, Stream: false, call.Enforcement.LimitFactor));

        static Limits RequestsOnly(Limits limits) =>
            limits.RequestsPerMinute is { } rpm ? new Limits { RequestsPerMinute = rpm } : Limits.None;
    }

    private ValueTask<GatewayError?> AdmitAsync(HttpContext context, CorridorRequestFeature call, AdmissionRequest admission)
    {
        var result = counters.TryAdmit(in admission, out call.Admission);
        return result.Verdict == AdmissionVerdict.AllowancePending
            ? WaitForAllowanceAsync(context, call, admission)
            : ValueTask.FromResult(Answer(context, call, result, admission));
    }

    /// <summary>
    /// The most output a request without <c>max_tokens</c> may have from whichever allowed deployment serves it: an alias's
    /// models (and so their output caps) differ, and a fallback must not produce more than was reserved.
    /// </summary>
    private static int DefaultOutputTokens(IReadOnlyList<DeploymentEntry> allowed, AdmissionOptions options, ModelConfig model)
    {
        var most = options.DefaultOutputTokens(model);
        foreach (var deployment in allowed)
        {
            most = Math.Max(most, options.DefaultOutputTokens(deployment.Model));
        }
        return most;
    }

    private async ValueTask<GatewayError?> WaitForAllowanceAsync(HttpContext context, CorridorRequestFeature call, AdmissionRequest admission)
    {
        var started = time.GetTimestamp();
        AdmissionResult result;
        do
        {
            // A client leaving while it waits ends the request here, with nothing admitted and nothing to settle.
            await Task.Delay(AllowancePoll, time, context.RequestAborted);
            result = counters.TryAdmit(in admission, out call.Admission);
        }
        while (result.Verdict == AdmissionVerdict.AllowancePending && time.GetElapsedTime(started) < AllowanceWait);
        return Answer(context, call, result, admission);
    }

    private GatewayError? Answer(HttpContext context, CorridorRequestFeature call, AdmissionResult result, in AdmissionRequest admission)
    {
        if (result.Requests.IsSet || result.Tokens.IsSet)
        {
            // Resets are durations from now, admission, not from when the request arrived: its body may have taken seconds
            // to upload, or the request waited for a fleet slice.
            RateLimitHeaders.Write(context.Response.Headers, call.Dialect, result.Requests, result.Tokens, time.GetUtcNow());
        }
        return result.Admitted ? null : Refusal(call, result, admission.Tokens, call.Config.Config.Admission.Currency, admission.LimitShare);
    }

    /// <summary>
    /// Releases the reservation and charges what the request actually cost (nothing when it was not served). Runs once per
    /// request, in the pipeline's <c>finally</c>, after the meter has settled tokens and cost.
    /// </summary>
    public void Settle(CorridorRequestFeature call)
    {
        if (!call.Admission.IsHeld)
        {
            return;
        }
        var billable = call.Served && call.Caller is not null;
        var options = call.Config.Config.Admission;
        var tokens = billable ? Reservation.WeightedTokens(call.Usage.InputTokens, call.Usage.OutputTokens, options.InputTokenWeight, options.OutputTokenWeight) : 0;
        var alerts = counters.Settle(ref call.Admission, tokens, billable ? call.Cost : 0m);
        if (alerts != BudgetAlerts.None)
        {
            Alert(call, alerts, options.Currency);
        }
    }

    private void Alert(CorridorRequestFeature call, BudgetAlerts alerts, string currency)
    {
        var caller = call.Caller!;
        var limits = caller.Effective(call.Config.Config.Admission);
        if ((alerts & (BudgetAlerts.TenantDay | BudgetAlerts.TenantMonth)) != 0 && counters.Find(LimitScope.Tenant, caller.Tenant.Id) is { } tenant)
        {
            Alert(call.RequestId, tenant, limits.Tenant, alerts.HasFlag(BudgetAlerts.TenantDay), alerts.HasFlag(BudgetAlerts.TenantMonth), currency);
        }
        if ((alerts & (BudgetAlerts.KeyDay | BudgetAlerts.KeyMonth)) != 0 && counters.Find(LimitScope.Key, caller.Key.Id) is { } key)
        {
            Alert(call.RequestId, key, limits.Key, alerts.HasFlag(BudgetAlerts.KeyDay), alerts.HasFlag(BudgetAlerts.KeyMonth), currency);
        }
    }

    private void Alert(string requestId, SubjectUsage usage, Limits limits, bool day, bool month, string currency)
    {
        var scope = usage.Scope == LimitScope.Tenant ? "tenant" : "key";
        if (day)
        {
            LogSoftBudget(requestId, scope, usage.Id, "daily", usage.DaySpent, limits.DailySoftBudget ?? 0, currency);
        }
        if (month)
        {
            LogSoftBudget(requestId, scope, usage.Id, "monthly", usage.MonthSpent, limits.MonthlySoftBudget ?? 0, currency);
        }
    }

    private static GatewayError Refusal(CorridorRequestFeature call, in AdmissionResult result, long tokens, string currency, double share)
    {
        var who = result.Scope == LimitScope.Tenant ? $"tenant '{call.Caller!.Tenant.Id}'" : $"key '{call.Caller!.Key.Id}'";
        // A batch's request is refused at its share of a rate: the message says so, or "remaining" would not add up.
        var ofIt = share < 1.0 ? $" (a batch may use {share.ToString("0.###", CultureInfo.InvariantCulture)} of it)" : "";
        var retryAfter = result.RetryAfter > TimeSpan.Zero ? RateLimitHeaders.RetryAfterSeconds(result.RetryAfter) : null;
        switch (result.Verdict)
        {
            case AdmissionVerdict.BudgetExhausted:
                call.Outcome = Core.Metering.RequestOutcome.OverBudget;
                var period = result.Period == BudgetPeriod.Day ? "daily" : "monthly";
                return new GatewayError(ErrorKind.QuotaExceeded,
                    $"You exceeded your current quota: the {period} budget ({currency}) of {who} cannot cover this request. "
                    + "Ask the operator to raise the budget, or wait for the next period.", "insufficient_quota")
                {
                    StatusOverride = call.Dialect == Dialect.Anthropic ? StatusCodes.Status402PaymentRequired : null,
                    NotRetryable = true,
                };
            case AdmissionVerdict.TokensAboveLimit:
                call.Outcome = Core.Metering.RequestOutcome.RateLimited;
                return new GatewayError(ErrorKind.RateLimited,
                    $"Request too large: tokens per minute (TPM) of {who}: limit {result.Tokens.Limit}{ofIt}, requested {tokens} (the prompt and max_tokens). "
                    + "Send a shorter prompt or a lower max_tokens.", "rate_limit_exceeded", "max_tokens")
                {
                    NotRetryable = true,
                };
            case AdmissionVerdict.ConcurrentStreamsExceeded:
                call.Outcome = Core.Metering.RequestOutcome.RateLimited;
                return new GatewayError(ErrorKind.RateLimited,
                    $"Too many concurrent streams for {who}. Please try again once a stream has finished.", "concurrent_streams_exceeded")
                {
                    RetryAfter = retryAfter,
                };
            case AdmissionVerdict.AllowancePending:
                // A fleet's replica is topping up its slice of the shared allowance (docs/limits-and-budgets.md).
                call.Outcome = Core.Metering.RequestOutcome.RateLimited;
                return new GatewayError(ErrorKind.RateLimited,
                    $"The limits of {who} are shared by several gateways and this one is fetching its share. Please try again in 1s.", "rate_limit_exceeded")
                {
                    RetryAfter = retryAfter,
                };
            default:
                call.Outcome = Core.Metering.RequestOutcome.RateLimited;
                var (what, status) = result.Verdict == AdmissionVerdict.RequestRateExceeded
                    ? ("requests per minute (RPM)", result.Requests)
                    : ("tokens per minute (TPM)", result.Tokens);
                return new GatewayError(ErrorKind.RateLimited,
                    $"Rate limit reached for {what} of {who}: limit {status.Limit}{ofIt}, remaining {status.Remaining}. "
                    + $"Please try again in {RateLimitHeaders.OpenAIDuration(result.RetryAfter)}.", "rate_limit_exceeded")
                {
                    RetryAfter = retryAfter,
                };
        }
    }

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning,
        Message = "{RequestId}: soft {Period} budget reached by {Scope} {Id}: spent {Spent} {Currency} of {Budget}")]
    private partial void LogSoftBudget(string requestId, string scope, string id, string period, decimal spent, decimal budget, string currency);
}
