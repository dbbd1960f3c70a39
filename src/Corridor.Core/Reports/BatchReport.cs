using System.Globalization;
using System.Text;
using System.Text.Json;
using Corridor.Core.Batches;
using Corridor.Core.Metering;

namespace Corridor.Core.Reports;

/// <summary>
/// Sums of ledger rows that Corridor wrote for a batch's requests: every run of a request has a row of its own (a refusal
/// waited out, a run cut short by a stop, the run that answered), so <see cref="Requests"/> counts runs, not the batch's
/// requests. <see cref="Cost"/> is what the vendors charge the operator; <see cref="Revenue"/> what the tenant is billed, at
/// the batch price (the sell price less the batch discount in force when each ran). Exact decimal sums.
/// </summary>
public readonly record struct BatchLedgerTotals(
    long Requests,
    long Succeeded,
    long Billable,
    long Estimated,
    long InputTokens,
    long CacheReadTokens,
    long CacheWriteTokens,
    long OutputTokens,
    decimal Cost,
    decimal Revenue)
{
    /// <summary>Rows whose request did not end in an answer (<see cref="RequestOutcome.Success"/>): refused, failed, cut short.</summary>
    public long Errored => Requests - Succeeded;

    public decimal Margin => Revenue - Cost;

    /// <summary>One row's share of the sums.</summary>
    public static BatchLedgerTotals Of(LedgerEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Of(entry.Outcome == RequestOutcome.Success, entry.Billable, entry.Estimated, entry.InputTokens, entry.CacheReadTokens, entry.CacheWriteTokens,
            entry.OutputTokens, entry.Cost, entry.Revenue);
    }

    /// <summary>One row's share of the sums, from its stored columns.</summary>
    public static BatchLedgerTotals Of(bool succeeded, bool billable, bool estimated, long inputTokens, long cacheReadTokens, long cacheWriteTokens, long outputTokens,
        decimal cost, decimal revenue) =>
        new(1, succeeded ? 1 : 0, billable ? 1 : 0, estimated ? 1 : 0, inputTokens, cacheReadTokens, cacheWriteTokens, outputTokens, cost, revenue);

    public static BatchLedgerTotals operator +(BatchLedgerTotals a, BatchLedgerTotals b) => new(
        a.Requests + b.Requests, a.Succeeded + b.Succeeded, a.Billable + b.Billable, a.Estimated + b.Estimated, a.InputTokens + b.InputTokens,
        a.CacheReadTokens + b.CacheReadTokens, a.CacheWriteTokens + b.CacheWriteTokens, a.OutputTokens + b.OutputTokens, a.Cost + b.Cost, a.Revenue + b.Revenue);

    public static BatchLedgerTotals Add(BatchLedgerTotals left, BatchLedgerTotals right) => left + right;
}

/// <summary>The ledger's sums for the requests of one batch that named one model.</summary>
public sealed record BatchUsage(string BatchId, string Model, BatchLedgerTotals Totals);

/// <summary>A batch as the operator sees it: its requests by state (the batch's) and what its runs cost and earned (the ledger's).</summary>
public sealed record BatchReportRow(BatchJob Batch, BatchLedgerTotals Ledger)
{
    /// <summary>
    /// Every field, named as in the JSON (the ledger's behind <c>ledger_</c> where the batch has the same name), as text:
    /// the CSV's columns and the command line's <c>batches show</c>. <c>Text</c> tells the operator's and tenant's text
    /// (which CSV guards against spreadsheet formulas) from numbers and times (which keep their sign).
    /// </summary>
    public IReadOnlyList<(string Name, string? Value, bool Text)> Fields()
    {
        var b = Batch;
        var l = Ledger;
        return
        [
            ("id", b.Id, true), ("api", Api(b), false), ("tenant", b.TenantId, true), ("key", b.KeyId, true), ("endpoint", b.Endpoint, true),
            ("model", b.Model, true), ("state", b.State, false), ("ending", b.Ending, false),
            ("created_at", ReportText.Time(b.CreatedAt), false), ("expires_at", ReportText.Time(b.ExpiresAt), false),
            ("ended_at", b.EndedAt is { } ended ? ReportText.Time(ended) : null, false),
            Number("total", b.Counts.Total), Number("pending", b.Counts.Pending), Number("succeeded", b.Counts.Succeeded),
            Number("errored", b.Counts.Errored), Number("canceled", b.Counts.Canceled), Number("expired", b.Counts.Expired),
            Number("ledger_requests", l.Requests), Number("ledger_succeeded", l.Succeeded), Number("ledger_errored", l.Errored),
            Number("ledger_billable", l.Billable), Number("ledger_estimated", l.Estimated),
            Number("input_tokens", l.InputTokens), Number("input_cached_tokens", l.CacheReadTokens), Number("input_cache_write_tokens", l.CacheWriteTokens),
            Number("output_tokens", l.OutputTokens),
            ("cost", ReportText.Money(l.Cost), false), ("revenue", ReportText.Money(l.Revenue), false), ("margin", ReportText.Money(l.Margin), false),
        ];
    }

