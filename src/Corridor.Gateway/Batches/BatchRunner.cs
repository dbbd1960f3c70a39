using System.Buffers.Binary;
using Corridor.Core.Batches;
using Corridor.Core.Metering;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Pipeline;
using Corridor.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Batches;

/// <summary>
/// Runs batches in the background (docs/batches.md). A gateway claims the oldest batch no other gateway holds, renews its
/// claim as it goes, and runs the batch's pending requests in order, <see cref="BatchOptions.Concurrency"/> at a time,
/// each through the same <see cref="RequestPipeline"/> as a client's request of the batch's key (so policy, enforcement,
/// limits and budgets, routing, metering, the ledger and the monitor apply to it as to any other), and stores each result
/// as it comes. A request refused by a rate limit (429, not a hard budget) waits as its <c>Retry-After</c> says and runs
/// again, so a batch keeps within its key's limits instead of failing; admission holds a batch's requests to
/// <see cref="BatchOptions.LimitShare"/> of each rate limit, so the wait is the batch's and live requests keep the rest. Cancelled, the batch stops taking requests; past its
/// completion window, its remaining requests expire; its key revoked, expired or suspended (or its tenant suspended), its
/// remaining requests end errored with that refusal, unrun, and the batch fails when none had been answered; a sweep ends
/// such batches that no worker holds; ended, its results are written (OpenAI's output and error files).
/// </summary>
internal sealed partial class BatchRunner(
    RequestPipeline pipeline,
    KeyCache keys,
    MonitorService monitor,
    ICorridorStore store,
    BatchOptions options,
    TimeProvider time,
    ILogger<BatchRunner> logger) : BackgroundService
{
    /// <summary>How long a claim holds without renewal: a gateway that stopped or died gives its batch up after this.</summary>
    internal static readonly TimeSpan ClaimFor = TimeSpan.FromSeconds(60);

    /// <summary>How often an idle gateway looks for a batch to run (a batch made here wakes it at once).</summary>
    internal static readonly TimeSpan IdlePoll = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan LongestRetryWait = TimeSpan.FromSeconds(60);

    /// <summary>The bits of a request id that count its attempts (<see cref="RequestIdOf"/>).</summary>
    private const int AttemptBits = 28;

    private static readonly TimeSpan SaveRetry = TimeSpan.FromSeconds(1);

    /// <summary>How often a running batch is read again for a cancel (or its expiry).</summary>
    private static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(1);

    /// <summary>This gateway's claimant name: each of its workers claims as this, a slash and its number.</summary>
    private readonly string _gateway = $"gw_{Environment.ProcessId}_{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())[..12]}";
    private readonly SemaphoreSlim _wake = new(0, options.Parallel);
    private readonly SemaphoreSlim _wakeSweep = new(0, 1);

    /// <summary>A batch was made or cancelled here: look for work (and for batches to end) now rather than at the next poll.</summary>
    public void Wake()
    {
        Release(_wake);
        Release(_wakeSweep);
    }

    /// <summary>A key was refused or suspended (the key cache or the monitor learnt it): look for batches to end now.</summary>
    private void WakeSweep() => Release(_wakeSweep);

    private static void Release(SemaphoreSlim wake)
    {
        try
        {
            if (wake.CurrentCount == 0)
            {
                wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
        }
    }

    /// <summary>
    /// <see cref="BatchOptions.Parallel"/> workers, each claiming and running one batch at a time under a name of its own, so
    /// one tenant's long batch does not hold every other tenant's back; and the sweep, which ends the batches due to end
    /// (cancelled, past their completion window, or their key refused) that no live worker holds, though every worker is busy.
    /// The sweep runs at once when the key cache learns of a key refused or the monitor of a suspension, so a batch no worker
    /// holds ends when this gateway knows, not at the next poll; the poll remains for what no one announces (a completion
    /// window or a key's expiry passing).
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        keys.KeysRefused += WakeSweep;
        monitor.Suspended += WakeSweep;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, options.Parallel)
                .Select(i => Task.Run(() => LoopAsync($"{_gateway}/{i}", _wake, WorkOnceAsync, stoppingToken), CancellationToken.None))
                .Append(Task.Run(() => LoopAsync($"{_gateway}/sweep", _wakeSweep, SweepOnceAsync, stoppingToken), CancellationToken.None)));
        }
        finally
        {
            keys.KeysRefused -= WakeSweep;
            monitor.Suspended -= WakeSweep;
        }
    }

    /// <summary>Claims the oldest batch no one holds and runs it; false when there is none.</summary>
    private async Task<bool> WorkOnceAsync(string owner, CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        if (await store.ClaimBatchAsync(owner, now, now + ClaimFor, stoppingToken) is not { } batch)
        {
            return false;
        }
        await HoldingAsync(batch, owner, () => RunAsync(batch, owner, stoppingToken), stoppingToken);
        return true;
    }

    /// <summary>
    /// Claims the oldest batch due to end that no live worker holds and ends it (a worker holding one ends it itself, within
    /// a second); false when there is none. Due to end: cancelled, past its completion window, or run as a key this gateway
    /// knows to be refused (the key cache's revoked and expired keys, the monitor's suspended keys and tenants). The claim
    /// keeps two gateways sweeping at once from ending one batch together.
    /// </summary>
    private async Task<bool> SweepOnceAsync(string owner, CancellationToken stoppingToken)
    {
        var refused = new List<string>();
        foreach (var (tenantId, keyId) in await store.ListOpenBatchKeysAsync(stoppingToken))
        {
            if (Refusal(tenantId, keyId) is not null)
            {
                refused.Add(keyId);
            }
        }
        var now = time.GetUtcNow();
        if (await store.ClaimBatchToEndAsync(owner, now, now + ClaimFor, refused, stoppingToken) is not { } batch)
        {
            return false;
        }
        var ended = false;
        await HoldingAsync(batch, owner, async () => ended = await EndIfDueAsync(batch, stoppingToken), stoppingToken);
        if (!ended && !stoppingToken.IsCancellationRequested)
        {
            // Its key's refusal was lifted meanwhile (a suspension unpinned): a worker may take it at once.
            await ReleaseAsync(batch, owner);
        }
        return true;
    }

    /// <summary>Does <paramref name="work"/> on a batch claimed; the claim is given up if the gateway stops meanwhile.</summary>
    private async Task HoldingAsync(BatchJob batch, string owner, Func<Task> work, CancellationToken stoppingToken)
    {
        try
        {
            await work();
        }
        finally
        {
            if (stoppingToken.IsCancellationRequested)
            {
                await ReleaseAsync(batch, owner);
            }
        }
    }

    /// <summary>Does <paramref name="once"/> as <paramref name="owner"/> until the gateway stops: again at once after work, else after a poll or a wake.</summary>
    private async Task LoopAsync(string owner, SemaphoreSlim wake, Func<string, CancellationToken, Task<bool>> once, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await once(owner, stoppingToken))
                {
                    continue;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (NotSupportedException e) when (e.TargetSite?.DeclaringType?.IsInterface == true)
            {
                // A store without batches (the interface's default): nothing will ever be claimed.
                LogNoBatches(e.Message);
                return;
            }
            catch (Exception e)
            {
                LogBatchRunFailed(e);
            }
            // The poll is on the gateway's clock, as every wait of the runner.
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            await Task.WhenAny(wake.WaitAsync(poll.Token), Task.Delay(IdlePoll, time, poll.Token));
            await poll.CancelAsync();
        }
    }

    /// <summary>Stopping: gives the claim up so that a gateway starting (or another one running) takes the batch at once.</summary>
    private async Task ReleaseAsync(BatchJob batch, string owner)
    {
        try
        {
            using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await store.ReleaseBatchAsync(batch.Id, owner, bounded.Token);
        }
        catch (Exception e) when (e is OperationCanceledException || CorridorStoreException.IsStoreFailure(e))
        {
            // The claim runs out by itself.
        }
    }

    private async Task RunAsync(BatchJob batch, string owner, CancellationToken stoppingToken)
    {
        var key = await store.GetKeyAsync(batch.KeyId, stoppingToken);
        var after = -1;
        while (true)
        {
            if (await EndIfDueAsync(batch, stoppingToken))
            {
                return;
            }
            var items = await store.ReadPendingBatchItemsAsync(batch.Id, after, options.Concurrency * 4, stoppingToken);
            if (items.Count == 0)
            {
                if (after >= 0)
                {
                    // Once more from the start: a request left pending (a stop cut it short) runs again before the batch ends.
                    after = -1;
                    if ((await store.ReadPendingBatchItemsAsync(batch.Id, after, 1, stoppingToken)).Count > 0)
                    {
                        continue;
                    }
                }
                await EndAsync(batch, BatchEndings.Completed, null, BatchNotRun.Expired, stoppingToken);
                return;
            }
            using (var group = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
            {
                var watch = WatchAsync(batch, owner, group);
                try
                {
                    await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = group.Token },
                        async (item, token) => await RunItemAsync(batch, key, item, token, stoppingToken));
                }
                catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                {
                    // Cancelled, expired or refused while the group ran: the requests not started stay pending and are ended above.
                }
                finally
                {
                    await group.CancelAsync();
                    await watch;
                }
            }
            after = items[^1].Position;
            var now = time.GetUtcNow();
            // Renewing the claim reads the batch again: a cancel asked meanwhile is seen here, between groups of requests.
            if (await store.ClaimBatchAsync(owner, now, now + ClaimFor, stoppingToken) is not { } renewed || renewed.Id != batch.Id)
            {
                // Another gateway took it over (this one was away longer than a claim holds): leave it to that one.
                return;
            }
            batch = renewed;
        }
    }

    /// <summary>
    /// While a group of requests runs: once a second, whether the batch was cancelled, has expired or its key was revoked or
    /// suspended (then the group stops starting requests and stops waiting out rate limits; those running finish), and the
    /// claim renewed as it goes.
    /// </summary>
    private async Task WatchAsync(BatchJob batch, string owner, CancellationTokenSource group)
    {
        var renewed = time.GetTimestamp();
        while (!group.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(WatchInterval, time, group.Token);
                var now = time.GetUtcNow();
                var current = await store.GetBatchAsync(batch.TenantId, batch.Id, group.Token);
                if (current is not { State: BatchStates.InProgress } || now >= batch.ExpiresAt || Refusal(batch.TenantId, batch.KeyId) is not null)
                {
                    await group.CancelAsync();
                    return;
                }
                if (time.GetElapsedTime(renewed) >= ClaimFor / 3)
                {
                    if (await store.ClaimBatchAsync(owner, now, now + ClaimFor, group.Token) is not { } claimed || claimed.Id != batch.Id)
                    {
                        await group.CancelAsync();
                        return;
                    }
                    renewed = time.GetTimestamp();
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (CorridorStoreException.IsStoreFailure(e))
            {
                // The store is away: the group runs on (its results wait in SaveAsync) and the watch tries again next second.
                LogBatchRunFailed(e);
            }
        }
    }

    private async Task RunItemAsync(BatchJob batch, ApiKey? key, BatchItem item, CancellationToken groupToken, CancellationToken stoppingToken)
    {
        var attempt = item.Attempt;
        var startedAt = item.StartedAt;
        while (true)
        {
            if (Refusal(batch.TenantId, batch.KeyId) is not null)
            {
                // Not run: it stays pending and ends with the batch, errored with the refusal.
                return;
            }
            if (startedAt is null)
            {
                // Stored before the run: a run after a crash is recorded under this run's id and time (BatchItem.StartedAt).
                startedAt = time.GetUtcNow();
                await SaveAsync(batch, item with { Attempt = attempt, StartedAt = startedAt }, stoppingToken);
            }
            var requestId = RequestIdOf(batch.Id, item.Position, attempt);
            var answer = await CallAsync(batch, key, item.Body, requestId, startedAt.Value, stoppingToken);
            if (stoppingToken.IsCancellationRequested && answer.Outcome != RequestOutcome.Success)
            {
                // Cut short by the gateway's stop (or refused as it came): the request stays pending and runs again under a new
                // id (its row, if any, says how this run ended). An answer that completed as the stop came is kept below.
                await SaveAsync(batch, item with { Attempt = attempt + 1, StartedAt = null }, CancellationToken.None);
                return;
            }
            var now = time.GetUtcNow();
            if (MayRunAgain(answer) && now < batch.ExpiresAt)
            {
                attempt++;
                startedAt = null;
                await SaveAsync(batch, item with { Attempt = attempt, StartedAt = null }, stoppingToken);
                try
                {
                    await Task.Delay(answer.RetryAfter, time, groupToken);
                }
                catch (OperationCanceledException)
                {
                    // Cancelled, expired or stopping: it stays pending (and is ended with the batch, or run after the restart).
                    return;
                }
                continue;
            }
            var state = answer.Status is >= 200 and < 300 ? BatchItemStates.Succeeded : BatchItemStates.Errored;
            await SaveAsync(batch, item with
            {
                State = state,
                Status = answer.Status,
                RequestId = requestId,
                Response = answer.Body,
                Attempt = attempt,
                StartedAt = startedAt,
                EndedAt = now,
                Tokens = answer.Tokens,
            }, stoppingToken);
            return;
        }
    }

    /// <summary>
    /// Whether a refusal is one to wait out and run again as a new attempt: a rate limit (429, not a spent budget), or this
    /// gateway's store out of reach (503 <c>store_unavailable</c>, which a live client would retry too).
    /// </summary>
    private static bool MayRunAgain(Answer answer) =>
        answer.Status == StatusCodes.Status429TooManyRequests && answer.Outcome != RequestOutcome.OverBudget
        || answer.Status == StatusCodes.Status503ServiceUnavailable && answer.ErrorCode == "store_unavailable";

    /// <summary>
    /// Stores what became of a request, trying again (every second) while the store is away: a result or attempt count
    /// left unstored would run the request again under an id whose first row the ledger may already hold, and the answered
    /// run would go unbilled. Given up only when the gateway stops.
    /// </summary>
    private async Task SaveAsync(BatchJob batch, BatchItem item, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                await store.SaveBatchItemAsync(batch.Id, item, stoppingToken);
                return;
            }
            catch (Exception e) when (CorridorStoreException.IsStoreFailure(e) && !stoppingToken.IsCancellationRequested)
            {
                LogBatchRunFailed(e);
                await Task.Delay(SaveRetry, time, stoppingToken);
            }
        }
    }

    private readonly record struct Answer(int Status, byte[] Body, RequestOutcome Outcome, string? ErrorCode, TimeSpan RetryAfter, BatchTokens Tokens);

    /// <summary>
    /// What refuses every request of a batch of <paramref name="keyId"/> (of <paramref name="tenantId"/>) alike, as the
    /// pipeline would refuse each: the key revoked or expired, or the key or its tenant suspended (by the monitor or an
    /// operator). Null while its requests may run (a key the cache does not hold, on a replica that has not loaded it yet, is
    /// left to the pipeline, request by request).
    /// </summary>
    private GatewayError? Refusal(string tenantId, string keyId) =>
        (keys.Current(keyId) is { } current ? Authenticator.Refusal(current.Key, time.GetUtcNow()) : null)
        ?? (Enforcement.IsSuspended(monitor, tenantId, keyId) ? Enforcement.Suspended : null);

    /// <summary>The batch's requests not run, ended errored with <paramref name="refusal"/>, in the batch's dialect, under no request id.</summary>
    private static BatchNotRun RefusedAll(BatchJob batch, GatewayError refusal)
    {
        var body = new System.Buffers.ArrayBufferWriter<byte>();
        ErrorWriter.WriteBody(body, DialectOf(batch), refusal, requestId: null);
        return new BatchNotRun(BatchItemStates.Errored, refusal.Status, body.WrittenSpan.ToArray());
    }

    private static Operation OperationOf(BatchJob batch) => OperationPaths.Served(batch.Endpoint) ?? Operation.ChatCompletions;

    private static Dialect DialectOf(BatchJob batch) => OperationOf(batch) == Operation.Messages ? Dialect.Anthropic : Dialect.OpenAI;

    /// <summary>One request of the batch through the pipeline, on a context of Corridor's own, as the batch's key.</summary>
    private async Task<Answer> CallAsync(BatchJob batch, ApiKey? key, byte[] body, string requestId, DateTimeOffset receivedAt, CancellationToken stoppingToken)
    {
        var operation = OperationOf(batch);
        var dialect = DialectOf(batch);
        var context = new DefaultHttpContext();
        context.Features.Set(new InProcessCaller(key, requestId, receivedAt, batch.Id)
        {
            AnthropicBetas = dialect == Dialect.Anthropic && batch.Betas is { } betas ? betas.Split(',') : null,
        });
        var request = context.Request;
        request.Method = HttpMethods.Post;
        request.Scheme = "http";
        request.Path = batch.Endpoint;
        request.ContentType = "application/json";
        request.ContentLength = body.Length;
        request.Body = new MemoryStream(body, writable: false);
        // The batch's ledger rows and the monitor's observations say where they came from: the creating client's agent and
        // address. One agent for all of a key's batches, so the monitor sees a key's bulk work as one client; which batch a
        // row belongs to is in its request id (RequestIdOf).
        request.Headers.UserAgent = $"{batch.UserAgent} corridor-batch".TrimStart();
        context.Connection.RemoteIpAddress = System.Net.IPAddress.TryParse(batch.ClientIp, out var address) ? address : null;
        if (dialect == Dialect.Anthropic)
        {
            request.Headers["anthropic-version"] = "2023-06-01";
        }
        using var answer = new MemoryStream();
        context.Response.Body = answer;
        context.RequestAborted = stoppingToken;
        await pipeline.InvokeAsync(context, dialect, operation);
        await context.Response.Body.FlushAsync(CancellationToken.None);
        var call = context.Features.Get<CorridorRequestFeature>();
        var outcome = call?.Outcome ?? RequestOutcome.Success;
        var retryAfter = int.TryParse(context.Response.Headers.RetryAfter.ToString(), out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(1);
        var status = context.Response.StatusCode;
        // The tokens an answer was metered (and billed) at; a refusal or an error has none to count.
        var tokens = call is { Usage: var usage } && status is >= 200 and < 300
            ? new BatchTokens(usage.InputTokens, usage.CacheReadTokens, usage.OutputTokens, usage.ReasoningTokens)
            : BatchTokens.None;
        return new Answer(status, answer.ToArray(), outcome, call?.ErrorCode,
            TimeSpan.FromTicks(Math.Clamp(retryAfter.Ticks, TimeSpan.FromSeconds(1).Ticks, LongestRetryWait.Ticks)), tokens);
    }

    /// <summary>
    /// Ends a batch that is not to run any more: cancelled, past its completion window, or its key refused. False when it is
    /// to run. <paramref name="batch"/> is as its claim read it, with its counts: no request of it runs meanwhile.
    /// </summary>
    private async Task<bool> EndIfDueAsync(BatchJob batch, CancellationToken stoppingToken)
    {
        if (batch.State == BatchStates.Cancelling)
        {
            await EndAsync(batch, BatchEndings.Cancelled, null, BatchNotRun.Canceled, stoppingToken);
            return true;
        }
        if (time.GetUtcNow() >= batch.ExpiresAt)
        {
            await EndAsync(batch, BatchEndings.Expired, null, BatchNotRun.Expired, stoppingToken);
            return true;
        }
        if (Refusal(batch.TenantId, batch.KeyId) is { } refusal)
        {
            // Every request left would be refused alike, so none is run (and recorded): each ends errored with that one
            // refusal. A batch none of whose requests was answered could not run at all: it failed, as OpenAI fails one, with
            // the refusal as its error; one that had answers completed with them.
            var failure = batch.Counts.Succeeded + batch.Counts.Errored == 0 ? new BatchFailure(refusal.Code ?? BatchEndings.Failed, refusal.Message) : null;
            await EndAsync(batch, failure is null ? BatchEndings.Completed : BatchEndings.Failed, failure, RefusedAll(batch, refusal), stoppingToken);
            return true;
        }
        return false;
    }

    private async Task EndAsync(BatchJob batch, string ending, BatchFailure? failure, BatchNotRun notRun, CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        string? outputId = null, errorId = null;
        var files = new List<StoredFile>();
        // A batch that failed has no result files, as OpenAI's has none: its errors say why.
        if (batch.Api == BatchApi.OpenAI && failure is null)
        {
            var results = new BatchDocuments.OpenAIResultFiles(notRun);
            await foreach (var item in store.ReadBatchItemsAsync(batch.Id, stoppingToken))
            {
                results.Add(item);
            }
            var (output, errors) = results.Finish();
            // An output file even when empty, as OpenAI gives one for a batch that completed.
            output ??= [];
            // Kept as the batch's output_expires_after says (the operator's file retention when it said nothing, or was made before).
            var expiresAt = now + (batch.OutputExpiresAfter ?? options.EffectiveFileRetention);
            outputId = NewFileId(now);
            files.Add(new StoredFile(outputId, batch.TenantId, "batch_output", $"{batch.Id}_output.jsonl", output.Length, now) { ExpiresAt = expiresAt, Content = output });
            if (errors is not null)
            {
                errorId = NewFileId(now);
                files.Add(new StoredFile(errorId, batch.TenantId, "batch_output", $"{batch.Id}_error.jsonl", errors.Length, now) { ExpiresAt = expiresAt, Content = errors });
            }
        }
        if (await store.EndBatchAsync(batch.Id, ending, failure, notRun, now, outputId, errorId, files, stoppingToken))
        {
            LogBatchEnded(batch.Id, batch.TenantId, ending);
        }
    }

    /// <summary>
    /// The id a run of a batch's request is recorded under: fixed by the batch, the request's place and its attempt, so a
    /// run after a crash (which could not count an attempt) has the id of the run the crash cut short, and its ledger row is
    /// not written twice (the store ignores a request id it holds). <c>req_</c> and 32 hex digits, as any request id: 20 of
    /// the batch's id, then 48 bits of the place (20 bits: a batch has at most 100,000 requests) and the attempt (28 bits:
    /// a run at most once a second gives no two runs one id in years, where 16 bits ran out within a day of rate limits).
    /// </summary>
    internal static string RequestIdOf(string batchId, int position, int attempt)
    {
        var hex = batchId.AsSpan(batchId.IndexOf('_') + 1);
        Span<byte> tail = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(tail, ((ulong)(uint)position << AttemptBits) | (uint)Math.Min(attempt, (1 << AttemptBits) - 1));
        return string.Concat("req_", hex[..Math.Min(20, hex.Length)], Convert.ToHexStringLower(tail[2..]));
    }

    internal static string NewFileId(DateTimeOffset at) => RequestPipeline.NewId("file-", at);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Warning, Message = "Batches are not run: {Reason}")]
    private partial void LogNoBatches(string reason);

    [LoggerMessage(EventId = 4201, Level = LogLevel.Error, Message = "Running batches failed; retrying shortly")]
    private partial void LogBatchRunFailed(Exception exception);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Information, Message = "Batch {BatchId} of tenant {TenantId} ended: {Ending}")]
    private partial void LogBatchEnded(string batchId, string tenantId, string ending);
}
