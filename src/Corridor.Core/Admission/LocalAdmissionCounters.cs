using System.Collections.Concurrent;
using System.Globalization;

namespace Corridor.Core.Admission;

/// <summary>
/// Admission counters held in this process. Each tenant and key has one small object guarded by its own lock; a request
/// locks its tenant, then its key (always in that order), checks every limit of both, and only then takes from the rate
/// windows and adds its worst-case cost to both reservations. Because the check and the reservation happen under the
/// same locks, concurrent requests see each other's reservations: the hard budget is never committed beyond
/// <c>spent + reserved + worst case &lt;= budget</c>, and spend can exceed it only by what settled requests cost beyond
/// their reservations (see docs/limits-and-budgets.md).
/// </summary>
public sealed class LocalAdmissionCounters(TimeProvider time) : IAdmissionCounters
{
    private readonly ConcurrentDictionary<string, Subject> _tenants = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Subject> _keys = new(StringComparer.Ordinal);
    private readonly long _minute = time.TimestampFrequency * 60;

    public AdmissionResult TryAdmit(in AdmissionRequest request, out AdmissionTicket ticket)
    {
        ticket = default;
        var tenant = Get(_tenants, LimitScope.Tenant, request.TenantId);
        var key = Get(_keys, LimitScope.Key, request.KeyId);
        var now = time.GetTimestamp();
        var budgets = request.TenantLimits.HasBudgets || request.KeyLimits.HasBudgets;
        var today = budgets ? Today() : default;
        var horizon = Horizon(request.LimitShare);
        using (tenant.Gate.EnterScope())
        using (key.Gate.EnterScope())
        {
            if (budgets)
            {
                tenant.Roll(today);
                key.Roll(today);
            }
            var refused = Check(tenant, request.TenantLimits, LimitScope.Tenant, in request, now, horizon)
                ?? Check(key, request.KeyLimits, LimitScope.Key, in request, now, horizon);
            if (refused is { } refusal)
            {
                // A refusal shows where the rate limits stand too (a stream slot or a budget refused; the other kind of
                // rate when one is over): what a rate refusal gives is the refusing subject's, the rest the tighter of both.
                return WithRates(refusal, tenant, key, in request, now);
            }
            Take(tenant, request.TenantLimits, in request, now);
            Take(key, request.KeyLimits, in request, now);
        }
        ticket = AdmissionTicket.Create(tenant, key, request.Tokens, request.WorstCaseCost, request.Stream);
        ticket.TenantTokenLimit = TokenLimit(request.TenantLimits, in request);
        ticket.KeyTokenLimit = TokenLimit(request.KeyLimits, in request);
        var admitted = new AdmissionResult(AdmissionVerdict.Admitted, LimitScope.Tenant, TimeSpan.Zero, default, default);
        // Outside the locks: what the headers show may be a request or two stale, and the locks stay short. A window's
        // timestamp is one 64-bit field, read whole.
        return WithRates(admitted, tenant, key, in request, now);
    }

    /// <summary>
    /// <paramref name="result"/> with where the tenant's and key's request and token rates stand (the tighter of both)
    /// wherever it has none; nothing is taken. The fleet's own refusals (<see cref="FleetAdmissionCounters"/>) show this
    /// replica's windows, as its admissions do.
    /// </summary>
    internal AdmissionResult WithRates(in AdmissionResult result, in AdmissionRequest request) =>
        !request.TenantLimits.HasRateLimits && !request.KeyLimits.HasRateLimits
            ? result
            : WithRates(result, Get(_tenants, LimitScope.Tenant, request.TenantId), Get(_keys, LimitScope.Key, request.KeyId), in request, time.GetTimestamp());

