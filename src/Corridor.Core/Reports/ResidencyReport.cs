using System.Globalization;
using System.Text;
using System.Text.Json;
using Corridor.Core.Metering;

namespace Corridor.Core.Reports;

/// <summary>
/// Served traffic of one vendor, serving region and model. <see cref="Spend"/> is the tenant's: what it was billed (the
/// rows' revenue), never what the vendors charge the operator, which is not the customer's auditor's business.
/// </summary>
public sealed record ResidencyRow(string Vendor, string Region, string Model, long Requests, long InputTokens, long OutputTokens, decimal Spend);

/// <summary>Requests refused by policy for one reason.</summary>
public sealed record DenialRow(string Reason, long Requests);

/// <summary>
/// What a customer's auditor needs to check usage outside their home country: for one tenant and period,
/// requests, tokens and spend by vendor × serving region × model, and denials by reason. <see cref="Shadow"/> lists,
/// the same way, where the operator mirrored the tenant's requests for shadow evaluation (the tenant's data went there,
/// under the same policy, though the tenant is not billed for it, so its spend there is nothing).
/// </summary>
public sealed record ResidencyReport(string TenantId, DateTimeOffset? From, DateTimeOffset? To, IReadOnlyList<ResidencyRow> Usage, IReadOnlyList<DenialRow> Denials)
{
    public IReadOnlyList<ResidencyRow> Shadow { get; init; } = [];

    /// <summary>Builds the report from rows read as they come: each row is summed and let go, never held. Rows already in memory: <c>rows.ToAsyncEnumerable()</c>.</summary>
    public static async Task<ResidencyReport> BuildAsync(string tenantId, DateTimeOffset? from, DateTimeOffset? to, IAsyncEnumerable<LedgerEntry> ledger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        var sums = new Sums(tenantId, from, to);
        await foreach (var entry in ledger.WithCancellation(cancellationToken))
        {
            sums.Add(entry);
        }
        return sums.Report();
    }

    private sealed class Sums(string tenantId, DateTimeOffset? from, DateTimeOffset? to)
    {
        private readonly Dictionary<(string Vendor, string Region, string Model), LedgerTotals> _usage = [];
        private readonly Dictionary<(string Vendor, string Region, string Model), LedgerTotals> _shadow = [];
        private readonly Dictionary<string, LedgerTotals> _denials = new(StringComparer.Ordinal);

        public void Add(LedgerEntry e)
        {
            if (e.TenantId != tenantId || e.Time < from || e.Time >= to)
            {
                return;
            }
            if (e.Outcome == RequestOutcome.Denied)
            {
                LedgerTotals.Add(_denials, e.ErrorCode ?? "denied", e);
            }
            if (e.Billable)
            {
                LedgerTotals.Add(_usage, Served(e), e);
            }
            if (e.ShadowOf is not null && e.Outcome == RequestOutcome.Success)
            {
                LedgerTotals.Add(_shadow, Served(e), e);
            }
        }

        public ResidencyReport Report() => new(
            tenantId,
            from,
            to,
            Rows(_usage),
            [.. _denials.OrderByDescending(d => d.Value.Requests).ThenBy(d => d.Key, StringComparer.Ordinal).Select(d => new DenialRow(d.Key, d.Value.Requests))])
        {
            Shadow = Rows(_shadow),
        };

        private static (string Vendor, string Region, string Model) Served(LedgerEntry e) => (e.Vendor ?? "unknown", e.Region ?? "unknown", e.Model);

        private static List<ResidencyRow> Rows(Dictionary<(string Vendor, string Region, string Model), LedgerTotals> groups) =>
        [
            .. groups
                .OrderBy(r => r.Key.Vendor, StringComparer.Ordinal).ThenBy(r => r.Key.Region, StringComparer.Ordinal).ThenBy(r => r.Key.Model, StringComparer.Ordinal)
                .Select(r => new ResidencyRow(r.Key.Vendor, r.Key.Region, r.Key.Model, r.Value.Requests, r.Value.InputTokens, r.Value.OutputTokens, r.Value.Revenue)),
        ];
    }

    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("tenant", TenantId);
        ReportText.WriteTime(json, "from", From);
        ReportText.WriteTime(json, "to", To);
        WriteRows(json, "usage", Usage);
        json.WriteStartArray("denials");
        foreach (var row in Denials)
        {
            json.WriteStartObject();
            json.WriteString("reason", row.Reason);
            json.WriteNumber("requests", row.Requests);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        WriteRows(json, "shadow", Shadow);
        json.WriteEndObject();
    }

    private static void WriteRows(Utf8JsonWriter json, string name, IReadOnlyList<ResidencyRow> rows)
    {
        json.WriteStartArray(name);
        foreach (var row in rows)
        {
            json.WriteStartObject();
            json.WriteString("vendor", row.Vendor);
            json.WriteString("region", row.Region);
            json.WriteString("model", row.Model);
            json.WriteNumber("requests", row.Requests);
            json.WriteNumber("input_tokens", row.InputTokens);
            json.WriteNumber("output_tokens", row.OutputTokens);
            ReportText.WriteMoney(json, "spend", row.Spend);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>
    /// One CSV table: a row per vendor × region × model, then a row per denial reason, then a row per vendor × region ×
    /// model the tenant's requests were mirrored to (the section column tells them apart).
    /// </summary>
    public string ToCsv()
    {
        var csv = new StringBuilder("section,vendor,region,model,reason,requests,input_tokens,output_tokens,spend\n");
        AppendRows(csv, "usage", Usage);
        foreach (var row in Denials)
        {
            csv.Append(CultureInfo.InvariantCulture, $"denial,,,,{ReportText.Csv(row.Reason)},{row.Requests},,,\n");
        }
        AppendRows(csv, "shadow", Shadow);
        return csv.ToString();
    }

    private static void AppendRows(StringBuilder csv, string section, IReadOnlyList<ResidencyRow> rows)
    {
        foreach (var row in rows)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{section},{ReportText.Csv(row.Vendor)},{ReportText.Csv(row.Region)},{ReportText.Csv(row.Model)},,{row.Requests},{row.InputTokens},{row.OutputTokens},{row.Spend}\n");
        }
    }
}
