using System.Collections.Concurrent;

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

    /// <summary>How long until the next period of <paramref name="kind"/> begins.</summary>
    public static TimeSpan UntilNext(LeaseKind kind, DateTimeOffset utc)
    {
        var day = utc.UtcDateTime.Date;
        return kind switch
        {
            LeaseKind.Requests or LeaseKind.Tokens => UntilNextMinute(utc),
            LeaseKind.DayBudget => new DateTimeOffset(day.AddDays(1), TimeSpan.Zero) - utc,
            _ => new DateTimeOffset(day.AddDays(1 - day.Day).AddMonths(1), TimeSpan.Zero) - utc,
        };
    }
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

    /// <summary>Whether slices of <paramref name="kind"/> are held per replica and reclaimed when it expires (budgets; rates lapse within their minute).</summary>
    public static bool IsBudget(LeaseKind kind) => kind is LeaseKind.DayBudget or LeaseKind.MonthBudget;
}

/// <summary>What a replica holds unspent of one budget row (its current or next period's slice), as its heartbeat reports it.</summary>
public readonly record struct LeaseHeld(LeaseKey Key, decimal Unspent);

/// <summary>
/// The shared lease book. The store implements it over PostgreSQL for a fleet; <see cref="MemoryLeaseBook"/> is the
/// same arithmetic in memory.
/// <para>
/// Budget slices (a day's, a month's) are held by a registered replica (<see cref="RegisterAsync"/>): the book knows what
/// each replica holds unspent of each budget row (its grants, lowered by its returns, replaced by each
/// <see cref="HeartbeatAsync"/>), and gives it back when the replica stops beating for longer than the expiry
/// (<see cref="ReclaimAsync"/>), so a replica killed or frozen does not keep its slices taken until the period ends.
/// Rate slices lapse within their minute and are not tracked per replica.
/// </para>
/// </summary>
public interface ILeaseBook
{
    /// <summary>
    /// Grants up to <paramref name="want"/> of <paramref name="key"/>'s allowance of <paramref name="limit"/>; returns what
    /// was granted. A budget is granted only to a registered <paramref name="replica"/>, and what it is granted is added to
    /// what the book counts it holding (else nothing: its registration expired and it is fenced).
    /// </summary>
    ValueTask<decimal> LeaseAsync(LeaseKey key, decimal limit, decimal want, string replica, CancellationToken cancellationToken);

    /// <summary>
    /// Gives back <paramref name="back"/>'s unused part of what was taken (negative: takes that much more, spend beyond
    /// reservations), once: a return whose id the book has applied already changes nothing. A budget's return also lowers
    /// what <paramref name="replica"/> holds by its positive part; when the replica's registration is gone (the book took
    /// its holdings back already) only a negative return applies.
    /// </summary>
    ValueTask ReturnAsync(LeaseReturn back, string replica, CancellationToken cancellationToken);

    /// <summary>
    /// Starts <paramref name="key"/>'s row at <paramref name="taken"/> (spend the ledger recorded before the book counted
    /// it) unless the book has the row already; a row that exists counts that spend itself.
    /// </summary>
    ValueTask SeedAsync(LeaseKey key, decimal taken, CancellationToken cancellationToken);

    /// <summary>Deletes the rows (and replicas' holdings) of <paramref name="kind"/> of periods before <paramref name="before"/>: they admit nothing any more.</summary>
    ValueTask PruneAsync(LeaseKind kind, long before, CancellationToken cancellationToken);

    /// <summary>Registers <paramref name="replica"/> (a new id), seen now by the book's clock, holding nothing.</summary>
    ValueTask RegisterAsync(string replica, CancellationToken cancellationToken);