    private AdmissionResult WithRates(in AdmissionResult result, Subject tenant, Subject key, in AdmissionRequest request, long now)
    {
        if ((result.Requests.IsSet && result.Tokens.IsSet) || (!request.TenantLimits.HasRateLimits && !request.KeyLimits.HasRateLimits))
        {
            return result;
        }
        var frequency = time.TimestampFrequency;
        return result with
        {
            Requests = result.Requests.IsSet ? result.Requests
                : Tighter(tenant.RequestStatus(request.TenantLimits, request.LimitFactor, _minute, now, frequency),
                    key.RequestStatus(request.KeyLimits, request.LimitFactor, _minute, now, frequency)),
            Tokens = result.Tokens.IsSet ? result.Tokens
                : Tighter(tenant.TokenStatus(request.TenantLimits, request.LimitFactor, _minute, now, frequency),
                    key.TokenStatus(request.KeyLimits, request.LimitFactor, _minute, now, frequency)),
        };
    }

    public BudgetAlerts Settle(ref AdmissionTicket ticket, long tokens, decimal cost)
    {
        if (ticket.Tenant is not Subject tenant || ticket.Key is not Subject key)
        {
            return BudgetAlerts.None;
        }
        var held = ticket;
        ticket = default;
        var now = time.GetTimestamp();
        var utc = time.GetUtcNow();
        var today = DateOnly.FromDateTime(utc.UtcDateTime);
        var alerts = BudgetAlerts.None;
        using (tenant.Gate.EnterScope())
        using (key.Gate.EnterScope())
        {
            alerts |= tenant.Settle(in held, held.TenantTokenLimit, tokens, cost, today, utc, now, _minute) switch
            {
                (true, true) => BudgetAlerts.TenantDay | BudgetAlerts.TenantMonth,
                (true, false) => BudgetAlerts.TenantDay,
                (false, true) => BudgetAlerts.TenantMonth,
                _ => BudgetAlerts.None,
            };
            alerts |= key.Settle(in held, held.KeyTokenLimit, tokens, cost, today, utc, now, _minute) switch
            {
                (true, true) => BudgetAlerts.KeyDay | BudgetAlerts.KeyMonth,
                (true, false) => BudgetAlerts.KeyDay,
                (false, true) => BudgetAlerts.KeyMonth,
                _ => BudgetAlerts.None,
            };
        }
        return alerts;
    }

    public void Restore(IEnumerable<RecordedSpend> spend)
    {
        ArgumentNullException.ThrowIfNull(spend);
        var today = Today();
        foreach (var row in spend)
        {
            Get(_tenants, LimitScope.Tenant, row.TenantId).Add(row.Day, row.Cost, today);
            if (row.KeyId is { } keyId)
            {
                Get(_keys, LimitScope.Key, keyId).Add(row.Day, row.Cost, today);
            }
        }
    }

    public IReadOnlyList<SubjectUsage> Snapshot()
    {
        var today = Today();
        return [.. _tenants.Values.Concat(_keys.Values).Select(s => s.Usage(today)).OrderBy(u => u.Scope).ThenBy(u => u.Id, StringComparer.Ordinal)];
    }

    public SubjectUsage? Find(LimitScope scope, string id) =>
        (scope == LimitScope.Tenant ? _tenants : _keys).TryGetValue(id, out var s) ? s.Usage(Today()) : null;

