using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Anthropic.Models.Messages;
using Anthropic.Models.Messages.Batches;
using Corridor.Core.Metering;
using Corridor.Testing;
using Corridor.Testing.Storage;
using OpenAI.Files;

#pragma warning disable OPENAI001 // the SDK marks its Batch client experimental

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The admin-API gateway running two of a batch's requests at a time, taking uploads of up to 64 KiB, billing batches at
/// the batch price of <see cref="Batches.BatchDiscountTests"/>.
/// </summary>
public class BatchGatewayFixture : AdminGatewayFixture
{
    public const int MaxFileBytes = 65536;

    protected override string Yaml(Uri simulator, string tokenEnv) =>
        Batches.BatchDiscountTests.Discounted(base.Yaml(simulator, tokenEnv)) + $"\nbatches:\n  concurrency: 2\n  maxFileBytes: {MaxFileBytes}\n";
}

/// <summary><see cref="BatchGatewayFixture"/> with its store in a PostgreSQL database of its own.</summary>
public sealed class PostgresBatchGatewayFixture : BatchGatewayFixture
{
    protected override bool OnPostgres => true;
}

/// <summary>The batch tests on the embedded store.</summary>
public sealed class BatchTests(BatchGatewayFixture fixture) : BatchContract<BatchGatewayFixture>(fixture), IClassFixture<BatchGatewayFixture>;

/// <summary>The batch tests on PostgreSQL, whose ledger keeps one row per request id and time.</summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresBatchTests(PostgresBatchGatewayFixture fixture) : BatchContract<PostgresBatchGatewayFixture>(fixture), IClassFixture<PostgresBatchGatewayFixture>;

