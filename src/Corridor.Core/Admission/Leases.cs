namespace Corridor.Core.Admission;

/// <summary>What a lease is a slice of: a per-minute rate allowance or a hard budget of a day or a month.</summary>
public enum LeaseKind
{
    Requests,
    Tokens,
    DayBudget,
    MonthBudget,
}

/// <summary>Whose allowance, of which kind.</summary>
public readonly record struct LeaseSubject(LimitScope Scope, string Id, LeaseKind Kind);

/// <summary>
/// One row of the shared lease book: a subject's allowance of one period (a UTC minute, day or month, numbered by
/// <see cref="LeasePeriods"/>).
/// </summary>
public readonly record struct LeaseKey(LeaseSubject Subject, long Period);

/// <summary>
/// The periods leases are counted in. Rates are leased per aligned UTC minute (the fleet's allowance of a minute is the
/// limit, whoever spends it), budgets per UTC day and month, as the local counters roll them.
/// </summary>
public static class LeasePeriods
{
    public static long Of(LeaseKind kind, DateTimeOffset utc) => kind switch
    {
        LeaseKind.Requests or LeaseKind.Tokens => Minute(utc),
        LeaseKind.DayBudget => DateOnly.FromDateTime(utc.UtcDateTime).DayNumber,
        _ => (utc.UtcDateTime.Year * 12L) + utc.UtcDateTime.Month,
    };

    public static long Minute(DateTimeOffset utc) => Math.DivRem(utc.ToUnixTimeMilliseconds(), 60_000L, out var rest) - (rest < 0 ? 1 : 0);

    /// <summary>How long until the next UTC minute begins (when a rate's allowance is whole again for the fleet).</summary>
    public static TimeSpan UntilNextMinute(DateTimeOffset utc) =>
        DateTimeOffset.FromUnixTimeMilliseconds((Minute(utc) + 1) * 60_000L) - utc;
}

/// <summary>
/// The arithmetic of the shared lease book, done atomically per row by the store (PostgreSQL: one conditional
/// <c>UPDATE</c>): a row holds what the fleet has <c>taken</c> of a period's allowance: slices held by replicas, spend
/// settled and reservations in flight, all alike. A grant never lifts <c>taken</c> above the limit; a return gives back
/// what a replica did not use, or (negative) adds what settled requests cost beyond their reservations.
/// </summary>
public static class LeaseArithmetic
{
    /// <summary>What may be granted of <paramref name="want"/> when <paramref name="taken"/> of <paramref name="limit"/> is taken.</summary>
    public static decimal Grant(decimal limit, decimal taken, decimal want) => Math.Max(0m, Math.Min(want, limit - taken));
}

/// <summary>
/// The shared lease book. The store implements it over PostgreSQL for a fleet; <see cref="MemoryLeaseBook"/> is the
/// same arithmetic in memory.
/// </summary>
public interface ILeaseBook
{
    /// <summary>Grants up to <paramref name="want"/> of <paramref name="key"/>'s allowance of <paramref name="limit"/>; returns what was granted.</summary>
    ValueTask<decimal> LeaseAsync(LeaseKey key, decimal limit, decimal want, CancellationToken cancellationToken);

    /// <summary>Gives back <paramref name="unused"/> of what was taken (negative: takes that much more, spend beyond reservations).</summary>
    ValueTask ReturnAsync(LeaseKey key, decimal unused, CancellationToken cancellationToken);
}

/// <summary>The lease book in memory: the reference for the store's statements, and the shared book of unit tests.</summary>
public sealed class MemoryLeaseBook : ILeaseBook
{
    private readonly Dictionary<LeaseKey, decimal> _taken = [];
    private readonly Lock _gate = new();

    public decimal Taken(LeaseKey key)
    {
        using (_gate.EnterScope())
        {
            return _taken.GetValueOrDefault(key);
        }
    }

    public decimal Lease(LeaseKey key, decimal limit, decimal want)
    {
        using (_gate.EnterScope())
        {
            var taken = _taken.GetValueOrDefault(key);
            var granted = LeaseArithmetic.Grant(limit, taken, want);
            _taken[key] = taken + granted;
            return granted;
        }
    }

    public void Return(LeaseKey key, decimal unused)
    {
        using (_gate.EnterScope())
        {
            _taken[key] = _taken.GetValueOrDefault(key) - unused;
        }
    }

    public ValueTask<decimal> LeaseAsync(LeaseKey key, decimal limit, decimal want, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Lease(key, limit, want));

