namespace Corridor.Core.Metering;

/// <summary>How a request ended.</summary>
public enum RequestOutcome
{
    Success,
    ClientError,
    Unauthorized,
    Denied,
    UpstreamError,
    ClientDisconnected,
    Timeout,

    /// <summary>Refused by a rate or stream limit (429).</summary>
    RateLimited,

    /// <summary>Refused by a hard budget (<c>insufficient_quota</c>).</summary>
    OverBudget,
}

/// <summary>
/// One row per request: who, what, where, tokens, cost, outcome. Rows with <see cref="Billable"/> false
/// (bad input, unknown keys) are kept for operations and never billed.
/// <see cref="RequestBody"/> and <see cref="ResponseText"/> are retained (truncated) only when retention is on.
/// </summary>
public sealed record LedgerEntry(
    string RequestId,
    DateTimeOffset Time,
    string? TenantId,
    string? KeyId,
    string Model,
    string Endpoint,
    string? DeploymentId,
    string? Region,
    int Status,
    RequestOutcome Outcome,
    long InputTokens,
    long OutputTokens,
    decimal Cost,
    bool Estimated,
    int LatencyMs,
    bool Billable,
    string? ErrorCode = null,
    string? ClientIp = null,
    string? UserAgent = null,
    string? RequestBody = null,
    string? ResponseText = null,
    string? FinishReason = null)
{
    /// <summary>The vendor whose model served the request, whose terms applied.</summary>
    public string? Vendor { get; init; }

    /// <summary>The entitlement decision's id (the <c>x-corridor-decision</c> header), when policy was evaluated.</summary>
    public string? DecisionId { get; init; }
}
