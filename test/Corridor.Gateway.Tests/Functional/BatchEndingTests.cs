using System.ClientModel;
using System.Net;
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

#pragma warning disable OPENAI001 // the SDK marks its Batch client experimental

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

/// <summary>
/// <see cref="OneWorkerBatchGatewayFixture"/> on a fake clock that starts now, so a key's expiry comes when a test moves the
/// clock (the held batch's rate limit waits for the clock too, so it holds the worker the longer). The store's grace is
/// years, as <see cref="LiveGateway.StartOnFakeClockAsync"/> sets it: a clock moved by an hour is not a store away that long.
/// </summary>
public sealed class FakeClockOneWorkerBatchGatewayFixture : OneWorkerBatchGatewayFixture
{
    public FakeClock Clock { get; } = new(DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

    protected override TimeProvider Time => Clock;

    protected override string Yaml(Uri simulator, string tokenEnv) => base.Yaml(simulator, tokenEnv) + "\nstorage:\n  unavailableGraceSeconds: 315360000\n";
}

public sealed class BatchEndingTests(OneWorkerBatchGatewayFixture fixture)
    : BatchEndingContract<OneWorkerBatchGatewayFixture>(fixture), IClassFixture<OneWorkerBatchGatewayFixture>;

[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresBatchEndingTests(PostgresOneWorkerBatchGatewayFixture fixture)
    : BatchEndingContract<PostgresOneWorkerBatchGatewayFixture>(fixture), IClassFixture<PostgresOneWorkerBatchGatewayFixture>;

/// <summary>
/// A batch cancelled, past its completion window, or whose key is revoked, expired or suspended (or its tenant suspended)
/// ends without a worker to claim it (docs/batches.md, "How a batch runs"): every gateway's runner sweeps such batches that
/// no live worker holds, so its owner is never left with a batch that says <c>cancelling</c> or <c>in_progress</c> for as
/// long as other batches keep the workers busy.
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

    [Fact]
    public async Task AnOpenAIBatchWhoseKeyIsRevoked_ThatNoWorkerHolds_FailsAtOnce_NamingTheRevocation_WithNothingRun()
    {
        await fixture.HoldTheWorkerAsync().WithTimeout();
        var (keyId, secret, reader) = await FailedBatches.TenantWithTwoKeysAsync(Live, "batch-key-revoked-unclaimed");
        var id = await FailedBatches.CreateOpenAIBatchAsync(Live, secret, 3);

        using (var admin = fixture.Admin())
        {
            using var revoked = await admin.PostAsync($"/admin/keys/{keyId}/revoke", null).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        using var http = Live.Http(reader);
        await FailedBatches.AssertFailedAsync(Live, reader, await OpenAIBatchOnceAsync(http, id, "failed"), 3, "invalid_api_key", "This API key has been revoked.");
        await AssertNothingRunAsync("batch-key-revoked-unclaimed");
    }

    [Fact]
    public async Task AMessageBatchWhoseKeyIsSuspended_ThatNoWorkerHolds_EndsAtOnce_EveryRequestErroredWithTheSuspension()
    {
        await fixture.HoldTheWorkerAsync().WithTimeout();
        var (keyId, secret, reader) = await FailedBatches.TenantWithTwoKeysAsync(Live, "batch-suspended-unclaimed");
        var created = await Live.Anthropic(secret).Messages.Batches.Create(Asks(2)).WithTimeout();

        using (var admin = fixture.Admin())
        {
            using var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "suspend", note = "harvest confirmed" }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }

        var ended = await MessageBatchOnceEndedAsync(reader, created.ID);
        Assert.NotNull(ended.EndedAt);
        Assert.Equal((2L, 0L, 0L, 0L), (ended.RequestCounts.Errored, ended.RequestCounts.Processing, ended.RequestCounts.Succeeded, ended.RequestCounts.Canceled));
        var results = await Live.Anthropic(reader).Messages.Batches.ResultsStreaming(created.ID).ToListWithTimeoutAsync();
        Assert.Equal(["a-1", "a-2"], results.Select(r => r.CustomID));
        foreach (var result in results)
        {
            Assert.True(result.Result.TryPickErrored(out var errored));
            Assert.True(errored.Error.Error.TryPickPermissionError(out var permission));
            Assert.Contains("suspended", permission.Message, StringComparison.Ordinal);
        }
        await AssertNothingRunAsync("batch-suspended-unclaimed");
    }

    [Fact]
    public async Task ABatchWhoseTenantIsSuspended_ThatNoWorkerHolds_EndsAtOnce_AndStaysEndedWhenTheSuspensionIsLifted()
    {
        await fixture.HoldTheWorkerAsync().WithTimeout();
        const string Tenant = "batch-tenant-suspended-unclaimed";
        var secret = await Live.AddTenantWithKeyAsync(Tenant, "SG").WithTimeout();
        var openai = await FailedBatches.CreateOpenAIBatchAsync(Live, secret, 2);
        var anthropic = (await Live.Anthropic(secret).Messages.Batches.Create(Asks(2)).WithTimeout()).ID;

        using var admin = fixture.Admin();
        using (var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"tenant:{Tenant}", level = "suspend" }).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }
        // Its keys are refused while it is suspended, so the store is read meanwhile.
        await TestTimeouts.UntilAsync(async () =>
            (await Live.Store.GetBatchAsync(Tenant, openai, CancellationToken.None))!.IsEnded && (await Live.Store.GetBatchAsync(Tenant, anthropic, CancellationToken.None))!.IsEnded);
        using (var unpinned = await admin.PostAsJsonAsync("/admin/enforcement/unpin", new { subject = $"tenant:{Tenant}" }).WithTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, unpinned.StatusCode);
        }

        using var http = Live.Http(secret);
        await FailedBatches.AssertFailedAsync(Live, secret, await OpenAIBatchOnceAsync(http, openai, "failed"), 2, "account_suspended", Corridor.Gateway.Monitoring.Enforcement.Suspended.Message);
        var ended = await MessageBatchOnceEndedAsync(secret, anthropic);
        Assert.Equal((2L, 0L), (ended.RequestCounts.Errored, ended.RequestCounts.Succeeded));
        await AssertNothingRunAsync(Tenant);
    }
}

