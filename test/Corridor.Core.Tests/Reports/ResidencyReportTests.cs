using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Core.Reports;

namespace Corridor.Core.Tests.Reports;

public sealed class ResidencyReportTests
{
    private static readonly DateTimeOffset June = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static Task<ResidencyReport> Build(string tenantId, DateTimeOffset? from, DateTimeOffset? to, IEnumerable<LedgerEntry> ledger) =>
        ResidencyReport.BuildAsync(tenantId, from, to, ledger.ToAsyncEnumerable(), CancellationToken.None).WithTimeout();

    /// <summary>A row billed <paramref name="billed"/> (its revenue), which cost the operator a tenth of that at the vendor.</summary>
    private static LedgerEntry Row(string tenant, string vendor, string region, string model, long input, long output, decimal billed, int day = 1, RequestOutcome outcome = RequestOutcome.Success, string? code = null) =>
        new($"r-{Guid.NewGuid():N}", June.AddDays(day - 1), tenant, "k", model, "/v1/chat/completions", region + "-d", region, outcome == RequestOutcome.Success ? 200 : 403,
            outcome, input, output, billed / 10, false, 10, outcome == RequestOutcome.Success, code)
        { Vendor = vendor, Revenue = billed };

    [Fact]
    public async Task Usage_IsGroupedByVendorRegionModel_AndDenialsByReason_ForOneTenantAndPeriod()
    {
        LedgerEntry[] ledger =
        [
            Row("acme", "openai", "sg", "gpt-4.1", 100, 10, 0.1m),
            Row("acme", "openai", "sg", "gpt-4.1", 200, 20, 0.2m),
            Row("acme", "openai", "jp-east", "gpt-4.1", 1, 1, 0.01m),
            Row("acme", "deepseek", "sg", "deepseek-v4", 5, 5, 0.005m),
            Row("acme", "", "", "claude-sonnet-4", 0, 0, 0m, outcome: RequestOutcome.Denied, code: "jurisdiction_denied"),
            Row("acme", "", "", "claude-sonnet-4", 0, 0, 0m, outcome: RequestOutcome.Denied, code: "jurisdiction_denied"),
            Row("acme", "", "", "gpt-4.1", 0, 0, 0m, outcome: RequestOutcome.Denied, code: "feature_restricted"),
            Row("other", "openai", "us-east", "gpt-4.1", 9, 9, 9m),
            Row("acme", "openai", "sg", "gpt-4.1", 9, 9, 9m, day: 40),
        ];

        var report = await Build("acme", June, June.AddMonths(1), ledger);

        Assert.Equal(
            [
                new ResidencyRow("deepseek", "sg", "deepseek-v4", 1, 5, 5, 0.005m),
                new ResidencyRow("openai", "jp-east", "gpt-4.1", 1, 1, 1, 0.01m),
                new ResidencyRow("openai", "sg", "gpt-4.1", 2, 300, 30, 0.3m),
            ],
            report.Usage);
        Assert.Equal([new DenialRow("jurisdiction_denied", 2), new DenialRow("feature_restricted", 1)], report.Denials);
    }

    [Fact]
    public async Task Json_And_Csv_CarryTheSameFigures()
    {
        LedgerEntry[] ledger = [Row("acme", "openai", "sg", "gpt-4.1", 3, 4, 0.5m), Row("acme", "", "", "m", 0, 0, 0, outcome: RequestOutcome.Denied, code: "denied_party")];
        var report = await Build("acme", null, null, ledger);
        using var stream = new MemoryStream();

        report.WriteJson(stream);
        var json = JsonDocument.Parse(stream.ToArray()).RootElement;

        Assert.Equal("0.5", json.GetProperty("usage")[0].GetProperty("spend").GetString());
        Assert.Equal("denied_party", json.GetProperty("denials")[0].GetProperty("reason").GetString());
        Assert.Equal(
            "section,vendor,region,model,reason,requests,input_tokens,output_tokens,spend\nusage,openai,sg,gpt-4.1,,1,3,4,0.5\ndenial,,,,denied_party,1,,,\n",
            report.ToCsv());
    }

    [Fact]
    public async Task ShadowMirrors_AreListedApart_NotAsTheTenantsUsage()
    {
        LedgerEntry[] ledger =
        [
            Row("acme", "openai", "sg", "gpt-4.1", 100, 10, 0.1m),
            // The operator's: it cost 0.01 at the vendor, and the tenant is billed nothing.
            Row("acme", "deepseek", "cn-north", "deepseek-v4", 90, 12, 0m) with { Billable = false, ShadowOf = "r-primary", Cost = 0.01m },
            Row("acme", "deepseek", "cn-north", "deepseek-v4", 0, 0, 0m) with { Billable = false, ShadowOf = "r-other", Outcome = RequestOutcome.UpstreamError },
        ];

        var report = await Build("acme", null, null, ledger);

        Assert.Equal([new ResidencyRow("openai", "sg", "gpt-4.1", 1, 100, 10, 0.1m)], report.Usage);
        Assert.Equal([new ResidencyRow("deepseek", "cn-north", "deepseek-v4", 1, 90, 12, 0m)], report.Shadow);
        Assert.Contains("shadow,deepseek,cn-north,deepseek-v4,,1,90,12,0\n", report.ToCsv(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spend_IsWhatTheTenantWasBilled_NeverWhatTheVendorChargedTheOperator()
    {
        var row = Row("acme", "openai", "sg", "gpt-4.1", 100, 10, 0m) with { Cost = 0.30m, Revenue = 0.45m };

        var report = await Build("acme", null, null, [row]);

        Assert.Equal(0.45m, report.Usage.Single().Spend);
        Assert.DoesNotContain("0.3", report.ToCsv(), StringComparison.Ordinal);
    }
}
