using System.Runtime.CompilerServices;

namespace Corridor.Core.Admission;

/// <summary>
/// Admission counters for a fleet of gateways sharing one database. Requests per minute, weighted tokens per minute and
/// hard budgets of the day and the month hold for the fleet: each is spent from slices this replica leased from the
/// shared book (<see cref="LeaseHoldings"/>), so the fleet never admits beyond a limit. Everything else (concurrent
/// streams, soft budgets, the usage shown by the admin API, the rate-limit headers) is this replica's own, kept by
/// <see cref="LocalAdmissionCounters"/>, whose limits hold per replica as well.
/// <para>
/// The request path never waits for the database. A replica holding too little of an allowance refuses with
/// <see cref="AdmissionVerdict.AllowancePending"/> (try again in a second) and asks for more; the worker that talks to
/// the book wakes on <see cref="WantsDue"/>. When the book had no more for the period, the request is refused as over
/// the limit or budget.
/// </para>
/// </summary>
public sealed class FleetAdmissionCounters(TimeProvider time, LeaseSizing sizing) : IAdmissionCounters
{
    /// <summary>How long a client is asked to wait while a slice is on its way.</summary>
    public static readonly TimeSpan PendingRetryAfter = TimeSpan.FromSeconds(1);

    private readonly LocalAdmissionCounters _local = new(time);
    private readonly Dictionary<LeaseKey, decimal> _seeds = [];
    private readonly Lock _seedGate = new();

    public LeaseHoldings Holdings { get; } = new(time, sizing);

    /// <summary>Released when a spend asked for a lease: the worker carrying leases to the book should run now.</summary>
    public SemaphoreSlim WantsDue { get; } = new(0, 1);

    public AdmissionResult TryAdmit(in AdmissionRequest request, out AdmissionTicket ticket)
    {
        if (!Shared(request.TenantLimits, request.WorstCaseCost) && !Shared(request.KeyLimits, request.WorstCaseCost))
        {
            return _local.TryAdmit(in request, out ticket);
        }
        ticket = default;
        var hold = new FleetHold();
        var refused = SpendAll(hold, LimitScope.Tenant, request.TenantId, request.TenantLimits, in request, refused: null);
        refused = SpendAll(hold, LimitScope.Key, request.KeyId, request.KeyLimits, in request, refused);
        var result = refused ?? _local.TryAdmit(in request, out hold.Local);
        if (Holdings.WantsDue && WantsDue.CurrentCount == 0)
        {
            try
            {
                WantsDue.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another request woke the worker first.
            }
        }
        if (!result.Admitted)
        {
            Undo(hold);
            // Refused by the fleet's book or a wait for a slice: the headers show this replica's windows, as on admission.
            return _local.WithRates(in result, in request);
        }
        ticket = AdmissionTicket.Create(hold, hold, request.Tokens, request.WorstCaseCost, request.Stream);
        return result;
    }

    public BudgetAlerts Settle(ref AdmissionTicket ticket, long tokens, decimal cost)
    {
        if (ticket.Tenant is not FleetHold hold)
        {
            return _local.Settle(ref ticket, tokens, cost);
        }
        ticket = default;
        for (var i = 0; i < hold.Count; i++)
        {
            var spend = hold.Spends[i];
            // What the request actually used against what it took at admission: less gives back, more charges the book.
            var actual = spend.Subject.Kind switch
            {
                LeaseKind.Tokens => tokens,
                LeaseKind.DayBudget or LeaseKind.MonthBudget => cost,
                _ => spend.Units,
            };
            if (actual != spend.Units)
            {
                Holdings.Correct(spend.Subject, spend.Period, actual - spend.Units);
            }
        }
        return _local.Settle(ref hold.Local, tokens, cost);
    }