/// <summary>What an OpenAI batch that could not run looks like (docs/batches.md, "Key revoked or suspended").</summary>
internal static class FailedBatches
{
    /// <summary>A tenant with two keys: the one its batches run as (its id and secret), and another to read them with.</summary>
    public static async Task<(string KeyId, string Secret, string Reader)> TenantWithTwoKeysAsync(LiveGateway live, string tenant)
    {
        var secret = await live.AddTenantWithKeyAsync(tenant, "SG").WithTimeout();
        var keyId = (await live.Store.ListKeysAsync(tenant, CancellationToken.None).WithTimeout()).Single().Id;
        return (keyId, secret, await live.AddTenantWithKeyAsync(tenant, "SG").WithTimeout());
    }

    /// <summary>An OpenAI batch of <paramref name="count"/> requests made with the official SDK, as <paramref name="secret"/>'s; its id.</summary>
    public static async Task<string> CreateOpenAIBatchAsync(LiveGateway live, string secret, int count)
    {
        var input = (await live.OpenAI(secret).GetOpenAIFileClient().UploadFileAsync(BinaryData.FromString(OneWorkerBatchGatewayFixture.ChatLines(count)), "requests.jsonl",
            FileUploadPurpose.Batch).WithTimeout()).Value;
        var content = BinaryContent.Create(BinaryData.FromObjectAsJson(new { input_file_id = input.Id, endpoint = "/v1/chat/completions", completion_window = "24h" }));
        var operation = await live.OpenAI(secret).GetBatchClient().CreateBatchAsync(content, waitUntilCompleted: false).WithTimeout();
        return JsonDocument.Parse(operation.GetRawResponse().Content).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>
    /// As OpenAI fails a batch that cannot run: <c>failed</c> at a time, its one error (code and message, no param or line)
    /// in the batch's <c>errors</c> list, no output or error file, every request counted failed; and the SDK's operation
    /// sees it ended.
    /// </summary>
    public static async Task AssertFailedAsync(LiveGateway live, string reader, JsonElement failed, int requests, string code, string message)
    {
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Equal("list", failed.GetProperty("errors").GetProperty("object").GetString());
        var error = Assert.Single(failed.GetProperty("errors").GetProperty("data").EnumerateArray());
        Assert.Equal((code, message, JsonValueKind.Null, JsonValueKind.Null),
            (error.GetProperty("code").GetString(), error.GetProperty("message").GetString(), error.GetProperty("param").ValueKind, error.GetProperty("line").ValueKind));
        Assert.NotEqual(JsonValueKind.Null, failed.GetProperty("failed_at").ValueKind);
        Assert.Equal((JsonValueKind.Null, JsonValueKind.Null, JsonValueKind.Null, JsonValueKind.Null),
            (failed.GetProperty("completed_at").ValueKind, failed.GetProperty("finalizing_at").ValueKind, failed.GetProperty("output_file_id").ValueKind,
                failed.GetProperty("error_file_id").ValueKind));
        var counts = failed.GetProperty("request_counts");
        Assert.Equal((requests, 0, requests), (counts.GetProperty("total").GetInt32(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("failed").GetInt32()));
        var operation = await global::OpenAI.Batch.CreateBatchOperation.RehydrateAsync(live.OpenAI(reader).GetBatchClient(), failed.GetProperty("id").GetString()!).WithTimeout();
        Assert.True(operation.HasCompleted);
    }
}

/// <summary>A batch whose key expires while every worker is busy fails at once, on the gateway's (fake) clock.</summary>
public sealed class BatchKeyExpiryTests(FakeClockOneWorkerBatchGatewayFixture fixture) : IClassFixture<FakeClockOneWorkerBatchGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task AnOpenAIBatchWhoseKeyExpires_ThatNoWorkerHolds_FailsAtOnce_NamingTheExpiry_WithNothingRun()
    {
        await fixture.HoldTheWorkerAsync().WithTimeout();
        const string Tenant = "batch-key-expires-unclaimed";
        var secret = await Live.AddTenantWithKeyAsync(Tenant, "SG", keyExpiresAt: fixture.Clock.GetUtcNow().AddMinutes(2)).WithTimeout();
        var reader = await Live.AddTenantWithKeyAsync(Tenant, "SG").WithTimeout();
        var id = await FailedBatches.CreateOpenAIBatchAsync(Live, secret, 2);

        // Minutes, not hours: the held batch's requests run a minute apart on this clock, and it must go on holding the worker.
        fixture.Clock.Advance(TimeSpan.FromMinutes(2));

        using var http = Live.Http(reader);
        JsonElement batch = default;
        // The runner's sweep waits its poll on this clock: one that was running when the clock moved (the batch's creation
        // wakes it) waits from the time after the move, so the clock goes on a poll at a time while the test waits, never
        // by more than 40 s in all (the held batch's next request is a minute away).
        var polls = 0;
        await TestTimeouts.UntilAsync(async () =>
        {
            if (++polls % 10 == 0 && polls <= 200)
            {
                fixture.Clock.Advance(Corridor.Gateway.Batches.BatchRunner.IdlePoll);
            }
            return (batch = await http.GetFromJsonAsync<JsonElement>($"/v1/batches/{id}")).GetProperty("status").GetString() != "in_progress";
        });
        await FailedBatches.AssertFailedAsync(Live, reader, batch, 2, "invalid_api_key", "This API key has expired.");
        // Ended by the sweep: the only worker still runs the batch that holds it.
        var held = Assert.Single((await Live.Store.ListBatchesAsync("batch-holds-the-worker", BatchApi.OpenAI, null, null, 10, CancellationToken.None).WithTimeout())!);
        Assert.Equal(BatchStates.InProgress, held.State);
        await Live.Gateway.FlushLedgerAsync(CancellationToken.None).WithTimeout();
        Assert.DoesNotContain(await Live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync(), r => r.TenantId == Tenant);
    }
}

/// <summary>
/// A batch that no worker holds ends as soon as the gateway learns that its key was revoked or suspended (docs/batches.md,
/// "Neither waits for a worker"): what the key cache or the monitor learns wakes the sweep. The fake clock moves no further
/// than a reload of the key cache or of the pins needs, never as far as the sweep's own poll
/// (<see cref="Corridor.Gateway.Batches.BatchRunner.IdlePoll"/>), so only that wake can end the batch. SQLite only:
/// with PostgreSQL a request under a rate limit waits for the fleet's allowance on the gateway's clock (Admitter), so on a
/// clock that does not move the batch that holds the worker is never made.
/// </summary>
public sealed class BatchSweepWakeTests(FakeClockOneWorkerBatchGatewayFixture fixture) : IClassFixture<FakeClockOneWorkerBatchGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    /// <summary>The OpenAI batch, read with <paramref name="reader"/>, once it is no longer in progress.</summary>
    private async Task<JsonElement> EndedAsync(string reader, string id)
    {
        using var http = Live.Http(reader);
        JsonElement batch = default;
        await TestTimeouts.UntilAsync(async () => (batch = await http.GetFromJsonAsync<JsonElement>($"/v1/batches/{id}")).GetProperty("status").GetString() != "in_progress");
        return batch;
    }

