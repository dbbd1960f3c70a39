using System.Text.Json;
using Corridor.Core.Shadow;

namespace Corridor.Core.Tests.Shadow;

public sealed class ShadowReportTests
{
    private static readonly DateTimeOffset June = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static ShadowResult Compared(int primaryMs, int candidateMs, decimal primaryCost, decimal candidateCost, double jaccard, bool exact = false, bool? tools = null) =>
        new($"req_{Guid.NewGuid():N}", "req_p", June, "acme", "gpt-4.1", "deepseek-v4", ShadowOutcome.Compared, null, primaryMs, candidateMs, primaryCost, candidateCost,
            new Similarity(jaccard, exact, 0.5, tools, tools));

    private static ShadowResult Failed(string reason) =>
        new($"req_{Guid.NewGuid():N}", "req_p", June, "acme", "gpt-4.1", "deepseek-v4", ShadowOutcome.CandidateFailed, reason, 100, 30, 0.01m, 0m, null);

    private static ShadowResult Skipped(string reason) =>
        new($"req_{Guid.NewGuid():N}", "req_p", June, "acme", "gpt-4.1", "deepseek-v4", ShadowOutcome.Skipped, reason, 100, null, 0.01m, 0m, null);

    private static readonly ShadowResult[] Results =
    [
        Compared(100, 300, 0.010m, 0.002m, 0.10),
        Compared(200, 250, 0.020m, 0.004m, 0.50, tools: true),
        Compared(300, 150, 0.030m, 0.006m, 0.90, exact: true),
        Compared(400, 350, 0.040m, 0.008m, 1.00, exact: true, tools: false),
        Failed("upstream_error"),
        Failed("upstream_error"),
        Failed("upstream_timeout"),
        Skipped("tier_below_minimum"),
        Skipped("tier_below_minimum"),
        Compared(999, 999, 9m, 9m, 0.0) with { Time = June.AddMonths(1) },
        Compared(100, 100, 0.1m, 0.1m, 1.0) with { PrimaryModel = "claude-sonnet-4", CandidateModel = "deepseek-v4" },
    ];

    [Fact]
    public void OnePair_KnownResults_GiveExactFigures()
    {
        var report = ShadowReport.Build(Results, June, June.AddMonths(1), model => model == "gpt-4.1" ? 12.5m : 0m);

        Assert.Equal(["claude-sonnet-4", "gpt-4.1"], report.Pairs.Select(p => p.PrimaryModel));
        var pair = report.Pairs[1];
        Assert.Equal(("gpt-4.1", "deepseek-v4"), (pair.PrimaryModel, pair.CandidateModel));
        Assert.Equal((7, 4, 3), (pair.Mirrored, pair.Compared, pair.CandidateErrors));
        Assert.Equal(0.428571m, pair.CandidateErrorRate);
        Assert.Equal([KeyValuePair.Create("upstream_error", 2), KeyValuePair.Create("upstream_timeout", 1)], pair.Errors);
        Assert.Equal(2, pair.Skipped);
        Assert.Equal([KeyValuePair.Create("tier_below_minimum", 2)], pair.SkipReasons);
        // Nearest rank over 100, 200, 300, 400 and 150, 250, 300, 350.
        Assert.Equal((200, 400, 250, 350), (pair.PrimaryLatencyP50, pair.PrimaryLatencyP95, pair.CandidateLatencyP50, pair.CandidateLatencyP95));
        Assert.Equal((0.100m, 0.020m, 0.080m), (pair.PrimaryCost, pair.CandidateCost, pair.Saving));
        Assert.Equal(0.8m, pair.SavingRatio);
        Assert.Equal((12.5m, 10.0m), (pair.PrimaryModelSpend, pair.ProjectedSaving));
        Assert.Equal(new Distribution(4, 0.625, 0.10, 0.50, 1.00, [1, 0, 1, 0, 2]), pair.Jaccard with { Histogram = pair.Jaccard.Histogram }, new DistributionComparer());
        Assert.Equal(0.5m, pair.ExactMatchRate);
        Assert.Equal(0.5, pair.MeanLengthRatio);
        Assert.Equal((2, 0.5m, 0.5m), (pair.WithToolCalls, pair.ToolNamesMatchRate, pair.ToolArgumentsMatchRate));
    }

    [Fact]
    public void Json_And_Csv_CarryTheSameFigures()
    {
        var report = ShadowReport.Build(Results, June, June.AddMonths(1), _ => 0m);
        using var stream = new MemoryStream();

        report.WriteJson(stream);
        var csv = report.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        using var json = JsonDocument.Parse(stream.ToArray());
        var pair = json.RootElement.GetProperty("pairs")[1];
        Assert.Equal(7, pair.GetProperty("mirrored").GetInt32());
        Assert.Equal("0.428571", pair.GetProperty("candidate_error_rate").GetString());
        Assert.Equal(2, pair.GetProperty("skip_reasons").GetProperty("tier_below_minimum").GetInt32());
        Assert.Equal(350, pair.GetProperty("latency_ms").GetProperty("candidate_p95").GetInt32());
        Assert.Equal("0.080", pair.GetProperty("cost").GetProperty("saving").GetString());
        Assert.Equal(0m, decimal.Parse(pair.GetProperty("cost").GetProperty("projected_saving").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal([1, 0, 1, 0, 2], pair.GetProperty("similarity").GetProperty("jaccard").GetProperty("histogram").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(3 == csv.Length, string.Join("\n", csv));
        Assert.StartsWith("gpt-4.1,deepseek-v4,7,4,3,0.428571,upstream_error=2;upstream_timeout=1,2,tier_below_minimum=2,200,400,250,350,0.100,0.020,0.080,0.8,0,0.0,0.625,0.1,0.5,1,1,0,1,0,2,0.5,0.5,2,0.5,0.5", csv[2], StringComparison.Ordinal);
    }

    private sealed class DistributionComparer : IEqualityComparer<Distribution>
    {
        public bool Equals(Distribution? x, Distribution? y) =>
            x is not null && y is not null && x.Count == y.Count && Near(x.Mean, y.Mean) && Near(x.P10, y.P10) && Near(x.P50, y.P50) && Near(x.P90, y.P90)
            && x.Histogram.SequenceEqual(y.Histogram);

        public int GetHashCode(Distribution obj) => obj.Count;

        private static bool Near(double? a, double? b) => a is { } x && b is { } y ? Math.Abs(x - y) < 1e-12 : a is null && b is null;
    }
}