    /// <summary>A row of no batch: its <see cref="Fields"/> name the columns.</summary>
    internal static readonly BatchReportRow Header = new(new BatchJob("", BatchApi.OpenAI, "", "", "", "", default, default), default);

    /// <summary>The batch as one JSON object, its ledger sums in <c>ledger</c>.</summary>
    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        WriteJson(json);
    }

    internal void WriteJson(Utf8JsonWriter json)
    {
        var b = Batch;
        json.WriteStartObject();
        json.WriteString("id", b.Id);
        json.WriteString("api", Api(b));
        json.WriteString("tenant", b.TenantId);
        json.WriteString("key", b.KeyId);
        json.WriteString("endpoint", b.Endpoint);
        json.WriteString("model", b.Model);
        json.WriteString("state", b.State);
        json.WriteString("ending", b.Ending);
        ReportText.WriteTime(json, "created_at", b.CreatedAt);
        ReportText.WriteTime(json, "expires_at", b.ExpiresAt);
        ReportText.WriteTime(json, "ended_at", b.EndedAt);
        json.WriteNumber("total", b.Counts.Total);
        json.WriteNumber("pending", b.Counts.Pending);
        json.WriteNumber("succeeded", b.Counts.Succeeded);
        json.WriteNumber("errored", b.Counts.Errored);
        json.WriteNumber("canceled", b.Counts.Canceled);
        json.WriteNumber("expired", b.Counts.Expired);
        var l = Ledger;
        json.WriteStartObject("ledger");
        json.WriteNumber("requests", l.Requests);
        json.WriteNumber("succeeded", l.Succeeded);
        json.WriteNumber("errored", l.Errored);
        json.WriteNumber("billable", l.Billable);
        json.WriteNumber("estimated", l.Estimated);
        json.WriteNumber("input_tokens", l.InputTokens);
        json.WriteNumber("input_cached_tokens", l.CacheReadTokens);
        json.WriteNumber("input_cache_write_tokens", l.CacheWriteTokens);
        json.WriteNumber("output_tokens", l.OutputTokens);
        ReportText.WriteMoney(json, "cost", l.Cost);
        ReportText.WriteMoney(json, "revenue", l.Revenue);
        ReportText.WriteMoney(json, "margin", l.Margin);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    public static string Api(BatchJob batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Api == BatchApi.OpenAI ? "openai" : "anthropic";
    }

    private static (string, string?, bool) Number(string name, long value) => (name, value.ToString(CultureInfo.InvariantCulture), false);
}

/// <summary>
/// Batches with what the ledger holds of their runs (docs/batches.md, "What a batch cost"): for the admin API and the
/// command line, as JSON (an array of <see cref="BatchReportRow"/> objects) or CSV (one row a batch).
/// </summary>
public sealed record BatchReport(IReadOnlyList<BatchReportRow> Rows)
{
    /// <summary>The most batches one list answers (<c>corridor batches list --limit</c>, the admin API's <c>limit</c>).</summary>
    public const int MaxListed = 1000;

    /// <summary>How many batches a list answers when not told.</summary>
    public const int DefaultListed = 100;

    /// <summary>Each batch of <paramref name="batches"/>, in that order, with the sums of <paramref name="usage"/> over its models.</summary>
    public static BatchReport Build(IReadOnlyList<BatchJob> batches, IEnumerable<BatchUsage> usage)
    {
        ArgumentNullException.ThrowIfNull(batches);
        ArgumentNullException.ThrowIfNull(usage);
        var sums = new Dictionary<string, BatchLedgerTotals>(StringComparer.Ordinal);
        foreach (var u in usage)
        {
            sums[u.BatchId] = sums.GetValueOrDefault(u.BatchId) + u.Totals;
        }
        return new([.. batches.Select(b => new BatchReportRow(b, sums.GetValueOrDefault(b.Id)))]);
    }

    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartArray();
        foreach (var row in Rows)
        {
            row.WriteJson(json);
        }
        json.WriteEndArray();
    }

    /// <summary>A header of the field names, then a line a batch (the header alone when there is none).</summary>
    public string ToCsv()
    {
        var csv = new StringBuilder().AppendJoin(',', BatchReportRow.Header.Fields().Select(f => f.Name)).Append('\n');
        foreach (var row in Rows)
        {
            csv.AppendJoin(',', row.Fields().Select(f => f.Text ? ReportText.Csv(f.Value) : f.Value)).Append('\n');
        }
        return csv.ToString();
    }
}
