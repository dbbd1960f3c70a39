using System.Globalization;
using System.Text;
using System.Text.Json;
using Corridor.Core.Reports;

namespace Corridor.Core.Shadow;

/// <summary>Percentiles and a histogram of one measure.</summary>
public sealed record Distribution(int Count, double? Mean, double? P10, double? P50, double? P90, IReadOnlyList<int> Histogram);

/// <summary>
/// The evidence for one primary → candidate pair over a period: how often the candidate was tried, how often it failed,
/// how fast and how costly it was next to the primary on the same requests, and how alike their outputs were.
/// Latency, cost and similarity are over compared requests only (both answered).
/// </summary>
public sealed record ShadowPairReport(
    string PrimaryModel,
    string CandidateModel,
    int Mirrored,
    int Compared,
    int CandidateErrors,
    decimal? CandidateErrorRate,
    IReadOnlyList<KeyValuePair<string, int>> Errors,
    int Skipped,
    IReadOnlyList<KeyValuePair<string, int>> SkipReasons,
    int? PrimaryLatencyP50,
    int? PrimaryLatencyP95,
    int? CandidateLatencyP50,
    int? CandidateLatencyP95,
    decimal PrimaryCost,
    decimal CandidateCost,
    decimal? SavingRatio,
    decimal PrimaryModelSpend,
    decimal? ProjectedSaving,
    Distribution Jaccard,
    decimal? ExactMatchRate,
    double? MeanLengthRatio,
    int WithToolCalls,
    decimal? ToolNamesMatchRate,
    decimal? ToolArgumentsMatchRate)
{
    public decimal Saving => PrimaryCost - CandidateCost;
}

/// <summary><c>corridor report shadow</c>: one <see cref="ShadowPairReport"/> per model pair.</summary>
public sealed record ShadowReport(DateTimeOffset? From, DateTimeOffset? To, IReadOnlyList<ShadowPairReport> Pairs)
{
    /// <summary>Histogram buckets of the Jaccard similarity: [0, 0.2), [0.2, 0.4), [0.4, 0.6), [0.6, 0.8), [0.8, 1].</summary>
    public const int Buckets = 5;