    public ValueTask ReturnAsync(LeaseKey key, decimal unused, CancellationToken cancellationToken)
    {
        Return(key, unused);
        return ValueTask.CompletedTask;
    }
}

/// <summary>How large a slice a replica asks for, and when it asks for the next one ahead of need.</summary>
public sealed record LeaseSizing
{
    /// <summary>A slice is this share of the period's limit (at least what the request at hand needs; at least one unit of a rate).</summary>
    public double SliceShare { get; init; } = 0.1;

    /// <summary>A top-up is asked for when what is left of the slice falls below this share of a slice.</summary>
    public double LowWaterShare { get; init; } = 0.5;

    /// <summary>After the book granted less than asked, the replica asks again no sooner than this.</summary>
    public TimeSpan DryRetry { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A slice not spent from this long is given back, so other replicas can use it.</summary>
    public TimeSpan IdleReturn { get; init; } = TimeSpan.FromSeconds(5);

    public decimal Slice(LeaseKind kind, decimal limit, decimal need)
    {
        var share = limit * (decimal)SliceShare;
        var slice = kind is LeaseKind.Requests or LeaseKind.Tokens ? Math.Max(1m, Math.Ceiling(share)) : share;
        return Math.Max(slice, need);
    }
}

/// <summary>The answer of <see cref="LeaseHoldings.TrySpend"/>.</summary>
public enum LeaseAnswer
{
    /// <summary>Spent from the slice this replica holds.</summary>
    Spent,

    /// <summary>This replica holds too little; a lease is due or on its way: ask again when it arrives.</summary>
    Wait,

    /// <summary>The book had no more for this period when last asked: refuse (over the limit or budget for the fleet).</summary>
    Exhausted,
}

/// <summary>A lease this replica should ask the book for.</summary>
public readonly record struct LeaseWant(LeaseKey Key, decimal Limit, decimal Amount);

/// <summary>What this replica gives back to the book.</summary>
public readonly record struct LeaseReturn(LeaseKey Key, decimal Unused);

/// <summary>
/// The slices of the shared allowances one replica holds, spent locally without touching the database. The replica
/// spends from a slice while it lasts; when a slice runs low it asks (<see cref="TakeWants"/>) for the next one ahead of
/// need; it gives back (<see cref="TakeReturns"/>) the unused part of slices idle or of a period gone by. No I/O here:
/// a background worker carries wants and returns to the <see cref="ILeaseBook"/> and reports grants back.
/// <para>
/// The bound: the book never grants beyond a period's limit, and a replica never spends beyond what it was granted, so
/// the fleet's admissions in a period (requests in a UTC minute, committed cost in a day or month) never exceed the
/// limit; spend beyond it is only what settled requests cost beyond their reservations (<see cref="Correct"/>), the
/// same bound as on one machine.
/// </para>
/// </summary>
public sealed class LeaseHoldings(TimeProvider time, LeaseSizing sizing)
{
    private readonly Dictionary<LeaseSubject, Slice> _slices = [];
    private readonly List<LeaseReturn> _returns = [];
    private readonly Lock _gate = new();

    /// <summary>
    /// Spends <paramref name="units"/> of <paramref name="subject"/>'s allowance of <paramref name="limit"/> this period
    /// from the slice held. On <see cref="LeaseAnswer.Spent"/>, <paramref name="period"/> is the period charged, for
    /// <see cref="Correct"/>.
    /// </summary>
    public LeaseAnswer TrySpend(LeaseSubject subject, decimal limit, decimal units, out long period)
    {
        var utc = time.GetUtcNow();
        var now = time.GetTimestamp();
        period = LeasePeriods.Of(subject.Kind, utc);
        using (_gate.EnterScope())
        {
            var slice = Current(subject, period);
            slice.Limit = limit;
            if (slice.Remaining >= units)
            {
                slice.Used += units;
                slice.LastUse = now;
                if (slice.DryUntil <= now && slice.Remaining < sizing.Slice(subject.Kind, limit, 0) * (decimal)sizing.LowWaterShare)
                {
                    slice.Want(sizing.Slice(subject.Kind, limit, 0), now);
                }
                return LeaseAnswer.Spent;
            }
            if (slice.DryUntil > now)
            {
                return LeaseAnswer.Exhausted;
            }
            slice.Want(sizing.Slice(subject.Kind, limit, units - slice.Remaining), now);
            return LeaseAnswer.Wait;
        }
    }

