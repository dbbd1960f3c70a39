using Corridor.Core.Admission;

namespace Corridor.Core.Tests.Admission;

/// <summary>
/// 64 threads spend one tenant's hard budget at once. The stated bound (docs/limits-and-budgets.md): spend never exceeds
/// the budget by more than what settled requests cost beyond their own reservations; with honest reservations, never.
/// </summary>
public sealed class HardBudgetConcurrencyTests
{
    [Theory]
    [InlineData(0.0)]
    [InlineData(0.2)]
    public void SixtyFourThreads_OvershootTheHardBudgetByNoMoreThanTheExcessOverReservations(double underReservedShare)
    {
        var counters = new LocalAdmissionCounters(new FakeClock());
        var limits = new Limits { DailyHardBudget = 10m };
        var excess = 0m;
        var spent = 0m;
        var refused = 0;
        var gate = new Lock();
        using var start = new Barrier(64);

        // Dedicated threads, all released at once by the barrier: the thread pool would add threads one by one.
        var workers = Enumerable.Range(0, 64).Select(worker => new Thread(() =>
        {
            var random = new Random(worker);
            start.SignalAndWait(TestTimeout);
            for (var i = 0; i < 200; i++)
            {
                var worstCase = 0.001m * random.Next(10, 100);
                var request = new AdmissionRequest("acme", limits, "key_" + (worker % 4), Limits.None, 0, worstCase, Stream: false);
                if (!counters.TryAdmit(in request, out var ticket).Admitted)
                {
                    Interlocked.Increment(ref refused);
                    continue;
                }
                Thread.Yield();
                // Mostly less than reserved; a share costs more, as when a prompt was under-estimated.
                var actual = random.NextDouble() < underReservedShare ? worstCase * 1.5m : worstCase * (decimal)random.NextDouble();
                counters.Settle(ref ticket, 0, actual);
                using (gate.EnterScope())
                {
                    spent += actual;
                    excess += Math.Max(0, actual - worstCase);
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        Assert.All(workers, w => Assert.True(w.Join(TestTimeout)));

        var usage = counters.Find(LimitScope.Tenant, "acme")!;
        Assert.Equal(spent, usage.DaySpent);
        Assert.Equal(0m, usage.Reserved);
        Assert.True(refused > 0, "the budget was never reached, so the test showed nothing");
        Assert.True(spent <= limits.DailyHardBudget + excess, $"spent {spent} > budget {limits.DailyHardBudget} + excess {excess}");
        if (underReservedShare == 0)
        {
            Assert.True(spent <= limits.DailyHardBudget);
        }
    }

    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);
}
