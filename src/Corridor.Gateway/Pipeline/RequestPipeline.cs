using System.Buffers;
using Corridor.Core.Metering;
using Corridor.Gateway.Admission;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Metering;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Observability;
using Corridor.Gateway.Recording;
using Corridor.Gateway.Shadow;
using Corridor.Gateway.StoredResponses;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// The request's way through Corridor, top to bottom (DESIGN.md, "The request's way through").
/// Each step reads and writes the typed <see cref="CorridorRequestFeature"/> and returns an error as a value;
/// the first error is answered in the client's dialect and the rest of the steps are skipped.
/// </summary>
internal sealed class RequestPipeline(
    FrontDoor.FrontDoor frontDoor,
    Authenticator authenticator,
    Admitter admitter,
    Forwarder forwarder,
    Recorder recorder,
    MonitorService monitor,
    ShadowMirror shadow,
    ResponseKeeper responses,
    GatewayMetrics metrics,
    RequestsInFlight inFlight,
    GatewayState state,
    LedgerOptions ledger,
    TimeProvider time)
{
    public async Task InvokeAsync(HttpContext context, Dialect dialect, Operation operation)
    {
        inFlight.Enter();
        try
        {
            await RunAsync(context, dialect, operation);
        }
        finally
        {
            inFlight.Exit();
        }
    }

    private async Task RunAsync(HttpContext context, Dialect dialect, Operation operation)
    {
        var inProcess = context.Features.Get<InProcessCaller>();
        var receivedAt = inProcess?.ReceivedAt ?? time.GetUtcNow();
        var active = state.Active;
        var requestId = inProcess?.RequestId ?? NewRequestId(receivedAt);
        var call = new CorridorRequestFeature(active, requestId, dialect, operation, receivedAt, time.GetTimestamp(),
            ShadowMirror.RetainChars(ledger, active));
        call.InProcess = inProcess;
        context.Features.Set(call);
        WriteRequestId(context.Response, call.RequestId);
        context.Response.Headers["x-corridor-region"] = "none";
        Task<bool> durable;
        Task<bool> kept;
        try
        {
            // 1. Front door: the client's dialect into one request model, the original body kept.
            var error = await frontDoor.ReadAsync(context, call);

            // 2. Authenticate the key (in-memory cache backed by the store).
            error ??= authenticator.Authenticate(context, call);

            // 2b. A Responses request that continues a stored response of the caller's tenant, which the front door left
            // untranslated: read that response, then translate the request into its chat completion with its items first.
            error ??= await responses.ContinueAsync(context, call);

            // 2c. A Responses answer to keep whose tenant's stored responses are past responses.maxTenantBytes is served but
            // not kept, and says store: false.
            if (error is null)
            {
                responses.Limit(call);
            }

            // 3. Enforcement by the monitor and operators: suspend refuses, throttle strips harvest-friendly features and lowers limits.
            error ??= Enforcement.Enforce(call, monitor);

            // 4. Entitle: the model and the deployments this request may be served from.
            error ??= Entitlement.Entitle(context, call, call.ReceivedAt);

            // 5. Admit: rate limits, stream slots, and the budget reservation of the worst-case cost.
            error ??= await admitter.AdmitAsync(context, call);

            // 6–7. Route among the allowed deployments only, forward through the vendor's adapter, stream back.
            if (error is null)
            {
                error = await forwarder.ForwardAsync(context, call);
            }

            if (error is not null)
            {
                RespondWithError(context, call, error);
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client left while the gateway read or wrote a whole (not streamed) answer.
            call.Outcome = RequestOutcome.ClientDisconnected;
        }
        finally
        {
            // 8. Meter: tokens from the upstream's usage (or a tokenizer's estimate, off the socket's thread when large),
            // cost from the price book; settle the admission's reservation.
            await Meter.SettleAsync(call);
            admitter.Settle(call);

            // 9. Record: the ledger row, group-committed in batches (written by this request itself when no other is in
            // flight); the monitor's observation, queued for its background loop.
            durable = recorder.Record(context, call, lightLoad: inFlight.Count <= 1);
            // A Responses answer to keep (store: true or left out), written meanwhile.
            kept = responses.KeepAsync(call);
            monitor.Observe(context, call);
            metrics.Record(call, call.Status != 0 ? call.Status : context.Response.StatusCode);

            // 10. Shadow evaluation: maybe mirror this request to its model's candidate, in the background.
            shadow.Mirror(call);
            call.DisposeRequests();
        }

        // 11. Release the response's final bytes (a whole body, an error, a stream's last event) once its ledger row is
        // durable: a client that received a complete answer can count on its row surviving a crash (docs/durability.md);
        // and once a Responses answer is kept, so that a client that has it can continue it at once.
        await ReleaseAsync(context, call, durable, kept);
    }

    private async Task ReleaseAsync(HttpContext context, CorridorRequestFeature call, Task<bool> durable, Task<bool> kept)
    {
        if (!await kept)
        {
            // A Responses answer the store would not take: what is still held of it says store: false.
            ResponseKeeper.SayNotKept(context.Response, call.Held);
        }
        if (!call.Held.IsEmpty && !durable.IsCompleted && !context.RequestAborted.IsCancellationRequested)
        {
            var waitedFrom = time.GetTimestamp();
            await durable;
            recorder.Waits.Record(time.GetElapsedTime(waitedFrom));
        }
        await call.Held.ReleaseAsync(context.Response, context.RequestAborted);
    }

    /// <summary>Answers with the first error of a request's steps, in its dialect, and sets its outcome; also used by <see cref="TokenCountPipeline"/>.</summary>
    internal static void RespondWithError(HttpContext context, CorridorRequestFeature call, GatewayError error)
    {
        call.ErrorCode ??= error.Code;
        call.Status = error.Status;
        if (call.Outcome == RequestOutcome.Success)
        {
            call.Outcome = error.Kind switch
            {
                ErrorKind.Authentication => RequestOutcome.Unauthorized,
                ErrorKind.PermissionDenied => RequestOutcome.Denied,
                ErrorKind.InvalidRequest or ErrorKind.NotFound or ErrorKind.RequestTooLarge => RequestOutcome.ClientError,
                ErrorKind.Timeout => RequestOutcome.Timeout,
                ErrorKind.QuotaExceeded => RequestOutcome.OverBudget,
                _ => RequestOutcome.UpstreamError,
            };
        }
        if (context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        WriteError(context.Response, call.Held, call.Dialect, error, call.RequestId);
    }

    /// <summary>Answers with an error in the client's dialect; also used by endpoints outside the pipeline.</summary>
    public static async Task WriteErrorAsync(HttpContext context, Dialect dialect, GatewayError error, string? requestId)
    {
        WriteError(context.Response, context.Response.BodyWriter, dialect, error, requestId);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    private static void WriteError(HttpResponse response, IBufferWriter<byte> body, Dialect dialect, GatewayError error, string? requestId)
    {
        response.StatusCode = error.Status;
        response.ContentType = "application/json";
        if (error.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = retryAfter;
        }
        if (error.NotRetryable)
        {
            response.Headers["x-should-retry"] = "false";
        }
        ErrorWriter.WriteBody(body, dialect, error, requestId);
    }

    /// <summary>
    /// The request's id in Corridor's header and in the two the vendors' SDKs read: <c>x-request-id</c> (OpenAI's; the
    /// OpenAI SDKs' <c>_request_id</c> and an error's <c>request_id</c>) and <c>request-id</c> (Anthropic's; the Anthropic
    /// SDKs' <c>_request_id</c>). Applications log those and quote them to support, so they must be the id the ledger
    /// and the logs know.
    /// </summary>
    internal static void WriteRequestId(HttpResponse response, string requestId)
    {
        var headers = response.Headers;
        headers["x-corridor-request-id"] = requestId;
        headers["x-request-id"] = requestId;
        headers["request-id"] = requestId;
    }

    /// <summary><c>req_</c> and a version 7 UUID (time-ordered) in 32 hex digits (<see cref="NewId"/>).</summary>
    internal static string NewRequestId(DateTimeOffset at) => NewId("req_", at);

    /// <summary>
    /// <paramref name="prefix"/> and a version 7 UUID (time-ordered) in 32 hex digits: request ids, and the ids of batches
    /// and files. Its 74 random bits come from <see cref="Random.Shared"/>: <see cref="Guid.CreateVersion7()"/> reads the
    /// OS's secure generator, a system call on every request, for an id that must be unique but need not be unpredictable.
    /// </summary>
    internal static string NewId(string prefix, DateTimeOffset at)
    {
        Span<byte> uuid = stackalloc byte[16];
        Random.Shared.NextBytes(uuid);
        var milliseconds = at.ToUnixTimeMilliseconds();
        for (var i = 5; i >= 0; i--)
        {
            uuid[i] = (byte)milliseconds;
            milliseconds >>= 8;
        }
        uuid[6] = (byte)(0x70 | (uuid[6] & 0x0F)); // version 7
        uuid[8] = (byte)(0x80 | (uuid[8] & 0x3F)); // RFC 9562 variant
        return string.Create(prefix.Length + 32, (prefix, Uuid: new Guid(uuid, bigEndian: true)), static (chars, state) =>
        {
            state.prefix.CopyTo(chars);
            Span<byte> bytes = stackalloc byte[16];
            state.Uuid.TryWriteBytes(bytes, bigEndian: true, out _);
            Convert.TryToHexStringLower(bytes, chars[state.prefix.Length..], out _);
        });
    }
}
