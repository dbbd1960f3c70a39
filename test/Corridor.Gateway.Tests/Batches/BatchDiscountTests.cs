using Anthropic.Models.Messages;
using Anthropic.Models.Messages.Batches;
using Corridor.Core.Metering;
using Corridor.Core.Reports;
using Corridor.Storage.Reports;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Batches;

/// <summary>
/// A batch's requests billed at the batch price (docs/batches.md, "Billing"): the tenant's price less the batch discount in
/// force, the vendor's cost unchanged, each ledger row compared with the same request sent live.
/// </summary>
public sealed class BatchDiscountTests
{
    private const string Question = "Summarise my last three invoices.";

    /// <summary>
    /// The test catalog billing claude-sonnet-4 at a sell price of its own and batches at half (<c>pricing.batchDiscount</c>),
    /// and gpt-4.1's deployment at a markup whose own discount of 0 wins over the default.
    /// </summary>
    private static string Yaml(Uri simulator) => Discounted(TestCatalog.Yaml(simulator));

    /// <summary><paramref name="catalog"/> with those prices (see <see cref="Yaml"/>).</summary>
    internal static string Discounted(string catalog) => catalog
        .Replace("contextWindow: 200000, maxOutputTokens: 1024 }", "contextWindow: 200000, maxOutputTokens: 1024, sell: { input: 4.50, output: 22.50 } }", StringComparison.Ordinal)
        .Replace("price: { input: 2.00, output: 8.00, cacheRead: 0.50 } }", "price: { input: 2.00, output: 8.00, cacheRead: 0.50 }, sell: { markup: 0.5, batchDiscount: 0 } }", StringComparison.Ordinal)
        + "\npricing:\n  batchDiscount: 0.5\n";

    private static MessageCreateParams Live(string model) => new() { Model = model, MaxTokens = 40, Messages = [new UserMessageParam { Content = Question }] };

    private static Request Batched(string id, string model) => new()
    {
        CustomID = id,
        Params = new Params { Model = model, MaxTokens = 40, Messages = [new UserMessageParam { Content = Question }] },
    };

    [Fact]
    public async Task ABatchsRequest_IsBilledHalfWhatTheSameLiveRequestIs_AtTheSameCost_UnlessItsDeploymentSetsNoDiscount()
    {
        await using var live = await LiveGateway.StartAsync(Yaml).WithTimeout();
        var secret = await live.AddTenantWithKeyAsync("batch-discount", "JP").WithTimeout();
        var client = live.Anthropic(secret);

        await client.Messages.Create(Live("claude-sonnet-4")).WithTimeout();
        var liveClaude = await live.LedgerRowAsync(r => r.TenantId == "batch-discount" && r.Model == "claude-sonnet-4").WithTimeout();
        await client.Messages.Create(Live("gpt-4.1")).WithTimeout();
        var liveGpt = await live.LedgerRowAsync(r => r.TenantId == "batch-discount" && r.Model == "gpt-4.1").WithTimeout();

        var created = await client.Messages.Batches.Create(new BatchCreateParams { Requests = [Batched("c", "claude-sonnet-4"), Batched("g", "gpt-4.1")] }).WithTimeout();
        await WaitUntilEndedAsync(client, created.ID).WithTimeout();
        var batchClaude = await live.LedgerRowAsync(r => r.TenantId == "batch-discount" && r.Model == "claude-sonnet-4" && r.RequestId != liveClaude.RequestId).WithTimeout();
        var batchGpt = await live.LedgerRowAsync(r => r.TenantId == "batch-discount" && r.Model == "gpt-4.1" && r.RequestId != liveGpt.RequestId).WithTimeout();

        // The same tokens on the same deployment: the same cost, the live price at the model's sell price, the batch's half.
        Assert.Equal(RequestOutcome.Success, batchClaude.Outcome);
        Assert.Equal((liveClaude.DeploymentId, liveClaude.InputTokens, liveClaude.OutputTokens, liveClaude.Cost),
            (batchClaude.DeploymentId, batchClaude.InputTokens, batchClaude.OutputTokens, batchClaude.Cost));
        Assert.True(liveClaude.Cost > 0);
        Assert.Equal(((liveClaude.InputTokens * 4.50m) + (liveClaude.OutputTokens * 22.50m)) / 1_000_000m, liveClaude.Revenue);
        Assert.Equal(liveClaude.Revenue / 2, batchClaude.Revenue);

        // gpt-4.1's deployment sets a discount of 0: its batch request is billed as the live one, cost plus 50 %.
        Assert.Equal((liveGpt.InputTokens, liveGpt.OutputTokens, liveGpt.Cost, liveGpt.Revenue),
            (batchGpt.InputTokens, batchGpt.OutputTokens, batchGpt.Cost, batchGpt.Revenue));
        Assert.Equal(liveGpt.Cost * 1.5m, liveGpt.Revenue);

        // The revenue report (the CLI's and the admin API's) sums the rows as billed: the batch's at its discount.
        var report = await live.Store.SpendAsync(SpendDimension.Tenant, ReportPeriod.Quarter, null, null, SpendMeasure.Revenue, 10, CancellationToken.None).WithTimeout();
        Assert.Equal(liveClaude.Revenue + batchClaude.Revenue + liveGpt.Revenue + batchGpt.Revenue,
            report.Rows.Where(r => r.Key == "batch-discount").Sum(r => r.Revenue));
    }

    private static async Task WaitUntilEndedAsync(Anthropic.AnthropicClient client, string batchId)
    {
        while ((await client.Messages.Batches.Retrieve(batchId)).ProcessingStatus.Raw() != "ended")
        {
            await Task.Delay(50);
        }
    }
}