    /// <summary>What a test then checks: nothing of the tenant was run, and the only worker still runs the batch that holds it.</summary>
    private async Task AssertEndedBySweepAsync(string tenant)
    {
        var held = Assert.Single((await Live.Store.ListBatchesAsync("batch-holds-the-worker", BatchApi.OpenAI, null, null, 10, CancellationToken.None).WithTimeout())!);
        Assert.Equal(BatchStates.InProgress, held.State);
        await Live.Gateway.FlushLedgerAsync(CancellationToken.None).WithTimeout();
        Assert.DoesNotContain(await Live.Store.ReadLedgerAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync(), r => r.TenantId == tenant);
    }

    [Fact]
    public async Task ABatchWhoseKeyIsRevokedThroughTheAdminApi_Fails_WithoutWaitingForTheSweepsPoll()
    {
        await fixture.HoldTheWorkerAsync().WithTimeout();
        const string Tenant = "wake-revoked";
        var (keyId, secret, reader) = await FailedBatches.TenantWithTwoKeysAsync(Live, Tenant);
        var id = await FailedBatches.CreateOpenAIBatchAsync(Live, secret, 2);

        using (var admin = fixture.Admin())
        {
            using var revoked = await admin.PostAsync($"/admin/keys/{keyId}/revoke", null).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        await FailedBatches.AssertFailedAsync(Live, reader, await EndedAsync(reader, id), 2, "invalid_api_key", "This API key has been revoked.");
        await AssertEndedBySweepAsync(Tenant);
    }

    [Fact]
    public async Task ABatchWhoseKeyIsSuspendedThroughTheAdminApi_Fails_WithoutWaitingForTheSweepsPoll()
    {
        await fixture.HoldTheWorkerAsync().WithTimeout();
        const string Tenant = "wake-suspended";
        var (keyId, secret, reader) = await FailedBatches.TenantWithTwoKeysAsync(Live, Tenant);
        var id = await FailedBatches.CreateOpenAIBatchAsync(Live, secret, 2);

        using (var admin = fixture.Admin())
        {
            using var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = $"key:{keyId}", level = "suspend" }).WithTimeout();
            Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
        }

