using System.Text;
using Corridor.Core.Batches;
using Corridor.Core.Metering;
using Corridor.Core.Reports;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Contract;

/// <summary>Batches, their requests and files, for every store (see <see cref="StoreContractTests"/>).</summary>
public abstract class BatchStoreContractTests : StoreContract
{
    private static readonly DateTimeOffset T0 = LedgerSamples.Start;
    private static readonly CancellationToken None = CancellationToken.None;

    private static StoredFile File(string id, string tenant, string text, int second = 0) =>
        new(id, tenant, "batch", $"{id}.jsonl", Encoding.UTF8.GetByteCount(text), T0.AddSeconds(second)) { Content = Encoding.UTF8.GetBytes(text) };

    private static BatchJob Batch(string id, string tenant = "acme", BatchApi api = BatchApi.OpenAI, int second = 0) =>
        new(id, api, tenant, "key_1", "/v1/chat/completions", BatchStates.InProgress, T0.AddSeconds(second), T0.AddHours(24))
        {
            InputFileId = "file-1",
            CompletionWindow = "24h",
            Model = "gpt-4.1",
            Metadata = """{"job":"nightly"}""",
            UserAgent = "OpenAI/.NET",
            ClientIp = "203.0.113.7",
            Betas = "context-management-2025-06-27,interleaved-thinking-2025-05-14",
            OutputExpiresAfter = TimeSpan.FromDays(30),
            ArchivesAt = T0.AddDays(29),
        };

    private static BatchItem[] Items(int count) =>
        Enumerable.Range(0, count).Select(i => new BatchItem(i, $"req-{i}", Encoding.UTF8.GetBytes($$"""{"n":{{i}}}"""))).ToArray();

    [Fact]
    public async Task AFile_IsReadWithItsContent_OnlyByItsTenant_AndDeletedOnce()
    {
        await Store.AddFileAsync(File("file-1", "acme", "{\"a\":1}\n"), None).WithTimeout();
        await Store.AddFileAsync(File("file-2", "acme", "{}\n", second: 1), None).WithTimeout();

        var read = await Store.GetFileAsync("acme", "file-1", withContent: true, T0, None).WithTimeout();
        Assert.Equal("{\"a\":1}\n", Encoding.UTF8.GetString(read!.Content!));
        Assert.Equal(File("file-1", "acme", "{\"a\":1}\n") with { Content = null }, (await Store.GetFileAsync("acme", "file-1", withContent: false, T0, None).WithTimeout())!);
        Assert.Null(await Store.GetFileAsync("other", "file-1", withContent: true, T0, None).WithTimeout());
        Assert.Equal(["file-2", "file-1"], (await Store.ListFilesAsync("acme", null, null, false, 10, T0, None).WithTimeout())!.Select(f => f.Id));
        Assert.Empty((await Store.ListFilesAsync("other", null, null, false, 10, T0, None).WithTimeout())!);

        Assert.False(await Store.DeleteFileAsync("other", "file-1", T0, None).WithTimeout());
        Assert.True(await Store.DeleteFileAsync("acme", "file-1", T0, None).WithTimeout());
        Assert.False(await Store.DeleteFileAsync("acme", "file-1", T0, None).WithTimeout());
        Assert.Null(await Store.GetFileAsync("acme", "file-1", withContent: false, T0, None).WithTimeout());
    }

    [Fact]
    public async Task Files_AreListedInEitherOrder_OfAPurpose_PagedPastAFileOfTheTenant()
    {
        await Store.AddFileAsync(File("file-a", "acme", "{}\n", second: 1), None).WithTimeout();
        await Store.AddFileAsync(File("file-b", "acme", "{}\n", second: 2) with { Purpose = "batch_output" }, None).WithTimeout();
        await Store.AddFileAsync(File("file-c", "acme", "{}\n", second: 3), None).WithTimeout();
        // Made at the same moment as file-c: the two are in the order of their ids.
        await Store.AddFileAsync(File("file-d", "acme", "{}\n", second: 3), None).WithTimeout();
        await Store.AddFileAsync(File("file-e", "other", "{}\n", second: 4), None).WithTimeout();

        async Task<IEnumerable<string>?> ListAsync(string? purpose, string? after, bool ascending, int limit = 20) =>
            (await Store.ListFilesAsync("acme", purpose, after, ascending, limit, T0, None).WithTimeout())?.Select(f => f.Id);

        Assert.Equal(["file-d", "file-c", "file-b", "file-a"], await ListAsync(null, null, ascending: false));
        Assert.Equal(["file-a", "file-b", "file-c", "file-d"], await ListAsync(null, null, ascending: true));
        Assert.Equal(["file-d", "file-c"], await ListAsync(null, null, ascending: false, limit: 2));
        Assert.Equal(["file-d", "file-c", "file-a"], await ListAsync("batch", null, ascending: false));
        Assert.Equal(["file-b"], await ListAsync("batch_output", null, ascending: true));
        Assert.Empty((await ListAsync("fine-tune", null, ascending: true))!);
        // Past a file in the order asked for, the file itself not included, the tie at its moment broken by id.
        Assert.Equal(["file-c", "file-b", "file-a"], await ListAsync(null, "file-d", ascending: false));
        Assert.Equal(["file-b"], await ListAsync(null, "file-c", ascending: false, limit: 1));
        Assert.Equal(["file-d"], await ListAsync(null, "file-c", ascending: true));
        Assert.Empty((await ListAsync(null, "file-d", ascending: true))!);
        // The cursor may be a file of another purpose than the page's.
        Assert.Equal(["file-a"], await ListAsync("batch", "file-b", ascending: false));
        // A cursor that is not one of the tenant's files is no place in its list.
        Assert.Null(await ListAsync(null, "file-e", ascending: false));
        Assert.Null(await ListAsync(null, "no-such-file", ascending: true));
        Assert.Equal(["file-e"], (await Store.ListFilesAsync("other", null, null, false, 20, T0, None).WithTimeout())!.Select(f => f.Id));
    }

