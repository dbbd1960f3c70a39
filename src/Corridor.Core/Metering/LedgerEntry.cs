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

/// <summary>The names outcomes are stored under (the member's name), without boxing or formatting one per row.</summary>
public static class RequestOutcomes
{
    private static readonly string[] Names = Enum.GetNames<RequestOutcome>();

    public static string Name(RequestOutcome outcome) =>
        (uint)outcome < (uint)Names.Length ? Names[(int)outcome] : outcome.ToString();
}

/// <summary>
/// One row per request: who, what, where, tokens, cost, outcome. Rows with <see cref="Billable"/> false
/// (bad input, unknown keys, shadow requests) are kept for operations and never billed to the tenant.
/// <see cref="Cost"/> is what the vendor charges the operator; <see cref="Revenue"/> is what the tenant is billed.
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
    Utf8Text? RequestBody = null,
    string? ResponseText = null,
    string? FinishReason = null)
{
    /// <summary>The vendor whose model served the request, whose terms applied.</summary>
    public string? Vendor { get; init; }

    /// <summary>The entitlement decision's id (the <c>x-corridor-decision</c> header), when policy was evaluated.</summary>
    public string? DecisionId { get; init; }

    /// <summary>What the tenant is billed for this request, from the sell price (0 when not billable).</summary>
    public decimal Revenue { get; init; }

    /// <summary>Of <see cref="InputTokens"/>, those the vendor read from its prompt cache (priced at the cache-read price).</summary>
    public long CacheReadTokens { get; init; }

    /// <summary>Of <see cref="InputTokens"/>, those the vendor wrote to its prompt cache (priced at the cache-write price).</summary>
    public long CacheWriteTokens { get; init; }

    /// <summary>
    /// Set on a shadow request (shadow evaluation): the id of the tenant's request it mirrored. Such a row is billed to
    /// the operator: not billable, no revenue, its cost the operator's own spend.
    /// </summary>
    public string? ShadowOf { get; init; }

    /// <summary>
    /// Set on a request Corridor ran for one of the tenant's batches (OpenAI's Batch API, Anthropic's Message Batches): the
    /// batch's id. Its client asked for it when it made the batch; the row's time is when it ran.
    /// </summary>
    public string? BatchId { get; init; }

    /// <summary>The endpoint of a token count (Anthropic's <c>count_tokens</c>): a prompt counted, nothing generated or billed.</summary>
    public const string TokenCountEndpoint = "/v1/messages/count_tokens";

    /// <summary>
    /// Whether this row is a token count's: never billable, and not traffic the distillation monitor observes (it asks for
    /// no output), so a traffic log leaves it out.
    /// </summary>
    public bool IsTokenCount => string.Equals(Endpoint, TokenCountEndpoint, StringComparison.Ordinal);
}
