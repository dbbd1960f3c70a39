using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Core.Shadow;
using Corridor.Storage;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Tests;

public sealed class ReportCommandTests : IDisposable
{
    private readonly CliRunner _cli = new();

    [Fact]
    public async Task ResidencyReport_ListsUsageByVendorRegionModel_AndDenials_InJsonAndCsv()
    {
        Assert.Equal(0, (await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme Ltd.", "--country", "CN")).ExitCode);
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout())
        {
            await store.AppendLedgerAsync(
            [
                LedgerSamples.Entry("r-1", LedgerSamples.Start) with { Vendor = "openai", Region = "sg", Cost = 0.25m, Revenue = 0.40m, InputTokens = 10, OutputTokens = 20 },
                LedgerSamples.Entry("r-2", LedgerSamples.Start.AddHours(1)) with { Vendor = "openai", Region = "sg", Cost = 0.5m, Revenue = 0.80m, InputTokens = 1, OutputTokens = 2 },
                LedgerSamples.Entry("r-3", LedgerSamples.Start.AddHours(2)) with
                {
                    Outcome = RequestOutcome.Denied, Billable = false, Cost = 0, Status = 403, ErrorCode = "no_compliant_region",
                },
            ], CancellationToken.None).WithTimeout();
        }

        var json = await _cli.RunAsync("report", "residency", "--tenant", "acme", "--from", "2026-06-01", "--to", "2026-07-01");
        var csv = await _cli.RunAsync("report", "residency", "--tenant", "acme", "--format", "csv");
        var unknown = await _cli.RunAsync("report", "residency", "--tenant", "nobody");

        Assert.Equal(0, json.ExitCode);
        var root = JsonDocument.Parse(json.Out).RootElement;
        var usage = Assert.Single(root.GetProperty("usage").EnumerateArray());
        Assert.Equal("openai", usage.GetProperty("vendor").GetString());
        Assert.Equal("sg", usage.GetProperty("region").GetString());
        Assert.Equal(2, usage.GetProperty("requests").GetInt64());
        // What the tenant was billed, not what the vendor charged the operator (0.75).
        Assert.Equal("1.20", usage.GetProperty("spend").GetString());
        Assert.Equal("no_compliant_region", root.GetProperty("denials")[0].GetProperty("reason").GetString());
        Assert.Contains("denial,,,,no_compliant_region,1,,,", csv.Out, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("unknown tenant", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SpendAndRevenueReports_GiveExactFiguresPerMonth_WithGrowthAndTopCustomers()
    {
        Assert.Equal(0, (await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme Ltd.", "--country", "SG")).ExitCode);
        Assert.Equal(0, (await _cli.RunAsync("tenants", "add", "--id", "globex", "--name", "Globex KK", "--country", "JP")).ExitCode);
        var may = new DateTimeOffset(2026, 5, 10, 0, 0, 0, TimeSpan.Zero);
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout())
        {
            await store.AppendLedgerAsync(
            [
                LedgerSamples.Entry("r-1", may, tenantId: "acme", cost: 0.40m) with { Vendor = "openai", Revenue = 0.50m },
                LedgerSamples.Entry("r-2", may, tenantId: "globex", cost: 0.30m) with { Vendor = "openai", Revenue = 0.45m },
                LedgerSamples.Entry("r-3", may.AddMonths(1), tenantId: "acme", cost: 0.60m) with { Vendor = "openai", Revenue = 0.80m },
                LedgerSamples.Entry("r-4", may.AddMonths(1), tenantId: "globex", cost: 0.15m) with { Vendor = "deepseek", Revenue = 0.20m },
                LedgerSamples.Entry("r-5", may.AddMonths(1), tenantId: "acme", cost: 0.05m, billable: false) with { Vendor = "anthropic", ShadowOf = "r-3" },
            ], CancellationToken.None).WithTimeout();
        }

        var revenue = await _cli.RunAsync("report", "revenue", "--by", "country", "--from", "2026-06-01", "--to", "2026-07-01", "--format", "csv");
        var spend = await _cli.RunAsync("report", "spend", "--by", "vendor", "--period", "quarter");
        var bad = await _cli.RunAsync("report", "spend", "--by", "planet");

        Assert.Equal(0, revenue.ExitCode);
        Assert.Equal(
            """
            section,period,key,requests,input_tokens,output_tokens,spend,revenue,margin,spend_growth,revenue_growth,share,country
            total,2026-06,,3,300,150,0.80,1.00,0.20,0.142857,0.052632,,
            row,2026-06,(shadow),1,100,50,0.05,0,-0.05,,,,
            row,2026-06,JP,1,100,50,0.15,0.20,0.05,-0.5,-0.555556,,
            row,2026-06,SG,1,100,50,0.60,0.80,0.20,0.5,0.6,,
            top_customer,,acme,1,,,0.60,0.80,0.20,,,0.8,SG
            top_customer,,globex,1,,,0.15,0.20,0.05,,,0.2,JP

            """.ReplaceLineEndings("\n"),
            revenue.Out);
        Assert.Equal(0, spend.ExitCode);
        var root = JsonDocument.Parse(spend.Out).RootElement;
        Assert.Equal("quarter", root.GetProperty("period").GetString());
        Assert.Equal(["anthropic", "deepseek", "openai"], root.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("vendor").GetString()));
        Assert.Equal("1.30", root.GetProperty("rows")[2].GetProperty("spend").GetString());
        Assert.Equal("acme", root.GetProperty("top_customers")[0].GetProperty("tenant").GetString());
        Assert.Equal("0.689655", root.GetProperty("top_customers")[0].GetProperty("share").GetString());
        Assert.NotEqual(0, bad.ExitCode);
    }

    [Theory]
    [InlineData("--from", "0001-01-01", "day")]
    [InlineData("--from", "0001-02-15", "quarter")]
    [InlineData("--to", "9999-12-31T12:00:00Z", "day")]
    [InlineData("--to", "9999-12-15", "month")]
    public async Task SpendReport_WithADateAtTheEndOfTheCalendar_Exits1WithAMessage(string option, string date, string period)
    {
        // The report reads the period before the first and widens the last to a whole period: neither exists here.
        var result = await _cli.RunAsync("report", "spend", "--period", period, option, date);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error:", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ShadowReport_ComparesEachPair_InJsonAndCsv()
    {
        var t = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout())
        {
            await store.AppendLedgerAsync([LedgerSamples.Entry("p-1", t, model: "gpt-4.1", cost: 2m), LedgerSamples.Entry("p-2", t, model: "gpt-4.1", cost: 2m)], CancellationToken.None).WithTimeout();
            await store.AppendShadowResultsAsync(
            [
                new ShadowResult("s-1", "p-1", t, "acme", "gpt-4.1", "deepseek-v4", ShadowOutcome.Compared, null, 900, 300, 0.010m, 0.001m, new Similarity(0.5, false, 0.9, null, null)),
                new ShadowResult("s-2", "p-2", t, "acme", "gpt-4.1", "deepseek-v4", ShadowOutcome.CandidateFailed, "upstream_timeout", 800, 5000, 0.010m, 0m, null),
            ], CancellationToken.None).WithTimeout();
        }

        var json = await _cli.RunAsync("report", "shadow", "--from", "2026-06-01");
        var csv = await _cli.RunAsync("report", "shadow", "--format", "csv");

        Assert.Equal(0, json.ExitCode);
        var pair = Assert.Single(JsonDocument.Parse(json.Out).RootElement.GetProperty("pairs").EnumerateArray());
        Assert.Equal(("gpt-4.1", "deepseek-v4", 2, 1), (pair.GetProperty("primary").GetString(), pair.GetProperty("candidate").GetString(),
            pair.GetProperty("mirrored").GetInt32(), pair.GetProperty("compared").GetInt32()));
        Assert.Equal("0.5", pair.GetProperty("candidate_error_rate").GetString());
        // Saving 0.009 of 0.010 (0.9) projected over the model's 4.00 of spend.
        Assert.Equal("3.6", pair.GetProperty("cost").GetProperty("projected_saving").GetString());
        Assert.StartsWith("gpt-4.1,deepseek-v4,2,1,1,0.5,upstream_timeout=1,0,,900,900,300,300,0.010,0.001,0.009,0.9,4,3.6", csv.Out.Split('\n')[1], StringComparison.Ordinal);
    }

    public void Dispose() => _cli.Dispose();
}
