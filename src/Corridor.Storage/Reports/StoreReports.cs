using Corridor.Core.Metering;
using Corridor.Core.Reports;
using Corridor.Core.Shadow;

namespace Corridor.Storage.Reports;

/// <summary>Reports built from the store's ledger, shared by the command line and the admin API.</summary>
public static class StoreReports
{
    public static async Task<ResidencyReport> ResidencyAsync(this ICorridorStore store, string tenantId, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var rows = await ReadAsync(store, from, to, e => e.TenantId == tenantId, cancellationToken);
        return ResidencyReport.Build(tenantId, from, to, rows);
    }

    /// <summary>Spend and revenue by <paramref name="by"/> per <paramref name="period"/>; customer countries are the tenants' as stored now.</summary>
    public static async Task<SpendReport> SpendAsync(
        this ICorridorStore store,
        SpendDimension by,
        ReportPeriod period,
        DateTimeOffset? from,
        DateTimeOffset? to,
        SpendMeasure rankBy,
        int top,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var (readFrom, readTo) = SpendReport.ReadRange(from, to, period);
        var rows = await ReadAsync(store, readFrom, readTo, e => e.Billable || e.ShadowOf is not null, cancellationToken);
        var countries = (await store.ListTenantsAsync(cancellationToken)).ToDictionary(t => t.Id, t => t.Country, StringComparer.Ordinal);
        return SpendReport.Build(rows, by, period, from, to, t => countries.GetValueOrDefault(t), rankBy, top);
    }

    /// <summary>The shadow evaluation per model pair; each primary model's spend over the period comes from the ledger.</summary>
    public static async Task<ShadowReport> ShadowAsync(this ICorridorStore store, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var results = new List<ShadowResult>();
        await foreach (var result in store.ReadShadowResultsAsync(from, to, cancellationToken))
        {
            results.Add(result);
        }
        var primaries = results.Select(r => r.PrimaryModel).ToHashSet(StringComparer.Ordinal);
        var rows = primaries.Count == 0 ? [] : await ReadAsync(store, from, to, e => e.Billable && e.ShadowOf is null && primaries.Contains(e.Model), cancellationToken);
        var spend = LedgerTotals.Group(rows, _ => true, e => e.Model);
        return ShadowReport.Build(results, from, to, model => spend.TryGetValue(model, out var t) ? t.Spend : 0m);
    }

    private static async Task<List<LedgerEntry>> ReadAsync(ICorridorStore store, DateTimeOffset? from, DateTimeOffset? to, Func<LedgerEntry, bool> keep, CancellationToken cancellationToken)
    {
        var rows = new List<LedgerEntry>();
        await foreach (var entry in store.ReadLedgerAsync(from, to, cancellationToken))
        {
            if (keep(entry))
            {
                rows.Add(entry);
            }
        }
        return rows;
    }
}
