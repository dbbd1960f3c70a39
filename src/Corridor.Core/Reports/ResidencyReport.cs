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
        var usage = new Dictionary<(string, string, string), ResidencyRow>();
        var denials = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var entry in ledger)
        {
            if (entry.TenantId != tenantId || entry.Time < from || entry.Time >= to)
            {
                continue;
            }
            if (entry.Outcome == RequestOutcome.Denied)
            {
                var reason = entry.ErrorCode ?? "denied";
                denials[reason] = denials.GetValueOrDefault(reason) + 1;
            }
            else if (entry.Billable)
            {
                var key = (entry.Vendor ?? "unknown", entry.Region ?? "unknown", entry.Model);
                var row = usage.GetValueOrDefault(key) ?? new ResidencyRow(key.Item1, key.Item2, key.Item3, 0, 0, 0, 0m);
                usage[key] = row with
                {
                    Requests = row.Requests + 1,
                    InputTokens = row.InputTokens + entry.InputTokens,
                    OutputTokens = row.OutputTokens + entry.OutputTokens,
                    Spend = row.Spend + entry.Cost,
                };
            }
        }
        return new ResidencyReport(
            tenantId,
            from,
            to,
            [.. usage.Values.OrderBy(r => r.Vendor, StringComparer.Ordinal).ThenBy(r => r.Region, StringComparer.Ordinal).ThenBy(r => r.Model, StringComparer.Ordinal)],
            [.. denials.OrderByDescending(d => d.Value).ThenBy(d => d.Key, StringComparer.Ordinal).Select(d => new DenialRow(d.Key, d.Value))]);
    }

    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("tenant", TenantId);
        WriteTime(json, "from", From);
        WriteTime(json, "to", To);
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
            json.WriteString("spend", row.Spend.ToString(CultureInfo.InvariantCulture));
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
            csv.Append(CultureInfo.InvariantCulture, $"usage,{Field(row.Vendor)},{Field(row.Region)},{Field(row.Model)},,{row.Requests},{row.InputTokens},{row.OutputTokens},{row.Spend}\n");
        }
        foreach (var row in Denials)
        {
            csv.Append(CultureInfo.InvariantCulture, $"denial,,,,{Field(row.Reason)},{row.Requests},,,\n");
        }
        return csv.ToString();
    }

    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    private static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            json.WriteString(name, value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
