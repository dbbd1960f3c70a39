using Corridor.Core.Admission;
using Corridor.Storage;

namespace Corridor.Gateway.Admission;

/// <summary>
/// Budgets survive a restart: the spend of this UTC month so far, per tenant, key and day, is summed from the ledger's
/// billable rows at start and added to the counters before the first request is admitted. A request's cost counts to
/// the day it ended (its row's time, when it was received, plus its latency), as settling it did while the gateway ran:
/// a stream that crossed midnight, or the month's start, counts where it did before the restart.
/// </summary>
internal static class SpendRestore
{
    /// <summary>How long before the month's start a request that ended in it may have begun.</summary>
    private static readonly TimeSpan LongestRequest = TimeSpan.FromDays(1);

    public static async Task RestoreAsync(ICorridorStore store, IAdmissionCounters counters, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var monthStart = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var spend = new Dictionary<(string Tenant, string? Key, DateOnly Day), decimal>();
        await foreach (var row in store.ReadLedgerAsync(monthStart - LongestRequest, null, cancellationToken))
        {
            var ended = row.Time.AddMilliseconds(row.LatencyMs);
            if (!row.Billable || row.TenantId is not { } tenant || row.Cost == 0 || ended < monthStart)
            {
                continue;
            }
            var group = (tenant, row.KeyId, DateOnly.FromDateTime(ended.UtcDateTime));
            spend[group] = spend.GetValueOrDefault(group) + row.Cost;
        }
        counters.Restore(spend.Select(s => new RecordedSpend(s.Key.Tenant, s.Key.Key, s.Key.Day, s.Value)));
    }
}
