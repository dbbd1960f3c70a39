using Corridor.Core.Metering;

namespace Corridor.Core.Reports;

/// <summary>
/// The figures every ledger report sums, for one group of rows: requests, tokens, spend (the vendors' price, what the
/// operator pays) and revenue (the sell price, what tenants are billed). Exact decimal sums, never floating point.
/// </summary>
public sealed class LedgerTotals
{
    public long Requests { get; private set; }

    public long InputTokens { get; private set; }

    public long OutputTokens { get; private set; }

    public decimal Spend { get; private set; }

    public decimal Revenue { get; private set; }

    public decimal Margin => Revenue - Spend;

    public void Add(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        Add(entry.InputTokens, entry.OutputTokens, entry.Cost, entry.Revenue);
    }

    public void Add(long inputTokens, long outputTokens, decimal spend, decimal revenue)
    {
        Requests++;
        InputTokens += inputTokens;
        OutputTokens += outputTokens;
        Spend += spend;
        Revenue += revenue;
    }

    /// <summary>Adds <paramref name="entry"/> to the group <paramref name="key"/> of <paramref name="groups"/>, starting it if new.</summary>
    public static void Add<TKey>(Dictionary<TKey, LedgerTotals> groups, TKey key, LedgerEntry entry)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(groups);
        if (!groups.TryGetValue(key, out var totals))
        {
            groups[key] = totals = new LedgerTotals();
        }
        totals.Add(entry);
    }
}
