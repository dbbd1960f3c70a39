using System.Reflection;
using Corridor.Core.Metering;
using Corridor.Core.Reports;
using Corridor.Core.Shadow;
using Corridor.Core.Tenants;
using Corridor.Storage.Reports;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Reports;

public sealed class StoreReportsTests
{
    private const int Rows = 1000;

    [Theory]
    [InlineData("spend")]
    [InlineData("residency")]
    [InlineData("shadow")]
    public async Task AReport_SumsTheLedgerAsItIsRead_HoldingNoneOfItsRows(string report)
    {
        // A quarter's report reads millions of rows, each with its retained body: holding them all until the sums are
        // made runs the gateway (or the command) out of memory. Every row the store handed over must be free to collect.
        var alive = -1;
        var store = LedgerStore.Create(() => Ledger(count => alive = count));

        var spend = report switch
        {
            "spend" => (await store.SpendAsync(SpendDimension.Tenant, ReportPeriod.Month, null, null, SpendMeasure.Revenue, 10, CancellationToken.None).WithTimeout()).Totals.Sum(t => t.Spend),
            "residency" => (await store.ResidencyAsync("acme", null, null, CancellationToken.None).WithTimeout()).Usage.Sum(u => u.Spend),
            _ => (await store.ShadowAsync(null, null, CancellationToken.None).WithTimeout()).Pairs.Sum(p => p.PrimaryModelSpend),
        };

        // Each row cost the operator 0.001 and was billed 0.002; the residency report shows the tenant what it was billed.
        Assert.Equal(Rows * (report == "residency" ? 0.002m : 0.001m), spend);
        Assert.InRange(alive, 0, Rows / 10);
    }

    /// <summary>Rows with a retained body each; once all are read, counts how many are still reachable.</summary>
    private static async IAsyncEnumerable<LedgerEntry> Ledger(Action<int> aliveAtEnd)
    {
        var read = new List<WeakReference>(Rows);
        for (var i = 0; i < Rows; i++)
        {
            var entry = LedgerSamples.Entry($"r-{i}", LedgerSamples.Start.AddSeconds(i)) with
            {
                Vendor = "openai",
                Revenue = 0.002m,
                RequestBody = Utf8Text.From(new string('x', 4096)),
            };
            read.Add(new WeakReference(entry));
            yield return entry;
        }

        await Task.Yield();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        aliveAtEnd(read.Count(r => r.IsAlive));
    }

    /// <summary>A store that has only a ledger (and a tenant and a shadow result for the reports to work on).</summary>
    public class LedgerStore : DispatchProxy
    {
        private Func<IAsyncEnumerable<LedgerEntry>> _ledger = null!;

        public static ICorridorStore Create(Func<IAsyncEnumerable<LedgerEntry>> ledger)
        {
            var store = DispatchProxy.Create<ICorridorStore, LedgerStore>();
            ((LedgerStore)(object)store)._ledger = ledger;
            return store;
        }

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) => targetMethod?.Name switch
        {
            nameof(ICorridorStore.ReadLedgerAsync) => _ledger(),
            nameof(ICorridorStore.ListTenantsAsync) => Task.FromResult<IReadOnlyList<Tenant>>([new Tenant("acme", "Acme Ltd.", "SG", LedgerSamples.Start)]),
            nameof(ICorridorStore.ReadShadowResultsAsync) => new[]
            {
                new ShadowResult("s-1", "r-1", LedgerSamples.Start, "acme", "gpt-4.1", "deepseek-v4", ShadowOutcome.Compared, null, 900, 300, 0.01m, 0.001m, null),
            }.ToAsyncEnumerable(),
            _ => throw new NotSupportedException(targetMethod?.Name),
        };
    }
}
