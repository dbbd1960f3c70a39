using BenchmarkDotNet.Attributes;
using Corridor.Core.Admission;

namespace Corridor.Benchmarks.Admission;

/// <summary>
/// A fleet replica's <see cref="LeaseHoldings"/> with 10,000 subjects (2,500 tenants, each with its four allowances)
/// holding slices: <c>Scan</c> is what the lease worker does at each wake (every 250 ms, and whenever a request asked
/// for a slice): it visits every subject for wants and idle give-backs. <c>Spend</c> is the request path's part (one
/// allowance spent and corrected back), alone, and <c>SpendDuringScans</c> the same while another thread scans without
/// pause: the time a spend may have to wait for a scan shows there.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class LeaseHoldingsBenchmarks
{
    private const int Tenants = 2_500;

    private static readonly LeaseSubject Spender = new(LimitScope.Tenant, "spender", LeaseKind.DayBudget);

    private LeaseHoldings _holdings = null!;
    private Thread? _scanner;
    private volatile bool _stop;

    [GlobalSetup(Targets = [nameof(Scan), nameof(Spend)])]
    public void Setup()
    {
        var sizing = new LeaseSizing();
        _holdings = new LeaseHoldings(new FrozenClock(), sizing);
        _holdings.Confirmed(0); // a heartbeat the book confirmed: budget slices may be spent
        for (var i = 0; i < Tenants; i++)
        {
            foreach (var kind in Enum.GetValues<LeaseKind>())
            {
                _holdings.TrySpend(new LeaseSubject(LimitScope.Tenant, $"tenant_{i:D5}", kind), 1_000m, 1m, out _);
            }
        }
        _holdings.TrySpend(Spender, 1_000_000m, 1m, out _);
        foreach (var want in _holdings.TakeWants())
        {
            _holdings.Granted(want, want.Amount);
        }
        if (!Spend())
        {
            throw new InvalidOperationException("the spend was not taken from the slice");
        }
    }

    [GlobalSetup(Target = nameof(SpendDuringScans))]
    public void SetupWithScanner()
    {
        Setup();
        _stop = false;
        _scanner = new Thread(() =>
        {
            while (!_stop)
            {
                Scan();
            }
        })
        { IsBackground = true };
        _scanner.Start();
    }

    [GlobalCleanup(Target = nameof(SpendDuringScans))]
    public void StopScanner()
    {
        _stop = true;
        _scanner?.Join();
    }

    /// <summary>The lease worker's wake: wants, then returns, over every subject.</summary>
    [Benchmark]
    public int Scan() => _holdings.TakeWants().Count + _holdings.TakeReturns().Count;

    /// <summary>One allowance of a request, spent from its slice and given back (as a refused request does).</summary>
    [Benchmark]
    public bool Spend()
    {
        var spent = _holdings.TrySpend(Spender, 1_000_000m, 1m, out var period) == LeaseAnswer.Spent;
        _holdings.Correct(Spender, period, -1m);
        return spent;
    }

    [Benchmark]
    public bool SpendDuringScans() => Spend();

    /// <summary>Mid-minute, and never idle long enough to give anything back: every scan does the same work.</summary>
    private sealed class FrozenClock : TimeProvider
    {
        private static readonly DateTimeOffset Now = new(2026, 12, 3, 9, 0, 30, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;

        public override long GetTimestamp() => 0;
    }
}
