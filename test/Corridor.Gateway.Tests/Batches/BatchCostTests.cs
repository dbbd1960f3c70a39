using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Anthropic.Models.Messages;
using Anthropic.Models.Messages.Batches;
using Corridor.Core.Metering;
using Corridor.Gateway.Tests.Functional;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Gateway.Tests.Batches;

/// <summary>What a batch cost and earned, on the embedded store.</summary>
public sealed class BatchCostTests(BatchGatewayFixture fixture) : BatchCostContract<BatchGatewayFixture>(fixture), IClassFixture<BatchGatewayFixture>;

/// <summary>What a batch cost and earned, on PostgreSQL (sums in <c>numeric</c>).</summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresBatchCostTests(PostgresBatchGatewayFixture fixture)
    : BatchCostContract<PostgresBatchGatewayFixture>(fixture), IClassFixture<PostgresBatchGatewayFixture>;

/// <summary>
/// A batch run to its end through the real gateway and simulator (<see cref="BatchGatewayFixture"/>'s prices), then read back as the operator sees it (the admin API:
/// its runs' requests, tokens, cost and revenue from the ledger) and as its tenant does (<c>/v1/usage?batch=</c>: tokens, no
/// money): the sums are the ledger rows', the revenue the batch price, and neither the tenant's live traffic nor another
/// tenant's sight of them gets in.
/// </summary>
public abstract class BatchCostContract<TFixture>(TFixture fixture)
    where TFixture : BatchGatewayFixture
{
    private const string Question = "Summarise my last three invoices.";

    private LiveGateway Live => fixture.Live;

    private static Request Batched(string id, string model) => new()
    {
        CustomID = id,
        Params = new Params { Model = model, MaxTokens = 40, Messages = [new UserMessageParam { Content = Question }] },
    };

    [Fact]
    public async Task ABatchRunToItsEnd_CostsAndEarnsWhatItsLedgerRowsSay_AtTheBatchPrice_SeenByItsOperatorAndTenantOnly()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-cost", "JP").WithTimeout();
        var otherSecret = await Live.AddTenantWithKeyAsync("batch-cost-other", "JP").WithTimeout();
        var client = Live.Anthropic(secret);
        // A live request of the same tenant and model: its row is not the batch's.
        await client.Messages.Create(new MessageCreateParams { Model = "claude-sonnet-4", MaxTokens = 40, Messages = [new UserMessageParam { Content = Question }] })
            .WithTimeout();
        var created = await client.Messages.Batches.Create(new BatchCreateParams
        {
            Requests = [Batched("c-1", "claude-sonnet-4"), Batched("c-2", "claude-sonnet-4"), Batched("g-1", "gpt-4.1"), Batched("x-1", "no-such-model")],
        }).WithTimeout();
        await WaitUntilEndedAsync(client, created.ID).WithTimeout();
        var rows = await BatchRowsAsync(created.ID, 4).WithTimeout();

        using var admin = fixture.Admin();
        var batch = await admin.GetFromJsonAsync<JsonElement>($"/admin/tenants/batch-cost/batches/{created.ID}").WithTimeout();

        Assert.Equal((3L, 1L), (batch.GetProperty("succeeded").GetInt64(), batch.GetProperty("errored").GetInt64()));
        var ledger = batch.GetProperty("ledger");
        Assert.Equal((4L, 3L, 1L, 3L), (ledger.GetProperty("requests").GetInt64(), ledger.GetProperty("succeeded").GetInt64(),
            ledger.GetProperty("errored").GetInt64(), ledger.GetProperty("billable").GetInt64()));
        Assert.Equal((rows.Sum(r => r.InputTokens), rows.Sum(r => r.CacheReadTokens), rows.Sum(r => r.OutputTokens)),
            (ledger.GetProperty("input_tokens").GetInt64(), ledger.GetProperty("input_cached_tokens").GetInt64(), ledger.GetProperty("output_tokens").GetInt64()));
        Assert.Equal(rows.Sum(r => r.Cost), Money(ledger, "cost"));
        Assert.True(Money(ledger, "cost") > 0);
        // The batch price from the catalog: claude-sonnet-4's sell price halved, gpt-4.1's markup of 50 % on cost undiscounted.
        var claude = rows.Where(r => r.Model == "claude-sonnet-4").ToList();
        var gpt = Assert.Single(rows, r => r.Model == "gpt-4.1");
        Assert.Equal(2, claude.Count);
        var batchPrice = claude.Sum(r => ((r.InputTokens * 4.50m) + (r.OutputTokens * 22.50m)) / 1_000_000m / 2) + (gpt.Cost * 1.5m);
        Assert.Equal(batchPrice, Money(ledger, "revenue"));
        Assert.Equal(batchPrice - rows.Sum(r => r.Cost), Money(ledger, "margin"));

        // The list has it with the same sums; as CSV, a header and one line.
        var listed = Assert.Single((await admin.GetFromJsonAsync<JsonElement>("/admin/tenants/batch-cost/batches").WithTimeout()).EnumerateArray());
        Assert.Equal(batchPrice, Money(listed.GetProperty("ledger"), "revenue"));
        var csv = (await admin.GetStringAsync("/admin/tenants/batch-cost/batches?format=csv").WithTimeout()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, csv.Length);
        var revenueColumn = Array.IndexOf(csv[0].Split(','), "revenue");
        Assert.Equal(batchPrice, decimal.Parse(csv[1].Split(',')[revenueColumn], CultureInfo.InvariantCulture));

        // Another tenant's path does not find it; the tenant's key does not open the admin API.
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/admin/tenants/batch-cost-other/batches/{created.ID}").WithTimeout()).StatusCode);
        Assert.Empty((await admin.GetFromJsonAsync<JsonElement>("/admin/tenants/batch-cost-other/batches").WithTimeout()).EnumerateArray());
        using var tenant = Live.Http(secret);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tenant.GetAsync($"/admin/tenants/batch-cost/batches/{created.ID}").WithTimeout()).StatusCode);

        // The tenant's own view: its batch's billable requests and tokens per model, no money; the live request left out.
        var usage = await tenant.GetFromJsonAsync<JsonElement>($"/v1/usage?batch={created.ID}").WithTimeout();
        Assert.Equal(created.ID, usage.GetProperty("batch").GetString());
        var models = usage.GetProperty("data").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        Assert.Equal(["claude-sonnet-4", "gpt-4.1"], models.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((2L, claude.Sum(r => r.InputTokens), claude.Sum(r => r.OutputTokens)), (models["claude-sonnet-4"].GetProperty("requests").GetInt64(),
            models["claude-sonnet-4"].GetProperty("input_tokens").GetInt64(), models["claude-sonnet-4"].GetProperty("output_tokens").GetInt64()));
        Assert.False(models["claude-sonnet-4"].TryGetProperty("cost", out _));
        using var other = Live.Http(otherSecret);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/v1/usage?batch={created.ID}").WithTimeout()).StatusCode);
    }

    private static decimal Money(JsonElement element, string name) => decimal.Parse(element.GetProperty(name).GetString()!, CultureInfo.InvariantCulture);

    /// <summary>The batch's ledger rows once there are <paramref name="count"/> of them.</summary>
    private async Task<List<LedgerEntry>> BatchRowsAsync(string batchId, int count)
    {
        while (true)
        {
            await Live.LedgerRowAsync(r => r.BatchId == batchId); // flushes the ledger
            var rows = new List<LedgerEntry>();
            await foreach (var row in Live.Store.ReadLedgerAsync(null, null, CancellationToken.None))
            {
                if (row.BatchId == batchId)
                {
                    rows.Add(row);
                }
            }
            if (rows.Count >= count)
            {
                return rows;
            }
            await Task.Delay(20);
        }
    }

    private static async Task WaitUntilEndedAsync(Anthropic.AnthropicClient client, string batchId)
    {
        while ((await client.Messages.Batches.Retrieve(batchId)).ProcessingStatus.Raw() != "ended")
        {
            await Task.Delay(50);
        }
    }
}
