using System.Globalization;
using System.Text;
using System.Text.Json;
using Corridor.Core.Metering;

namespace Corridor.Core.Reports;

/// <summary>Served traffic of one vendor, serving region and model.</summary>
public sealed record ResidencyRow(string Vendor, string Region, string Model, long Requests, long InputTokens, long OutputTokens, decimal Spend);

/// <summary>Requests refused by policy for one reason.</summary>
public sealed record DenialRow(string Reason, long Requests);

/// <summary>
/// What a customer's auditor needs to check usage outside their home country: for one tenant and period,
/// requests, tokens and spend by vendor × serving region × model, and denials by reason.
/// </summary>
public sealed record ResidencyReport(string TenantId, DateTimeOffset? From, DateTimeOffset? To, IReadOnlyList<ResidencyRow> Usage, IReadOnlyList<DenialRow> Denials)
{
    public static ResidencyReport Build(string tenantId, DateTimeOffset? from, DateTimeOffset? to, IEnumerable<LedgerEntry> ledger)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        var rows = ledger.Where(e => e.TenantId == tenantId && !(e.Time < from) && !(e.Time >= to)).ToList();
        var usage = LedgerTotals.Group(rows, e => e.Billable, e => (e.Vendor ?? "unknown", e.Region ?? "unknown", e.Model));
        var denials = LedgerTotals.Group(rows, e => e.Outcome == RequestOutcome.Denied, e => e.ErrorCode ?? "denied");
        return new ResidencyReport(
            tenantId,
            from,
            to,
            [
                .. usage
                    .OrderBy(r => r.Key.Item1, StringComparer.Ordinal).ThenBy(r => r.Key.Item2, StringComparer.Ordinal).ThenBy(r => r.Key.Item3, StringComparer.Ordinal)
                    .Select(r => new ResidencyRow(r.Key.Item1, r.Key.Item2, r.Key.Item3, r.Value.Requests, r.Value.InputTokens, r.Value.OutputTokens, r.Value.Spend)),
            ],
            [.. denials.OrderByDescending(d => d.Value.Requests).ThenBy(d => d.Key, StringComparer.Ordinal).Select(d => new DenialRow(d.Key, d.Value.Requests))]);
    }

    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("tenant", TenantId);
        ReportText.WriteTime(json, "from", From);
        ReportText.WriteTime(json, "to", To);
        json.WriteStartArray("usage");
        foreach (var row in Usage)
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
        json.WriteStartArray("denials");
        foreach (var row in Denials)
        {
            json.WriteStartObject();
            json.WriteString("reason", row.Reason);
            json.WriteNumber("requests", row.Requests);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>One CSV table: a row per vendor × region × model, then a row per denial reason (section column tells them apart).</summary>
    public string ToCsv()
    {
        var csv = new StringBuilder("section,vendor,region,model,reason,requests,input_tokens,output_tokens,spend\n");
        foreach (var row in Usage)
        {
            csv.Append(CultureInfo.InvariantCulture, $"usage,{ReportText.Csv(row.Vendor)},{ReportText.Csv(row.Region)},{ReportText.Csv(row.Model)},,{row.Requests},{row.InputTokens},{row.OutputTokens},{row.Spend}\n");
        }
        foreach (var row in Denials)
        {
            csv.Append(CultureInfo.InvariantCulture, $"denial,,,,{ReportText.Csv(row.Reason)},{row.Requests},,,\n");
        }
        return csv.ToString();
    }
}
