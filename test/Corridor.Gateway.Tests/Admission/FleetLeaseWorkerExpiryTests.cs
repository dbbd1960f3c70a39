using Corridor.Core.Admission;
using Corridor.Gateway.Admission;
using Corridor.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Admission;

/// <summary>
/// The lease worker's side of expiring budget slices (docs/limits-and-budgets.md, "Several gateways"), its wakes run by
/// hand on a fake clock that is also the book's: it registers and beats, a replica frozen past the expiry is fenced when
/// it thaws, drops its old slices without giving them back, registers again and leases anew, and a graceful stop leaves
/// the book.
/// </summary>
public sealed class FleetLeaseWorkerExpiryTests : IDisposable
{
    private static readonly LeaseSubject Month = new(LimitScope.Tenant, "acme", LeaseKind.MonthBudget);
    private readonly FakeClock _clock = new();
    private readonly MemoryLeaseBook _book;
    private readonly FleetAdmissionCounters _counters;
    private readonly FleetLeaseWorker _worker;

    public FleetLeaseWorkerExpiryTests()
    {
        _book = new MemoryLeaseBook(_clock);
        _counters = new FleetAdmissionCounters(_clock, new LeaseSizing());
        _worker = new FleetLeaseWorker(_counters, _book, _clock, NullLogger<FleetLeaseWorker>.Instance);
    }

    private LeaseKey MonthKey => new(Month, LeasePeriods.Of(LeaseKind.MonthBudget, _clock.GetUtcNow()));

    [Fact]
    public async Task AReplicaFrozenPastTheExpiry_IsFencedWhenItThaws_AndLeasesAnewUnderANewRegistration()
    {
        Assert.Equal(LeaseAnswer.Wait, Spend());
        await _worker.PumpAsync(all: false, CancellationToken.None).WithTimeout(); // registers, leases 10, reports it
        Assert.Equal(LeaseAnswer.Spent, Spend());
        _clock.Advance(TimeSpan.FromSeconds(1));
        await _worker.PumpAsync(all: false, CancellationToken.None).WithTimeout(); // beats: 9 held unspent
        Assert.Equal(10m, _book.Taken(MonthKey));

        // Frozen: no heartbeat for the expiry. Past half of it the replica spends nothing; past it the book takes its 9 back.
        _clock.Advance(TimeSpan.FromSeconds(8));
        Assert.Equal(LeaseAnswer.Wait, Spend());
        _clock.Advance(TimeSpan.FromSeconds(8));
        _book.Reclaim(new LeaseSizing().Expiry);
        Assert.Equal(1m, _book.Taken(MonthKey));

        // It thaws: the heartbeat says fenced; the old slice is dropped (not given back) and a new registration leases anew.
        await _worker.PumpAsync(all: false, CancellationToken.None).WithTimeout();
        Assert.Equal(0m, _counters.Holdings.Held(Month));
        Assert.Equal(1m, _book.Taken(MonthKey));
        Assert.Equal(LeaseAnswer.Wait, Spend());
        await _worker.PumpAsync(all: false, CancellationToken.None).WithTimeout();
        Assert.Equal(LeaseAnswer.Spent, Spend());
        Assert.Equal(11m, _book.Taken(MonthKey));

        // A graceful stop gives back and leaves: nothing is given back a second time when its registration would expire.
        await _worker.StopAsync(CancellationToken.None).WithTimeout();
        Assert.Equal(2m, _book.Taken(MonthKey));
        _clock.Advance(TimeSpan.FromMinutes(1));
        _book.Reclaim(new LeaseSizing().Expiry);
        Assert.Equal(2m, _book.Taken(MonthKey));
    }

    public void Dispose() => _worker.Dispose();

    private LeaseAnswer Spend() => _counters.Holdings.TrySpend(Month, 100m, 1m, out _);
}
