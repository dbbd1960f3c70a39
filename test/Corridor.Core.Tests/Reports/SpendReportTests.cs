using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Core.Reports;

namespace Corridor.Core.Tests.Reports;

public sealed class SpendReportTests
{
    private static readonly DateTimeOffset May = new(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly Dictionary<string, string> Countries = new() { ["acme"] = "SG", ["globex"] = "JP", ["initech"] = "SG" };

    private static LedgerEntry Row(string tenant, DateTimeOffset time, string vendor, string model, string region, decimal cost, decimal revenue, bool billable = true, string? shadowOf = null) =>
        new($"r-{Guid.NewGuid():N}", time, tenant, "k", model, "/v1/chat/completions", region + "-d", region, 200, RequestOutcome.Success,
            10, 20, cost, false, 5, billable)
        { Vendor = vendor, Revenue = revenue, ShadowOf = shadowOf };

    /// <summary>April is read only for growth; May and June are listed.</summary>
    private static readonly LedgerEntry[] Ledger =
    [
        Row("acme", May.AddDays(-3), "openai", "gpt-4.1", "sg", 1.00m, 1.50m),
        Row("globex", May.AddDays(-2), "openai", "gpt-4.1", "jp-east", 2.00m, 2.40m),
        Row("acme", May.AddDays(2), "openai", "gpt-4.1", "sg", 1.10m, 1.65m),
        Row("acme", May.AddDays(3), "deepseek", "deepseek-v4", "sg", 0.10m, 0.30m),
        Row("globex", May.AddDays(4), "openai", "gpt-4.1", "jp-east", 3.00m, 3.60m),
        Row("acme", May.AddDays(5), "anthropic", "claude-sonnet-4", "us-east", 0.07m, 0m, billable: false, shadowOf: "r-1"),
        Row("initech", May.AddDays(6), "openai", "gpt-4.1", "sg", 9.99m, 0m, billable: false),
        Row("acme", May.AddMonths(1).AddDays(1), "openai", "gpt-4.1", "sg", 2.20m, 3.30m),
        Row("initech", May.AddMonths(1).AddDays(2), "deepseek", "deepseek-v4", "sg", 0.05m, 0.15m),
        Row("acme", May.AddMonths(2), "openai", "gpt-4.1", "sg", 100m, 100m),
    ];

    private static Task<SpendReport> Build(SpendDimension by, ReportPeriod period = ReportPeriod.Month, SpendMeasure rankBy = SpendMeasure.Revenue) =>
        Build(Ledger, by, period, May, May.AddMonths(2), rankBy);

    private static Task<SpendReport> Build(
        IEnumerable<LedgerEntry> ledger, SpendDimension by, ReportPeriod period, DateTimeOffset? from, DateTimeOffset? to, SpendMeasure rankBy = SpendMeasure.Revenue) =>
        SpendReport.BuildAsync(ledger.ToAsyncEnumerable(), by, period, from, to, t => Countries.GetValueOrDefault(t), rankBy, 10, CancellationToken.None).WithTimeout();

    [Fact]
    public async Task ByTenantPerMonth_SumsExactly_WithGrowthAgainstThePreviousMonth()
    {
        var report = await Build(SpendDimension.Tenant);

        Assert.Equal(
            [
                new SpendRow("2026-05", null, 4, 40, 80, 4.27m, 5.55m, 0.423333m, 0.423077m),
                new SpendRow("2026-06", null, 2, 20, 40, 2.25m, 3.45m, -0.473068m, -0.378378m),
            ],
            report.Totals);
        Assert.Equal(
            [
                new SpendRow("2026-05", "(shadow)", 1, 10, 20, 0.07m, 0m, null, null),
                new SpendRow("2026-05", "acme", 2, 20, 40, 1.20m, 1.95m, 0.2m, 0.3m),
                new SpendRow("2026-05", "globex", 1, 10, 20, 3.00m, 3.60m, 0.5m, 0.5m),
                new SpendRow("2026-06", "acme", 1, 10, 20, 2.20m, 3.30m, 0.833333m, 0.692308m),
                new SpendRow("2026-06", "initech", 1, 10, 20, 0.05m, 0.15m, null, null),
            ],
            report.Rows);
        Assert.Equal(new DateTimeOffset(2026, 7, 1, 0, 0, 0, TimeSpan.Zero), report.To);
    }

    [Fact]
    public async Task TopCustomers_AreRankedByTheMeasure_WithTheirShare()
    {
        var byRevenue = (await Build(SpendDimension.Tenant)).TopCustomers;
        var bySpend = (await Build(SpendDimension.Tenant, rankBy: SpendMeasure.Spend)).TopCustomers;

        // Revenue over May and June: acme 5.25, globex 3.60, initech 0.15 (of 9.00); shadow rows belong to no customer.
        Assert.Equal(
            [
                new CustomerShare("acme", "SG", 3, 3.40m, 5.25m, 0.583333m),
                new CustomerShare("globex", "JP", 1, 3.00m, 3.60m, 0.4m),
                new CustomerShare("initech", "SG", 1, 0.05m, 0.15m, 0.016667m),
            ],
            byRevenue);
        Assert.Equal(["acme", "globex", "initech"], bySpend.Select(c => c.Tenant));
        Assert.Equal(0.527132m, bySpend[0].Share);
    }

    [Theory]
    [InlineData(new[] { 1, 1, 1 }, new[] { "0.333334", "0.333333", "0.333333" })] // one by one: 0.999999
    [InlineData(new[] { 4, 1, 1 }, new[] { "0.666667", "0.166667", "0.166666" })] // one by one: 1.000001
    [InlineData(new[] { 3, 1 }, new[] { "0.75", "0.25" })]
    public async Task TopCustomersShares_AddUpToExactlyOne_EachWithinAMillionthOfItsExactValue(int[] revenues, string[] shares)
    {
        var june = May.AddMonths(1);
        string[] tenants = ["acme", "globex", "initech"];
        var ledger = revenues.Select((revenue, i) => Row(tenants[i], june, "openai", "gpt-4.1", "sg", 0.5m, revenue)).ToList();

        var report = await Build(ledger, SpendDimension.Tenant, ReportPeriod.Month, june, null);
        using var stream = new MemoryStream();
        report.WriteJson(stream);

        using var json = JsonDocument.Parse(stream.ToArray());
        Assert.Equal(shares, json.RootElement.GetProperty("top_customers").EnumerateArray().Select(c => c.GetProperty("share").GetString()));
        Assert.Equal(1m, report.TopCustomers.Sum(c => c.Share));
    }

    [Fact]
    public async Task ByCountry_ByVendor_AndByRegion_GroupTheSameRows()
    {
        var byCountry = (await Build(SpendDimension.Country)).Rows.Where(r => r.Period == "2026-05").ToList();
        var byVendor = (await Build(SpendDimension.Vendor)).Rows.Where(r => r.Period == "2026-05").ToList();
        var byRegion = (await Build(SpendDimension.Region, ReportPeriod.Quarter)).Rows;

        Assert.Equal([("(shadow)", 0.07m), ("JP", 3.00m), ("SG", 1.20m)], byCountry.Select(r => (r.Key!, r.Spend)));
        Assert.Equal([("anthropic", 0.07m, 0m), ("deepseek", 0.10m, 0.30m), ("openai", 4.10m, 5.25m)], byVendor.Select(r => (r.Key!, r.Spend, r.Revenue)));
        // Quarters widen the period to all of Q2 (April included) and read Q1 for growth.
        Assert.Equal(
            [("2026-Q2", "jp-east", 5.00m, (decimal?)null), ("2026-Q2", "sg", 4.45m, null), ("2026-Q2", "us-east", 0.07m, null)],
            byRegion.Select(r => (r.Period, r.Key!, r.Spend, r.SpendGrowth)));
    }

    [Fact]
    public async Task Json_And_Csv_CarryTheSameFigures()
    {
        var report = await Build(SpendDimension.Tenant);
        using var stream = new MemoryStream();

        report.WriteJson(stream);
        var csv = report.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        using var json = JsonDocument.Parse(stream.ToArray());
        var root = json.RootElement;
        Assert.Equal("tenant", root.GetProperty("by").GetString());
        Assert.Equal("2026-05-01T00:00:00.000Z", root.GetProperty("from").GetString());
        var may = root.GetProperty("rows")[1];
        Assert.Equal("acme", may.GetProperty("tenant").GetString());
        Assert.Equal("1.20", may.GetProperty("spend").GetString());
        Assert.Equal("1.95", may.GetProperty("revenue").GetString());
        Assert.Equal("0.75", may.GetProperty("margin").GetString());
        Assert.Equal("0.3", may.GetProperty("revenue_growth").GetString());
        Assert.Equal("0.583333", root.GetProperty("top_customers")[0].GetProperty("share").GetString());
        Assert.Equal("section,period,key,requests,input_tokens,output_tokens,spend,revenue,margin,spend_growth,revenue_growth,share,country", csv[0]);
        Assert.Contains("total,2026-05,,4,40,80,4.27,5.55,1.28,0.423333,0.423077,,", csv);
        Assert.Contains("row,2026-05,acme,2,20,40,1.20,1.95,0.75,0.2,0.3,,", csv);
        Assert.Equal("SG", root.GetProperty("top_customers")[0].GetProperty("country").GetString());
        Assert.Contains("top_customer,,acme,3,,,3.40,5.25,1.85,,,0.583333,SG", csv);
    }

    [Fact]
    public async Task Csv_WritesTextThatBeginsAsAFormula_AsText_AndNumbersWithTheirSign()
    {
        // Model and vendor ids are the operator's free text: a spreadsheet opening the CSV must not evaluate any of them.
        var june = May.AddMonths(1);
        LedgerEntry[] ledger =
        [
            Row("acme", june, "openai", "@cf/meta/llama-3-8b", "sg", 1m, 0.5m),
            Row("acme", june, "openai", "=HYPERLINK(\"http://x\",\"y\")", "sg", 1m, 2m),
            Row("acme", june, "openai", "+1", "sg", 1m, 2m),
            Row("acme", june, "openai", "-mini", "sg", 1m, 2m),
        ];

        var csv = (await Build(ledger, SpendDimension.Model, ReportPeriod.Month, june, null))
            .ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(
            [
                "row,2026-06,'+1,1,10,20,1,2,1,,,,",
                "row,2026-06,'-mini,1,10,20,1,2,1,,,,",
                "row,2026-06,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",1,10,20,1,2,1,,,,",
                "row,2026-06,'@cf/meta/llama-3-8b,1,10,20,1,0.5,-0.5,,,,",
            ],
            csv.Where(line => line.StartsWith("row,", StringComparison.Ordinal)));
        Assert.Contains("total,2026-06,,4,40,80,4,6.5,2.5,,,,", csv);
    }

    [Theory]
    [InlineData("2026-05-17T13:00:00Z", ReportPeriod.Day, "2026-05-17", "2026-05-17T00:00:00Z")]
    [InlineData("2026-05-17T13:00:00Z", ReportPeriod.Month, "2026-05", "2026-05-01T00:00:00Z")]
    [InlineData("2026-05-17T13:00:00Z", ReportPeriod.Quarter, "2026-Q2", "2026-04-01T00:00:00Z")]
    [InlineData("2026-12-31T23:59:59Z", ReportPeriod.Quarter, "2026-Q4", "2026-10-01T00:00:00Z")]
    public void Periods_AreCalendarPeriodsInUtc(string time, ReportPeriod period, string label, string start)
    {
        var at = DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture);
        var begins = ReportPeriods.Start(at, period);

        Assert.Equal(DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture), begins);
        Assert.Equal(label, ReportPeriods.Label(begins, period));
    }
}
