using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anthropic.Models.Messages;
using Anthropic.Models.Messages.Batches;
using Corridor.Core.Batches;
using Corridor.Gateway.Pipeline;
using Corridor.Testing;
using Corridor.Testing.Storage;
using OpenAI.Files;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The admin-API gateway running one batch at a time, one request at a time, its only worker held by a batch that waits out
/// its tenant's rate limit (a request a minute) for longer than any test of it runs.
/// </summary>
public class OneWorkerBatchGatewayFixture : AdminGatewayFixture
{
    private Task? _held;

    protected override string Yaml(Uri simulator, string tokenEnv) =>
        base.Yaml(simulator, tokenEnv) + "\nbatches:\n  parallel: 1\n  concurrency: 1\n";

    /// <summary>An OpenAI batch's input: <paramref name="count"/> chat requests, <c>q-1</c> on.</summary>
    public static string ChatLines(int count) => string.Concat(Enumerable.Range(1, count).Select(i => JsonSerializer.Serialize(new
    {
        custom_id = $"q-{i}",
        method = "POST",
        url = "/v1/chat/completions",
        body = new { model = "gpt-4.1", max_tokens = 5, messages = new[] { new { role = "user", content = $"Question {i}" } } },
    }) + "\n"));

    /// <summary>Makes the batch that holds the worker, once, and waits until the worker runs it (its first refusal for the rate).</summary>
    public Task HoldTheWorkerAsync() => LazyInitializer.EnsureInitialized(ref _held, HoldAsync);

    private async Task HoldAsync()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-holds-the-worker", "SG");
        var input = (await Live.OpenAI(secret).GetOpenAIFileClient().UploadFileAsync(BinaryData.FromString(ChatLines(30)), "held.jsonl", FileUploadPurpose.Batch)).Value;
        using (var admin = Admin())
        {
            using var set = await admin.PatchAsJsonAsync("/admin/tenants/batch-holds-the-worker/limits", new { rpm = 2 });
            set.EnsureSuccessStatusCode();
        }
        using var http = Live.Http(secret);
        using var created = await http.PostAsJsonAsync("/v1/batches", new { input_file_id = input.Id, endpoint = "/v1/chat/completions", completion_window = "24h" });
        created.EnsureSuccessStatusCode();
        await Live.LedgerRowAsync(r => r.TenantId == "batch-holds-the-worker" && r.Outcome == Core.Metering.RequestOutcome.RateLimited);
    }
}

/// <summary><see cref="OneWorkerBatchGatewayFixture"/> with its store in a PostgreSQL database of its own.</summary>
public sealed class PostgresOneWorkerBatchGatewayFixture : OneWorkerBatchGatewayFixture
{
    protected override bool OnPostgres => true;
}

public sealed class BatchEndingTests(OneWorkerBatchGatewayFixture fixture)
    : BatchEndingContract<OneWorkerBatchGatewayFixture>(fixture), IClassFixture<OneWorkerBatchGatewayFixture>;

