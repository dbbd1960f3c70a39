using System.Globalization;
using System.Text;
using System.Text.Json;
using Corridor.Core.Metering;

namespace Corridor.Core.Reports;

/// <summary>What a finance report groups by.</summary>
public enum SpendDimension
{
    Tenant,
    Vendor,
    Model,
    Region,
    Country,
}

/// <summary>Which figure ranks the top customers: what they cost the operator, or what they were billed.</summary>
public enum SpendMeasure
{
    Spend,
    Revenue,
}

/// <summary>The summed figures of one period (and group), with growth against the period before.</summary>
public sealed record SpendRow(
    string Period,
    string? Key,
    long Requests,
    long InputTokens,
    long OutputTokens,
    decimal Spend,
    decimal Revenue,
    decimal? SpendGrowth,
    decimal? RevenueGrowth)
{
    public decimal Margin => Revenue - Spend;
}

/// <summary>One of the top customers over the whole report, with its share of the ranked measure.</summary>
public sealed record CustomerShare(string Tenant, string? Country, long Requests, decimal Spend, decimal Revenue, decimal? Share);

/// <summary>
/// Spend (the vendors' price of every upstream call, what the operator pays) and revenue (the sell price, what tenants
/// are billed) per calendar period, by tenant, vendor, model, serving region or customer country; growth of each
/// against the previous period; and the top customers with their share. Shadow requests are the operator's spend and
/// earn nothing: by tenant or country they appear as <see cref="ShadowKey"/>.
/// </summary>
public sealed record SpendReport(
    SpendDimension By,
    ReportPeriod Period,
    SpendMeasure RankBy,
    DateTimeOffset? From,
    DateTimeOffset? To,
    IReadOnlyList<SpendRow> Totals,
    IReadOnlyList<SpendRow> Rows,
    IReadOnlyList<CustomerShare> TopCustomers)
{
    /// <summary>The most top customers a report lists (<c>--top</c>, the admin API's <c>top</c>).</summary>
    public const int MaxTopCustomers = 1000;

    /// <summary>How many top customers a report lists when not told.</summary>
    public const int DefaultTopCustomers = 10;

    public const string ShadowKey = "(shadow)";
    public const string UnknownKey = "unknown";

    /// <summary>
    /// The ledger range a report over [<paramref name="from"/>, <paramref name="to"/>) reads: widened to whole periods,
    /// and starting one period early so the first period has something to grow from.
    /// </summary>
    public static (DateTimeOffset? From, DateTimeOffset? To) ReadRange(DateTimeOffset? from, DateTimeOffset? to, ReportPeriod period)
    {
        if (RangeError(from, to, period) is { } error)
        {
            throw new ArgumentOutOfRangeException(nameof(from), error);
        }

        var (start, end) = ReportPeriods.Whole(from, to, period);
        return (start is { } s ? ReportPeriods.Previous(s, period) : null, end);
    }

    /// <summary>
    /// Null when a report by <paramref name="period"/> can cover [<paramref name="from"/>, <paramref name="to"/>); otherwise why
    /// not: the period before the first (read for growth) or the whole last period would fall outside the calendar.
    /// </summary>
    public static string? RangeError(DateTimeOffset? from, DateTimeOffset? to, ReportPeriod period)
    {
        if (from is { } f && ReportPeriods.Start(f, period) == ReportPeriods.Start(DateTimeOffset.MinValue, period))
        {
            return $"from must be after the first {ReportPeriods.Name(period)} of the calendar: the report reads the {ReportPeriods.Name(period)} before it.";
        }

        if (to is { } t && ReportPeriods.Start(t, period) is var last && last != t && last == ReportPeriods.Start(DateTimeOffset.MaxValue, period))
        {
            return $"to must be before the last {ReportPeriods.Name(period)} of the calendar: the report widens it to a whole {ReportPeriods.Name(period)}.";
        }

        return null;
    }

    /// <summary>
    /// Builds the report from the rows of at least <see cref="ReadRange"/> (rows outside it are ignored), read as they come:
    /// each row is summed and let go, so a report over any range holds its groups, never the ledger's rows (nor their
    /// retained bodies). <c>countryOf</c> gives a tenant's country, for <see cref="SpendDimension.Country"/> and the top
    /// customers. Rows already in memory: <c>rows.ToAsyncEnumerable()</c>.
    /// </summary>
    public static async Task<SpendReport> BuildAsync(
        IAsyncEnumerable<LedgerEntry> ledger,
        SpendDimension by,
        ReportPeriod period,
        DateTimeOffset? from,
        DateTimeOffset? to,
        Func<string, string?> countryOf,
        SpendMeasure rankBy,
        int top,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        var sums = new Sums(by, period, from, to, countryOf);
        await foreach (var entry in ledger.WithCancellation(cancellationToken))
        {
            sums.Add(entry);
        }
        return sums.Report(rankBy, top);
    }

    /// <summary>The report's sums, per period, per period and group, and per customer, added to one row at a time.</summary>
    private sealed class Sums
    {
        private readonly SpendDimension _by;
        private readonly ReportPeriod _period;
        private readonly Func<string, string?> _countryOf;
        private readonly DateTimeOffset? _readFrom;
        private readonly DateTimeOffset? _start;
        private readonly DateTimeOffset? _end;
        private readonly Dictionary<DateTimeOffset, LedgerTotals> _totals = [];
        private readonly Dictionary<(DateTimeOffset, string), LedgerTotals> _rows = [];
        private readonly Dictionary<string, LedgerTotals> _customers = new(StringComparer.Ordinal);

        public Sums(SpendDimension by, ReportPeriod period, DateTimeOffset? from, DateTimeOffset? to, Func<string, string?> countryOf)
        {
            ArgumentNullException.ThrowIfNull(countryOf);
            _by = by;
            _period = period;
            _countryOf = countryOf;
            (_readFrom, _) = ReadRange(from, to, period);
            (_start, _end) = ReportPeriods.Whole(from, to, period);
        }

        public void Add(LedgerEntry e)
        {
            if (!(e.Billable || e.ShadowOf is not null) || e.Time < _readFrom || e.Time >= _end)
            {
                return;
            }
            var periodStart = ReportPeriods.Start(e.Time, _period);
            LedgerTotals.Add(_totals, periodStart, e);
            LedgerTotals.Add(_rows, (periodStart, KeyOf(e, _by, _countryOf)), e);
            if (e.ShadowOf is null && e.TenantId is { } tenant && Listed(periodStart))
            {
                LedgerTotals.Add(_customers, tenant, e);
            }
        }

        public SpendReport Report(SpendMeasure rankBy, int top)
        {
            var totalRows = _totals
                .Where(t => Listed(t.Key))
                .OrderBy(t => t.Key)
                .Select(t => Row(t.Key, null, t.Value, _totals.GetValueOrDefault(ReportPeriods.Previous(t.Key, _period))))
                .ToList();
            var groupRows = _rows
                .Where(r => Listed(r.Key.Item1))
                .OrderBy(r => r.Key.Item1)
                .ThenBy(r => r.Key.Item2, StringComparer.Ordinal)
                .Select(r => Row(r.Key.Item1, r.Key.Item2, r.Value, _rows.GetValueOrDefault((ReportPeriods.Previous(r.Key.Item1, _period), r.Key.Item2))))
                .ToList();

            decimal Measure(LedgerTotals t) => rankBy == SpendMeasure.Spend ? t.Spend : t.Revenue;
            var ranked = _customers
                .OrderByDescending(c => Measure(c.Value))
                .ThenBy(c => c.Key, StringComparer.Ordinal)
                .ToList();
            // Shares of all customers (listed or not) add up to exactly 1, not 0.999999.
            var shares = ReportText.Shares([.. ranked.Select(c => Measure(c.Value))]);
            var topCustomers = ranked
                .Take(Math.Max(0, top))
                .Select((c, i) => new CustomerShare(c.Key, _countryOf(c.Key), c.Value.Requests, c.Value.Spend, c.Value.Revenue, shares[i]))
                .ToList();
            return new SpendReport(_by, _period, rankBy, _start, _end, totalRows, groupRows, topCustomers);
        }

        private bool Listed(DateTimeOffset periodStart) => !(periodStart < _start);

        private SpendRow Row(DateTimeOffset periodStart, string? key, LedgerTotals t, LedgerTotals? previous) => new(
            ReportPeriods.Label(periodStart, _period), key, t.Requests, t.InputTokens, t.OutputTokens, t.Spend, t.Revenue,
            ReportText.Growth(t.Spend, previous?.Spend), ReportText.Growth(t.Revenue, previous?.Revenue));
    }

    public static string DimensionName(SpendDimension by) => by switch
    {
        SpendDimension.Tenant => "tenant",
        SpendDimension.Vendor => "vendor",
        SpendDimension.Model => "model",
        SpendDimension.Region => "region",
        _ => "country",
    };

    public static bool TryParseDimension(string? text, out SpendDimension by)
    {
        foreach (var candidate in Enum.GetValues<SpendDimension>())
        {
            if (DimensionName(candidate) == text)
            {
                by = candidate;
                return true;
            }
        }
        by = default;
        return false;
    }

    private static string KeyOf(LedgerEntry e, SpendDimension by, Func<string, string?> countryOf) => by switch
    {
        SpendDimension.Tenant => e.ShadowOf is not null ? ShadowKey : e.TenantId ?? UnknownKey,
        SpendDimension.Vendor => e.Vendor ?? UnknownKey,
        SpendDimension.Model => e.Model,
        SpendDimension.Region => e.Region ?? UnknownKey,
        _ => e.ShadowOf is not null ? ShadowKey : (e.TenantId is { } t ? countryOf(t) : null) ?? UnknownKey,
    };

    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("by", DimensionName(By));
        json.WriteString("period", ReportPeriods.Name(Period));
        json.WriteString("rank_by", RankBy == SpendMeasure.Spend ? "spend" : "revenue");
        ReportText.WriteTime(json, "from", From);
        ReportText.WriteTime(json, "to", To);
        json.WriteStartArray("totals");
        foreach (var row in Totals)
        {
            WriteRow(json, row, null);
        }
        json.WriteEndArray();
        json.WriteStartArray("rows");
        foreach (var row in Rows)
        {
            WriteRow(json, row, DimensionName(By));
        }
        json.WriteEndArray();
        json.WriteStartArray("top_customers");
        foreach (var customer in TopCustomers)
        {
            json.WriteStartObject();
            json.WriteString("tenant", customer.Tenant);
            json.WriteString("country", customer.Country);
            json.WriteNumber("requests", customer.Requests);
            ReportText.WriteMoney(json, "spend", customer.Spend);
            ReportText.WriteMoney(json, "revenue", customer.Revenue);
            ReportText.WriteMoney(json, "share", customer.Share);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteRow(Utf8JsonWriter json, SpendRow row, string? keyName)
    {
        json.WriteStartObject();
        json.WriteString("period", row.Period);
        if (keyName is not null)
        {
            json.WriteString(keyName, row.Key);
        }
        json.WriteNumber("requests", row.Requests);
        json.WriteNumber("input_tokens", row.InputTokens);
        json.WriteNumber("output_tokens", row.OutputTokens);
        ReportText.WriteMoney(json, "spend", row.Spend);
        ReportText.WriteMoney(json, "revenue", row.Revenue);
        ReportText.WriteMoney(json, "margin", row.Margin);
        ReportText.WriteMoney(json, "spend_growth", row.SpendGrowth);
        ReportText.WriteMoney(json, "revenue_growth", row.RevenueGrowth);
        json.WriteEndObject();
    }

    /// <summary>
    /// One CSV table. <c>section</c> is <c>total</c> (all groups of a period), <c>row</c> (one group: <c>key</c> is
    /// the tenant, vendor, model, region or country) or <c>top_customer</c> (<c>key</c> is the tenant, <c>share</c> and
    /// <c>country</c> set, as in JSON).
    /// </summary>
    public string ToCsv()
    {
        var csv = new StringBuilder("section,period,key,requests,input_tokens,output_tokens,spend,revenue,margin,spend_growth,revenue_growth,share,country\n");
        foreach (var row in Totals)
        {
            AppendRow(csv, "total", row);
        }
        foreach (var row in Rows)
        {
            AppendRow(csv, "row", row);
        }
        foreach (var c in TopCustomers)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"top_customer,,{ReportText.Csv(c.Tenant)},{c.Requests},,,{ReportText.Money(c.Spend)},{ReportText.Money(c.Revenue)},{ReportText.Money(c.Revenue - c.Spend)},,,{ReportText.Csv(c.Share)},{ReportText.Csv(c.Country)}\n");
        }
        return csv.ToString();
    }

    private static void AppendRow(StringBuilder csv, string section, SpendRow r) => csv.Append(CultureInfo.InvariantCulture,
        $"{section},{r.Period},{ReportText.Csv(r.Key)},{r.Requests},{r.InputTokens},{r.OutputTokens},{ReportText.Money(r.Spend)},{ReportText.Money(r.Revenue)},{ReportText.Money(r.Margin)},{ReportText.Csv(r.SpendGrowth)},{ReportText.Csv(r.RevenueGrowth)},,\n");
}
