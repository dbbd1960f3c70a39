using Corridor.Core.Admission;
using Corridor.Storage;

namespace Corridor.Gateway.Admission;

/// <summary>
/// Budgets survive a restart: the spend of this UTC month so far, per tenant, key and day, is summed from the ledger's
/// billable rows at start and added to the counters before the first request is admitted.
/// </summary>
internal static class SpendRestore
{
    public static async Task RestoreAsync(ICorridorStore store, IAdmissionCounters counters, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var spend = new Dictionary<(string Tenant, string? Key, DateOnly Day), decimal>();
        await foreach (var row in store.ReadLedgerAsync(monthStart, null, cancellationToken))
        {
            if (!row.Billable || row.TenantId is not { } tenant || row.Cost == 0)
            {
                continue;
            }
            var group = (tenant, row.KeyId, DateOnly.FromDateTime(row.Time.UtcDateTime));
            spend[group] = spend.GetValueOrDefault(group) + row.Cost;
        }
        counters.Restore(spend.Select(s => new RecordedSpend(s.Key.Tenant, s.Key.Key, s.Key.Day, s.Value)));
    }
}
