using System.Text;
using System.Text.Json;
using Corridor.Core.Batches;
using Corridor.Storage;
using Corridor.Testing;

namespace Corridor.Tests;

/// <summary><c>corridor batches list</c>: a tenant's batches of both APIs, newest first, with their requests by state.</summary>
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
}