    /// <summary>
    /// Marks <paramref name="replica"/> seen now (the book's clock) and replaces what the book counts it holding with
    /// <paramref name="held"/>, at once. False when its registration is gone (expired and reclaimed): it is fenced, and
    /// nothing is changed.
    /// </summary>
    ValueTask<bool> HeartbeatAsync(string replica, IReadOnlyList<LeaseHeld> held, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes the registrations not seen for <paramref name="expiry"/> (the book's clock) and gives back what they held,
    /// at once.
    /// </summary>
    ValueTask ReclaimAsync(TimeSpan expiry, CancellationToken cancellationToken);

    /// <summary>Deletes <paramref name="replica"/>'s registration and holdings (a graceful stop, after its returns).</summary>
    ValueTask LeaveAsync(string replica, CancellationToken cancellationToken);
}

/// <summary>
/// The lease book in memory: the reference for the store's statements, and the shared book of unit tests. Its clock
/// (<paramref name="time"/>) stands for the database's.
/// </summary>
public sealed class MemoryLeaseBook(TimeProvider? time = null) : ILeaseBook
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<LeaseKey, decimal> _taken = [];
    private readonly HashSet<Guid> _returned = [];
    private readonly Dictionary<string, DateTimeOffset> _replicas = [];
    private readonly Dictionary<(string Replica, LeaseKey Key), decimal> _held = [];
    private readonly Lock _gate = new();

    public decimal Taken(LeaseKey key)
    {
        using (_gate.EnterScope())
        {
            return _taken.GetValueOrDefault(key);
        }
    }

    /// <summary>What the book counts <paramref name="replica"/> holding unspent of <paramref name="key"/>.</summary>
    public decimal Held(string replica, LeaseKey key)
    {
        using (_gate.EnterScope())
        {
            return _held.GetValueOrDefault((replica, key));
        }
    }

    public decimal Lease(LeaseKey key, decimal limit, decimal want, string replica)
    {
        using (_gate.EnterScope())
        {
            var budget = LeaseArithmetic.IsBudget(key.Subject.Kind);
            if (budget && !_replicas.ContainsKey(replica))
            {
                return 0m;
            }
            var taken = _taken.GetValueOrDefault(key);
            var granted = LeaseArithmetic.Grant(limit, taken, want);
            _taken[key] = taken + granted;
            if (budget)
            {
                _held[(replica, key)] = _held.GetValueOrDefault((replica, key)) + granted;
            }
            return granted;
        }
    }

    public void Return(LeaseReturn back, string replica)
    {
        using (_gate.EnterScope())
        {
            if (!_returned.Add(back.Id))
            {
                return;
            }
            if (!LeaseArithmetic.IsBudget(back.Key.Subject.Kind))
            {
                _taken[back.Key] = _taken.GetValueOrDefault(back.Key) - back.Unused;
                return;
            }
            var registered = _replicas.ContainsKey(replica);
            _taken[back.Key] = _taken.GetValueOrDefault(back.Key) - (registered ? back.Unused : Math.Min(back.Unused, 0m));
            if (registered && _held.TryGetValue((replica, back.Key), out var held))
            {
                _held[(replica, back.Key)] = held - Math.Max(back.Unused, 0m);
            }
        }
    }

    public void Register(string replica)
    {
        using (_gate.EnterScope())
        {
            _replicas[replica] = _time.GetUtcNow();
        }
    }

    public bool Heartbeat(string replica, IReadOnlyList<LeaseHeld> held)
    {
        ArgumentNullException.ThrowIfNull(held);
        using (_gate.EnterScope())
        {
            if (!_replicas.ContainsKey(replica))
            {
                return false;
            }
            _replicas[replica] = _time.GetUtcNow();
            RemoveHeld(replica);
            foreach (var row in held)
            {
                _held[(replica, row.Key)] = row.Unspent;
            }
            return true;
        }
    }

    public void Reclaim(TimeSpan expiry)
    {
        using (_gate.EnterScope())
        {
            var now = _time.GetUtcNow();
            foreach (var (replica, _) in _replicas.Where(r => r.Value < now - expiry).ToList())
            {
                _replicas.Remove(replica);
                foreach (var (row, unspent) in RemoveHeld(replica))
                {
                    _taken[row.Key] = _taken.GetValueOrDefault(row.Key) - unspent;
                }
            }
        }
    }

    public void Leave(string replica)
    {
        using (_gate.EnterScope())
        {
            _replicas.Remove(replica);
            RemoveHeld(replica);
        }
    }

    public ValueTask<decimal> LeaseAsync(LeaseKey key, decimal limit, decimal want, string replica, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Lease(key, limit, want, replica));

    public ValueTask ReturnAsync(LeaseReturn back, string replica, CancellationToken cancellationToken)
    {
        Return(back, replica);
        return ValueTask.CompletedTask;
    }

    public ValueTask SeedAsync(LeaseKey key, decimal taken, CancellationToken cancellationToken)
    {
        using (_gate.EnterScope())
        {
            _taken.TryAdd(key, taken);
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask PruneAsync(LeaseKind kind, long before, CancellationToken cancellationToken)
    {
        using (_gate.EnterScope())
        {
            foreach (var key in _taken.Keys.Where(k => k.Subject.Kind == kind && k.Period < before).ToList())
            {
                _taken.Remove(key);
            }
            foreach (var row in _held.Keys.Where(r => r.Key.Subject.Kind == kind && r.Key.Period < before).ToList())
            {
                _held.Remove(row);
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask RegisterAsync(string replica, CancellationToken cancellationToken)
    {
        Register(replica);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> HeartbeatAsync(string replica, IReadOnlyList<LeaseHeld> held, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Heartbeat(replica, held));

    public ValueTask ReclaimAsync(TimeSpan expiry, CancellationToken cancellationToken)
    {
        Reclaim(expiry);
        return ValueTask.CompletedTask;
    }

    public ValueTask LeaveAsync(string replica, CancellationToken cancellationToken)
    {
        Leave(replica);
        return ValueTask.CompletedTask;
    }

    private List<KeyValuePair<(string Replica, LeaseKey Key), decimal>> RemoveHeld(string replica)
    {
        var rows = _held.Where(r => r.Key.Replica == replica).ToList();
        foreach (var row in rows)
        {
            _held.Remove(row.Key);
        }
        return rows;
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

    /// <summary>
    /// A slice not spent from this long is given back, so other replicas can use it, all but the low water mark (half a
    /// slice, at least what the last spend took), so the next requests of a quiet subject are admitted at once.
    /// </summary>
    public TimeSpan IdleReturn { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// This long before a period ends, a subject that spent in it or in the one before is leased a slice of the next
    /// one, so its first requests there need not wait for a lease.
    /// </summary>
    public TimeSpan LeadIn { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A replica whose last heartbeat the book saw this long ago (the book's clock) is gone: the book takes back the
    /// budget slices it held unspent (<see cref="ILeaseBook.ReclaimAsync"/>).
    /// </summary>
    public TimeSpan Expiry { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A replica spends from its budget slices only this long after it sent its last heartbeat the book confirmed (half
    /// the <see cref="Expiry"/>, by its monotonic clock): the other half is the margin by which it stops spending before
    /// the book can have reclaimed them.
    /// </summary>
    public TimeSpan Fence => Expiry / 2;

    public decimal Slice(LeaseKind kind, decimal limit, decimal need)
    {
        var share = limit * (decimal)SliceShare;
        var slice = kind is LeaseKind.Requests or LeaseKind.Tokens ? Math.Max(1m, Math.Ceiling(share)) : share;
        return Math.Max(slice, need);
    }

    /// <summary>Below this much left of a slice the next one is asked for; an idle slice keeps this much.</summary>
    public decimal LowWater(LeaseKind kind, decimal limit)
    {
        var low = Slice(kind, limit, 0) * (decimal)LowWaterShare;
        return kind is LeaseKind.Requests or LeaseKind.Tokens ? Math.Ceiling(low) : low;
    }
}

/// <summary>The answer of <see cref="LeaseHoldings.TrySpend"/>.</summary>
public enum LeaseAnswer
{
    /// <summary>Spent from the slice this replica holds.</summary>
    Spent,

    /// <summary>This replica holds too little; a lease is due or on its way: ask again when it arrives.</summary>
    Wait,

    /// <summary>
    /// The book had no more for this period when last asked: refuse (over the limit or budget for the fleet). After
    /// <see cref="LeaseSizing.DryRetry"/> the replica asks again, in case other replicas gave slices back.
    /// </summary>
    Exhausted,
}

/// <summary>A lease this replica should ask the book for.</summary>
public readonly record struct LeaseWant(LeaseKey Key, decimal Limit, decimal Amount);

/// <summary>
/// What this replica gives back to the book. <see cref="Id"/> names this return: one that is sent again after its answer
/// was lost (the book applied it, the replica saw an error) is not applied twice.
/// </summary>
public readonly record struct LeaseReturn(LeaseKey Key, decimal Unused)
{
    public Guid Id { get; } = Guid.NewGuid();
}

/// <summary>
/// The slices of the shared allowances one replica holds, spent locally without touching the database. The replica
/// spends from a slice while it lasts; when a slice runs low it asks (<see cref="TakeWants"/>) for the next one ahead of
/// need, and near a period's end it asks for a slice of the next period for every subject that spent lately; it gives
/// back (<see cref="TakeReturns"/>) the unused part of slices idle (all but half a slice) and, at shutdown, of all. No I/O here: a background worker carries wants and returns to the <see cref="ILeaseBook"/> and
/// reports grants back.
/// <para>
/// The bound: the book never grants beyond a period's limit, and a replica never spends beyond what it was granted, so
/// the fleet's admissions in a period (requests in a UTC minute, committed cost in a day or month) never exceed the
/// limit; spend beyond it is only what settled requests cost beyond their reservations (<see cref="Correct"/>), the
/// same bound as on one machine. Budget slices are spent only while the book confirmed a heartbeat sent less than
/// <see cref="LeaseSizing.Fence"/> ago (<see cref="Confirmed"/>): a replica that stops beating (killed, frozen) has what
/// it last reported unspent given back after <see cref="LeaseSizing.Expiry"/>, so what it spent after that report may be
/// counted twice: one report interval of its spend, in addition.
/// </para>
/// </summary>
public sealed class LeaseHoldings(TimeProvider time, LeaseSizing sizing)
{
    // One lock per subject (its current slice's Gate, which also guards the slice leased ahead), none over them all: the
    // worker's scans (TakeWants, TakeReturns) visit every subject, and a request spending from one subject waits at most
    // for that one subject's turn in a scan, never for the whole scan (bench/Corridor.Benchmarks, LeaseHoldingsBenchmarks).
    private readonly ConcurrentDictionary<LeaseSubject, Slice> _slices = new();
    private readonly long _fence = (long)(sizing.Fence.TotalSeconds * time.TimestampFrequency);
    private int _wantsDue;

    // Budget slices are spent only before this timestamp: the last heartbeat the book confirmed was sent at it minus the
    // fence. Zero until the first one, and again once the book said this replica's registration expired.
    private long _spendableUntil;

    public LeaseSizing Sizing => sizing;

    /// <summary>True when a spend asked for a lease since the last <see cref="TakeWants"/>: the worker should run now.</summary>
    public bool WantsDue => Volatile.Read(ref _wantsDue) != 0;

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
        var slice = _slices.GetOrAdd(subject, static (_, first) => new Slice { Period = first }, period);
        using (slice.Gate.EnterScope())
        {
            Roll(slice, period);
            slice.Limit = limit;
            if (slice.Remaining >= units)
            {
                if (LeaseArithmetic.IsBudget(subject.Kind) && now >= Volatile.Read(ref _spendableUntil))
                {
                    // No heartbeat confirmed lately: the book may take this replica's budget slices back
                    // (LeaseSizing.Fence), so none is spent until one is (the worker beats every second; a request
                    // waits for it as for a slice).
                    return LeaseAnswer.Wait;
                }
                slice.Used += units;
                slice.LastUse = now;
                slice.LastUnits = units;
                slice.LastSpentPeriod = period;
                if (slice.DryUntil <= now && slice.Remaining < sizing.LowWater(subject.Kind, limit))
                {
                    Want(slice, sizing.Slice(subject.Kind, limit, 0), now);
                }
                return LeaseAnswer.Spent;
            }
            if (slice.DryUntil > now)
            {
                return LeaseAnswer.Exhausted;
            }
            Want(slice, sizing.Slice(subject.Kind, limit, units - slice.Remaining), now);
            // Once the book ran dry this period, asking again is a long shot (only slices given back can be granted):
            // refuse as over the limit rather than as a lease on its way.
            return slice.Dry ? LeaseAnswer.Exhausted : LeaseAnswer.Wait;
        }
    }

    /// <summary>
    /// Corrects what a spend of <paramref name="period"/> charged by <paramref name="units"/>: negative gives back
    /// (a request cost less than it reserved, or was refused after all), positive charges more. A correction for a period
    /// gone by is dropped: that period's allowance no longer admits anything.
    /// </summary>
    public void Correct(LeaseSubject subject, long period, decimal units)
    {
        if (!_slices.TryGetValue(subject, out var slice))
        {
            return;
        }
        using (slice.Gate.EnterScope())
        {
            if (slice.Period == period)
            {
                slice.Used += units;
            }
        }
    }

    /// <summary>
    /// The leases due now: slices running low, and slices of the next period for subjects that spent in this one or the
    /// one before when it ends within <see cref="LeaseSizing.LeadIn"/>. Each is then on its way until <see cref="Granted"/> or
    /// <see cref="Failed"/> reports it.
    /// </summary>
    public IReadOnlyList<LeaseWant> TakeWants()
    {
        var utc = time.GetUtcNow();
        List<LeaseWant>? wants = null;
        // Cleared before the scan: a spend that wants a lease after the scan passed its subject sets it again.
        Volatile.Write(ref _wantsDue, 0);
        foreach (var (subject, slice) in _slices)
        {
            var period = LeasePeriods.Of(subject.Kind, utc);
            using (slice.Gate.EnterScope())
            {
                Roll(slice, period);
                if (slice.Wanted > 0 && !slice.Pending)
                {
                    slice.Pending = true;
                    (wants ??= []).Add(new LeaseWant(new LeaseKey(subject, slice.Period), slice.Limit, slice.Wanted));
                    slice.Wanted = 0;
                }
                if (slice.LastSpentPeriod >= period - 1 && slice.Ahead is null && LeasePeriods.UntilNext(subject.Kind, utc) <= sizing.LeadIn)
                {
                    slice.Ahead = new Slice { Period = period + 1, Limit = slice.Limit, Pending = true, LastUse = time.GetTimestamp() };
                    (wants ??= []).Add(new LeaseWant(new LeaseKey(subject, period + 1), slice.Limit, sizing.Slice(subject.Kind, slice.Limit, 0)));
                }
            }
        }
        return wants ?? (IReadOnlyList<LeaseWant>)[];
    }

    /// <summary>What the book granted of <paramref name="want"/>; less than asked means the book is dry for now.</summary>
    public void Granted(LeaseWant want, decimal granted)
    {
        var now = time.GetTimestamp();
        if (!_slices.TryGetValue(want.Key.Subject, out var current))
        {
            return;
        }
        using (current.Gate.EnterScope())
        {
            if (Find(current, want.Key.Period) is not { } slice)
            {
                // The period went by while the lease was on its way: its allowance admits nothing any more, so nothing to give back.
                return;
            }
            slice.Pending = false;
            slice.Granted += granted;
            slice.LastUse = now;
            slice.Dry = granted < want.Amount;
            if (slice.Dry)
            {
                slice.DryUntil = now + (long)(sizing.DryRetry.TotalSeconds * time.TimestampFrequency);
            }
        }
    }

    /// <summary>The book could not be asked (unreachable): nothing granted, and the next spend that needs it asks again.</summary>
    public void Failed(LeaseWant want)
    {
        if (!_slices.TryGetValue(want.Key.Subject, out var current))
        {
            return;
        }
        using (current.Gate.EnterScope())
        {
            if (Find(current, want.Key.Period) is { } slice)
            {
                slice.Pending = false;
            }
        }
    }

    /// <summary>
    /// The returns due: the unused part of slices idle for <see cref="LeaseSizing.IdleReturn"/> (all but the low water
    /// mark, or the last spend's worth when more), or of all slices, next periods' too (at shutdown, <paramref name="all"/>). Slices of periods gone
    /// by are dropped, not returned: a past period admits nothing.
    /// </summary>
    public IReadOnlyList<LeaseReturn> TakeReturns(bool all = false)
    {
        var now = time.GetTimestamp();
        var utc = time.GetUtcNow();
        var idle = (long)(sizing.IdleReturn.TotalSeconds * time.TimestampFrequency);
        List<LeaseReturn>? returns = null;
        foreach (var (subject, slice) in _slices)
        {
            using (slice.Gate.EnterScope())
            {
                Roll(slice, LeasePeriods.Of(subject.Kind, utc));
                if (!slice.Pending && (all || now - slice.LastUse >= idle))
                {
                    Release(subject, slice, all ? 0m : Math.Max(slice.LastUnits, sizing.LowWater(subject.Kind, slice.Limit)), ref returns);
                }
                if (all && slice.Ahead is { Pending: false } ahead)
                {
                    Release(subject, ahead, 0m, ref returns);
                }
            }
        }
        return returns ?? (IReadOnlyList<LeaseReturn>)[];
    }

    /// <summary>
    /// What this replica holds unspent of each budget slice, this period's and the next one's leased ahead (granted less
    /// used; reservations in flight count as used), for its heartbeat: what the book takes back if it stops beating.
    /// </summary>
    public IReadOnlyList<LeaseHeld> Unspent()
    {
        var utc = time.GetUtcNow();
        List<LeaseHeld>? held = null;
        foreach (var (subject, slice) in _slices)
        {
            if (!LeaseArithmetic.IsBudget(subject.Kind))
            {
                continue;
            }
            using (slice.Gate.EnterScope())
            {
                Roll(slice, LeasePeriods.Of(subject.Kind, utc));
                foreach (var each in (ReadOnlySpan<Slice?>)[slice, slice.Ahead])
                {
                    if (each is { Remaining: > 0 })
                    {
                        (held ??= []).Add(new LeaseHeld(new LeaseKey(subject, each.Period), each.Remaining));
                    }
                }
            }
        }
        return held ?? (IReadOnlyList<LeaseHeld>)[];
    }

    /// <summary>
    /// The book confirmed a heartbeat (or a registration) sent at <paramref name="sentAt"/> (<see cref="TimeProvider.GetTimestamp"/>):
    /// budget slices may be spent until <see cref="LeaseSizing.Fence"/> after it.
    /// </summary>
    public void Confirmed(long sentAt)
    {
        if (sentAt + _fence > Volatile.Read(ref _spendableUntil))
        {
            Volatile.Write(ref _spendableUntil, sentAt + _fence);
        }
    }

    /// <summary>
    /// The book said this replica's registration expired: it took back what the replica held unspent of its budget
    /// slices. The slices keep only what is spent or reserved (a reservation's correction still lands in them), nothing
    /// of them is given back, and nothing is spent from them until a heartbeat of a new registration is confirmed.
    /// </summary>
    public void Fenced()
    {
        Volatile.Write(ref _spendableUntil, 0);
        foreach (var (subject, slice) in _slices)
        {
            if (!LeaseArithmetic.IsBudget(subject.Kind))
            {
                continue;
            }
            using (slice.Gate.EnterScope())
            {
                slice.Drop();
                slice.Ahead?.Drop();
            }
        }
    }

    /// <summary>What this replica holds unspent of <paramref name="subject"/>'s current slice (for the admin API and tests).</summary>
    public decimal Held(LeaseSubject subject)
    {
        if (!_slices.TryGetValue(subject, out var slice))
        {
            return 0m;
        }
        using (slice.Gate.EnterScope())
        {
            return slice.Period == LeasePeriods.Of(subject.Kind, time.GetUtcNow()) ? slice.Remaining : 0m;
        }
    }

    private void Want(Slice slice, decimal amount, long now)
    {
        slice.Want(amount, now);
        Volatile.Write(ref _wantsDue, 1);
    }

    /// <summary>The slice of <paramref name="period"/>: the subject's current one or the one leased ahead (under the current one's gate).</summary>
    private static Slice? Find(Slice current, long period) =>
        current.Period == period ? current
        : current.Ahead is { } ahead && ahead.Period == period ? ahead
        : null;

    /// <summary>Moves a slice on to <paramref name="period"/>: the next period's slice leased ahead becomes current, or it starts empty.</summary>
    private static void Roll(Slice slice, long period)
    {
        if (slice.Period == period)
        {
            return;
        }
        // The old period's slice lapses with it (a lease still on its way for it is dropped when it arrives).
        var ahead = slice.Ahead is { } next && next.Period == period ? next : new Slice { Period = period };
        slice.Period = period;
        slice.Granted = ahead.Granted;
        slice.Used = ahead.Used;
        slice.Wanted = ahead.Wanted;
        slice.Pending = ahead.Pending;
        slice.DryUntil = ahead.DryUntil;
        slice.Dry = ahead.Dry;
        slice.LastUse = Math.Max(slice.LastUse, ahead.LastUse);
        slice.Ahead = null;
    }

    private static void Release(LeaseSubject subject, Slice slice, decimal keep, ref List<LeaseReturn>? returns)
    {
        // Unused may be negative (spent beyond reservations): the book then counts that too. Reservations still in
        // flight stay taken; their corrections later land in this slice's Used and go back with the next release.
        var unused = slice.Granted - slice.Used;
        var kept = unused > 0 ? Math.Min(keep, unused) : 0m;
        if (unused - kept != 0)
        {
            (returns ??= []).Add(new LeaseReturn(new LeaseKey(subject, slice.Period), unused - kept));
        }
        slice.Granted = kept;
        slice.Used = 0;
    }

    private sealed class Slice
    {
        /// <summary>Guards this slice and the one leased ahead of it (unused on those).</summary>
        public readonly Lock Gate = new();
        public long Period;
        public decimal Limit;
        public decimal Granted;
        public decimal Used;
        public decimal Wanted;
        public bool Pending;
        public long DryUntil;

        /// <summary>The book granted less than asked the last time this period.</summary>
        public bool Dry;
        public long LastUse;

        /// <summary>What the last spend took: kept (at least) when an idle slice is given back.</summary>
        public decimal LastUnits;

        /// <summary>The period of the last spend: subjects that spent in this period or the one before are leased the next ahead.</summary>
        public long LastSpentPeriod;

        /// <summary>The next period's slice, leased ahead near this period's end.</summary>
        public Slice? Ahead;

        public decimal Remaining => Granted - Used;

        /// <summary>Gives up what is left unspent (the book took it back) and forgets that the book ran dry.</summary>
        public void Drop()
        {
            Granted = Math.Min(Granted, Used);
            Dry = false;
            DryUntil = 0;
        }

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