/// <summary>
/// Batches through the official SDKs (docs/batches.md): OpenAI's Files and Batch APIs and Anthropic's Message Batches, each
/// request run through the pipeline as a request of the batch's key (ledger rows, limits, routing, translation), results in
/// the vendor's shape, a tenant seeing only its own, bad input refused before a batch exists, and cancel.
/// </summary>
public abstract class BatchContract<TFixture>(TFixture fixture)
    where TFixture : BatchGatewayFixture
{
    private LiveGateway Live => fixture.Live;

    private static string ChatLine(string customId, string model, string question) =>
        JsonSerializer.Serialize(new
        {
            custom_id = customId,
            method = "POST",
            url = "/v1/chat/completions",
            body = new { model, max_tokens = 40, messages = new[] { new { role = "user", content = question } } },
        });

    private static string JsonLines(params string[] lines) => string.Join("\n", lines) + "\n";

    private async Task<OpenAIFile> UploadAsync(string secret, string jsonl) =>
        (await Live.OpenAI(secret).GetOpenAIFileClient().UploadFileAsync(BinaryData.FromString(jsonl), "requests.jsonl", FileUploadPurpose.Batch).WithTimeout()).Value;

    private async Task<JsonElement> CreateOpenAIBatchAsync(string secret, string fileId, string endpoint = "/v1/chat/completions")
    {
        var content = BinaryContent.Create(BinaryData.FromObjectAsJson(new { input_file_id = fileId, endpoint, completion_window = "24h", metadata = new { job = "nightly" } }));
        var operation = await Live.OpenAI(secret).GetBatchClient().CreateBatchAsync(content, waitUntilCompleted: false).WithTimeout();
        return JsonDocument.Parse(operation.GetRawResponse().Content).RootElement.Clone();
    }

    private Task<JsonElement> WaitForOpenAIBatchAsync(string secret, string batchId) => WaitForOpenAIBatchAsync(Live, secret, batchId);

    /// <summary>The batch as the OpenAI SDK's operation polls it, once it has ended (within the test timeout, or <paramref name="timeout"/>).</summary>
    private static async Task<JsonElement> WaitForOpenAIBatchAsync(LiveGateway live, string secret, string batchId, TimeSpan? timeout = null)
    {
        var operation = await global::OpenAI.Batch.CreateBatchOperation.RehydrateAsync(live.OpenAI(secret).GetBatchClient(), batchId).WithTimeout();
        await PollAsync().WaitAsync(timeout ?? TestTimeouts.Default);
        return JsonDocument.Parse(operation.GetRawResponse().Content).RootElement.Clone();

        async Task PollAsync()
        {
            while (!operation.HasCompleted)
            {
                await Task.Delay(100);
                await operation.UpdateStatusAsync();
            }
        }
    }

    private static List<JsonElement> Lines(BinaryData file) =>
        file.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    [Fact]
    public async Task AnOpenAIBatch_RunsEachRequestThroughTheGateway_AndItsResultsAreFilesInOpenAIsShape()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-openai", "SG").WithTimeout();
        var input = await UploadAsync(secret, JsonLines(
            ChatLine("q-1", "gpt-4.1", "Where is my parcel?"),
            ChatLine("q-2", "claude-sonnet-4", "And my invoice?"),
            ChatLine("q-3", "no-such-model", "Anyone there?"),
            ChatLine("q-4", "gpt-4.1", "Thanks!")));
        Assert.Equal(("requests.jsonl", FilePurpose.Batch), (input.Filename, input.Purpose));

        var created = await CreateOpenAIBatchAsync(secret, input.Id);
        Assert.Equal(("batch", "in_progress", 4), (created.GetProperty("object").GetString(), created.GetProperty("status").GetString(),
            created.GetProperty("request_counts").GetProperty("total").GetInt32()));
        Assert.Equal("nightly", created.GetProperty("metadata").GetProperty("job").GetString());
        // Its requests name several models: OpenAI's optional model is left out.
        Assert.False(created.TryGetProperty("model", out _));

        var ended = await WaitForOpenAIBatchAsync(secret, created.GetProperty("id").GetString()!);
        Assert.Equal("completed", ended.GetProperty("status").GetString());
        Assert.Equal((4, 3, 1), (ended.GetProperty("request_counts").GetProperty("total").GetInt32(),
            ended.GetProperty("request_counts").GetProperty("completed").GetInt32(), ended.GetProperty("request_counts").GetProperty("failed").GetInt32()));

        var files = Live.OpenAI(secret).GetOpenAIFileClient();
        var output = Lines((await files.DownloadFileAsync(ended.GetProperty("output_file_id").GetString()!).WithTimeout()).Value);
        var errors = Lines((await files.DownloadFileAsync(ended.GetProperty("error_file_id").GetString()!).WithTimeout()).Value);
        Assert.Equal(["q-1", "q-2", "q-4"], output.Select(l => l.GetProperty("custom_id").GetString()));
        foreach (var line in output)
        {
            var response = line.GetProperty("response");
            Assert.Equal(200, response.GetProperty("status_code").GetInt32());
            // The Anthropic model answered through translation, in the chat completion shape the batch asked for.
            Assert.Equal("chat.completion", response.GetProperty("body").GetProperty("object").GetString());
            var row = await Live.LedgerRowAsync(response.GetProperty("request_id").GetString()!);
            Assert.Equal(("batch-openai", RequestOutcome.Success, true), (row.TenantId, row.Outcome, row.Billable));
            Assert.Equal(response.GetProperty("body").GetProperty("usage").GetProperty("completion_tokens").GetInt64(), row.OutputTokens);
            // Recorded as coming from the client that made the batch, and named by the batch's id in its request id.
            Assert.EndsWith(" corridor-batch", row.UserAgent, StringComparison.Ordinal);
            Assert.Equal("127.0.0.1", row.ClientIp);
            Assert.StartsWith("req_" + ended.GetProperty("id").GetString()!["batch_".Length..][..20], row.RequestId, StringComparison.Ordinal);
            Assert.Equal(ended.GetProperty("id").GetString(), row.BatchId);
        }
        // The batch's usage is what its answered requests were metered at, as their rows say.
        var usage = ended.GetProperty("usage");
        var metered = output.Select(l => l.GetProperty("response").GetProperty("body").GetProperty("usage")).ToList();
        Assert.Equal((metered.Sum(u => u.GetProperty("prompt_tokens").GetInt64()), metered.Sum(u => u.GetProperty("completion_tokens").GetInt64())),
            (usage.GetProperty("input_tokens").GetInt64(), usage.GetProperty("output_tokens").GetInt64()));
        Assert.Equal(usage.GetProperty("input_tokens").GetInt64() + usage.GetProperty("output_tokens").GetInt64(), usage.GetProperty("total_tokens").GetInt64());
        var failed = Assert.Single(errors);
        Assert.Equal(("q-3", 404, "model_not_found"), (failed.GetProperty("custom_id").GetString(),
            failed.GetProperty("response").GetProperty("status_code").GetInt32(),
            failed.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("code").GetString()));
        var refused = await Live.LedgerRowAsync(failed.GetProperty("response").GetProperty("request_id").GetString()!);
        Assert.Equal((false, ended.GetProperty("id").GetString()), (refused.Billable, refused.BatchId));
    }

    [Fact]
    public async Task AResponsesBatchsAnswers_AreKeptAsAClientsAre_UnlessTheLineSaysStoreFalse_ForTheBatchsTenantOnly()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-responses", "SG").WithTimeout();
        static string Line(string customId, object body) => JsonSerializer.Serialize(new { custom_id = customId, method = "POST", url = "/v1/responses", body });
        var input = await UploadAsync(secret, JsonLines(
            Line("kept", new { model = "gpt-4.1", input = "Where is parcel 4471?" }),
            Line("not-kept", new { model = "gpt-4.1", input = "And parcel 4472?", store = false })));

        var ended = await WaitForOpenAIBatchAsync(secret, (await CreateOpenAIBatchAsync(secret, input.Id, "/v1/responses")).GetProperty("id").GetString()!);

        Assert.Equal("completed", ended.GetProperty("status").GetString());
        var output = Lines((await Live.OpenAI(secret).GetOpenAIFileClient().DownloadFileAsync(ended.GetProperty("output_file_id").GetString()!).WithTimeout()).Value)
            .ToDictionary(l => l.GetProperty("custom_id").GetString()!, l => l.GetProperty("response").GetProperty("body"));
        Assert.Equal((true, false), (output["kept"].GetProperty("store").GetBoolean(), output["not-kept"].GetProperty("store").GetBoolean()));
        using var http = Live.Http(secret);
        using (var kept = await http.GetAsync($"/v1/responses/{output["kept"].GetProperty("id").GetString()}").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);
            Assert.Equal(output["kept"].GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString(),
                (await kept.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());
        }
        using (var notKept = await http.GetAsync($"/v1/responses/{output["not-kept"].GetProperty("id").GetString()}").WithTimeout())
        {
            Assert.Equal(HttpStatusCode.NotFound, notKept.StatusCode);
        }
        // The batch's tenant's, as any of its responses: another tenant does not find it.
        using var other = Live.Http(await Live.AddTenantWithKeyAsync("batch-responses-other", "SG").WithTimeout());
        using var elsewhere = await other.GetAsync($"/v1/responses/{output["kept"].GetProperty("id").GetString()}").WithTimeout();
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
    }

    [Fact]
    public async Task AnAnthropicBatch_RunsItsRequests_AndItsResultsAreReadAsAnthropicsResultLines()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-anthropic", "JP").WithTimeout();
        var client = Live.Anthropic(secret);
        static Request Ask(string id, string model, string question) => new()
        {
            CustomID = id,
            Params = new Params { Model = model, MaxTokens = 40, Messages = [new UserMessageParam { Content = question }] },
        };

        var created = await client.Messages.Batches.Create(new BatchCreateParams
        {
            Requests = [Ask("a-1", "claude-sonnet-4", "Where is my parcel?"), Ask("a-2", "gpt-4.1", "And my invoice?"), Ask("a-3", "no-such-model", "Hello?")],
        }).WithTimeout();
        Assert.StartsWith("msgbatch_", created.ID, StringComparison.Ordinal);
        Assert.Equal(created.CreatedAt, (await client.Messages.Batches.Retrieve(created.ID).WithTimeout()).CreatedAt);
        Assert.Equal(3, created.RequestCounts.Processing);

        var batch = created;
        while (batch.ProcessingStatus.Raw() != "ended")
        {
            await Task.Delay(100);
            batch = await client.Messages.Batches.Retrieve(created.ID).WithTimeout();
        }
        Assert.Equal((2L, 1L, 0L, 0L, 0L), (batch.RequestCounts.Succeeded, batch.RequestCounts.Errored, batch.RequestCounts.Processing,
            batch.RequestCounts.Canceled, batch.RequestCounts.Expired));
        Assert.NotNull(batch.EndedAt);
        Assert.EndsWith($"/v1/messages/batches/{created.ID}/results", batch.ResultsUrl, StringComparison.Ordinal);

        var results = await client.Messages.Batches.ResultsStreaming(created.ID).ToListWithTimeoutAsync();
        Assert.Equal(["a-1", "a-2", "a-3"], results.Select(r => r.CustomID));
        Assert.True(results[0].Result.TryPickSucceeded(out var first));
        Assert.True(results[1].Result.TryPickSucceeded(out var second));
        Assert.Equal("message", second.Message.Type.ToString());
        Assert.True(first.Message.Usage.OutputTokens > 0);
        Assert.True(results[2].Result.TryPickErrored(out var errored));
        Assert.Contains("no-such-model", errored.Error.ToString(), StringComparison.Ordinal);

        var listed = await client.Messages.Batches.List().WithTimeout();
        Assert.Contains(listed.Items, b => b.ID == created.ID);
        var deleted = await client.Messages.Batches.Delete(created.ID).WithTimeout();
        Assert.Equal(created.ID, deleted.ID);
        using var http = Live.Http(secret);
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/v1/messages/batches/{created.ID}").WithTimeout()).StatusCode);
    }

    [Fact]
    public async Task MessageBatches_ArePagedAfterOrBeforeAnId_AsTheAnthropicSdkAsks()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-pages", "SG").WithTimeout();
        var client = Live.Anthropic(secret);
        for (var i = 0; i < 3; i++)
        {
            await client.Messages.Batches.Create(new BatchCreateParams
            {
                Requests = [new Request { CustomID = "x", Params = new Params { Model = "claude-sonnet-4", MaxTokens = 10, Messages = [new UserMessageParam { Content = "Hi" }] } }],
            }).WithTimeout();
        }
        var ids = (await client.Messages.Batches.List().WithTimeout()).Items.Select(b => b.ID).ToList();
        Assert.Equal(3, ids.Count);
        var (newest, middle, oldest) = (ids[0], ids[1], ids[2]);

        Assert.Equal([middle], (await client.Messages.Batches.List(new BatchListParams { AfterID = newest, Limit = 1 }).WithTimeout()).Items.Select(b => b.ID));
        Assert.Equal([middle], (await client.Messages.Batches.List(new BatchListParams { BeforeID = oldest, Limit = 1 }).WithTimeout()).Items.Select(b => b.ID));
        Assert.Equal([newest, middle], (await client.Messages.Batches.List(new BatchListParams { BeforeID = oldest }).WithTimeout()).Items.Select(b => b.ID));
        Assert.Empty((await client.Messages.Batches.List(new BatchListParams { BeforeID = newest }).WithTimeout()).Items);

        // has_more looks the way the page was asked for: past the newest, before an id; past the oldest, after one.
        using var http = Live.Http(secret);
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        var before = await http.GetFromJsonAsync<JsonElement>($"/v1/messages/batches?before_id={oldest}&limit=1").WithTimeout();
        Assert.Equal((middle, middle, true), (before.GetProperty("first_id").GetString(), before.GetProperty("last_id").GetString(), before.GetProperty("has_more").GetBoolean()));
        var first = await http.GetFromJsonAsync<JsonElement>($"/v1/messages/batches?before_id={middle}&limit=1").WithTimeout();
        Assert.Equal((newest, false), (first.GetProperty("first_id").GetString(), first.GetProperty("has_more").GetBoolean()));
    }

    [Fact]
    public async Task AnotherTenantsKey_FindsNeitherTheFileNorTheBatch()
    {
        var owner = await Live.AddTenantWithKeyAsync("batch-owner", "SG").WithTimeout();
        var other = await Live.AddTenantWithKeyAsync("batch-other", "SG").WithTimeout();
        var input = await UploadAsync(owner, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")));
        var batch = await CreateOpenAIBatchAsync(owner, input.Id);
        var batchId = batch.GetProperty("id").GetString();
        var messageBatch = await Live.Anthropic(owner).Messages.Batches.Create(new BatchCreateParams
        {
            Requests = [new Request { CustomID = "x", Params = new Params { Model = "claude-sonnet-4", MaxTokens = 10, Messages = [new UserMessageParam { Content = "Hi" }] } }],
        }).WithTimeout();

        using var http = Live.Http(other);
        foreach (var path in new[] { $"/v1/files/{input.Id}", $"/v1/files/{input.Id}/content", $"/v1/batches/{batchId}", $"/v1/messages/batches/{messageBatch.ID}",
            $"/v1/messages/batches/{messageBatch.ID}/results" })
        {
            using var response = await http.GetAsync(path).WithTimeout();
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync($"/v1/batches/{batchId}/cancel", null).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"/v1/files/{input.Id}").WithTimeout()).StatusCode);
        var otherInput = await UploadAsync(other, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")));
        var notTheirs = await Assert.ThrowsAsync<ClientResultException>(() => CreateOpenAIBatchAsync(other, input.Id)).WithTimeout();
        Assert.Equal(404, notTheirs.Status);
        Assert.DoesNotContain((await http.GetFromJsonAsync<JsonElement>("/v1/batches").WithTimeout()).GetProperty("data").EnumerateArray(), b => b.GetProperty("id").GetString() == batchId);
        Assert.Equal([otherInput.Id], (await Live.OpenAI(other).GetOpenAIFileClient().GetFilesAsync().WithTimeout()).Value.Select(f => f.Id));
    }

    [Fact]
    public async Task ABatchsModel_IsTheOneModelEveryRequestNames_AndLeftOutWhenTheyNameSeveralOrNone()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-model", "SG").WithTimeout();
        async Task<JsonElement> CreateAsync(params string[] lines) => await CreateOpenAIBatchAsync(secret, (await UploadAsync(secret, JsonLines(lines))).Id);
        const string NoModel = """{"custom_id":"q-9","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"Hi"}]}}""";

        var one = await CreateAsync(ChatLine("q-1", "gpt-4.1", "Hi"), ChatLine("q-2", "gpt-4.1", "Hello"));
        var several = await CreateAsync(ChatLine("q-1", "gpt-4.1", "Hi"), ChatLine("q-2", "claude-sonnet-4", "Hello"));
        var unnamed = await CreateAsync(ChatLine("q-1", "gpt-4.1", "Hi"), NoModel);

        Assert.Equal("gpt-4.1", one.GetProperty("model").GetString());
        Assert.False(several.TryGetProperty("model", out _));
        Assert.False(unnamed.TryGetProperty("model", out _));
        // As stored: read and listed alike.
        using var http = Live.Http(secret);
        var oneId = one.GetProperty("id").GetString();
        Assert.Equal("gpt-4.1", (await http.GetFromJsonAsync<JsonElement>($"/v1/batches/{oneId}").WithTimeout()).GetProperty("model").GetString());
        var listed = (await http.GetFromJsonAsync<JsonElement>("/v1/batches").WithTimeout()).GetProperty("data").EnumerateArray()
            .ToDictionary(b => b.GetProperty("id").GetString()!, b => b.TryGetProperty("model", out var model) ? model.GetString() : null);
        Assert.Equal("gpt-4.1", listed[oneId!]);
        Assert.Null(listed[several.GetProperty("id").GetString()!]);
    }

    [Fact]
    public async Task Files_AreListedAsOpenAIPagesThem_OfAPurpose_InEitherOrder_PastAFile()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-file-pages", "SG").WithTimeout();
        var input = await UploadAsync(secret, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")));
        var ended = await WaitForOpenAIBatchAsync(secret, (await CreateOpenAIBatchAsync(secret, input.Id)).GetProperty("id").GetString()!);
        var output = ended.GetProperty("output_file_id").GetString()!;
        var later = await UploadAsync(secret, JsonLines(ChatLine("q-2", "gpt-4.1", "Hello")));
        var files = Live.OpenAI(secret).GetOpenAIFileClient();

        // The SDK's purpose filter.
        Assert.Equal(new[] { input.Id, later.Id }.Order(StringComparer.Ordinal),
            (await files.GetFilesAsync(FilePurpose.Batch).WithTimeout()).Value.Select(f => f.Id).Order(StringComparer.Ordinal));
        Assert.Equal([output], (await files.GetFilesAsync(FilePurpose.BatchOutput).WithTimeout()).Value.Select(f => f.Id));

        // Every file, newest first, unless asked otherwise.
        async Task<JsonElement> ListAsync(string? purpose = null, int? limit = null, string? order = null, string? after = null) =>
            JsonDocument.Parse((await files.GetFilesAsync(purpose, limit, order, after, null).WithTimeout()).GetRawResponse().Content).RootElement.Clone();
        static List<string> Ids(JsonElement list) => list.GetProperty("data").EnumerateArray().Select(f => f.GetProperty("id").GetString()!).ToList();
        static (string?, string?, bool) Ends(JsonElement list) =>
            (list.GetProperty("first_id").GetString(), list.GetProperty("last_id").GetString(), list.GetProperty("has_more").GetBoolean());
        var all = await ListAsync();
        var newestFirst = Ids(all);
        Assert.Equal("list", all.GetProperty("object").GetString());
        Assert.Equal(new[] { input.Id, later.Id, output }.Order(StringComparer.Ordinal), newestFirst.Order(StringComparer.Ordinal));
        var times = all.GetProperty("data").EnumerateArray().Select(f => f.GetProperty("created_at").GetInt64()).ToList();
        Assert.Equal(times.OrderDescending(), times);
        Assert.Equal((newestFirst[0], newestFirst[2], false), Ends(all));
        var oldestFirst = Enumerable.Reverse(newestFirst).ToList();
        Assert.Equal(oldestFirst, Ids(await ListAsync(order: "asc")));

        // Paged: a page's last id asks for the next, in the same order.
        var first = await ListAsync(limit: 2, order: "asc");
        Assert.Equal(oldestFirst[..2], Ids(first));
        Assert.Equal((oldestFirst[0], oldestFirst[1], true), Ends(first));
        var second = await ListAsync(limit: 2, order: "asc", after: first.GetProperty("last_id").GetString());
        Assert.Equal(oldestFirst[2..], Ids(second));
        Assert.Equal((oldestFirst[2], oldestFirst[2], false), Ends(second));
        Assert.Equal(newestFirst[1..], Ids(await ListAsync(after: newestFirst[0])));
        var batchOnly = await ListAsync(purpose: "batch", limit: 1);
        Assert.Contains(Assert.Single(Ids(batchOnly)), new[] { input.Id, later.Id });
        Assert.True(batchOnly.GetProperty("has_more").GetBoolean());
        var empty = await ListAsync(purpose: "fine-tune");
        Assert.Equal(((string?)null, (string?)null, false), Ends(empty));
        Assert.Empty(Ids(empty));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=10001", "limit")]
    [InlineData("limit=ten", "limit")]
    [InlineData("order=sideways", "order")]
    [InlineData("after=file-no-such-file", "after")]
    [InlineData("after=OTHER", "after")]
    public async Task AListOfFiles_WithABadParameter_IsRefusedInOpenAIsDialect_NamingIt(string query, string param)
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-file-list-bad", "SG").WithTimeout();
        var other = await UploadAsync(await Live.AddTenantWithKeyAsync("batch-file-list-other", "SG").WithTimeout(), JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")));
        await UploadAsync(secret, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")));
        using var http = Live.Http(secret);

        using var response = await http.GetAsync("/v1/files?" + query.Replace("OTHER", other.Id, StringComparison.Ordinal)).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error");
        Assert.Equal(("invalid_request_error", param), (error.GetProperty("type").GetString(), error.GetProperty("param").GetString()));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=101", "limit")]
    [InlineData("after=batch_no_such_batch", "after")]
    [InlineData("after=OTHER", "after")]
    [InlineData("after=MESSAGES", "after")]
    public async Task AListOfBatches_WithABadParameter_IsRefusedInOpenAIsDialect_NamingIt(string query, string param)
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-list-bad", "SG").WithTimeout();
        var otherSecret = await Live.AddTenantWithKeyAsync("batch-list-other", "SG").WithTimeout();
        var other = await CreateOpenAIBatchAsync(otherSecret, (await UploadAsync(otherSecret, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")))).Id);
        await CreateOpenAIBatchAsync(secret, (await UploadAsync(secret, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")))).Id);
        var messages = await Live.Anthropic(secret).Messages.Batches.Create(new BatchCreateParams
        {
            Requests = [new Request { CustomID = "x", Params = new Params { Model = "claude-sonnet-4", MaxTokens = 10, Messages = [new UserMessageParam { Content = "Hi" }] } }],
        }).WithTimeout();
        using var http = Live.Http(secret);

        using var response = await http.GetAsync("/v1/batches?" + query.Replace("OTHER", other.GetProperty("id").GetString(), StringComparison.Ordinal)
            .Replace("MESSAGES", messages.ID, StringComparison.Ordinal)).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error");
        Assert.Equal(("invalid_request_error", param), (error.GetProperty("type").GetString(), error.GetProperty("param").GetString()));
    }

    [Theory]
    [InlineData("after_id")]
    [InlineData("before_id")]
    public async Task AListOfMessageBatches_PastAnIdThatIsNotOneOfTheTenantsMessageBatches_IsRefusedInAnthropicsDialect(string cursor)
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-list-bad-anthropic", "SG").WithTimeout();
        var otherSecret = await Live.AddTenantWithKeyAsync("batch-list-other-anthropic", "SG").WithTimeout();
        static BatchCreateParams One() => new()
        {
            Requests = [new Request { CustomID = "x", Params = new Params { Model = "claude-sonnet-4", MaxTokens = 10, Messages = [new UserMessageParam { Content = "Hi" }] } }],
        };
        var own = await Live.Anthropic(secret).Messages.Batches.Create(One()).WithTimeout();
        var others = await Live.Anthropic(otherSecret).Messages.Batches.Create(One()).WithTimeout();
        var openai = await CreateOpenAIBatchAsync(secret, (await UploadAsync(secret, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")))).Id);
        using var http = Live.Http(secret);
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");

        foreach (var id in new[] { "msgbatch_no_such_batch", others.ID, openai.GetProperty("id").GetString()! })
        {
            using var response = await http.GetAsync($"/v1/messages/batches?{cursor}={id}").WithTimeout();

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>().WithTimeout();
            Assert.Equal("invalid_request_error", body.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains($"{cursor}: ", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Contains(id, body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        // The tenant's own message batch is a place in its list.
        using var page = await http.GetAsync($"/v1/messages/batches?{cursor}={own.ID}").WithTimeout();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task TheOperator_ListsATenantsBatchesOfBothApis_WithTheirCounts()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-operator", "SG").WithTimeout();
        var input = await UploadAsync(secret, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi"), ChatLine("q-2", "gpt-4.1", "Hello")));
        var openai = (await CreateOpenAIBatchAsync(secret, input.Id)).GetProperty("id").GetString()!;
        var anthropic = (await Live.Anthropic(secret).Messages.Batches.Create(new BatchCreateParams
        {
            Requests = [new Request { CustomID = "x", Params = new Params { Model = "claude-sonnet-4", MaxTokens = 10, Messages = [new UserMessageParam { Content = "Hi" }] } }],
        }).WithTimeout()).ID;
        await WaitForOpenAIBatchAsync(secret, openai);

        using var admin = fixture.Admin();
        var batches = await admin.GetFromJsonAsync<JsonElement>("/admin/tenants/batch-operator/batches").WithTimeout();

        var listed = batches.EnumerateArray().ToDictionary(b => b.GetProperty("id").GetString()!);
        Assert.Equal(("openai", "ended", "completed", 2L, 2L), (listed[openai].GetProperty("api").GetString(), listed[openai].GetProperty("state").GetString(),
            listed[openai].GetProperty("ending").GetString(), listed[openai].GetProperty("total").GetInt64(), listed[openai].GetProperty("succeeded").GetInt64()));
        Assert.Equal(("anthropic", "/v1/messages"), (listed[anthropic].GetProperty("api").GetString(), listed[anthropic].GetProperty("endpoint").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/admin/tenants/no-such-tenant/batches").WithTimeout()).StatusCode);
        using var tenant = Live.Http(secret);
        Assert.Equal(HttpStatusCode.Unauthorized, (await tenant.GetAsync("/admin/tenants/batch-operator/batches").WithTimeout()).StatusCode);
    }

    [Theory]
    [InlineData("{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"gpt-4.1\"}}\n{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}", "Line 2", "unique")]
    [InlineData("{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{}}", "Line 1", "endpoint")]
    [InlineData("{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"stream\":true}}", "Line 1", "stream")]
    [InlineData("not json", "Line 1", "not a JSON object")]
    [InlineData("\n\n", "no requests", "no requests")]
    public async Task ABadInputFile_IsRefusedWhenTheBatchIsMade_NamingItsLine(string jsonl, string where, string why)
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-bad-input", "SG").WithTimeout();
        var input = await UploadAsync(secret, jsonl);

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => CreateOpenAIBatchAsync(secret, input.Id)).WithTimeout();

        Assert.Equal(400, refused.Status);
        var error = JsonDocument.Parse(refused.GetRawResponse()!.Content).RootElement.GetProperty("error");
        Assert.Contains(where, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(why, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("input_file_id", error.GetProperty("param").GetString());
        using var http = Live.Http(secret);
        Assert.Empty((await http.GetFromJsonAsync<JsonElement>("/v1/batches").WithTimeout()).GetProperty("data").EnumerateArray());
    }

    [Theory]
    [MemberData(nameof(BatchMetadata.Bad), MemberType = typeof(BatchMetadata))]
    public async Task BadMetadata_IsRefusedInOpenAIsDialect_AndNoBatchIsMade(string what, string metadata)
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-bad-metadata", "SG").WithTimeout();
        var input = await UploadAsync(secret, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")));
        var body = $$"""{"input_file_id":"{{input.Id}}","endpoint":"/v1/chat/completions","completion_window":"24h","metadata":{{metadata}}}""";

        var refused = await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI(secret).GetBatchClient().CreateBatchAsync(BinaryContent.Create(BinaryData.FromString(body)), waitUntilCompleted: false)).WithTimeout();

        Assert.True(refused.Status == 400, $"{what}: {refused.Status}");
        var error = JsonDocument.Parse(refused.GetRawResponse()!.Content).RootElement.GetProperty("error");
        Assert.Equal(("invalid_request_error", "metadata"), (error.GetProperty("type").GetString(), error.GetProperty("param").GetString()));
        using var http = Live.Http(secret);
        Assert.DoesNotContain((await http.GetFromJsonAsync<JsonElement>("/v1/batches").WithTimeout()).GetProperty("data").EnumerateArray(),
            b => b.GetProperty("input_file_id").GetString() == input.Id);
    }

    [Fact]
    public async Task MetadataAtOpenAIsLimits_IsKept()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-metadata-limits", "SG").WithTimeout();
        var input = await UploadAsync(secret, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi")));
        var metadata = Enumerable.Range(0, 14).ToDictionary(i => $"k{i}", i => "v");
        metadata[new string('k', 64)] = new string('v', 512);
        // Characters, not UTF-16 units: 512 characters outside the Basic Multilingual Plane are 1,024 units.
        metadata["emoji"] = string.Concat(Enumerable.Repeat("\U0001F600", 512));
        var body = BinaryData.FromObjectAsJson(new { input_file_id = input.Id, endpoint = "/v1/chat/completions", completion_window = "24h", metadata });

        var operation = await Live.OpenAI(secret).GetBatchClient().CreateBatchAsync(BinaryContent.Create(body), waitUntilCompleted: false).WithTimeout();

        var kept = JsonDocument.Parse(operation.GetRawResponse().Content).RootElement.GetProperty("metadata");
        Assert.Equal(metadata, kept.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!));
    }

    [Theory]
    [MemberData(nameof(BatchUploads.Bad), MemberType = typeof(BatchUploads))]
    public async Task ABadUpload_IsRefusedInOpenAIsDialect_NeverA500(string what, Func<HttpContent> upload, int status, string paramOrCode)
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-bad-upload", "SG").WithTimeout();
        using var http = Live.Http(secret);

        using var content = upload();
        using var response = await http.PostAsync("/v1/files", content).WithTimeout();

        Assert.True(status == (int)response.StatusCode, $"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error");
        Assert.Contains(paramOrCode, new[] { error.GetProperty("param").GetString(), error.GetProperty("code").GetString() });
        Assert.Empty((await http.GetFromJsonAsync<JsonElement>("/v1/files").WithTimeout()).GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task BadAnthropicRequests_AreRefusedInAnthropicsDialect()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-bad-anthropic", "SG").WithTimeout();
        using var http = Live.Http(secret);
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");

        using var response = await http.PostAsync("/v1/messages/batches", new StringContent(
            """{"requests":[{"custom_id":"has space","params":{"model":"claude-sonnet-4","max_tokens":5,"messages":[]}}]}""", Encoding.UTF8, "application/json")).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>().WithTimeout();
        Assert.Equal(("error", "invalid_request_error"), (body.GetProperty("type").GetString(), body.GetProperty("error").GetProperty("type").GetString()));
        Assert.Contains("requests.0", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        // Text a JSON reader would leave undecoded until read: invalid UTF-8 in a string, a lone surrogate escape.
        byte[] invalid = [.. "{\"requests\":[{\"custom_id\":\"a\",\"params\":{\"model\":\""u8, 0xFF, .. "\"}}]}"u8];
        foreach (var bad in new[] { invalid, """{"requests":[{"custom_id":"\ud800","params":{}}]}"""u8.ToArray() })
        {
            using var refused = await http.PostAsync("/v1/messages/batches", new ByteArrayContent(bad)).WithTimeout();
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_request_error", (await refused.Content.ReadFromJsonAsync<JsonElement>().WithTimeout()).GetProperty("error").GetProperty("type").GetString());
        }
        using var openai = Live.Http(secret);
        using var surrogate = await openai.PostAsync("/v1/batches", new StringContent("""{"input_file_id":"\ud800","endpoint":"/v1/chat/completions","completion_window":"24h"}""")).WithTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, surrogate.StatusCode);
    }

    [Fact]
    public async Task ABatch_WaitsOnItsKeysRateLimit_AndCancelled_EndsWithTheRestNotRun()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-cancel", "SG").WithTimeout();
        var input = await UploadAsync(secret, JsonLines(Enumerable.Range(1, 6).Select(i => ChatLine($"q-{i}", "gpt-4.1", $"Question {i}")).ToArray()));
        using (var admin = fixture.Admin())
        {
            // The batch's creation is one request of the minute; its requests get what is left of their share (half by
            // default): one request, then they wait.
            using var set = await admin.PatchAsJsonAsync("/admin/tenants/batch-cancel/limits", new { rpm = 4 }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }
        var batchId = (await CreateOpenAIBatchAsync(secret, input.Id)).GetProperty("id").GetString()!;
        using var http = Live.Http(secret);

        // A request refused for the rate waits for the minute to pass instead of failing; the cancel stops the wait.
        await Live.LedgerRowAsync(r => r.TenantId == "batch-cancel" && r.Outcome == RequestOutcome.RateLimited).WithTimeout();
        var cancelling = await (await http.PostAsync($"/v1/batches/{batchId}/cancel", null).WithTimeout()).Content.ReadFromJsonAsync<JsonElement>().WithTimeout();
        Assert.Contains(cancelling.GetProperty("status").GetString(), new[] { "cancelling", "cancelled" });

        var ended = await WaitForOpenAIBatchAsync(secret, batchId);
        Assert.Equal("cancelled", ended.GetProperty("status").GetString());
        var counts = ended.GetProperty("request_counts");
        var completed = counts.GetProperty("completed").GetInt32();
        Assert.Equal(6, counts.GetProperty("total").GetInt32());
        Assert.InRange(completed, 1, 5);
        Assert.Equal(6 - completed, counts.GetProperty("failed").GetInt32());
        var errors = Lines((await Live.OpenAI(secret).GetOpenAIFileClient().DownloadFileAsync(ended.GetProperty("error_file_id").GetString()!).WithTimeout()).Value);
        Assert.Equal(6 - completed, errors.Count);
        Assert.All(errors, e => Assert.Equal("batch_cancelled", e.GetProperty("error").GetProperty("code").GetString()));
        var rows = (await Live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Where(r => r.TenantId == "batch-cancel").ToList();
        Assert.Equal(completed, rows.Count(r => r.Billable));
        Assert.All(rows, r => Assert.EndsWith(" corridor-batch", r.UserAgent, StringComparison.Ordinal));
    }
    /// <summary>
    /// A tenant with a key whose batch waits out the tenant's rate limit (<paramref name="rpm"/> requests a minute, four by
    /// default: the batch's share is half, so after an OpenAI upload and creation none of the batch's, after an Anthropic
    /// creation one; six: one of an OpenAI batch's), and a second key to read it with.
    /// </summary>
    private async Task<(string KeyId, string Secret, string Reader)> TenantWaitingOnItsRateLimitAsync(string tenant, int rpm = 4)
    {
        var secret = await Live.AddTenantWithKeyAsync(tenant, "SG").WithTimeout();
        var keyId = (await Live.Store.ListKeysAsync(tenant, CancellationToken.None).WithTimeout()).Single().Id;
        var reader = await Live.AddTenantWithKeyAsync(tenant, "SG").WithTimeout();
        using var admin = fixture.Admin();
        using var set = await admin.PatchAsJsonAsync($"/admin/tenants/{tenant}/limits", new { rpm }).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        return (keyId, secret, reader);
    }

    private async Task RevokeAsync(string keyId)
    {
        using var admin = fixture.Admin();
        using var revoked = await admin.PostAsync($"/admin/keys/{keyId}/revoke", null).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
    }

    [Fact]
    public async Task ABatchWhoseKeyIsRevoked_AfterSomeAnswers_EndsAtOnce_TheRestErroredWithTheRevocation_WithoutALedgerRowEach()
    {
        var (keyId, secret, reader) = await TenantWaitingOnItsRateLimitAsync("batch-revoked", rpm: 6);
        var input = await UploadAsync(secret, JsonLines(Enumerable.Range(1, 6).Select(i => ChatLine($"q-{i}", "gpt-4.1", $"Question {i}")).ToArray()));
        var batchId = (await CreateOpenAIBatchAsync(secret, input.Id)).GetProperty("id").GetString()!;
        await Live.LedgerRowAsync(r => r.TenantId == "batch-revoked" && r.Billable && r.BatchId == batchId).WithTimeout();
        await Live.LedgerRowAsync(r => r.TenantId == "batch-revoked" && r.Outcome == RequestOutcome.RateLimited).WithTimeout();

        await RevokeAsync(keyId);

        // It ends without waiting out the rate limit, as completed: every request has its result, the rest the refusal.
        var ended = await WaitForOpenAIBatchAsync(reader, batchId);
        Assert.Equal(("completed", JsonValueKind.Null), (ended.GetProperty("status").GetString(), ended.GetProperty("errors").ValueKind));
        var counts = ended.GetProperty("request_counts");
        var completed = counts.GetProperty("completed").GetInt32();
        Assert.InRange(completed, 1, 5);
        Assert.Equal((6, 6 - completed), (counts.GetProperty("total").GetInt32(), counts.GetProperty("failed").GetInt32()));
        Assert.Equal(completed, Lines((await Live.OpenAI(reader).GetOpenAIFileClient().DownloadFileAsync(ended.GetProperty("output_file_id").GetString()!).WithTimeout()).Value).Count);
        var errors = Lines((await Live.OpenAI(reader).GetOpenAIFileClient().DownloadFileAsync(ended.GetProperty("error_file_id").GetString()!).WithTimeout()).Value);
        Assert.Equal(6 - completed, errors.Count);
        foreach (var line in errors)
        {
            var response = line.GetProperty("response");
            Assert.Equal((401, "invalid_api_key", JsonValueKind.Null), (response.GetProperty("status_code").GetInt32(),
                response.GetProperty("body").GetProperty("error").GetProperty("code").GetString(), response.GetProperty("request_id").ValueKind));
            Assert.Contains("revoked", response.GetProperty("body").GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        // Not run: no request was refused for the key one by one.
        var rows = (await Live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Where(r => r.TenantId == "batch-revoked").ToList();
        Assert.DoesNotContain(rows, r => r.Outcome == RequestOutcome.Unauthorized);
        Assert.Equal(completed, rows.Count(r => r.Billable));
    }

    /// <summary>
    /// The worker running the batch sees the revocation while every request of it waits out the rate limit: none was answered,
    /// so the batch could not run at all, and fails as OpenAI fails one, with nothing billed.
    /// </summary>
    [Fact]
    public async Task ABatchWhoseKeyIsRevoked_BeforeAnyAnswer_FailsAtOnce_NamingTheRevocation_WithNothingBilled()
    {
        var (keyId, secret, reader) = await TenantWaitingOnItsRateLimitAsync("batch-revoked-unanswered");
        var input = await UploadAsync(secret, JsonLines(Enumerable.Range(1, 6).Select(i => ChatLine($"q-{i}", "gpt-4.1", $"Question {i}")).ToArray()));
        var batchId = (await CreateOpenAIBatchAsync(secret, input.Id)).GetProperty("id").GetString()!;
        await Live.LedgerRowAsync(r => r.TenantId == "batch-revoked-unanswered" && r.Outcome == RequestOutcome.RateLimited).WithTimeout();

        await RevokeAsync(keyId);

        await FailedBatches.AssertFailedAsync(Live, reader, await WaitForOpenAIBatchAsync(reader, batchId), 6, "invalid_api_key", "This API key has been revoked.");
        var rows = (await Live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Where(r => r.TenantId == "batch-revoked-unanswered").ToList();
        Assert.DoesNotContain(rows, r => r.Billable || r.Outcome == RequestOutcome.Unauthorized);
    }

    [Fact]
    public async Task AMessageBatchWhoseKeyIsSuspended_EndsAtOnce_TheRestErroredWithTheSuspension_WithoutALedgerRowEach()
    {
        var (keyId, secret, reader) = await TenantWaitingOnItsRateLimitAsync("batch-suspended");
        var created = await Live.Anthropic(secret).Messages.Batches.Create(new BatchCreateParams
        {
            Requests = [.. Enumerable.Range(1, 6).Select(i => new Request
            {
                CustomID = $"a-{i}",
                Params = new Params { Model = "claude-sonnet-4", MaxTokens = 10, Messages = [new UserMessageParam { Content = $"Question {i}" }] },
            })],
        }).WithTimeout();
        await Live.LedgerRowAsync(r => r.TenantId == "batch-suspended" && r.Outcome == RequestOutcome.RateLimited).WithTimeout();

        using (var admin = fixture.Admin())
        {
            using var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "suspend", note = "harvest confirmed" }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }

        var client = Live.Anthropic(reader);
        var batch = created;
        await TestTimeouts.UntilAsync(async () => (batch = await client.Messages.Batches.Retrieve(created.ID)).ProcessingStatus.Raw() == "ended");
        var succeeded = batch.RequestCounts.Succeeded;
        Assert.InRange(succeeded, 1, 5);
        Assert.Equal((6 - succeeded, 0L, 0L), (batch.RequestCounts.Errored, batch.RequestCounts.Canceled, batch.RequestCounts.Processing));
        using var http = Live.Http(reader);
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        var results = Lines(BinaryData.FromString(await http.GetStringAsync($"/v1/messages/batches/{created.ID}/results").WithTimeout()));
        var errored = results.Select(r => r.GetProperty("result")).Where(r => r.GetProperty("type").GetString() == "errored").ToList();
        Assert.Equal(6 - succeeded, errored.Count);
        foreach (var result in errored)
        {
            var error = result.GetProperty("error").GetProperty("error");
            Assert.Equal("permission_error", error.GetProperty("type").GetString());
            Assert.Contains("suspended", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        var rows = (await Live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Where(r => r.TenantId == "batch-suspended").ToList();
        Assert.DoesNotContain(rows, r => r.ErrorCode == Corridor.Gateway.Monitoring.Enforcement.SuspendedCode);
        Assert.Equal(succeeded, rows.Count(r => r.Billable));
    }

    [Fact]
    public async Task ABatch_WaitingOnItsShareOfTheKeysRateLimit_LeavesTheKeysLiveRequestsServed()
    {
        const int Rpm = 12;
        // Half the rate: with the upload and the creation in the window too, some of them wait for room, about 5 s each.
        const int Requests = Rpm / 2;
        var secret = await Live.AddTenantWithKeyAsync("batch-share", "SG").WithTimeout();
        var input = await UploadAsync(secret, JsonLines(Enumerable.Range(1, Requests).Select(i => ChatLine($"q-{i}", "gpt-4.1", $"Question {i}")).ToArray()));
        var keys = (Corridor.Gateway.Authentication.KeyCache)Live.Gateway.Services.GetService(typeof(Corridor.Gateway.Authentication.KeyCache))!;
        Assert.Equal(Corridor.Gateway.Authentication.AuthenticationResult.Authenticated, keys.Authenticate(secret, out var key));
        using (var admin = fixture.Admin())
        {
            using var set = await admin.PatchAsJsonAsync($"/admin/keys/{key!.Key.Id}/limits", new { rpm = Rpm }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        // The creation is one live request of the minute; the batch's requests (batches.limitShare, 0.5 by default) take the
        // window to half of it and then wait. Without the share they would take it all, and the live request below get a 429.
        var batchId = (await CreateOpenAIBatchAsync(secret, input.Id)).GetProperty("id").GetString()!;
        await Live.LedgerRowAsync(r => r.TenantId == "batch-share" && r.Outcome == RequestOutcome.RateLimited).WithTimeout();
        using var http = Live.Http(secret);
        using var live = await http.PostAsJsonAsync("/v1/chat/completions",
            new { model = "gpt-4.1", max_tokens = 20, messages = new[] { new { role = "user", content = "Is my chat app still served?" } } }).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        // The batch still ends whole, each of its requests run once its share of the window had room.
        var ended = await WaitForOpenAIBatchAsync(Live, secret, batchId, TestTimeouts.Bulk);
        var counts = ended.GetProperty("request_counts");
        Assert.Equal(("completed", Requests, 0), (ended.GetProperty("status").GetString(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("failed").GetInt32()));
        var rows = (await Live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Where(r => r.TenantId == "batch-share").ToList();
        Assert.All(rows.Where(r => r.Outcome == RequestOutcome.RateLimited), r => Assert.Equal(batchId, r.BatchId));
        Assert.Equal(Requests + 1, rows.Count(r => r.Billable));
    }

    [Fact]
    public async Task ABatchInProgress_WhenTheGatewayRestarts_IsTakenUpAgain_AndEndsWithEveryRequestBilledOnce()
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator) + "\nbatches:\n  concurrency: 1\n").WithTimeout();
        var secret = await live.AddTenantWithKeyAsync("batch-restart", "SG").WithTimeout();
        var input = (await live.OpenAI(secret).GetOpenAIFileClient().UploadFileAsync(
            BinaryData.FromString(JsonLines(Enumerable.Range(1, 5).Select(i => ChatLine($"q-{i}", "gpt-4.1", $"Question {i}")).ToArray())),
            "requests.jsonl", FileUploadPurpose.Batch).WithTimeout()).Value;
        await live.Store.SetLimitsAsync(new Storage.SubjectLimits(Core.Admission.LimitScope.Tenant, "batch-restart", new Core.Admission.Limits { RequestsPerMinute = 3 }), [],
            CancellationToken.None).WithTimeout();
        await WaitForLimitAsync(live, secret).WithTimeout();
        var content = BinaryContent.Create(BinaryData.FromObjectAsJson(new { input_file_id = input.Id, endpoint = "/v1/chat/completions", completion_window = "24h" }));
        var batchId = JsonDocument.Parse((await live.OpenAI(secret).GetBatchClient().CreateBatchAsync(content, waitUntilCompleted: false).WithTimeout())
            .GetRawResponse().Content).RootElement.GetProperty("id").GetString()!;
        await live.LedgerRowAsync(r => r.TenantId == "batch-restart" && r.Outcome == RequestOutcome.RateLimited).WithTimeout();

        // The limit is lifted while the gateway is down; the restarted gateway takes the batch up at once (the stopping one
        // gave its claim up) and runs what was left.
        await live.Store.SetLimitsAsync(new Storage.SubjectLimits(Core.Admission.LimitScope.Tenant, "batch-restart", Core.Admission.Limits.None), [],
            CancellationToken.None).WithTimeout();
        await live.RestartGatewayAsync().WithTimeout();
        var ended = await WaitForOpenAIBatchAsync(live, secret, batchId);

        Assert.Equal(("completed", 5), (ended.GetProperty("status").GetString(), ended.GetProperty("request_counts").GetProperty("completed").GetInt32()));
        var output = Lines((await live.OpenAI(secret).GetOpenAIFileClient().DownloadFileAsync(ended.GetProperty("output_file_id").GetString()!).WithTimeout()).Value);
        Assert.Equal(["q-1", "q-2", "q-3", "q-4", "q-5"], output.Select(l => l.GetProperty("custom_id").GetString()));
        var billed = (await live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync())
            .Where(r => r.TenantId == "batch-restart" && r.Billable).Select(r => r.RequestId).ToList();
        Assert.Equal(output.Select(l => l.GetProperty("response").GetProperty("request_id").GetString()).Order(), billed.Order());
    }

    [Fact]
    public async Task ATenantsBatchWaitingOnItsRateLimit_DoesNotHoldAnotherTenantsBatchBack()
    {
        var slow = await Live.AddTenantWithKeyAsync("batch-held", "SG").WithTimeout();
        var slowInput = await UploadAsync(slow, JsonLines(Enumerable.Range(1, 5).Select(i => ChatLine($"q-{i}", "gpt-4.1", $"Question {i}")).ToArray()));
        using (var admin = fixture.Admin())
        {
            using var set = await admin.PatchAsJsonAsync("/admin/tenants/batch-held/limits", new { rpm = 2 }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }
        var held = (await CreateOpenAIBatchAsync(slow, slowInput.Id)).GetProperty("id").GetString()!;
        await Live.LedgerRowAsync(r => r.TenantId == "batch-held" && r.Outcome == RequestOutcome.RateLimited).WithTimeout();

        // The first batch waits out its minute; the other tenant's, made after it, runs meanwhile.
        var other = await Live.AddTenantWithKeyAsync("batch-not-held", "SG").WithTimeout();
        var input = await UploadAsync(other, JsonLines(ChatLine("q-1", "gpt-4.1", "Hi"), ChatLine("q-2", "gpt-4.1", "Hello")));
        var ended = await WaitForOpenAIBatchAsync(other, (await CreateOpenAIBatchAsync(other, input.Id)).GetProperty("id").GetString()!);

        Assert.Equal(("completed", 2), (ended.GetProperty("status").GetString(), ended.GetProperty("request_counts").GetProperty("completed").GetInt32()));
        using var http = Live.Http(slow);
        Assert.Equal("in_progress", (await http.GetFromJsonAsync<JsonElement>($"/v1/batches/{held}").WithTimeout()).GetProperty("status").GetString());
        await http.PostAsync($"/v1/batches/{held}/cancel", null).WithTimeout();
    }

    [Fact]
    public async Task ARequestRunAgainAfterACrash_HasTheCrashedRunsIdAndTime_SoItsLedgerRowIsNotWrittenTwice()
    {
        var secret = await Live.AddTenantWithKeyAsync("batch-crash", "SG").WithTimeout();
        var key = (await Live.Store.ListKeysAsync("batch-crash", CancellationToken.None).WithTimeout()).Single();
        var now = DateTimeOffset.UtcNow;
        var batch = new Core.Batches.BatchJob(Corridor.Gateway.Pipeline.RequestPipeline.NewId("batch_", now), Core.Batches.BatchApi.OpenAI, "batch-crash", key.Id,
            "/v1/chat/completions", Core.Batches.BatchStates.InProgress, now, now.AddHours(24)) { CompletionWindow = "24h" };
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4.1","max_tokens":20,"messages":[{"role":"user","content":"Hello"}]}""");
        // What a crash leaves: the request stored as started (attempt 0, at a time) and its run's row already in the ledger,
        // but no result, because the gateway died between the two.
        var startedAt = DateTimeOffset.FromUnixTimeMilliseconds(now.AddSeconds(-30).ToUnixTimeMilliseconds());
        var requestId = Corridor.Gateway.Batches.BatchRunner.RequestIdOf(batch.Id, 0, 0);
        await Live.Store.AppendLedgerAsync([new LedgerEntry(requestId, startedAt, "batch-crash", key.Id, "gpt-4.1", "/v1/chat/completions", "gpt-4.1-sg", "sg",
            200, RequestOutcome.Success, 9, 20, 0.000178m, false, 300, true) { Revenue = 0.000178m }], CancellationToken.None).WithTimeout();
        await Live.Store.AddBatchAsync(batch, [new Core.Batches.BatchItem(0, "q-1", body)], CancellationToken.None).WithTimeout();
        await Live.Store.SaveBatchItemAsync(batch.Id, new Core.Batches.BatchItem(0, "q-1", body) { StartedAt = startedAt }, CancellationToken.None).WithTimeout();

        var ended = await WaitForOpenAIBatchAsync(secret, batch.Id);

        Assert.Equal(("completed", 1), (ended.GetProperty("status").GetString(), ended.GetProperty("request_counts").GetProperty("completed").GetInt32()));
        var output = Assert.Single(Lines((await Live.OpenAI(secret).GetOpenAIFileClient().DownloadFileAsync(ended.GetProperty("output_file_id").GetString()!).WithTimeout()).Value));
        Assert.Equal(requestId, output.GetProperty("response").GetProperty("request_id").GetString());
        // The run's row was made durable before its answer was released, so before its result was stored: it is in by now.
        var rows = (await Live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync()).Where(r => r.TenantId == "batch-crash").ToList();
        var row = Assert.Single(rows);
        Assert.Equal((requestId, 0.000178m), (row.RequestId, row.Cost));
    }

    [Fact]
    public async Task APolicyThatDeniesBatches_RefusesTheBatchWhenItIsMade_AndLeavesLiveRequestsAndOtherModelsAlone()
    {
        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator) + """

            policy:
              version: "batches-1"
              rules:
                - id: openai-live-only
                  match: { models: [gpt-4.1] }
                  allow_jurisdictions: ["*"]
                  features: { batch: deny }
                - id: anthropic
                  match: { vendors: [anthropic] }
                  allow_jurisdictions: ["*"]
            """).WithTimeout();
        var secret = await live.AddTenantWithKeyAsync("batch-policy", "SG").WithTimeout();

        // Live, gpt-4.1 is served.
        var answer = await live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync([new OpenAI.Chat.UserChatMessage("Hi")]).WithTimeout();
        Assert.NotEmpty(answer.Value.Content);

        // As a batch, it is refused when the batch is made, in each dialect, naming the rule.
        var input = (await live.OpenAI(secret).GetOpenAIFileClient().UploadFileAsync(
            BinaryData.FromString(JsonLines(ChatLine("q-1", "gpt-4.1", "Hi"))), "requests.jsonl", FileUploadPurpose.Batch).WithTimeout()).Value;
        var content = BinaryContent.Create(BinaryData.FromObjectAsJson(new { input_file_id = input.Id, endpoint = "/v1/chat/completions", completion_window = "24h" }));
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => live.OpenAI(secret).GetBatchClient().CreateBatchAsync(content, waitUntilCompleted: false)).WithTimeout();
        Assert.Equal(403, refused.Status);
        Assert.Contains("feature_restricted by openai-live-only", refused.Message, StringComparison.Ordinal);
        static Request Ask(string id, string model) => new()
        {
            CustomID = id,
            Params = new Params { Model = model, MaxTokens = 20, Messages = [new UserMessageParam { Content = "Hi" }] },
        };
        var anthropicRefused = await Assert.ThrowsAsync<Anthropic.Exceptions.AnthropicForbiddenException>(() =>
            live.Anthropic(secret).Messages.Batches.Create(new BatchCreateParams { Requests = [Ask("a", "claude-sonnet-4"), Ask("b", "gpt-4.1")] })).WithTimeout();
        Assert.Contains("permission_error", anthropicRefused.Message, StringComparison.Ordinal);

        // A batch of a model the policy lets batch is made and run.
        var allowed = await live.Anthropic(secret).Messages.Batches.Create(new BatchCreateParams { Requests = [Ask("a", "claude-sonnet-4")] }).WithTimeout();
        var batch = allowed;
        while (batch.ProcessingStatus.Raw() != "ended")
        {
            await Task.Delay(100);
            batch = await live.Anthropic(secret).Messages.Batches.Retrieve(allowed.ID).WithTimeout();
        }
        Assert.Equal(1L, batch.RequestCounts.Succeeded);
    }

    /// <summary>Waits until the gateway's key cache holds the tenant's limit just stored (it reloads when the store's revision moves).</summary>
    private static async Task WaitForLimitAsync(LiveGateway live, string secret)
    {
        var keys = (Corridor.Gateway.Authentication.KeyCache)live.Gateway.Services.GetService(typeof(Corridor.Gateway.Authentication.KeyCache))!;
        while (keys.Authenticate(secret, out var key) != Corridor.Gateway.Authentication.AuthenticationResult.Authenticated || key!.TenantLimits.RequestsPerMinute != 3)
        {
            await Task.Delay(20);
        }
    }
}

/// <summary>Batch metadata OpenAI refuses: more than 16 pairs, a key over 64 characters, a value over 512, or not all strings.</summary>
public static class BatchMetadata
{
    public static TheoryData<string, string> Bad => new()
    {
        { "17 pairs", JsonSerializer.Serialize(Enumerable.Range(0, 17).ToDictionary(i => $"k{i}", i => "v")) },
        { "a key of 65 characters", JsonSerializer.Serialize(new Dictionary<string, string> { [new string('k', 65)] = "v" }) },
        { "a value of 513 characters", JsonSerializer.Serialize(new Dictionary<string, string> { ["k"] = new string('v', 513) }) },
        { "a number", """{"k":1}""" },
        { "a null value", """{"k":null}""" },
        { "an array", """["k"]""" },
        { "a string", "\"k\"" },
    };
}

/// <summary>Uploads <c>POST /v1/files</c> must refuse, with the status and the parameter or code the refusal names.</summary>
public static class BatchUploads
{
    public static TheoryData<string, Func<HttpContent>, int, string> Bad => new()
    {
        { "a form without its file", () => new MultipartFormDataContent { { new StringContent("batch"), "purpose" } }, 400, "file" },
        { "a purpose other than batch", () => new MultipartFormDataContent { { new StringContent("fine-tune"), "purpose" }, { new ByteArrayContent("{}"u8.ToArray()), "file", "a.jsonl" } }, 400, "purpose" },
        { "a form that is not multipart", () => new FormUrlEncodedContent(new Dictionary<string, string> { ["purpose"] = "batch" }), 400, "file" },
        { "a multipart body without its parts", () => Multipart("no parts at all", "multipart/form-data; boundary=xyz"), 400, "file" },
        { "a multipart body cut short", () => Multipart("--xyz\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbat", "multipart/form-data; boundary=xyz"), 400, "file" },
        { "a multipart type without a boundary", () => Multipart("--xyz--", "multipart/form-data"), 400, "file" },
        {
            "a file over batches.maxFileBytes", () => new MultipartFormDataContent
            {
                { new StringContent("batch"), "purpose" }, { new ByteArrayContent(new byte[BatchGatewayFixture.MaxFileBytes + 1]), "file", "big.jsonl" },
            },
            413, "request_too_large"
        },
    };

    private static ByteArrayContent Multipart(string body, string contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        return content;
    }
}