    [Fact]
    public async Task ABatch_RoundTripsEveryField_WithItsCounts_OnlyForItsTenant()
    {
        var batch = Batch("batch_1");
        await Store.AddBatchAsync(batch, Items(3), None).WithTimeout();

        var read = await Store.GetBatchAsync("acme", "batch_1", None).WithTimeout();
        Assert.Equal(batch with { Counts = new BatchCounts(3, 0, 0, 0, 0) }, read);
        Assert.Null(await Store.GetBatchAsync("other", "batch_1", None).WithTimeout());
        Assert.Equal(["req-0", "req-1", "req-2"], (await Store.ReadBatchItemsAsync("batch_1", None).ToListWithTimeoutAsync()).Select(i => i.CustomId));
    }

    [Fact]
    public async Task Batches_AreListedNewestFirst_PerTenantAndApi_PagedAfterOrBeforeAnId()
    {
        await Store.AddBatchAsync(Batch("batch_a", second: 1), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_b", second: 2), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_c", second: 3), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("msgbatch_d", api: BatchApi.Anthropic, second: 4), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_e", tenant: "other", second: 5), Items(1), None).WithTimeout();

        Assert.Equal(["batch_c", "batch_b", "batch_a"], (await Store.ListBatchesAsync("acme", BatchApi.OpenAI, null, null, 20, None).WithTimeout())!.Select(b => b.Id));
        Assert.Equal(["batch_c", "batch_b"], (await Store.ListBatchesAsync("acme", BatchApi.OpenAI, null, null, 2, None).WithTimeout())!.Select(b => b.Id));
        Assert.Equal(["batch_a"], (await Store.ListBatchesAsync("acme", BatchApi.OpenAI, "batch_b", null, 20, None).WithTimeout())!.Select(b => b.Id));
        Assert.Equal(["msgbatch_d"], (await Store.ListBatchesAsync("acme", BatchApi.Anthropic, null, null, 20, None).WithTimeout())!.Select(b => b.Id));
        Assert.Equal(1, (await Store.ListBatchesAsync("acme", BatchApi.OpenAI, null, null, 20, None).WithTimeout())![0].Counts.Pending);
        // Before an id: the page just newer than it, still newest first.
        Assert.Equal(["batch_c", "batch_b"], (await Store.ListBatchesAsync("acme", BatchApi.OpenAI, null, "batch_a", 20, None).WithTimeout())!.Select(b => b.Id));
        Assert.Equal(["batch_b"], (await Store.ListBatchesAsync("acme", BatchApi.OpenAI, null, "batch_a", 1, None).WithTimeout())!.Select(b => b.Id));
        Assert.Empty((await Store.ListBatchesAsync("acme", BatchApi.OpenAI, null, "batch_c", 20, None).WithTimeout())!);
        Assert.Equal(["batch_b"], (await Store.ListBatchesAsync("acme", BatchApi.OpenAI, "batch_c", "batch_a", 20, None).WithTimeout())!.Select(b => b.Id));
        // Without the optional fields (no file, model, metadata, agent, address or betas), counted all the same.
        var bare = Batch("batch_f", second: 6) with
        {
            InputFileId = null, CompletionWindow = null, Model = null, Metadata = null, UserAgent = null, ClientIp = null, Betas = null, OutputExpiresAfter = null, ArchivesAt = null,
        };
        await Store.AddBatchAsync(bare, Items(2), None).WithTimeout();
        Assert.Equal(bare with { Counts = new BatchCounts(2, 0, 0, 0, 0) }, await Store.GetBatchAsync("acme", "batch_f", None).WithTimeout());
    }