    /// <summary>
    /// Builds the report. <paramref name="primarySpend"/> gives what the operator spent on a primary model's traffic over
    /// the period (all of it, mirrored or not); times the saving ratio it projects the saving had the candidate served it all.
    /// </summary>
    public static ShadowReport Build(IEnumerable<ShadowResult> results, DateTimeOffset? from, DateTimeOffset? to, Func<string, decimal> primarySpend)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(primarySpend);
        var pairs = results
            .Where(r => !(r.Time < from) && !(r.Time >= to))
            .GroupBy(r => (r.PrimaryModel, r.CandidateModel))
            .OrderBy(g => g.Key.PrimaryModel, StringComparer.Ordinal)
            .ThenBy(g => g.Key.CandidateModel, StringComparer.Ordinal)
            .Select(g => Pair(g.Key.PrimaryModel, g.Key.CandidateModel, [.. g], primarySpend(g.Key.PrimaryModel)))
            .ToList();
        return new ShadowReport(from, to, pairs);
    }

    private static ShadowPairReport Pair(string primary, string candidate, List<ShadowResult> rows, decimal primaryModelSpend)
    {
        var compared = rows.Where(r => r.Outcome == ShadowOutcome.Compared).ToList();
        var failed = rows.Where(r => r.Outcome == ShadowOutcome.CandidateFailed).ToList();
        var skipped = rows.Where(r => r.Outcome == ShadowOutcome.Skipped).ToList();
        var mirrored = compared.Count + failed.Count;
        var primaryCost = compared.Sum(r => r.PrimaryCost);
        var candidateCost = compared.Sum(r => r.CandidateCost);
        var savingRatio = ReportText.Ratio(primaryCost - candidateCost, primaryCost);
        var similarities = compared.Where(r => r.Similarity is not null).Select(r => r.Similarity!.Value).ToList();
        var withTools = similarities.Where(s => s.ToolNamesMatch is not null).ToList();
        return new ShadowPairReport(
            primary,
            candidate,
            mirrored,
            compared.Count,
            failed.Count,
            ReportText.Ratio(failed.Count, mirrored),
            Counts(failed.Select(r => r.Reason ?? "error")),
            skipped.Count,
            Counts(skipped.Select(r => r.Reason ?? "skipped")),
            Percentile(compared.Select(r => r.PrimaryLatencyMs), 0.50),
            Percentile(compared.Select(r => r.PrimaryLatencyMs), 0.95),
            Percentile(compared.Select(r => r.CandidateLatencyMs ?? 0), 0.50),
            Percentile(compared.Select(r => r.CandidateLatencyMs ?? 0), 0.95),
            primaryCost,
            candidateCost,
            savingRatio,
            primaryModelSpend,
            savingRatio is { } ratio ? primaryModelSpend * ratio : null,
            Distribute(similarities.Select(s => s.Jaccard)),
            ReportText.Ratio(similarities.Count(s => s.ExactMatch), similarities.Count),
            similarities.Count == 0 ? null : similarities.Average(s => s.LengthRatio),
            withTools.Count,
            ReportText.Ratio(withTools.Count(s => s.ToolNamesMatch == true), withTools.Count),
            ReportText.Ratio(withTools.Count(s => s.ToolArgumentsMatch == true), withTools.Count));
    }

    private static List<KeyValuePair<string, int>> Counts(IEnumerable<string> reasons) =>
        [.. reasons.GroupBy(r => r, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => KeyValuePair.Create(g.Key, g.Count()))];

    /// <summary>Nearest-rank percentile: the smallest value with at least <paramref name="p"/> of the values at or below it.</summary>
    public static int? Percentile(IEnumerable<int> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? null : sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];
    }

    public static Distribution Distribute(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var histogram = new int[Buckets];
        foreach (var value in sorted)
        {
            histogram[Math.Clamp((int)(value * Buckets), 0, Buckets - 1)]++;
        }
        if (sorted.Length == 0)
        {
            return new Distribution(0, null, null, null, null, histogram);
        }
        double At(double p) => sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Length) - 1)];
        return new Distribution(sorted.Length, sorted.Average(), At(0.10), At(0.50), At(0.90), histogram);
    }

    public void WriteJson(Stream output)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        ReportText.WriteTime(json, "from", From);
        ReportText.WriteTime(json, "to", To);
        json.WriteStartArray("pairs");
        foreach (var p in Pairs)
        {
            json.WriteStartObject();
            json.WriteString("primary", p.PrimaryModel);
            json.WriteString("candidate", p.CandidateModel);
            json.WriteNumber("mirrored", p.Mirrored);
            json.WriteNumber("compared", p.Compared);
            json.WriteNumber("candidate_errors", p.CandidateErrors);
            ReportText.WriteMoney(json, "candidate_error_rate", p.CandidateErrorRate);
            WriteCounts(json, "errors", p.Errors);
            json.WriteNumber("skipped", p.Skipped);
            WriteCounts(json, "skip_reasons", p.SkipReasons);
            json.WriteStartObject("latency_ms");
            WriteInt(json, "primary_p50", p.PrimaryLatencyP50);
            WriteInt(json, "primary_p95", p.PrimaryLatencyP95);
            WriteInt(json, "candidate_p50", p.CandidateLatencyP50);
            WriteInt(json, "candidate_p95", p.CandidateLatencyP95);
            json.WriteEndObject();
            json.WriteStartObject("cost");
            ReportText.WriteMoney(json, "primary", p.PrimaryCost);
            ReportText.WriteMoney(json, "candidate", p.CandidateCost);
            ReportText.WriteMoney(json, "saving", p.Saving);
            ReportText.WriteMoney(json, "saving_ratio", p.SavingRatio);
            ReportText.WriteMoney(json, "primary_model_spend", p.PrimaryModelSpend);
            ReportText.WriteMoney(json, "projected_saving", p.ProjectedSaving);
            json.WriteEndObject();
            json.WriteStartObject("similarity");
            json.WriteStartObject("jaccard");
            json.WriteNumber("count", p.Jaccard.Count);
            ReportText.WriteNumber(json, "mean", p.Jaccard.Mean);
            ReportText.WriteNumber(json, "p10", p.Jaccard.P10);
            ReportText.WriteNumber(json, "p50", p.Jaccard.P50);
            ReportText.WriteNumber(json, "p90", p.Jaccard.P90);
            json.WriteStartArray("histogram");
            foreach (var count in p.Jaccard.Histogram)
            {
                json.WriteNumberValue(count);
            }
            json.WriteEndArray();
            json.WriteEndObject();
            ReportText.WriteMoney(json, "exact_match_rate", p.ExactMatchRate);
            ReportText.WriteNumber(json, "mean_length_ratio", p.MeanLengthRatio);
            json.WriteNumber("with_tool_calls", p.WithToolCalls);
            ReportText.WriteMoney(json, "tool_names_match_rate", p.ToolNamesMatchRate);
            ReportText.WriteMoney(json, "tool_arguments_match_rate", p.ToolArgumentsMatchRate);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>One row per pair; the Jaccard histogram as five columns, error and skip reasons as <c>reason=count;…</c>.</summary>
    public string ToCsv()
    {
        var csv = new StringBuilder(
            "primary,candidate,mirrored,compared,candidate_errors,candidate_error_rate,errors,skipped,skip_reasons," +
            "primary_latency_p50_ms,primary_latency_p95_ms,candidate_latency_p50_ms,candidate_latency_p95_ms," +
            "primary_cost,candidate_cost,saving,saving_ratio,primary_model_spend,projected_saving," +
            "jaccard_mean,jaccard_p10,jaccard_p50,jaccard_p90,jaccard_0_0.2,jaccard_0.2_0.4,jaccard_0.4_0.6,jaccard_0.6_0.8,jaccard_0.8_1," +
            "exact_match_rate,mean_length_ratio,with_tool_calls,tool_names_match_rate,tool_arguments_match_rate\n");
        foreach (var p in Pairs)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{ReportText.Csv(p.PrimaryModel)},{ReportText.Csv(p.CandidateModel)},{p.Mirrored},{p.Compared},{p.CandidateErrors},{ReportText.Csv(p.CandidateErrorRate)},{ReportText.Csv(Reasons(p.Errors))},{p.Skipped},{ReportText.Csv(Reasons(p.SkipReasons))},");
            csv.Append(CultureInfo.InvariantCulture, $"{p.PrimaryLatencyP50},{p.PrimaryLatencyP95},{p.CandidateLatencyP50},{p.CandidateLatencyP95},");
            csv.Append(CultureInfo.InvariantCulture,
                $"{ReportText.Money(p.PrimaryCost)},{ReportText.Money(p.CandidateCost)},{ReportText.Money(p.Saving)},{ReportText.Csv(p.SavingRatio)},{ReportText.Money(p.PrimaryModelSpend)},{ReportText.Csv(p.ProjectedSaving)},");
            csv.Append(CultureInfo.InvariantCulture,
                $"{ReportText.Csv(p.Jaccard.Mean)},{ReportText.Csv(p.Jaccard.P10)},{ReportText.Csv(p.Jaccard.P50)},{ReportText.Csv(p.Jaccard.P90)},{string.Join(',', p.Jaccard.Histogram)},");
            csv.Append(CultureInfo.InvariantCulture,
                $"{ReportText.Csv(p.ExactMatchRate)},{ReportText.Csv(p.MeanLengthRatio)},{p.WithToolCalls},{ReportText.Csv(p.ToolNamesMatchRate)},{ReportText.Csv(p.ToolArgumentsMatchRate)}\n");
        }
        return csv.ToString();
    }

    private static string Reasons(IReadOnlyList<KeyValuePair<string, int>> counts) =>
        string.Join(';', counts.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key}={c.Value}")));

    private static void WriteCounts(Utf8JsonWriter json, string name, IReadOnlyList<KeyValuePair<string, int>> counts)
    {
        json.WriteStartObject(name);
        foreach (var (reason, count) in counts)
        {
            json.WriteNumber(reason, count);
        }
        json.WriteEndObject();
    }

    private static void WriteInt(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } v)
        {
            json.WriteNumber(name, v);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
