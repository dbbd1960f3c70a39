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
    /// Builds the report from the rows of at least <see cref="ReadRange"/> (rows outside it are ignored); <c>countryOf</c>
    /// gives a tenant's country, for <see cref="SpendDimension.Country"/> and the top customers.
    /// </summary>
    public static SpendReport Build(
        IEnumerable<LedgerEntry> ledger,
        SpendDimension by,
        ReportPeriod period,
        DateTimeOffset? from,
        DateTimeOffset? to,
        Func<string, string?> countryOf,
        SpendMeasure rankBy = SpendMeasure.Revenue,
        int top = 10)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(countryOf);
        var (readFrom, _) = ReadRange(from, to, period);
        var (start, end) = ReportPeriods.Whole(from, to, period);
        var counted = ledger.Where(e => (e.Billable || e.ShadowOf is not null) && !(e.Time < readFrom) && !(e.Time >= end)).ToList();

        var totals = LedgerTotals.Group(counted, _ => true, e => ReportPeriods.Start(e.Time, period));
        var rows = LedgerTotals.Group(counted, _ => true, e => (ReportPeriods.Start(e.Time, period), KeyOf(e, by, countryOf)));

        var totalRows = totals
            .Where(t => listed(t.Key))
            .OrderBy(t => t.Key)
            .Select(t => Row(t.Key, null, t.Value, totals.GetValueOrDefault(ReportPeriods.Previous(t.Key, period))))
            .ToList();
        var groupRows = rows
            .Where(r => listed(r.Key.Item1))
            .OrderBy(r => r.Key.Item1)
            .ThenBy(r => r.Key.Item2, StringComparer.Ordinal)
            .Select(r => Row(r.Key.Item1, r.Key.Item2, r.Value, rows.GetValueOrDefault((ReportPeriods.Previous(r.Key.Item1, period), r.Key.Item2))))
            .ToList();

        var customers = LedgerTotals.Group(counted, e => e.ShadowOf is null && e.TenantId is not null && listed(ReportPeriods.Start(e.Time, period)), e => e.TenantId!);
        decimal Measure(LedgerTotals t) => rankBy == SpendMeasure.Spend ? t.Spend : t.Revenue;
        var whole = customers.Values.Sum(Measure);
        var topCustomers = customers
            .OrderByDescending(c => Measure(c.Value))
            .ThenBy(c => c.Key, StringComparer.Ordinal)
            .Take(Math.Max(0, top))
            .Select(c => new CustomerShare(c.Key, countryOf(c.Key), c.Value.Requests, c.Value.Spend, c.Value.Revenue, ReportText.Ratio(Measure(c.Value), whole)))
            .ToList();
        return new SpendReport(by, period, rankBy, start, end, totalRows, groupRows, topCustomers);

        bool listed(DateTimeOffset p) => !(p < start);

        SpendRow Row(DateTimeOffset periodStart, string? key, LedgerTotals t, LedgerTotals? previous) => new(
            ReportPeriods.Label(periodStart, period), key, t.Requests, t.InputTokens, t.OutputTokens, t.Spend, t.Revenue,
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
    /// the tenant, vendor, model, region or country) or <c>top_customer</c> (<c>key</c> is the tenant, <c>share</c> set).
    /// </summary>
    public string ToCsv()
    {
        var csv = new StringBuilder("section,period,key,requests,input_tokens,output_tokens,spend,revenue,margin,spend_growth,revenue_growth,share\n");
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
                $"top_customer,,{ReportText.Csv(c.Tenant)},{c.Requests},,,{ReportText.Money(c.Spend)},{ReportText.Money(c.Revenue)},{ReportText.Money(c.Revenue - c.Spend)},,,{ReportText.Csv(c.Share)}\n");
        }
        return csv.ToString();
    }

    private static void AppendRow(StringBuilder csv, string section, SpendRow r) => csv.Append(CultureInfo.InvariantCulture,
        $"{section},{r.Period},{ReportText.Csv(r.Key)},{r.Requests},{r.InputTokens},{r.OutputTokens},{ReportText.Money(r.Spend)},{ReportText.Money(r.Revenue)},{ReportText.Money(r.Margin)},{ReportText.Csv(r.SpendGrowth)},{ReportText.Csv(r.RevenueGrowth)},\n");
}
