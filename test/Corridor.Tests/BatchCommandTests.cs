using System.Text;
using System.Text.Json;
using Corridor.Core.Batches;
using Corridor.Storage;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Tests;

/// <summary>
/// <c>corridor batches list|show</c>: a tenant's batches of both APIs, newest first, with their requests by state and what their
/// runs cost and earned in the ledger.
/// </summary>
public sealed class BatchCommandTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task BatchesList_ShowsATenantsBatchesOfBothApis_NewestFirst_AndRefusesAnUnknownTenant()
    {
        await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG");
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout())
        {
            BatchItem[] Items(int n) => Enumerable.Range(0, n).Select(i => new BatchItem(i, $"c-{i}", Encoding.UTF8.GetBytes("{}"))).ToArray();
            await store.AddBatchAsync(new BatchJob("batch_old", BatchApi.OpenAI, "acme", "key_1", "/v1/chat/completions", BatchStates.InProgress, T0, T0.AddDays(1)),
                Items(3), CancellationToken.None).WithTimeout();
            await store.AddBatchAsync(new BatchJob("msgbatch_new", BatchApi.Anthropic, "acme", "key_1", "/v1/messages", BatchStates.InProgress, T0.AddMinutes(1), T0.AddDays(1)),
                Items(2), CancellationToken.None).WithTimeout();
            await store.SaveBatchItemAsync("batch_old", new BatchItem(0, "c-0", []) { State = BatchItemStates.Succeeded, Status = 200, Response = "{}"u8.ToArray() },
                CancellationToken.None).WithTimeout();
        }

        var json = await _cli.RunAsync("batches", "list", "--tenant", "acme", "--json");
        var table = await _cli.RunAsync("batches", "list", "--tenant", "acme");
        var unknown = await _cli.RunAsync("batches", "list", "--tenant", "ghost");

        Assert.Equal(0, json.ExitCode);
        var rows = JsonDocument.Parse(json.Out).RootElement.EnumerateArray().ToList();
        Assert.Equal(["msgbatch_new", "batch_old"], rows.Select(r => r.GetProperty("id").GetString()));
        Assert.Equal(("openai", 3, 1, 2), (rows[1].GetProperty("api").GetString(), rows[1].GetProperty("total").GetInt32(),
            rows[1].GetProperty("succeeded").GetInt32(), rows[1].GetProperty("pending").GetInt32()));
        Assert.Contains("msgbatch_new", table.Out, StringComparison.Ordinal);
        Assert.Contains("anthropic", table.Out, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("unknown tenant 'ghost'", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BatchesShowAndList_GiveWhatABatchsRunsCostAndEarned_FromTheLedger_AsTheAdminApiDoes()
    {
        await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG");
        await _cli.RunAsync("tenants", "add", "--id", "globex", "--name", "Globex", "--country", "SG");
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout())
        {
            await store.AddBatchAsync(new BatchJob("batch_1", BatchApi.OpenAI, "acme", "key_1", "/v1/chat/completions", BatchStates.InProgress, T0, T0.AddDays(1)),
                [new BatchItem(0, "c-0", Encoding.UTF8.GetBytes("{}"))], CancellationToken.None).WithTimeout();
            await store.AppendLedgerAsync(
            [
                LedgerSamples.Entry("req_1", T0, cost: 0.1m) with { BatchId = "batch_1", Revenue = 0.075m },
                LedgerSamples.Entry("req_2", T0, cost: 0.2m) with { BatchId = "batch_1", Revenue = 0.15m },
                LedgerSamples.Entry("req_live", T0, cost: 9m) with { Revenue = 9m },
            ], CancellationToken.None).WithTimeout();
        }

        var json = await _cli.RunAsync("batches", "show", "batch_1", "--tenant", "acme", "--json");
        var table = await _cli.RunAsync("batches", "show", "batch_1", "--tenant", "acme");
        var csv = await _cli.RunAsync("batches", "list", "--tenant", "acme", "--csv");
        var otherTenant = await _cli.RunAsync("batches", "show", "batch_1", "--tenant", "globex");

        Assert.Equal(0, json.ExitCode);
        var ledger = JsonDocument.Parse(json.Out).RootElement.GetProperty("ledger");
        Assert.Equal((2, "0.3", "0.225", "-0.075"), (ledger.GetProperty("requests").GetInt32(), ledger.GetProperty("cost").GetString(),
            ledger.GetProperty("revenue").GetString(), ledger.GetProperty("margin").GetString()));
        Assert.Contains("revenue", table.Out, StringComparison.Ordinal);
        Assert.Contains("0.225", table.Out, StringComparison.Ordinal);
        var lines = csv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        // A negative margin keeps its sign: a number, not text a spreadsheet could take for a formula.
        Assert.EndsWith(",0.3,0.225,-0.075", lines[1], StringComparison.Ordinal);
        Assert.Equal(1, otherTenant.ExitCode);
        Assert.Contains("no batch 'batch_1'", otherTenant.Error, StringComparison.Ordinal);
    }
}
