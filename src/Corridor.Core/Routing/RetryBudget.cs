namespace Corridor.Core.Routing;

/// <summary>
/// Bounds fallback attempts so an outage cannot multiply load: every request deposits <c>ratio</c> of a retry,
/// every retry spends one, and the balance is capped. A small floor keeps fallback working at low traffic.
/// Kept in thousandths of a retry so the arithmetic is exact.
/// </summary>
public sealed class RetryBudget
{
    private const long Unit = 1000;
    private long _deposit;
    private readonly long _cap;
    private long _balance;

    public RetryBudget(double ratio, double floor = 10, double cap = 100)
    {
        _deposit = (long)Math.Round(ratio * Unit);
        _cap = (long)Math.Round(cap * Unit);
        _balance = (long)Math.Round(floor * Unit);
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

    public bool TryRetry()
    {
        long current;
        do
        {
            current = Interlocked.Read(ref _balance);
            if (current < Unit)
            {
                return false;
            }
        }
        while (Interlocked.CompareExchange(ref _balance, current - Unit, current) != current);
        return true;
    }
}
