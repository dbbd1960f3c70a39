namespace Corridor.Core.Routing;

/// <summary>
/// Bounds fallback attempts so an outage cannot multiply load: every request deposits <c>ratio</c> of a retry,
/// every retry spends one, and the balance is capped. A floor keeps fallback working at low traffic, as Finagle's
/// minimum retries a second do: besides the deposits, up to <c>floor</c> retries in any <see cref="FloorWindow"/>
/// (a reserve of <c>floor</c> that refills at that rate), whatever the traffic. Kept in thousandths of a retry so the
/// arithmetic is exact.
/// </summary>
public sealed class RetryBudget
{
    /// <summary>The time in which the floor's reserve refills from empty.</summary>
    public static readonly TimeSpan FloorWindow = TimeSpan.FromSeconds(10);

    private const long Unit = 1000;
    private long _deposit;
    private readonly long _cap;
    private long _balance;

    // The floor's reserve, spent only when the deposits are; refilled by the time passed (taken under the lock: only
    // fallbacks come here, and only once the deposits ran out).
    private readonly Lock _reserveLock = new();
    private readonly long _floor;
    private long _reserve;
    private DateTimeOffset _reserveAt = DateTimeOffset.MinValue;

    public RetryBudget(double ratio, double floor = 10, double cap = 100)
    {
        _deposit = (long)Math.Round(ratio * Unit);
        _cap = (long)Math.Round(cap * Unit);
        _floor = (long)Math.Round(floor * Unit);
        _reserve = _floor;
    }

    /// <summary>Applies the ratio of a reloaded configuration; the balance is kept.</summary>
    public void SetRatio(double ratio) => Volatile.Write(ref _deposit, (long)Math.Round(ratio * Unit));

    public void OnRequest()
    {
        long current, next;
        do
        {
            current = Interlocked.Read(ref _balance);
            next = Math.Min(_cap, current + Volatile.Read(ref _deposit));
        }
        while (Interlocked.CompareExchange(ref _balance, next, current) != current);
    }

    /// <summary>Spends one retry, from the deposits if they hold one, else from the floor's reserve; false when neither does.</summary>
    public bool TryRetry(DateTimeOffset now)
    {
        long current;
        do
        {
            current = Interlocked.Read(ref _balance);
            if (current < Unit)
            {
                return TryRetryFromReserve(now);
            }
        }
        while (Interlocked.CompareExchange(ref _balance, current - Unit, current) != current);
        return true;
    }

    private bool TryRetryFromReserve(DateTimeOffset now)
    {
        lock (_reserveLock)
        {
            if (_reserveAt != DateTimeOffset.MinValue && now > _reserveAt)
            {
                var refill = (decimal)_floor * (now - _reserveAt).Ticks / FloorWindow.Ticks;
                _reserve = (long)Math.Min(_floor, _reserve + refill);
            }
            _reserveAt = now > _reserveAt ? now : _reserveAt;
            if (_reserve < Unit)
            {
                return false;
            }
            _reserve -= Unit;
            return true;
        }
    }
}
