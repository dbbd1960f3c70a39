namespace Corridor.Core.Admission;

/// <summary>Why admission refused, or that it did not.</summary>
public enum AdmissionVerdict
{
    Admitted,

    /// <summary>Requests per minute used up; retry after <see cref="AdmissionResult.RetryAfter"/>.</summary>
    RequestRateExceeded,

    /// <summary>Weighted tokens per minute used up; retry after <see cref="AdmissionResult.RetryAfter"/>.</summary>
    TokenRateExceeded,

    /// <summary>
    /// The request alone needs more tokens than a whole minute allows (a batch's: than its share of a minute): waiting
    /// will not help.
    /// </summary>
    TokensAboveLimit,

    ConcurrentStreamsExceeded,

    /// <summary>The hard budget of the period cannot cover the request's worst-case cost.</summary>
    BudgetExhausted,

    /// <summary>
    /// A fleet's replica holds too little of a shared allowance and has asked the database for more; waiting a moment
    /// helps (<see cref="FleetAdmissionCounters"/>).
    /// </summary>
    AllowancePending,
}

/// <summary>A budget period.</summary>
public enum BudgetPeriod
{
    Day,
    Month,
}

/// <summary>Soft budgets that a settlement pushed over the line, at most once each per period.</summary>
[Flags]
public enum BudgetAlerts
{
    None = 0,
    TenantDay = 1,
    TenantMonth = 2,
    KeyDay = 4,
    KeyMonth = 8,
}

/// <summary>
/// What admission needs to know of one request: who sends it (with the effective limits of its tenant and key), the
/// weighted tokens and the worst-case cost to reserve, whether it holds a stream, and the factor the monitor's
/// enforcement applies to the rate and stream limits (1: as configured; 0.25: a quarter; a throttled subject), and the
/// share of each rate limit (requests and tokens per minute) the request may fill, counting what the window holds already:
/// 1 for a live request, <c>batches.limitShare</c> for a batch's, so batches leave live traffic the rest of each limit.
/// </summary>
public readonly record struct AdmissionRequest(
    string TenantId,
    Limits TenantLimits,
    string KeyId,
    Limits KeyLimits,
    long Tokens,
    decimal WorstCaseCost,
    bool Stream,
    double LimitFactor = 1.0,
    double LimitShare = 1.0);

/// <summary>
/// The answer: the verdict, whose limit decided it, how long to wait when waiting helps, and where the request and
/// token limits stand (the tighter of tenant and key) for the rate-limit headers.
/// </summary>
public readonly record struct AdmissionResult(
    AdmissionVerdict Verdict,
    LimitScope Scope,
    TimeSpan RetryAfter,
    RateStatus Requests,
    RateStatus Tokens,
    BudgetPeriod Period = BudgetPeriod.Day)
{
    public bool Admitted => Verdict == AdmissionVerdict.Admitted;
}

/// <summary>
/// What an admitted request holds until it is settled: its reservation (weighted tokens and worst-case cost) and, for a
/// stream, a stream slot. Settled exactly once, in every ending, by <see cref="IAdmissionCounters.Settle"/>.
/// </summary>
public struct AdmissionTicket
{
    /// <summary>The counters' own handles on the tenant and the key.</summary>
    public object? Tenant { get; internal set; }

    public object? Key { get; internal set; }

    public long Tokens { get; internal set; }

    public decimal ReservedCost { get; internal set; }

    public bool Stream { get; internal set; }

    /// <summary>
    /// The tokens-per-minute limit (after the enforcement factor) the tenant's and the key's windows took
    /// <see cref="Tokens"/> at; 0 when that window took none. Settlement corrects each window at the rate it took, even
    /// if the limit changed meanwhile.
    /// </summary>
    public long TenantTokenLimit { get; internal set; }

    public long KeyTokenLimit { get; internal set; }

    /// <summary>True from admission until settlement.</summary>
    public readonly bool IsHeld => Tenant is not null;

    /// <summary>For implementations of <see cref="IAdmissionCounters"/> other than the local one.</summary>
    public static AdmissionTicket Create(object tenant, object key, long tokens, decimal reservedCost, bool stream) =>
        new() { Tenant = tenant, Key = key, Tokens = tokens, ReservedCost = reservedCost, Stream = stream };
}

/// <summary>Spend already recorded (in the ledger) for one tenant and key on one UTC day; restores the budgets at start.</summary>
public readonly record struct RecordedSpend(string TenantId, string? KeyId, DateOnly Day, decimal Cost);

/// <summary>Where one tenant or key stands now, for the admin API.</summary>
public sealed record SubjectUsage(
    LimitScope Scope,
    string Id,
    DateOnly Day,
    decimal DaySpent,
    string Month,
    decimal MonthSpent,
    decimal Reserved,
    int Streams,
    DateTimeOffset? DailySoftAlertAt,
    DateTimeOffset? MonthlySoftAlertAt);

/// <summary>
/// The counters behind admission: rate windows, stream slots, and spend and reservations per budget period, per tenant
/// and per key. <see cref="LocalAdmissionCounters"/> keeps them in this process; <see cref="FleetAdmissionCounters"/>
/// adds slices of each shared allowance leased from the fleet's database.
/// </summary>
public interface IAdmissionCounters
{
    /// <summary>Checks every limit of the tenant and the key together and, when all allow, takes and reserves at once.</summary>
    AdmissionResult TryAdmit(in AdmissionRequest request, out AdmissionTicket ticket);

    /// <summary>
    /// Releases the reservation and the stream slot, charges the actual weighted tokens and cost (zero when nothing is
    /// billable) and clears the ticket; settling a cleared ticket does nothing, so no request is charged twice.
    /// </summary>
    BudgetAlerts Settle(ref AdmissionTicket ticket, long tokens, decimal cost);

    /// <summary>Adds spend recorded before this process started (the ledger's rows of this month).</summary>
    void Restore(IEnumerable<RecordedSpend> spend);

    /// <summary>Where one tenant or key stands now; null when it has not been seen.</summary>
    SubjectUsage? Find(LimitScope scope, string id);

    /// <summary>Every tenant and key seen, with its spend this day and month.</summary>
    IReadOnlyList<SubjectUsage> Snapshot();
}