        await FailedBatches.AssertFailedAsync(Live, reader, await EndedAsync(reader, id), 2, "account_suspended", Corridor.Gateway.Monitoring.Enforcement.Suspended.Message);
        await AssertEndedBySweepAsync(Tenant);
    }

    /// <summary>
    /// A revocation and a suspension made outside this gateway (the command line, another replica: in the store) end the batch
    /// once the key cache and the monitor have read them (with SQLite at their next poll of the store, for which the clock
    /// moves on <see cref="Corridor.Gateway.Authentication.StoreSync.RefreshInterval"/>, a quarter of the sweep's poll).
    /// </summary>
    [Fact]
    public async Task BatchesWhoseKeysAreRevokedOrSuspendedInTheStore_Fail_OnceThisGatewayReadsIt_WithoutWaitingForTheSweepsPoll()
    {
        Assert.True(Corridor.Gateway.Authentication.StoreSync.RefreshInterval < Corridor.Gateway.Batches.BatchRunner.IdlePoll);
        await fixture.HoldTheWorkerAsync().WithTimeout();
        const string Revoked = "wake-revoked-elsewhere", Suspended = "wake-suspended-elsewhere";
        var (revokedKey, revokedSecret, revokedReader) = await FailedBatches.TenantWithTwoKeysAsync(Live, Revoked);
        var (suspendedKey, suspendedSecret, suspendedReader) = await FailedBatches.TenantWithTwoKeysAsync(Live, Suspended);
        var revokedBatch = await FailedBatches.CreateOpenAIBatchAsync(Live, revokedSecret, 2);
        var suspendedBatch = await FailedBatches.CreateOpenAIBatchAsync(Live, suspendedSecret, 2);

        var now = fixture.Clock.GetUtcNow();
        Assert.True(await Live.Store.RevokeKeyAsync(revokedKey, now, CancellationToken.None).WithTimeout());
        await Live.Store.SetEnforcementAsync(new Corridor.Storage.Monitoring.EnforcementUpdate($"key:{suspendedKey}", Suspended, Pin: true, "suspend", now, "cli", null), [],
            CancellationToken.None).WithTimeout();
        fixture.Clock.Advance(Corridor.Gateway.Authentication.StoreSync.RefreshInterval);

        await FailedBatches.AssertFailedAsync(Live, revokedReader, await EndedAsync(revokedReader, revokedBatch), 2, "invalid_api_key", "This API key has been revoked.");
        await FailedBatches.AssertFailedAsync(Live, suspendedReader, await EndedAsync(suspendedReader, suspendedBatch), 2, "account_suspended",
            Corridor.Gateway.Monitoring.Enforcement.Suspended.Message);
        await AssertEndedBySweepAsync(Revoked);
        await AssertEndedBySweepAsync(Suspended);
    }
}
