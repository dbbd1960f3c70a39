using Corridor.Core.Reports;
using Corridor.Core.Shadow;

namespace Corridor.Storage.Reports;

/// <summary>Reports built from the store's ledger, shared by the command line and the admin API.</summary>
public static class StoreReports
{
    public static async Task<ResidencyReport> ResidencyAsync(this ICorridorStore store, string tenantId, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return await ResidencyReport.BuildAsync(tenantId, from, to, store.ReadLedgerAsync(from, to, cancellationToken), cancellationToken);
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
        var countries = (await store.ListTenantsAsync(cancellationToken)).ToDictionary(t => t.Id, t => t.Country, StringComparer.Ordinal);
        return await SpendReport.BuildAsync(store.ReadLedgerAsync(readFrom, readTo, cancellationToken), by, period, from, to, t => countries.GetValueOrDefault(t), rankBy, top, cancellationToken);
    }

    /// <summary>The tenant's batches of both APIs, newest first (at most <paramref name="limit"/>), each with what the ledger holds of its runs.</summary>
    public static async Task<BatchReport> BatchesAsync(this ICorridorStore store, string tenantId, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var batches = await TenantBatches.ListAsync(store, tenantId, limit, cancellationToken);
        return BatchReport.Build(batches, await store.GetBatchUsageAsync(tenantId, [.. batches.Select(b => b.Id)], null, null, cancellationToken));
    }

    /// <summary>One of the tenant's batches with what the ledger holds of its runs; null when the tenant has no such batch.</summary>
    public static async Task<BatchReportRow?> BatchAsync(this ICorridorStore store, string tenantId, string batchId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (await store.GetBatchAsync(tenantId, batchId, cancellationToken) is not { } batch)
        {
            return null;
        }
        return BatchReport.Build([batch], await store.GetBatchUsageAsync(tenantId, [batch.Id], null, null, cancellationToken)).Rows[0];
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
        // Summed as read: the rows themselves (and their retained bodies) are never held.
        var spend = new Dictionary<string, LedgerTotals>(StringComparer.Ordinal);
        if (primaries.Count > 0)
        {
            await foreach (var entry in store.ReadLedgerAsync(from, to, cancellationToken))
            {
                if (entry.Billable && entry.ShadowOf is null && primaries.Contains(entry.Model))
                {
                    LedgerTotals.Add(spend, entry.Model, entry);
                }
            }
        }
        return ShadowReport.Build(results, from, to, model => spend.TryGetValue(model, out var t) ? t.Spend : 0m);
    }
}
