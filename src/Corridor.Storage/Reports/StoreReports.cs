using Corridor.Core.Metering;
using Corridor.Core.Reports;

namespace Corridor.Storage.Reports;

/// <summary>Reports built from the store's ledger, shared by the command line and the admin API.</summary>
public static class StoreReports
{
    public static async Task<ResidencyReport> ResidencyAsync(this ICorridorStore store, string tenantId, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var rows = new List<LedgerEntry>();
        await foreach (var entry in store.ReadLedgerAsync(from, to, cancellationToken))
        {
            if (entry.TenantId == tenantId)
            {
                rows.Add(entry);
            }
        }
        return ResidencyReport.Build(tenantId, from, to, rows);
    }
}
