using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Channels;
using Corridor.Core.Catalog;
using Corridor.Core.Metering;
using Corridor.Core.Policy;
using Corridor.Core.Pricing;
using Corridor.Core.Routing;
using Corridor.Core.Shadow;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Metering;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Recording;
using Corridor.Gateway.Translation;
using Corridor.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Shadow;

/// <summary>
/// Shadow evaluation: after a tenant's request has been answered, mirrors a configured share of its model's traffic to a
/// candidate model in the background and records how the candidate did next to the primary. The request path only
/// draws the share and copies the body into a bounded queue; a full queue (or a pair over its in-flight cap) drops the
/// mirror and counts it, never waits. In the background each mirror is entitled as a request of its key and tenant sent
/// then would be, by the live path's decision (<see cref="Entitlement.Decide"/>; a refusal is recorded as a skip with the
/// reason code, and a policy's decision is audited), routed only among the candidate's
/// compliant deployments (one attempt, no fallback, so shadows cannot multiply load), metered, and written to the
/// ledger billed to the operator (<see cref="LedgerEntry.ShadowOf"/> set, not billable, no revenue), with a
/// <see cref="ShadowResult"/> comparing the two.
/// </summary>
internal sealed partial class ShadowMirror(
    GatewayState state,
    RouteTable routes,
    UpstreamClient client,
    LedgerWriter ledger,
    AuditWriter audit,
    ICorridorStore store,
    KeyCache keys,
    MonitorService monitor,
    ServerOptions server,
    LedgerOptions ledgerOptions,
    TimeProvider time,
    ILogger<ShadowMirror> logger,
    StopDeadline? stop = null,
    ReasoningSeal? seal = null) : BackgroundService
{
    private readonly StopDeadline _stop = stop ?? StopDeadline.None(time);
    // Queue size and worker count are read at start; pairs and shares follow reloads.
    private readonly Channel<ShadowJob> _queue = Channel.CreateBounded<ShadowJob>(
        new BoundedChannelOptions(state.Active.Config.Shadow.QueueCapacity) { FullMode = BoundedChannelFullMode.Wait });
    private readonly int _concurrency = state.Active.Config.Shadow.Concurrency;
    private readonly ConcurrentDictionary<string, StrongBox> _inFlight = new(StringComparer.Ordinal);
    private long _enqueued;
    private long _droppedQueueFull;
    private long _droppedPairLimit;
    private long _pending;

    /// <summary>What the mirror has done since start, for the admin API.</summary>
    public ShadowStatus Status => new(
        Interlocked.Read(ref _enqueued), Interlocked.Read(ref _droppedQueueFull), Interlocked.Read(ref _droppedPairLimit), Interlocked.Read(ref _pending));

    /// <summary>
    /// How many characters of each answer the meter keeps: the ledger's retention, or enough to compare outputs when
    /// shadow evaluation is on (the recorder still stores only what the ledger retains).
    /// </summary>
    public static int RetainChars(LedgerOptions ledger, ActiveConfig config)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(config);
        var retain = ledger.RetainBodies ? ledger.RetainMaxChars : 0;
        var shadow = config.Config.Shadow;
        return shadow.Enabled ? Math.Max(retain, shadow.CompareChars) : retain;
    }

    /// <summary>Draws whether this answered request is mirrored and, if so, queues a copy of it. Never blocks.</summary>
    public void Mirror(CorridorRequestFeature call)
    {
        var shadow = call.Config.Config.Shadow;
        if (!shadow.Enabled || !call.Served || call.Outcome != RequestOutcome.Success || call.Operation == Operation.Embeddings
            || call.Deployment is not { } served || call.Request is not { } request || call.Caller is not { } caller
            || shadow.For(served.Model.Id, request.Model) is not { } pair
            || Random.Shared.NextDouble() >= pair.Share)
        {
            return;
        }
        var inFlight = _inFlight.GetOrAdd(pair.Source, static _ => new StrongBox());
        if (Interlocked.Increment(ref inFlight.Value) > (pair.MaxInFlight ?? int.MaxValue))
        {
            Interlocked.Decrement(ref inFlight.Value);
            Interlocked.Increment(ref _droppedPairLimit);
            return;
        }
        var usage = call.Usage;
        // The candidate is decided as a request for it would be: on what the client asked (as the primary was), and sent
        // the request as enforcement left it, restricted by the candidate's own decision, not by the primary's.
        var asked = request.Original;
        var job = new ShadowJob(
            pair,
            inFlight,
            served.Model.Id,
            call.RequestId,
            caller,
            call.Dialect,
            call.Operation,
            (call.Enforced ?? request).Copy(),
            asked.Features(pair.Candidate) with { Batch = call.Batch },
            new ModelOutput(Cap(usage.Text, shadow.CompareChars), usage.ToolNames, usage.ToolArguments ?? ""),
            (int)time.GetElapsedTime(call.StartTimestamp).TotalMilliseconds,
            call.Cost);
        Interlocked.Increment(ref _pending);
        if (_queue.Writer.TryWrite(job))
        {
            Interlocked.Increment(ref _enqueued);
            return;
        }
        Interlocked.Increment(ref _droppedQueueFull);
        Finish(job);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, _concurrency).Select(_ => Task.Run(() => WorkAsync(stoppingToken), CancellationToken.None)));

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                while (reader.TryRead(out var job))
                {
                    try
                    {
                        var result = await RunAsync(job, stoppingToken);
                        await SaveAsync(result, stoppingToken);
                    }
                    catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                    {
                        return;
                    }
                    catch (Exception e)
                    {
                        LogShadowFailed(e, job.PrimaryRequestId);
                    }
                    finally
                    {
                        Finish(job);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Finish(ShadowJob job)
    {
        job.Request.Dispose();
        Interlocked.Decrement(ref job.InFlight.Value);
        Interlocked.Decrement(ref _pending);
    }

    private async Task<ShadowResult> RunAsync(ShadowJob job, CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        var requestId = RequestPipeline.NewRequestId(now);
        var config = state.Active;
        var compareChars = config.Config.Shadow.CompareChars;
        ShadowResult Skip(string reason) => new(requestId, job.PrimaryRequestId, now, job.Caller.Tenant.Id, job.PrimaryModel, job.Pair.Candidate,
            ShadowOutcome.Skipped, reason, job.PrimaryLatencyMs, null, job.PrimaryCost, 0m, null);

        if (!config.Catalog.TryGetModel(job.Pair.Candidate, out var candidate))
        {
            return Skip("candidate_unknown");
        }

        // A max_tokens the candidate cannot produce is refused before any upstream is asked, as it is for a request to it.
        if (job.Request.MaxTokens > ModelChoice.OutputBound(candidate.Config))
        {
            return Skip("max_tokens_too_large");
        }

        // A request the candidate cannot do (tools, images or documents, reasoning it lacks) would only measure its refusal.
        if ((candidate.Config.Capabilities & job.Request.Needs) != job.Request.Needs)
        {
            return Skip("not_capable");
        }

        // Entitle as a request for the candidate sent now would be: the key and its tenant as the gateway knows them now
        // (revoked, or screened as a denied party, since the primary was served), decided as the live path decides
        // (Entitlement.Decide, with a policy or without), served only from the deployments the decision allows.
        if (keys.Current(job.Caller.Key) is not { } caller || Authenticator.Refusal(caller.Key, now) is not null)
        {
            return Skip("invalid_api_key");
        }
        if (Enforcement.IsSuspended(monitor, caller.Tenant.Id, caller.Key.Id))
        {
            return Skip(Enforcement.SuspendedCode);
        }
        var input = DecisionInput.For(caller.Tenant, caller.Key.Id, job.Asked with { Model = candidate.Id }, now);
        var decision = Entitlement.Decide(config, in input, candidate.Deployments);
        string? decisionId = null;
        if (config.Policy is { } policy)
        {
            decisionId = "dec_" + requestId.AsSpan(4).ToString();
            audit.Enqueue(new DecisionToAudit(decisionId, requestId, input, policy));
        }
        if (!decision.Allowed)
        {
            return Skip(decision.ReasonCode);
        }
        var allowed = decision.Deployments;
        var request = job.Request = RequestRestrictions.Apply(job.Request, decision.Restrictions, job.Operation);

        // Route: the first deployment in the candidate's routing order whose breaker lets a request through.
        DeploymentEntry? deployment = null;
        DeploymentHealth? health = null;
        BreakerAttempt attempt = default;
        foreach (var option in routes.Order(allowed, config.Config.Routing))
        {
            var h = routes.Health(option);
            if (h.TryEnter(time.GetUtcNow(), out attempt))
            {
                (deployment, health) = (option, h);
                break;
            }
        }
        if (deployment is null || health is null)
        {
            return Skip(allowed.Count == 0 ? "no_deployment" : "circuit_open");
        }
        // Given back however the mirror ends with no outcome recorded (untranslatable, shutdown, an exception no upstream
        // failure explains), as the forwarder's attempts are: a half-open probe kept would keep the deployment shut to every
        // request, live traffic's included.
        using var entered = attempt;

        // Forward, once.
        var target = config.Upstreams[deployment];
        var direction = UpstreamBody.Direction(job.Dialect, target.Dialect);
        var body = UpstreamBody.For(request, direction, target, config.Config.Admission.DefaultOutputTokens(deployment.Model),
            job.Operation, seal, job.Caller);
        if (body.Error is not null)
        {
            return Skip("untranslatable");
        }
        var usage = new UsageMeter(compareChars);
        var sentAt = time.GetTimestamp();
        var (status, error, streamed) = await CallAsync(target, UpstreamBody.Bytes(body, request), usage, stoppingToken);
        var latency = (int)time.GetElapsedTime(sentAt).TotalMilliseconds;
        if (error is null or "upstream_rejected")
        {
            health.RecordSuccess(attempt, time.GetElapsedTime(sentAt), time.GetUtcNow());
        }
        else
        {
            health.RecordFailure(attempt, time.GetUtcNow());
        }

        // Meter and record, billed to the operator. No client waits for a shadow request, so neither does this for its row.
        // It costs what a tenant's request would be billed: an answer, or a stream the upstream began and then broke off or
        // stalled, at what the upstream reported or, failing that, an estimate; a whole answer that broke or was not JSON,
        // nothing (docs/faults.md).
        var served = error is null;
        var charged = served || (streamed && status is >= 200 and < 300);
        var estimated = charged && usage.EstimateIfMissing(request.Body.Span, Meter.OutputCap(request, job.Operation, candidate.Config, config.Config.Admission),
            Meter.InputCap(candidate.Config));
        var cost = charged ? PriceBook.Cost(deployment.Config, usage.Billed) : 0m;
        _ = ledger.Enqueue(new LedgerEntry(
            requestId,
            now,
            caller.Tenant.Id,
            caller.Key.Id,
            candidate.Id,
            job.Operation.Endpoint(),
            deployment.Id,
            deployment.Region,
            status,
            served ? RequestOutcome.Success : error == "upstream_timeout" ? RequestOutcome.Timeout : RequestOutcome.UpstreamError,
            charged ? usage.InputTokens : 0,
            charged ? usage.OutputTokens : 0,
            cost,
            estimated,
            latency,
            Billable: false,
            ErrorCode: error,
            ResponseText: ledgerOptions.RetainBodies && usage.Text is { } text ? Cap(text, ledgerOptions.RetainMaxChars) : null,
            FinishReason: usage.FinishReason)
        {
            Vendor = candidate.Config.Vendor,
            DecisionId = decisionId,
            ShadowOf = job.PrimaryRequestId,
            CacheReadTokens = charged ? usage.CacheReadTokens : 0,
            CacheWriteTokens = charged ? usage.CacheWriteTokens : 0,
        });
        if (!served)
        {
            return new ShadowResult(requestId, job.PrimaryRequestId, now, caller.Tenant.Id, job.PrimaryModel, candidate.Id,
                ShadowOutcome.CandidateFailed, error, job.PrimaryLatencyMs, latency, job.PrimaryCost, cost, null);
        }
        var output = new ModelOutput(Cap(usage.Text, compareChars), usage.ToolNames, usage.ToolArguments ?? "");
        return new ShadowResult(requestId, job.PrimaryRequestId, now, caller.Tenant.Id, job.PrimaryModel, candidate.Id,
            ShadowOutcome.Compared, null, job.PrimaryLatencyMs, latency, job.PrimaryCost, cost, Similarity.Compare(job.PrimaryOutput, output));
    }

    /// <summary>
    /// Sends the request and reads the whole answer (streamed or not) into <paramref name="usage"/>; the error code is null
    /// on success. Each wait is bounded as the tenant's requests are (the headers timeout, then the idle timeout between
    /// reads), not the whole answer: a long, healthy candidate stream is not a timeout.
    /// </summary>
    private async Task<(int Status, string? Error, bool Streamed)> CallAsync(UpstreamTarget target, ReadOnlyMemory<byte> body, UsageMeter usage, CancellationToken stoppingToken)
    {
        var status = 0;
        var streamed = false;
        try
        {
            using var response = await client.SendAsync(target, Operation.ChatCompletions, body, server.EffectiveStreamIdleTimeout, stoppingToken);
            status = response.Status;
            if (status >= 400)
            {
                // As live traffic counts them: 429 rate limited; 5xx, and 401, 403, 404 and 408 (the deployment's credential or
                // configuration refused), a failure of the deployment; any other 4xx the request's own mistake.
                return (status, status == (int)HttpStatusCode.TooManyRequests ? "upstream_rate_limited"
                    : Forwarder.IsRetriable(status) ? "upstream_error" : "upstream_rejected", false);
            }
            if (response.IsEventStream)
            {
                streamed = true;
                var reader = PipeReader.Create(response.Body, new StreamPipeReaderOptions(leaveOpen: true));
                var ended = false;
                // As a tenant's stream is read: an event that is not JSON, or the upstream's own error event, ends it with its code.
                string? eventError = null;
                var result = await SseReader.ReadAllAsync(reader, (in SseEvent sse) =>
                {
                    if (eventError is not null)
                    {
                        return;
                    }
                    if (UpstreamStreamEvent.Read(sse, usage, target.Dialect == Dialect.OpenAI, out var code) == UpstreamStreamEventKind.End)
                    {
                        ended = true;
                    }
                    else if (!ended)
                    {
                        eventError = code;
                    }
                }, static () => ValueTask.CompletedTask, server.EffectiveStreamIdleTimeout, stoppingToken, stop: () => eventError is not null, ended: () => ended);
                await reader.CompleteAsync();
                return eventError is not null ? (status, eventError, true)
                    : result == SseReadResult.Ended && ended ? (status, null, true)
                    : (status, result == SseReadResult.IdleTimeout ? "upstream_timeout" : "upstream_stream_broken", true);
            }
            var (read, how) = await response.ReadWholeAsync(server.EffectiveStreamIdleTimeout, stoppingToken);
            using var whole = read;
            return how switch
            {
                BodyRead.IdleTimeout => (status, "upstream_timeout", false),
                BodyRead.Broken => (status, "upstream_response_broken", false),
                // As the tenant's whole answers are read: a JSON object is an answer (its usage estimated when missing).
                _ => whole is not null && usage.TryScanObject(whole.Span) ? (status, null, false) : (status, "upstream_invalid_response", false),
            };
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return (status, "upstream_timeout", streamed);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            // Before the answer's headers the upstream was not reached; after them its answer broke off.
            return (status, status == 0 ? "upstream_unreachable" : streamed ? "upstream_stream_broken" : "upstream_response_broken", streamed);
        }
    }

    /// <summary>
    /// Stores a result, trying up to three times. Each try waits for the store at most <see cref="StoreDeadline.Timeout"/>
    /// (a database that stops answering would otherwise hold the worker, and the gateway's stop, for the driver's
    /// timeouts), and once the gateway stops a failed try is not repeated: the stop waits for one try at most, and not past
    /// its deadline (<see cref="StopDeadline"/>).
    /// </summary>
    private async Task SaveAsync(ShadowResult result, CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // Not cancelled by the stop: a result computed is still stored when the store answers.
                await StoreDeadline.RunAsync(token => store.AppendShadowResultsAsync([result], token), time, _stop, CancellationToken.None);
                return;
            }
            catch (Exception e) when (e is not OperationCanceledException && attempt < 3 && !stoppingToken.IsCancellationRequested)
            {
                LogSaveRetry(e, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), time, CancellationToken.None);
            }
        }
    }

    private static string Cap(string? text, int chars) => text is null ? "" : text.Length > chars ? text[..chars] : text;

    public override void Dispose()
    {
        while (_queue.Reader.TryRead(out var job))
        {
            job.Request.Dispose();
        }
        base.Dispose();
    }

    [LoggerMessage(EventId = 4101, Level = LogLevel.Error, Message = "Shadow request for {PrimaryRequestId} failed unexpectedly")]
    private partial void LogShadowFailed(Exception exception, string primaryRequestId);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Warning, Message = "Writing a shadow result failed (attempt {Attempt}); retrying")]
    private partial void LogSaveRetry(Exception exception, int attempt);

    /// <summary>A counter shared by the jobs of one pair.</summary>
    internal sealed class StrongBox
    {
        public int Value;
    }

    private sealed class ShadowJob(
        ShadowPair pair, StrongBox inFlight, string primaryModel, string primaryRequestId, AuthenticatedKey caller, Dialect dialect, Operation operation,
        ClientRequest request, RequestFeatures asked, ModelOutput primaryOutput, int primaryLatencyMs, decimal primaryCost)
    {
        public ShadowPair Pair { get; } = pair;
        public StrongBox InFlight { get; } = inFlight;
        public string PrimaryModel { get; } = primaryModel;
        public string PrimaryRequestId { get; } = primaryRequestId;

        /// <summary>The key the primary was authenticated as; the mirror is decided on it as the key cache holds it then.</summary>
        public AuthenticatedKey Caller { get; } = caller;
        public Dialect Dialect { get; } = dialect;
        public Operation Operation { get; } = operation;

        /// <summary>
        /// The copy of the tenant's request as enforcement left it (before the primary's restrictions), which this job owns
        /// (and disposes); replaced when the candidate's decision restricts it.
        /// </summary>
        public ClientRequest Request { get; set; } = request;

        /// <summary>The features of the request as the client sent it, which policy decides on.</summary>
        public RequestFeatures Asked { get; } = asked;
        public ModelOutput PrimaryOutput { get; } = primaryOutput;
        public int PrimaryLatencyMs { get; } = primaryLatencyMs;
        public decimal PrimaryCost { get; } = primaryCost;
    }
}

/// <summary>Counts since start: mirrors queued, dropped because the queue was full or the pair at its cap, and still pending.</summary>
internal sealed record ShadowStatus(long Enqueued, long DroppedQueueFull, long DroppedPairLimit, long Pending);