    /// <summary>
    /// Corrects what a spend of <paramref name="period"/> charged by <paramref name="units"/>: negative gives back
    /// (a request cost less than it reserved), positive charges more. A correction for a period gone by is dropped:
    /// that period's allowance no longer admits anything.
    /// </summary>
    public void Correct(LeaseSubject subject, long period, decimal units)
    {
        using (_gate.EnterScope())
        {
            if (_slices.TryGetValue(subject, out var slice) && slice.Period == period)
            {
                slice.Used += units;
            }
        }
    }

    /// <summary>The leases due now; each is then on its way until <see cref="Granted"/> reports it.</summary>
    public IReadOnlyList<LeaseWant> TakeWants()
    {
        List<LeaseWant>? wants = null;
        using (_gate.EnterScope())
        {
            foreach (var (subject, slice) in _slices)
            {
                if (slice.Wanted > 0 && !slice.Pending)
                {
                    slice.Pending = true;
                    (wants ??= []).Add(new LeaseWant(new LeaseKey(subject, slice.Period), slice.Limit, slice.Wanted));
                    slice.Wanted = 0;
                }
            }
        }
        return wants ?? (IReadOnlyList<LeaseWant>)[];
    }

    /// <summary>What the book granted of <paramref name="want"/> (zero when it failed).</summary>
    public void Granted(LeaseWant want, decimal granted)
    {
        var now = time.GetTimestamp();
        using (_gate.EnterScope())
        {
            if (_slices.TryGetValue(want.Key.Subject, out var slice) && slice.Period == want.Key.Period)
            {
                slice.Pending = false;
                slice.Granted += granted;
                slice.LastUse = now;
                if (granted < want.Amount)
                {
                    slice.DryUntil = now + (long)(sizing.DryRetry.TotalSeconds * time.TimestampFrequency);
                }
                return;
            }
            // The period went by while the lease was on its way: its allowance admits nothing any more, so nothing to give back.
        }
    }

    /// <summary>
    /// The returns due: the unused part of slices idle for <see cref="LeaseSizing.IdleReturn"/>, or of all (at
    /// shutdown, <paramref name="all"/>). Slices of periods gone by are dropped, not returned: a past period admits nothing.
    /// </summary>
    public IReadOnlyList<LeaseReturn> TakeReturns(bool all = false)
    {
        var now = time.GetTimestamp();
        var utc = time.GetUtcNow();
        var idle = (long)(sizing.IdleReturn.TotalSeconds * time.TimestampFrequency);
        using (_gate.EnterScope())
        {
            foreach (var (subject, slice) in _slices)
            {
                if (slice.Pending)
                {
                    continue;
                }
                if (slice.Period == LeasePeriods.Of(subject.Kind, utc) && (all || now - slice.LastUse >= idle))
                {
                    Release(subject, slice);
                }
            }
            var returns = _returns.ToArray();
            _returns.Clear();
            return returns;
        }
    }

    /// <summary>What this replica holds unspent of <paramref name="subject"/>'s current slice (for the admin API and tests).</summary>
    public decimal Held(LeaseSubject subject)
    {
        using (_gate.EnterScope())
        {
            return _slices.TryGetValue(subject, out var slice) && slice.Period == LeasePeriods.Of(subject.Kind, time.GetUtcNow()) ? slice.Remaining : 0m;
        }
    }

    private Slice Current(LeaseSubject subject, long period)
    {
        if (!_slices.TryGetValue(subject, out var slice))
        {
            slice = new Slice { Period = period };
            _slices[subject] = slice;
            return slice;
        }
        if (slice.Period != period)
        {
            // The old period's slice lapses with it (a lease still on its way for it is dropped when it arrives).
            slice.Period = period;
            slice.Granted = slice.Used = slice.Wanted = 0;
            slice.Pending = false;
            slice.DryUntil = 0;
        }
        return slice;
    }

    private void Release(LeaseSubject subject, Slice slice)
    {
        // Unused may be negative (spent beyond reservations): the book then counts that too. Reservations still in
        // flight stay taken; their corrections later land in this slice's Used and go back with the next release.
        var unused = slice.Granted - slice.Used;
        if (unused != 0)
        {
            _returns.Add(new LeaseReturn(new LeaseKey(subject, slice.Period), unused));
        }
        slice.Granted = slice.Used = 0;
    }

    private sealed class Slice
    {
        public long Period;
        public decimal Limit;
        public decimal Granted;
        public decimal Used;
        public decimal Wanted;
        public bool Pending;
        public long DryUntil;
        public long LastUse;

        public decimal Remaining => Granted - Used;

        public void Want(decimal amount, long now)
        {
            if (!Pending)
            {
                Wanted = Math.Max(Wanted, amount);
            }
            LastUse = now;
        }
    }
}