    private DateOnly Today() => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);

    private static Subject Get(ConcurrentDictionary<string, Subject> subjects, LimitScope scope, string id) =>
        subjects.TryGetValue(id, out var subject) ? subject : subjects.GetOrAdd(id, static (id, scope) => new Subject(scope, id), scope);

    /// <summary>
    /// Where a rate window, with the request, must end for it to be admitted: a whole minute ahead of now for a live
    /// request; for a batch's, its share of the minute, so what live and batch requests hold together stays within the
    /// share of the limit.
    /// </summary>
    private long Horizon(double share) => share >= 1.0 ? _minute : (long)(_minute * Math.Max(0, share));

    private AdmissionResult? Check(Subject subject, Limits limits, LimitScope scope, in AdmissionRequest request, long now, long horizon)
    {
        if (request.Stream && Scaled(limits.ConcurrentStreams, request.LimitFactor) is { } streams && subject.Streams >= streams)
        {
            return Refusal(AdmissionVerdict.ConcurrentStreamsExceeded, scope, TimeSpan.FromSeconds(1));
        }
        if (limits.DailyHardBudget is { } daily && subject.DaySpent + subject.Reserved + request.WorstCaseCost > daily)
        {
            return Refusal(AdmissionVerdict.BudgetExhausted, scope, TimeSpan.Zero, BudgetPeriod.Day);
        }
        if (limits.MonthlyHardBudget is { } monthly && subject.MonthSpent + subject.Reserved + request.WorstCaseCost > monthly)
        {
            return Refusal(AdmissionVerdict.BudgetExhausted, scope, TimeSpan.Zero, BudgetPeriod.Month);
        }
        if (Scaled(limits.RequestsPerMinute, request.LimitFactor) is { } rpm
            && !subject.Requests.CanTake(1, rpm, _minute, horizon, now, out var requestWait))
        {
            return Refusal(AdmissionVerdict.RequestRateExceeded, scope, RateWindow.Ticks(requestWait, time.TimestampFrequency)) with
            {
                Requests = subject.RequestStatus(limits, request.LimitFactor, _minute, now, time.TimestampFrequency),
                Tokens = subject.TokenStatus(limits, request.LimitFactor, _minute, now, time.TimestampFrequency),
            };
        }
        if (Scaled(limits.TokensPerMinute, request.LimitFactor) is { } tpm && request.Tokens > 0)
        {
            if (request.Tokens > tpm || (horizon < _minute && !RateWindow.Fits(request.Tokens, tpm, _minute, horizon)))
            {
                return Refusal(AdmissionVerdict.TokensAboveLimit, scope, TimeSpan.Zero) with
                {
                    Tokens = subject.TokenStatus(limits, request.LimitFactor, _minute, now, time.TimestampFrequency),
                };
            }
            if (!subject.Tokens.CanTake(request.Tokens, tpm, _minute, horizon, now, out var tokenWait))
            {
                return Refusal(AdmissionVerdict.TokenRateExceeded, scope, RateWindow.Ticks(tokenWait, time.TimestampFrequency)) with
                {
                    Requests = subject.RequestStatus(limits, request.LimitFactor, _minute, now, time.TimestampFrequency),
                    Tokens = subject.TokenStatus(limits, request.LimitFactor, _minute, now, time.TimestampFrequency),
                };
            }
        }
        return null;
    }

    private void Take(Subject subject, Limits limits, in AdmissionRequest request, long now)
    {
        if (Scaled(limits.RequestsPerMinute, request.LimitFactor) is { } rpm)
        {
            subject.Requests.Take(1, rpm, _minute, now);
        }
        if (TokenLimit(limits, in request) is > 0 and var tpm)
        {
            subject.Tokens.Take(request.Tokens, tpm, _minute, now);
        }
        if (request.Stream)
        {
            subject.Streams++;
        }
        subject.Reserved += request.WorstCaseCost;
        subject.DailySoft = limits.DailySoftBudget;
        subject.MonthlySoft = limits.MonthlySoftBudget;
    }

    /// <summary>The tokens-per-minute limit a subject's window takes the request's tokens at; 0 when it takes none.</summary>
    private static long TokenLimit(Limits limits, in AdmissionRequest request) =>
        request.Tokens > 0 && Scaled(limits.TokensPerMinute, request.LimitFactor) is { } tpm ? tpm : 0;

    private static AdmissionResult Refusal(AdmissionVerdict verdict, LimitScope scope, TimeSpan retryAfter, BudgetPeriod period = BudgetPeriod.Day) =>
        new(verdict, scope, retryAfter, default, default, period);

    /// <summary>The limit times the enforcement factor, never below one (a factor of zero is suspension, decided before admission).</summary>
    internal static long? Scaled(long? limit, double factor) =>
        limit is not { } value ? null
        : factor >= 1.0 ? value
        : Math.Max(1, (long)(value * Math.Max(0, factor)));

    private static RateStatus Tighter(RateStatus a, RateStatus b) =>
        !a.IsSet ? b : !b.IsSet ? a : a.Remaining <= b.Remaining ? a : b;

    /// <summary>One tenant's or key's counters; every field is read and written under <see cref="Gate"/>.</summary>
    private sealed class Subject(LimitScope scope, string id)
    {
        public readonly Lock Gate = new();
        public RateWindow Requests;
        public RateWindow Tokens;

        public int Streams;
        public DateOnly Day;
        public decimal DaySpent;
        public int Month;
        public decimal MonthSpent;
        public decimal Reserved;
        public DateTimeOffset? DailySoftAlertAt;
        public DateTimeOffset? MonthlySoftAlertAt;

        /// <summary>Soft budgets as they stood at the last admission, so settlement can tell when spend crossed one.</summary>
        public decimal? DailySoft;
        public decimal? MonthlySoft;

        public void Roll(DateOnly today)
        {
            if (today == Day)
            {
                return;
            }
            Day = today;
            DaySpent = 0;
            DailySoftAlertAt = null;
            var month = MonthIndex(today);
            if (month != Month)
            {
                Month = month;
                MonthSpent = 0;
                MonthlySoftAlertAt = null;
            }
        }

        public RateStatus RequestStatus(Limits limits, double factor, long minute, long now, long frequency) =>
            Scaled(limits.RequestsPerMinute, factor) is { } rpm ? Requests.Status(rpm, minute, now, frequency) : default;

        public RateStatus TokenStatus(Limits limits, double factor, long minute, long now, long frequency) =>
            Scaled(limits.TokensPerMinute, factor) is { } tpm ? Tokens.Status(tpm, minute, now, frequency) : default;

        /// <summary>Releases the reservation, charges the actual; returns whether a soft budget was crossed (day, month).</summary>
        public (bool Day, bool Month) Settle(in AdmissionTicket ticket, long tokenLimit, long tokens, decimal cost, DateOnly today, DateTimeOffset utc, long now, long minute)
        {
            Roll(today);
            Reserved -= ticket.ReservedCost;
            if (ticket.Stream)
            {
                Streams--;
            }
            if (tokenLimit > 0)
            {
                Tokens.Adjust(tokens - ticket.Tokens, tokenLimit, minute, now);
            }
            if (cost == 0)
            {
                return (false, false);
            }
            DaySpent += cost;
            MonthSpent += cost;
            var day = DailySoftAlertAt is null && DailySoft is { } ds && DaySpent >= ds;
            var month = MonthlySoftAlertAt is null && MonthlySoft is { } ms && MonthSpent >= ms;
            if (day)
            {
                DailySoftAlertAt = utc;
            }
            if (month)
            {
                MonthlySoftAlertAt = utc;
            }
            return (day, month);
        }

        public void Add(DateOnly day, decimal cost, DateOnly today)
        {
            using (Gate.EnterScope())
            {
                Roll(today);
                if (day == today)
                {
                    DaySpent += cost;
                }
                if (MonthIndex(day) == Month)
                {
                    MonthSpent += cost;
                }
            }
        }

        public SubjectUsage Usage(DateOnly today)
        {
            using (Gate.EnterScope())
            {
                Roll(today);
                return new SubjectUsage(scope, id, Day, DaySpent, today.ToString("yyyy-MM", CultureInfo.InvariantCulture), MonthSpent, Reserved, Streams,
                    DailySoftAlertAt, MonthlySoftAlertAt);
            }
        }

        private static int MonthIndex(DateOnly day) => (day.Year * 12) + day.Month;
    }
}
