using Corridor.Core.Admission;
using Corridor.Gateway.Admission;
using Corridor.Gateway.Tests.Translation;
using Corridor.Storage;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Gateway.Tests.Admission;

public sealed class SpendRestoreTests
{
    [Fact]
    public async Task AtStart_ThisMonthsBillableLedgerRows_BecomeTheDaysAndTheMonthsSpend()
    {
        var now = new DateTimeOffset(2026, 6, 15, 10, 0, 0, TimeSpan.Zero);
        var counters = await RestoredAsync(now,
        [
            LedgerSamples.Entry("req_today_a", now.AddHours(-1), keyId: "key_a", cost: 0.25m),
            LedgerSamples.Entry("req_today_b", now.AddHours(-2), keyId: "key_b", cost: 0.125m),
            LedgerSamples.Entry("req_earlier", new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero), keyId: "key_a", cost: 2m),
            LedgerSamples.Entry("req_last_month", new DateTimeOffset(2026, 5, 31, 23, 59, 59, TimeSpan.Zero), keyId: "key_a", cost: 100m),
            LedgerSamples.Entry("req_refused", now.AddHours(-1), keyId: "key_a", cost: 7m, billable: false),
            LedgerSamples.Entry("req_other", now.AddHours(-1), tenantId: "zeta", keyId: "key_z", cost: 1m),
        ]);

        var acme = counters.Find(LimitScope.Tenant, "acme")!;
        Assert.Equal((0.375m, 2.375m), (acme.DaySpent, acme.MonthSpent));
        var keyA = counters.Find(LimitScope.Key, "key_a")!;
        Assert.Equal((0.25m, 2.25m), (keyA.DaySpent, keyA.MonthSpent));
        Assert.Equal(1m, counters.Find(LimitScope.Tenant, "zeta")!.DaySpent);
        var over = new AdmissionRequest("acme", new Limits { MonthlyHardBudget = 2.5m }, "key_a", Limits.None, 0, 0.2m, Stream: false);
        Assert.Equal(AdmissionVerdict.BudgetExhausted, counters.TryAdmit(in over, out _).Verdict);
    }

    [Fact]
    public async Task ARequestCountsToTheDayItEnded_AsSettlingItDid_EvenAcrossTheMonthsStart()
    {
        var now = new DateTimeOffset(2026, 7, 1, 10, 0, 0, TimeSpan.Zero);
        var lastSecondOfJune = new DateTimeOffset(2026, 6, 30, 23, 59, 59, 900, TimeSpan.Zero);
        var counters = await RestoredAsync(now,
        [
            // Received in June, ended (812 ms later) in July: July's, today's.
            LedgerSamples.Entry("req_across_midnight", lastSecondOfJune, keyId: "key_a", cost: 3m),
            // Received and ended in June.
            LedgerSamples.Entry("req_june", lastSecondOfJune.AddSeconds(-1), keyId: "key_a", cost: 100m),
            LedgerSamples.Entry("req_july", now.AddHours(-1), keyId: "key_a", cost: 0.5m),
        ]);

        var acme = counters.Find(LimitScope.Tenant, "acme")!;
        Assert.Equal((3.5m, 3.5m), (acme.DaySpent, acme.MonthSpent));
    }

    /// <summary>Counters at <paramref name="now"/>, restored from a ledger holding <paramref name="rows"/>.</summary>
    private static async Task<LocalAdmissionCounters> RestoredAsync(DateTimeOffset now, IReadOnlyList<Core.Metering.LedgerEntry> rows)
    {
        using var folder = new TempDirectory();
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(folder.File("corridor.db")), CancellationToken.None).WithTimeout();
        await store.AppendLedgerAsync(rows, CancellationToken.None).WithTimeout();
        var clock = new FixedTimeProvider(now);
        var counters = new LocalAdmissionCounters(clock);
        await SpendRestore.RestoreAsync(store, counters, clock, CancellationToken.None).WithTimeout();
        return counters;
    }
}
