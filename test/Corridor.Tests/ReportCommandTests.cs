using System.Text.Json;
using Corridor.Core.Metering;
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
                LedgerSamples.Entry("r-1", LedgerSamples.Start) with { Vendor = "openai", Region = "sg", Cost = 0.25m, InputTokens = 10, OutputTokens = 20 },
                LedgerSamples.Entry("r-2", LedgerSamples.Start.AddHours(1)) with { Vendor = "openai", Region = "sg", Cost = 0.5m, InputTokens = 1, OutputTokens = 2 },
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
        Assert.Equal("0.75", usage.GetProperty("spend").GetString());
        Assert.Equal("no_compliant_region", root.GetProperty("denials")[0].GetProperty("reason").GetString());
        Assert.Contains("denial,,,,no_compliant_region,1,,,", csv.Out, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("unknown tenant", unknown.Error, StringComparison.Ordinal);
    }

    public void Dispose() => _cli.Dispose();
}