[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresBatchEndingTests(PostgresOneWorkerBatchGatewayFixture fixture)
    : BatchEndingContract<PostgresOneWorkerBatchGatewayFixture>(fixture), IClassFixture<PostgresOneWorkerBatchGatewayFixture>;

/// <summary>
/// A batch cancelled, or past its completion window, ends without a worker to claim it (docs/batches.md, "How a batch runs"):
/// every gateway's runner sweeps such batches that no live worker holds, so its owner is never left with a batch that says
/// <c>cancelling</c> or <c>in_progress</c> for as long as other batches keep the workers busy.
/// </summary>
public abstract class BatchEndingContract<TFixture>(TFixture fixture)
    where TFixture : OneWorkerBatchGatewayFixture
{
    private LiveGateway Live => fixture.Live;

    private static BatchCreateParams Asks(int count) => new()
    {
        Requests = [.. Enumerable.Range(1, count).Select(i => new Request
        {
            CustomID = $"a-{i}",
            Params = new Params { Model = "claude-sonnet-4", MaxTokens = 5, Messages = [new UserMessageParam { Content = $"Question {i}" }] },
        })],
    };

    /// <summary>The OpenAI batch once its status is <paramref name="status"/> (within the test timeout).</summary>
    private static async Task<JsonElement> OpenAIBatchOnceAsync(HttpClient http, string id, string status)
    {
        JsonElement batch = default;
        await TestTimeouts.UntilAsync(async () =>
        {
            batch = await http.GetFromJsonAsync<JsonElement>($"/v1/batches/{id}");
            return batch.GetProperty("status").GetString() == status;
        });
        return batch;
    }

    private async Task<MessageBatch> MessageBatchOnceEndedAsync(string secret, string id)
    {
        MessageBatch batch = null!;
        await TestTimeouts.UntilAsync(async () =>
        {
            batch = await Live.Anthropic(secret).Messages.Batches.Retrieve(id);
            return batch.ProcessingStatus.Raw() == "ended";
        });
        return batch;
    }

    private async Task<List<JsonElement>> ErrorLinesAsync(string secret, JsonElement batch) =>
        (await Live.OpenAI(secret).GetOpenAIFileClient().DownloadFileAsync(batch.GetProperty("error_file_id").GetString()!).WithTimeout()).Value.ToString()
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private async Task AssertNothingRunAsync(string tenant)
    {
        await Live.Gateway.FlushLedgerAsync(CancellationToken.None).WithTimeout();
        Assert.DoesNotContain(await Live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync(), r => r.TenantId == tenant);
    }

    [Fact]
    public async Task ACancelledOpenAIBatch_ThatNoWorkerHolds_EndsCancelled_ItsRequestsNotRun()
    {
        await fixture.HoldTheWorkerAsync().WithTimeout();
        var secret = await Live.AddTenantWithKeyAsync("batch-cancel-unclaimed", "SG").WithTimeout();
        using var http = Live.Http(secret);
        var input = (await Live.OpenAI(secret).GetOpenAIFileClient().UploadFileAsync(BinaryData.FromString(OneWorkerBatchGatewayFixture.ChatLines(3)), "requests.jsonl", FileUploadPurpose.Batch).WithTimeout()).Value;
        using var created = await http.PostAsJsonAsync("/v1/batches", new { input_file_id = input.Id, endpoint = "/v1/chat/completions", completion_window = "24h" }).WithTimeout();
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("id").GetString()!;

        using var cancel = await http.PostAsync($"/v1/batches/{id}/cancel", null).WithTimeout();
        Assert.Equal("cancelling", (await cancel.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("status").GetString());

        var ended = await OpenAIBatchOnceAsync(http, id, "cancelled");
        Assert.Equal((3, 0, 3), (ended.GetProperty("request_counts").GetProperty("total").GetInt32(),
            ended.GetProperty("request_counts").GetProperty("completed").GetInt32(), ended.GetProperty("request_counts").GetProperty("failed").GetInt32()));
        Assert.NotEqual(JsonValueKind.Null, ended.GetProperty("cancelled_at").ValueKind);
        var errors = await ErrorLinesAsync(secret, ended);
        Assert.Equal(["q-1", "q-2", "q-3"], errors.Select(e => e.GetProperty("custom_id").GetString()));
        Assert.All(errors, e => Assert.Equal("batch_cancelled", e.GetProperty("error").GetProperty("code").GetString()));
        await AssertNothingRunAsync("batch-cancel-unclaimed");
    }

    [Fact]
    public async Task ACancelledMessageBatch_ThatNoWorkerHolds_EndsWithItsRequestsCanceled()
    {
        await fixture.HoldTheWorkerAsync().WithTimeout();
        var secret = await Live.AddTenantWithKeyAsync("batch-cancel-unclaimed-anthropic", "SG").WithTimeout();
        var created = await Live.Anthropic(secret).Messages.Batches.Create(Asks(2)).WithTimeout();

        var canceling = await Live.Anthropic(secret).Messages.Batches.Cancel(created.ID).WithTimeout();
        Assert.Equal("canceling", canceling.ProcessingStatus.Raw());

        var ended = await MessageBatchOnceEndedAsync(secret, created.ID);
        Assert.Equal((2L, 0L, 0L), (ended.RequestCounts.Canceled, ended.RequestCounts.Processing, ended.RequestCounts.Succeeded));
        var results = await Live.Anthropic(secret).Messages.Batches.ResultsStreaming(created.ID).ToListWithTimeoutAsync();
        Assert.Equal(["a-1", "a-2"], results.Select(r => r.CustomID));
        Assert.All(results, r => Assert.True(r.Result.TryPickCanceled(out _)));
        await AssertNothingRunAsync("batch-cancel-unclaimed-anthropic");
    }

    [Fact]
    public async Task ABatchPastItsCompletionWindow_ThatNoWorkerHolds_EndsExpired_ItsRequestsExpired()
    {
        await fixture.HoldTheWorkerAsync().WithTimeout();
        var secret = await Live.AddTenantWithKeyAsync("batch-expired-unclaimed", "SG").WithTimeout();
        var key = (await Live.Store.ListKeysAsync("batch-expired-unclaimed", CancellationToken.None).WithTimeout()).Single();
        // Made a day and a minute ago (as a gateway that was down, or whose workers were all busy, for that long leaves them).
        var madeAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddDays(-1).AddMinutes(-1).ToUnixTimeMilliseconds());
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4.1","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}""");
        var openai = new BatchJob(RequestPipeline.NewId("batch_", madeAt), BatchApi.OpenAI, "batch-expired-unclaimed", key.Id, "/v1/chat/completions",
            BatchStates.InProgress, madeAt, madeAt.AddDays(1)) { CompletionWindow = "24h" };
        var anthropic = new BatchJob(RequestPipeline.NewId("msgbatch_", madeAt), BatchApi.Anthropic, "batch-expired-unclaimed", key.Id, BatchInput.MessagesEndpoint,
            BatchStates.InProgress, madeAt, madeAt.AddDays(1));
        await Live.Store.AddBatchAsync(openai, [new BatchItem(0, "q-1", body), new BatchItem(1, "q-2", body)], CancellationToken.None).WithTimeout();
        var message = Encoding.UTF8.GetBytes("""{"model":"claude-sonnet-4","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}""");
        await Live.Store.AddBatchAsync(anthropic, [new BatchItem(0, "a-1", message)], CancellationToken.None).WithTimeout();
        using var http = Live.Http(secret);

        var expired = await OpenAIBatchOnceAsync(http, openai.Id, "expired");
        Assert.Equal((2, 2), (expired.GetProperty("request_counts").GetProperty("total").GetInt32(), expired.GetProperty("request_counts").GetProperty("failed").GetInt32()));
        Assert.NotEqual(JsonValueKind.Null, expired.GetProperty("expired_at").ValueKind);
        Assert.All(await ErrorLinesAsync(secret, expired), e => Assert.Equal("batch_expired", e.GetProperty("error").GetProperty("code").GetString()));
        var ended = await MessageBatchOnceEndedAsync(secret, anthropic.Id);
        Assert.Equal((1L, 0L), (ended.RequestCounts.Expired, ended.RequestCounts.Processing));
        var result = Assert.Single(await Live.Anthropic(secret).Messages.Batches.ResultsStreaming(anthropic.Id).ToListWithTimeoutAsync());
        Assert.True(result.Result.TryPickExpired(out _));
        await AssertNothingRunAsync("batch-expired-unclaimed");
    }
}