    [Fact]
    public async Task ACursorThatIsNotOneOfTheTenantsBatchesOfTheApi_IsNoPlaceInItsList()
    {
        await Store.AddBatchAsync(Batch("batch_a", second: 1), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("msgbatch_b", api: BatchApi.Anthropic, second: 2), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_c", tenant: "other", second: 3), Items(1), None).WithTimeout();

        // Not a batch at all, another tenant's, or one of the other API's: refused (null), not taken for an empty page.
        foreach (var cursor in new[] { "batch_no_such_batch", "batch_c", "msgbatch_b" })
        {
            Assert.Null(await Store.ListBatchesAsync("acme", BatchApi.OpenAI, cursor, null, 20, None).WithTimeout());
            Assert.Null(await Store.ListBatchesAsync("acme", BatchApi.OpenAI, null, cursor, 20, None).WithTimeout());
        }
        Assert.Null(await Store.ListBatchesAsync("acme", BatchApi.Anthropic, "batch_a", null, 20, None).WithTimeout());
        Assert.Null(await Store.ListBatchesAsync("acme", BatchApi.OpenAI, "batch_a", "batch_no_such_batch", 20, None).WithTimeout());
        // The tenant's own batch of the API is a place, even at the end of the list.
        Assert.Empty((await Store.ListBatchesAsync("acme", BatchApi.OpenAI, "batch_a", null, 20, None).WithTimeout())!);
        Assert.Empty((await Store.ListBatchesAsync("acme", BatchApi.Anthropic, null, "msgbatch_b", 20, None).WithTimeout())!);
    }

    [Fact]
    public async Task AResult_IsSavedOnlyWhilePending_AndCounted()
    {
        await Store.AddBatchAsync(Batch("batch_1"), Items(3), None).WithTimeout();
        var answered = new BatchItem(1, "req-1", []) { State = BatchItemStates.Succeeded, Status = 200, RequestId = "req_x", Response = "{\"ok\":true}"u8.ToArray(), EndedAt = T0.AddMinutes(1),
            Tokens = new BatchTokens(120, 64, 30, 12) };

        Assert.True(await Store.SaveBatchItemAsync("batch_1", answered, None).WithTimeout());
        Assert.False(await Store.SaveBatchItemAsync("batch_1", answered with { State = BatchItemStates.Errored, Status = 500 }, None).WithTimeout());

        var read = (await Store.GetBatchAsync("acme", "batch_1", None).WithTimeout())!;
        Assert.Equal((new BatchCounts(2, 1, 0, 0, 0), new BatchTokens(120, 64, 30, 12)), (read.Counts, read.Tokens));
        Assert.Equal(new BatchTokens(120, 64, 30, 12), (await Store.ListBatchesAsync("acme", BatchApi.OpenAI, null, null, 10, None).WithTimeout())!.Single().Tokens);
        Assert.Equal(new BatchTokens(120, 64, 30, 12), (await Store.ReadBatchItemsAsync("batch_1", None).ToListWithTimeoutAsync())[1].Tokens);
        var item = (await Store.ReadBatchItemsAsync("batch_1", None).ToListWithTimeoutAsync())[1];
        Assert.Equal((BatchItemStates.Succeeded, 200, "req_x", "{\"ok\":true}", T0.AddMinutes(1), "{\"n\":1}"),
            (item.State, item.Status, item.RequestId, Encoding.UTF8.GetString(item.Response!), item.EndedAt, Encoding.UTF8.GetString(item.Body)));
        Assert.Equal([0, 2], (await Store.ReadPendingBatchItemsAsync("batch_1", -1, 10, None).WithTimeout()).Select(i => i.Position));
        Assert.Equal([2], (await Store.ReadPendingBatchItemsAsync("batch_1", 0, 10, None).WithTimeout()).Select(i => i.Position));
    }

    [Fact]
    public async Task ATenantsStoredBatchBytes_AreItsFiles_AndEveryBatchsCopyOfItsRequestsAndAnswers()
    {
        await Store.AddFileAsync(File("file-1", "acme", new string('a', 100)), None).WithTimeout();
        await Store.AddFileAsync(File("file-2", "acme", new string('b', 50), second: 1), None).WithTimeout();
        await Store.AddFileAsync(File("file-3", "other", new string('c', 1000)), None).WithTimeout();
        // Items(3) has the bodies {"n":0}, {"n":1}, {"n":2}: 7 bytes each, kept by either API's batch beside any file.
        await Store.AddBatchAsync(Batch("msgbatch_1", api: BatchApi.Anthropic), Items(3), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_1"), Items(3), None).WithTimeout();
        await Store.SaveBatchItemAsync("msgbatch_1", new BatchItem(1, "req-1", []) { State = BatchItemStates.Succeeded, Status = 200, Response = "{\"ok\":true}"u8.ToArray() }, None).WithTimeout();

        Assert.Equal((100 + 50 + (3 * 7) + 11 + (3 * 7), 1000L, 0L), (await Store.GetStoredBatchBytesAsync("acme", T0, None).WithTimeout(),
            await Store.GetStoredBatchBytesAsync("other", T0, None).WithTimeout(), await Store.GetStoredBatchBytesAsync("nobody", T0, None).WithTimeout()));
    }

    [Fact]
    public async Task AnExpiredFile_IsNeitherFoundNorListedNorCounted_AndItsBytesAreRemovedOnce()
    {
        var expires = T0.AddHours(1);
        await Store.AddFileAsync(File("file-1", "acme", new string('a', 100)) with { ExpiresAt = expires }, None).WithTimeout();
        // Stored before files expired: never.
        await Store.AddFileAsync(File("file-2", "acme", new string('b', 50), second: 1), None).WithTimeout();
        await Store.AddFileAsync(File("file-3", "acme", new string('c', 20), second: 2) with { ExpiresAt = T0.AddHours(2) }, None).WithTimeout();
        await Store.AddFileAsync(File("file-4", "other", new string('d', 10)) with { ExpiresAt = expires }, None).WithTimeout();
        var before = expires.AddMilliseconds(-1);

        async Task<IEnumerable<string>?> ListAsync(DateTimeOffset now, string? after = null) =>
            (await Store.ListFilesAsync("acme", null, after, false, 20, now, None).WithTimeout())?.Select(f => f.Id);

        Assert.Equal(expires, (await Store.GetFileAsync("acme", "file-1", withContent: false, before, None).WithTimeout())!.ExpiresAt);
        Assert.Null((await Store.GetFileAsync("acme", "file-2", withContent: true, before, None).WithTimeout())!.ExpiresAt);
        Assert.Equal(["file-3", "file-2", "file-1"], await ListAsync(before));
        Assert.Equal(170, await Store.GetStoredBatchBytesAsync("acme", before, None).WithTimeout());

        // From the moment it expires, before any sweep: not found, not listed, no place to page from, not counted.
        Assert.Null(await Store.GetFileAsync("acme", "file-1", withContent: true, expires, None).WithTimeout());
        Assert.Null(await Store.GetFileAsync("acme", "file-1", withContent: false, expires, None).WithTimeout());
        Assert.Equal(["file-3", "file-2"], await ListAsync(expires));
        Assert.Null(await ListAsync(expires, after: "file-1"));
        Assert.Equal(70, await Store.GetStoredBatchBytesAsync("acme", expires, None).WithTimeout());
        Assert.False(await Store.DeleteFileAsync("acme", "file-1", expires, None).WithTimeout());
        Assert.Equal(0, await Store.GetStoredBatchBytesAsync("other", expires, None).WithTimeout());

        Assert.Equal(new ExpiredBatchData(0, 0), await Store.RemoveExpiredBatchDataAsync(before, None).WithTimeout());
        Assert.Equal(new ExpiredBatchData(2, 0), await Store.RemoveExpiredBatchDataAsync(expires, None).WithTimeout());
        Assert.Equal(new ExpiredBatchData(0, 0), await Store.RemoveExpiredBatchDataAsync(expires, None).WithTimeout());
        // Gone from the store, not only hidden: read as of before it expired, it is not there.
        Assert.Null(await Store.GetFileAsync("acme", "file-1", withContent: false, before, None).WithTimeout());
        Assert.Null(await Store.GetFileAsync("other", "file-4", withContent: false, before, None).WithTimeout());
        Assert.Equal(["file-3", "file-2"], await ListAsync(before));
        Assert.Equal(new ExpiredBatchData(1, 0), await Store.RemoveExpiredBatchDataAsync(T0.AddDays(365), None).WithTimeout());
        Assert.Equal(["file-2"], await ListAsync(T0.AddDays(365)));
    }

    [Fact]
    public async Task AnEndedBatchPastItsRetention_KeepsItsCountsAndTokens_ButNotItsRequestsAndAnswers()
    {
        var archives = T0.AddDays(29);
        await Store.AddBatchAsync(Batch("msgbatch_1", api: BatchApi.Anthropic), Items(3), None).WithTimeout();
        await Store.SaveBatchItemAsync("msgbatch_1", new BatchItem(1, "req-1", []) { State = BatchItemStates.Succeeded, Status = 200, RequestId = "req_x",
            Response = "{\"ok\":true}"u8.ToArray(), Tokens = new BatchTokens(10, 0, 5, 0) }, None).WithTimeout();
        await Store.EndBatchAsync("msgbatch_1", BatchEndings.Expired, null, BatchNotRun.Expired, T0.AddDays(1), null, null, [], None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_2", second: 1), Items(2), None).WithTimeout();
        await Store.EndBatchAsync("batch_2", BatchEndings.Expired, null, BatchNotRun.Expired, T0.AddDays(1), null, null, [], None).WithTimeout();
        // Still running at its retention (a completion window longer than it): kept until it ends.
        await Store.AddBatchAsync(Batch("msgbatch_3", api: BatchApi.Anthropic, second: 2), Items(1), None).WithTimeout();
        // Made before batches were archived: kept.
        await Store.AddBatchAsync(Batch("msgbatch_4", api: BatchApi.Anthropic, second: 3) with { ArchivesAt = null }, Items(1), None).WithTimeout();
        await Store.EndBatchAsync("msgbatch_4", BatchEndings.Expired, null, BatchNotRun.Expired, T0.AddDays(1), null, null, [], None).WithTimeout();
        var counted = await Store.GetBatchAsync("acme", "msgbatch_1", None).WithTimeout();

        Assert.Equal(7 * 7 + 11, await Store.GetStoredBatchBytesAsync("acme", archives.AddMilliseconds(-1), None).WithTimeout());
        // Past its retention its requests and answers count no more, swept or not; the running one's still do.
        Assert.Equal(2 * 7, await Store.GetStoredBatchBytesAsync("acme", archives, None).WithTimeout());

        Assert.Equal(new ExpiredBatchData(0, 0), await Store.RemoveExpiredBatchDataAsync(archives.AddMilliseconds(-1), None).WithTimeout());
        Assert.Equal(new ExpiredBatchData(0, 2), await Store.RemoveExpiredBatchDataAsync(archives, None).WithTimeout());
        Assert.Equal(new ExpiredBatchData(0, 0), await Store.RemoveExpiredBatchDataAsync(archives, None).WithTimeout());

        Assert.Equal(counted, await Store.GetBatchAsync("acme", "msgbatch_1", None).WithTimeout());
        var items = await Store.ReadBatchItemsAsync("msgbatch_1", None).ToListWithTimeoutAsync();
        Assert.Equal([BatchItemStates.Expired, BatchItemStates.Succeeded, BatchItemStates.Expired], items.Select(i => i.State));
        Assert.All(items, i => Assert.Equal((0, (byte[]?)null), (i.Body.Length, i.Response)));
        Assert.Equal((200, "req_x"), (items[1].Status, items[1].RequestId));
        Assert.All(await Store.ReadBatchItemsAsync("batch_2", None).ToListWithTimeoutAsync(), i => Assert.Empty(i.Body));
        Assert.Equal("{\"n\":0}", Encoding.UTF8.GetString((await Store.ReadBatchItemsAsync("msgbatch_3", None).ToListWithTimeoutAsync())[0].Body));
        Assert.Equal("{\"n\":0}", Encoding.UTF8.GetString((await Store.ReadBatchItemsAsync("msgbatch_4", None).ToListWithTimeoutAsync())[0].Body));
        Assert.Equal(2 * 7, await Store.GetStoredBatchBytesAsync("acme", archives.AddMilliseconds(-1), None).WithTimeout());

        // The one still running is emptied once it has ended.
        await Store.EndBatchAsync("msgbatch_3", BatchEndings.Completed, null, BatchNotRun.Expired, archives.AddDays(1), null, null, [], None).WithTimeout();
        Assert.Equal(new ExpiredBatchData(0, 1), await Store.RemoveExpiredBatchDataAsync(archives.AddDays(1), None).WithTimeout());
    }

    [Fact]
    public async Task GatewaysSweepingAtOnce_RemoveEachExpiredFileOnce()
    {
        for (var i = 0; i < 250; i++)
        {
            await Store.AddFileAsync(File($"file-{i:D3}", "acme", "{}\n", second: i) with { ExpiresAt = T0.AddHours(1) }, None).WithTimeout();
        }
        await using var other = await Backend.OpenAsync();

        var swept = await Task.WhenAll(Store.RemoveExpiredBatchDataAsync(T0.AddHours(1), None), other.RemoveExpiredBatchDataAsync(T0.AddHours(1), None)).WithTimeout();

        Assert.Equal(250, swept.Sum(s => s.Files));
        Assert.Empty((await Store.ListFilesAsync("acme", null, null, true, 10, T0, None).WithTimeout())!);
    }

    [Fact]
    public async Task AnAttemptCount_IsKeptWhileTheRequestStaysPending()
    {
        await Store.AddBatchAsync(Batch("batch_1"), Items(1), None).WithTimeout();

        Assert.True(await Store.SaveBatchItemAsync("batch_1", new BatchItem(0, "req-0", []) { Attempt = 1, StartedAt = T0.AddSeconds(5) }, None).WithTimeout());

        var pending = Assert.Single(await Store.ReadPendingBatchItemsAsync("batch_1", -1, 10, None).WithTimeout());
        Assert.Equal((1, T0.AddSeconds(5), "{\"n\":0}"), (pending.Attempt, pending.StartedAt, Encoding.UTF8.GetString(pending.Body)));
    }

    [Fact]
    public async Task Cancelling_MovesOnlyABatchInProgress_OfItsTenant()
    {
        await Store.AddBatchAsync(Batch("batch_1"), Items(1), None).WithTimeout();

        Assert.Null(await Store.CancelBatchAsync("other", "batch_1", T0.AddMinutes(1), None).WithTimeout());
        var cancelling = await Store.CancelBatchAsync("acme", "batch_1", T0.AddMinutes(1), None).WithTimeout();
        Assert.Equal((BatchStates.Cancelling, T0.AddMinutes(1)), (cancelling!.State, cancelling.CancellingAt));
        var again = await Store.CancelBatchAsync("acme", "batch_1", T0.AddMinutes(2), None).WithTimeout();
        Assert.Equal(T0.AddMinutes(1), again!.CancellingAt);
    }

    [Fact]
    public async Task Ending_MarksWhatIsPending_StoresTheResultFiles_AndHappensOnce()
    {
        await Store.AddBatchAsync(Batch("batch_1"), Items(3), None).WithTimeout();
        await Store.SaveBatchItemAsync("batch_1", new BatchItem(0, "req-0", []) { State = BatchItemStates.Succeeded, Status = 200, Response = "{}"u8.ToArray() }, None).WithTimeout();
        var output = File("file-out", "acme", "{\"custom_id\":\"req-0\"}\n") with { Purpose = "batch_output" };

        Assert.True(await Store.EndBatchAsync("batch_1", BatchEndings.Cancelled, null, BatchNotRun.Canceled, T0.AddHours(1), "file-out", null, [output], None).WithTimeout());
        Assert.False(await Store.EndBatchAsync("batch_1", BatchEndings.Expired, null, BatchNotRun.Expired, T0.AddHours(2), null, null, [], None).WithTimeout());

        var ended = await Store.GetBatchAsync("acme", "batch_1", None).WithTimeout();
        Assert.Equal((BatchStates.Ended, BatchEndings.Cancelled, T0.AddHours(1), "file-out", (string?)null, new BatchCounts(0, 1, 0, 2, 0)),
            (ended!.State, ended.Ending, ended.EndedAt, ended.OutputFileId, ended.ErrorFileId, ended.Counts));
        Assert.Equal("{\"custom_id\":\"req-0\"}\n", Encoding.UTF8.GetString((await Store.GetFileAsync("acme", "file-out", true, T0, None).WithTimeout())!.Content!));
        Assert.Empty(await Store.ReadPendingBatchItemsAsync("batch_1", -1, 10, None).WithTimeout());
    }

    [Fact]
    public async Task Ending_WithARefusalForTheWholeBatch_GivesItToEveryPendingRequest_AndLeavesTheAnsweredAsTheyAre()
    {
        await Store.AddBatchAsync(Batch("msgbatch_1", api: BatchApi.Anthropic), Items(3), None).WithTimeout();
        await Store.SaveBatchItemAsync("msgbatch_1", new BatchItem(0, "req-0", []) { State = BatchItemStates.Succeeded, Status = 200, RequestId = "req_a", Response = "{}"u8.ToArray() }, None).WithTimeout();
        var refusal = new BatchNotRun(BatchItemStates.Errored, 401, """{"type":"error","error":{"type":"authentication_error","message":"revoked"}}"""u8.ToArray());

        Assert.True(await Store.EndBatchAsync("msgbatch_1", BatchEndings.Completed, null, refusal, T0.AddHours(1), null, null, [], None).WithTimeout());

        var items = await Store.ReadBatchItemsAsync("msgbatch_1", None).ToListWithTimeoutAsync();
        Assert.Equal((BatchItemStates.Succeeded, 200, "{}", "req_a"), (items[0].State, items[0].Status, Encoding.UTF8.GetString(items[0].Response!), items[0].RequestId));
        Assert.All(items.Skip(1), i => Assert.Equal((BatchItemStates.Errored, 401, Encoding.UTF8.GetString(refusal.Response!), (string?)null, T0.AddHours(1)),
            (i.State, i.Status, Encoding.UTF8.GetString(i.Response!), i.RequestId, i.EndedAt)));
        Assert.Equal(new BatchCounts(0, 1, 2, 0, 0), (await Store.GetBatchAsync("acme", "msgbatch_1", None).WithTimeout())!.Counts);
    }

    [Fact]
    public async Task OnlyAnEndedBatch_IsDeleted_WithItsRequests()
    {
        await Store.AddBatchAsync(Batch("batch_1"), Items(2), None).WithTimeout();

        Assert.False(await Store.DeleteBatchAsync("acme", "batch_1", None).WithTimeout());
        await Store.EndBatchAsync("batch_1", BatchEndings.Expired, null, BatchNotRun.Expired, T0.AddDays(1), null, null, [], None).WithTimeout();
        Assert.False(await Store.DeleteBatchAsync("other", "batch_1", None).WithTimeout());
        Assert.True(await Store.DeleteBatchAsync("acme", "batch_1", None).WithTimeout());

        Assert.Null(await Store.GetBatchAsync("acme", "batch_1", None).WithTimeout());
        Assert.Empty(await Store.ReadBatchItemsAsync("batch_1", None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task AClaim_TakesTheOldestFreeBatch_IsRenewedByItsHolder_AndLapses()
    {
        await Store.AddBatchAsync(Batch("batch_old", second: 1), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_new", second: 2), Items(1), None).WithTimeout();
        var now = T0.AddMinutes(1);

        Assert.Equal("batch_old", (await Store.ClaimBatchAsync("gw-a", now, now.AddSeconds(30), None).WithTimeout())!.Id);
        Assert.Equal("batch_new", (await Store.ClaimBatchAsync("gw-b", now, now.AddSeconds(30), None).WithTimeout())!.Id);
        Assert.Null(await Store.ClaimBatchAsync("gw-c", now.AddSeconds(10), now.AddSeconds(40), None).WithTimeout());
        Assert.Equal("batch_old", (await Store.ClaimBatchAsync("gw-a", now.AddSeconds(10), now.AddSeconds(40), None).WithTimeout())!.Id);

        // gw-b stopped renewing: its claim lapses and another gateway takes the batch over.
        await Backend.ExecuteAsync(Backend.LapseClaimsSql("gw-b"));
        Assert.Equal("batch_new", (await Store.ClaimBatchAsync("gw-c", now.AddSeconds(31), now.AddSeconds(61), None).WithTimeout())!.Id);

        // gw-c stops and gives its batch up: gw-b takes it at once, before the claim would have run out.
        await Store.ReleaseBatchAsync("batch_new", "gw-b", None).WithTimeout();
        Assert.Null(await Store.ClaimBatchAsync("gw-b", now.AddSeconds(32), now.AddSeconds(62), None).WithTimeout());
        await Store.ReleaseBatchAsync("batch_new", "gw-c", None).WithTimeout();
        Assert.Equal("batch_new", (await Store.ClaimBatchAsync("gw-b", now.AddSeconds(32), now.AddSeconds(62), None).WithTimeout())!.Id);

        await Store.EndBatchAsync("batch_old", BatchEndings.Completed, null, BatchNotRun.Expired, now, null, null, [], None).WithTimeout();
        Assert.Null(await Store.ClaimBatchAsync("gw-a", now.AddSeconds(50), now.AddSeconds(80), None).WithTimeout());
    }

    /// <summary>
    /// What a batch cost and earned (docs/batches.md): its rows summed per batch and model, in exact decimals (0.1 + 0.2 is 0.3,
    /// not floating point's 0.30000000000000004; 28 digits stay 28 digits), of the tenant named only, within the range,
    /// leaving out the tenant's live rows.
    /// </summary>
    [Fact]
    public async Task ABatchsLedgerRows_AreSummedPerBatchAndModel_Exactly_OfItsTenantOnly_WithinTheRange()
    {
        static LedgerEntry Row(string id, string? batch, decimal cost, decimal revenue, string tenant = "acme", string model = "gpt-4.1", int second = 0) =>
            LedgerSamples.Entry(id, T0.AddSeconds(second), tenant, model: model, cost: cost) with
            {
                BatchId = batch, Revenue = revenue, CacheReadTokens = 10, CacheWriteTokens = 5,
            };
        LedgerEntry[] rows =
        [
            Row("req_b1_1", "b1", 0.1m, 0.05m),
            Row("req_b1_2", "b1", 0.2m, 0.15m, second: 1) with { Estimated = true },
            // A refusal waited out: a row of its own, not billable, nothing spent.
            Row("req_b1_3", "b1", 0m, 0m, second: 2) with
            {
                Status = 429, Outcome = RequestOutcome.RateLimited, Billable = false, InputTokens = 0, OutputTokens = 0, CacheReadTokens = 0, CacheWriteTokens = 0,
            },
            Row("req_b1_4", "b1", 0.1234567890123456789012345678m, 0.0617283945061728394506172839m, model: "claude-sonnet-4", second: 3),
            Row("req_b2_1", "b2", 0.3m, 0.3m, second: 3600),
            Row("req_live", null, 5m, 6m, second: 4),
            // Another tenant's row naming the same batch id: never summed with acme's.
            Row("req_other", "b1", 7m, 8m, tenant: "other", second: 5),
        ];
        await Store.AppendLedgerAsync(rows, None).WithTimeout();

        var usage = await Store.GetBatchUsageAsync("acme", ["b1", "b2", "b_none"], null, null, None).WithTimeout();

        Assert.Equal(
        [
            new BatchUsage("b1", "claude-sonnet-4", new(1, 1, 1, 0, 100, 10, 5, 50, 0.1234567890123456789012345678m, 0.0617283945061728394506172839m)),
            new BatchUsage("b1", "gpt-4.1", new(3, 2, 2, 1, 200, 20, 10, 100, 0.3m, 0.2m)),
            new BatchUsage("b2", "gpt-4.1", new(1, 1, 1, 0, 100, 10, 5, 50, 0.3m, 0.3m)),
        ], usage);
        Assert.Equal([new BatchUsage("b1", "gpt-4.1", new(1, 1, 1, 0, 100, 10, 5, 50, 7m, 8m))],
            await Store.GetBatchUsageAsync("other", ["b1", "b2"], null, null, None).WithTimeout());
        Assert.Equal(["b2"], (await Store.GetBatchUsageAsync("acme", ["b1", "b2"], T0.AddSeconds(4), T0.AddHours(2), None).WithTimeout()).Select(u => u.BatchId));
        Assert.Equal(["b1", "b1"], (await Store.GetBatchUsageAsync("acme", ["b1", "b2"], null, T0.AddSeconds(4), None).WithTimeout()).Select(u => u.BatchId));
        Assert.Empty(await Store.GetBatchUsageAsync("acme", [], null, null, None).WithTimeout());
    }

    [Fact]
    public async Task AClaimToEnd_TakesOnlyACancelledOrExpiredBatch_ThatNoLiveClaimHolds_OneClaimantAtATime()
    {
        var now = T0.AddHours(1);
        await Store.AddBatchAsync(Batch("batch_running", second: 1), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_held", second: 2), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_cancelled", second: 3), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("msgbatch_expired", api: BatchApi.Anthropic, second: 4) with { ExpiresAt = now }, Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_later", second: 5) with { ExpiresAt = now.AddSeconds(1) }, Items(1), None).WithTimeout();
        // A worker runs batch_held (the oldest free one after batch_running, which another worker holds) when its cancel is asked.
        Assert.Equal("batch_running", (await Store.ClaimBatchAsync("gw-a/0", now, now.AddSeconds(60), None).WithTimeout())!.Id);
        Assert.Equal("batch_held", (await Store.ClaimBatchAsync("gw-a/1", now, now.AddSeconds(60), None).WithTimeout())!.Id);
        await Store.CancelBatchAsync("acme", "batch_held", now, None).WithTimeout();
        await Store.CancelBatchAsync("acme", "batch_cancelled", now, None).WithTimeout();

        // The oldest batch due to end that no live claim holds; a second claimant at the same moment takes the next one.
        var first = await Store.ClaimBatchToEndAsync("gw-a/sweep", now, now.AddSeconds(60), [], None).WithTimeout();
        Assert.Equal(("batch_cancelled", BatchStates.Cancelling), (first!.Id, first.State));
        var second = await Store.ClaimBatchToEndAsync("gw-b/sweep", now, now.AddSeconds(60), [], None).WithTimeout();
        Assert.Equal(("msgbatch_expired", BatchStates.InProgress, new BatchCounts(1, 0, 0, 0, 0)), (second!.Id, second.State, second.Counts));
        Assert.Null(await Store.ClaimBatchToEndAsync("gw-c/sweep", now, now.AddSeconds(60), [], None).WithTimeout());
        // Neither is a worker's to run meanwhile.
        Assert.Equal("batch_later", (await Store.ClaimBatchAsync("gw-c/0", now, now.AddSeconds(60), None).WithTimeout())!.Id);
        Assert.Null(await Store.ClaimBatchAsync("gw-c/1", now, now.AddSeconds(60), None).WithTimeout());

        // Ended, they are no one's to claim; a batch's window runs out at its expires_at; a claim that lapsed holds nothing.
        await Store.EndBatchAsync("batch_cancelled", BatchEndings.Cancelled, null, BatchNotRun.Canceled, now, null, null, [], None).WithTimeout();
        await Store.EndBatchAsync("msgbatch_expired", BatchEndings.Expired, null, BatchNotRun.Expired, now, null, null, [], None).WithTimeout();
        Assert.Null(await Store.ClaimBatchToEndAsync("gw-a/sweep", now, now.AddSeconds(60), [], None).WithTimeout());
        await Backend.ExecuteAsync(Backend.LapseClaimsSql("gw-a/1"));
        await Backend.ExecuteAsync(Backend.LapseClaimsSql("gw-c/0"));
        Assert.Equal("batch_held", (await Store.ClaimBatchToEndAsync("gw-a/sweep", now.AddSeconds(61), now.AddSeconds(121), [], None).WithTimeout())!.Id);
        Assert.Equal("batch_later", (await Store.ClaimBatchToEndAsync("gw-b/sweep", now.AddSeconds(61), now.AddSeconds(121), [], None).WithTimeout())!.Id);
        Assert.Null(await Store.ClaimBatchToEndAsync("gw-c/sweep", now.AddSeconds(61), now.AddSeconds(121), [], None).WithTimeout());
        // batch_running, neither cancelled nor expired, is left to the workers.
        Assert.Equal(BatchStates.InProgress, (await Store.GetBatchAsync("acme", "batch_running", None).WithTimeout())!.State);
    }

    [Fact]
    public async Task Ending_AsFailed_KeepsWhyWithTheBatch_AndGivesTheRefusalToEveryPendingRequest()
    {
        await Store.AddBatchAsync(Batch("batch_1"), Items(2), None).WithTimeout();
        var refusal = new BatchNotRun(BatchItemStates.Errored, 401, """{"error":{"code":"invalid_api_key","message":"This API key has been revoked."}}"""u8.ToArray());
        var failure = new BatchFailure("invalid_api_key", "This API key has been revoked.");

        Assert.True(await Store.EndBatchAsync("batch_1", BatchEndings.Failed, failure, refusal, T0.AddHours(1), null, null, [], None).WithTimeout());
        Assert.False(await Store.EndBatchAsync("batch_1", BatchEndings.Expired, null, BatchNotRun.Expired, T0.AddHours(2), null, null, [], None).WithTimeout());

        var ended = await Store.GetBatchAsync("acme", "batch_1", None).WithTimeout();
        Assert.Equal((BatchStates.Ended, BatchEndings.Failed, failure, T0.AddHours(1), (string?)null, new BatchCounts(0, 0, 2, 0, 0)),
            (ended!.State, ended.Ending, ended.Failure, ended.EndedAt, ended.OutputFileId, ended.Counts));
        Assert.All(await Store.ReadBatchItemsAsync("batch_1", None).ToListWithTimeoutAsync(), i => Assert.Equal((BatchItemStates.Errored, 401), (i.State, i.Status)));
        // Listed with it too; a batch ended otherwise has none.
        Assert.Equal(failure, Assert.Single((await Store.ListBatchesAsync("acme", BatchApi.OpenAI, null, null, 10, None).WithTimeout())!).Failure);
    }

    /// <summary>
    /// The sweep's view of a refusal (docs/batches.md, "Key revoked or suspended"): the keys open batches run as, each once, and
    /// a claim to end that takes a batch of a key the caller names as refused, only when no live claim holds it, and only
    /// one claimant each: two gateways sweeping at once never end one batch together.
    /// </summary>
    [Fact]
    public async Task AClaimToEnd_TakesABatchOfARefusedKey_ThatNoLiveClaimHolds_OneClaimantAtATime()
    {
        var now = T0.AddHours(1);
        await Store.AddBatchAsync(Batch("batch_held", second: 1) with { KeyId = "key_refused" }, Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_free", second: 2) with { KeyId = "key_refused" }, Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("msgbatch_free", api: BatchApi.Anthropic, second: 3) with { KeyId = "key_refused" }, Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_other", second: 4), Items(1), None).WithTimeout();
        await Store.AddBatchAsync(Batch("batch_ended", tenant: "other", second: 5) with { KeyId = "key_gone" }, Items(1), None).WithTimeout();
        await Store.EndBatchAsync("batch_ended", BatchEndings.Completed, null, BatchNotRun.Expired, now, null, null, [], None).WithTimeout();

        Assert.Equal([("acme", "key_1"), ("acme", "key_refused")], (await Store.ListOpenBatchKeysAsync(None).WithTimeout()).Order());
        Assert.Equal("batch_held", (await Store.ClaimBatchAsync("gw-a/0", now, now.AddSeconds(60), None).WithTimeout())!.Id);
        // Nothing refused, nothing cancelled or expired: nothing to end.
        Assert.Null(await Store.ClaimBatchToEndAsync("gw-a/sweep", now, now.AddSeconds(60), [], None).WithTimeout());
        Assert.Null(await Store.ClaimBatchToEndAsync("gw-a/sweep", now, now.AddSeconds(60), ["key_gone", "key_unknown"], None).WithTimeout());

        var first = await Store.ClaimBatchToEndAsync("gw-a/sweep", now, now.AddSeconds(60), ["key_refused"], None).WithTimeout();
        Assert.Equal(("batch_free", new BatchCounts(1, 0, 0, 0, 0)), (first!.Id, first.Counts));
        Assert.Equal("msgbatch_free", (await Store.ClaimBatchToEndAsync("gw-b/sweep", now, now.AddSeconds(60), ["key_refused"], None).WithTimeout())!.Id);
        Assert.Null(await Store.ClaimBatchToEndAsync("gw-c/sweep", now, now.AddSeconds(60), ["key_refused"], None).WithTimeout());
        // The other key's batch is left to the workers.
        Assert.Equal("batch_other", (await Store.ClaimBatchAsync("gw-c/0", now, now.AddSeconds(60), None).WithTimeout())!.Id);

        // The held one once its holder's claim lapsed (a gateway that died).
        await Backend.ExecuteAsync(Backend.LapseClaimsSql("gw-a/0"));
        Assert.Equal("batch_held", (await Store.ClaimBatchToEndAsync("gw-c/sweep", now.AddSeconds(61), now.AddSeconds(121), ["key_refused"], None).WithTimeout())!.Id);
        foreach (var id in new[] { "batch_held", "batch_free", "msgbatch_free", "batch_other" })
        {
            await Store.EndBatchAsync(id, BatchEndings.Completed, null, BatchNotRun.Expired, now, null, null, [], None).WithTimeout();
        }
        Assert.Empty(await Store.ListOpenBatchKeysAsync(None).WithTimeout());
    }
}