    /// <summary>
    /// Adds the ledger's spend of this month to the local counters, and keeps today's and this month's totals per tenant
    /// and key for the book (<see cref="TakeSeeds"/>): a book with no row yet for the period (the fleet's first lease
    /// since leases began) starts from them.
    /// </summary>
    public void Restore(IEnumerable<RecordedSpend> spend)
    {
        ArgumentNullException.ThrowIfNull(spend);
        var rows = spend.ToList();
        _local.Restore(rows);
        var utc = time.GetUtcNow();
        var today = LeasePeriods.Of(LeaseKind.DayBudget, utc);
        var month = LeasePeriods.Of(LeaseKind.MonthBudget, utc);
        using (_seedGate.EnterScope())
        {
            foreach (var row in rows)
            {
                var at = new DateTimeOffset(row.Day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
                foreach (var (scope, id) in row.KeyId is { } keyId ? [(LimitScope.Tenant, row.TenantId), (LimitScope.Key, keyId)] : new[] { (LimitScope.Tenant, row.TenantId) })
                {
                    if (LeasePeriods.Of(LeaseKind.DayBudget, at) == today)
                    {
                        Seed(new LeaseKey(new LeaseSubject(scope, id, LeaseKind.DayBudget), today), row.Cost);
                    }
                    if (LeasePeriods.Of(LeaseKind.MonthBudget, at) == month)
                    {
                        Seed(new LeaseKey(new LeaseSubject(scope, id, LeaseKind.MonthBudget), month), row.Cost);
                    }
                }
            }
        }
    }

    /// <summary>The spend restored at start, per book row of this day and month, once.</summary>
    public IReadOnlyList<KeyValuePair<LeaseKey, decimal>> TakeSeeds()
    {
        using (_seedGate.EnterScope())
        {
            var seeds = _seeds.ToArray();
            _seeds.Clear();
            return seeds;
        }
    }

    public SubjectUsage? Find(LimitScope scope, string id) => _local.Find(scope, id);

    public IReadOnlyList<SubjectUsage> Snapshot() => _local.Snapshot();

    private void Seed(LeaseKey key, decimal cost) => _seeds[key] = _seeds.GetValueOrDefault(key) + cost;

    /// <summary>Whether <paramref name="limits"/> has anything the fleet shares: a rate limit, or a hard budget the request costs against.</summary>
    private static bool Shared(Limits limits, decimal worstCase) =>
        limits.HasRateLimits || (worstCase > 0 && (limits.DailyHardBudget is not null || limits.MonthlyHardBudget is not null));

    /// <summary>
    /// Spends the request's share of each of the subject's four allowances (requests, weighted tokens, day and month
    /// budget) after <paramref name="refused"/>, what earlier spends answered, and returns the refusal that stands, if any.
    /// A refusal for good (over a limit or budget) ends the spending. A refusal for a slice on its way does not: the rest
    /// are still tried, so every slice the request lacks is asked for at once and the retry finds them all (what they take
    /// is given back with the refusal), and a later refusal for good replaces it.
    /// </summary>
    private AdmissionResult? SpendAll(FleetHold hold, LimitScope scope, string id, Limits limits, in AdmissionRequest request, AdmissionResult? refused)
    {
        var tpm = LocalAdmissionCounters.Scaled(limits.TokensPerMinute, request.LimitFactor);
        ReadOnlySpan<(LeaseKind Kind, decimal? Limit, decimal Units)> allowances =
        [
            (LeaseKind.Requests, LocalAdmissionCounters.Scaled(limits.RequestsPerMinute, request.LimitFactor), 1),
            // A request above a whole minute's tokens is refused by the local counters, with the reason; no slice is asked for it.
            (LeaseKind.Tokens, request.Tokens <= tpm ? tpm : null, request.Tokens),
            (LeaseKind.DayBudget, limits.DailyHardBudget, request.WorstCaseCost),
            (LeaseKind.MonthBudget, limits.MonthlyHardBudget, request.WorstCaseCost),
        ];
        foreach (var (kind, limit, units) in allowances)
        {
            if (refused is { Verdict: not AdmissionVerdict.AllowancePending })
            {
                return refused;
            }
            var answer = Spend(hold, new LeaseSubject(scope, id, kind), limit, units);
            if (answer is { } refusal && (refused is null || refusal.Verdict != AdmissionVerdict.AllowancePending))
            {
                refused = refusal;
            }
        }
        return refused;
    }

    private AdmissionResult? Spend(FleetHold hold, LeaseSubject subject, decimal? limit, decimal units)
    {
        if (limit is not { } value || units <= 0)
        {
            return null;
        }
        switch (Holdings.TrySpend(subject, value, units, out var period))
        {
            case LeaseAnswer.Spent:
                hold.Add(new SliceSpend(subject, period, units));
                return null;
            case LeaseAnswer.Wait:
                return new AdmissionResult(AdmissionVerdict.AllowancePending, subject.Scope, PendingRetryAfter, default, default);
        }
        // The fleet's allowance of this period is all taken (as far as the book said within the last dry retry).
        var nextMinute = LeasePeriods.UntilNextMinute(time.GetUtcNow());
        var status = new RateStatus((long)value, 0, nextMinute);
        return subject.Kind switch
        {
            LeaseKind.Requests => new AdmissionResult(AdmissionVerdict.RequestRateExceeded, subject.Scope, nextMinute, status, default),
            LeaseKind.Tokens => new AdmissionResult(AdmissionVerdict.TokenRateExceeded, subject.Scope, nextMinute, default, status),
            LeaseKind.DayBudget => new AdmissionResult(AdmissionVerdict.BudgetExhausted, subject.Scope, TimeSpan.Zero, default, default, BudgetPeriod.Day),
            _ => new AdmissionResult(AdmissionVerdict.BudgetExhausted, subject.Scope, TimeSpan.Zero, default, default, BudgetPeriod.Month),
        };
    }

    /// <summary>Gives back what a refused request had spent from the slices (exactly: the slices are this replica's).</summary>
    private void Undo(FleetHold hold)
    {
        for (var i = 0; i < hold.Count; i++)
        {
            var spend = hold.Spends[i];
            Holdings.Correct(spend.Subject, spend.Period, -spend.Units);
        }
    }

    private readonly record struct SliceSpend(LeaseSubject Subject, long Period, decimal Units);

    [InlineArray(8)]
    private struct Spends
    {
        private SliceSpend _first;
    }

    /// <summary>What an admitted request took from the fleet's slices (each with its period), and its local ticket.</summary>
    private sealed class FleetHold
    {
        public AdmissionTicket Local;
        public Spends Spends;
        public int Count;

        public void Add(SliceSpend spend) => Spends[Count++] = spend;
    }
}
