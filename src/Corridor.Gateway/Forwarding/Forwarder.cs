using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Corridor.Core.Json;
using Corridor.Core.Metering;
using Corridor.Core.Routing;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Metering;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Translation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// Routes a request among its allowed deployments in order and relays the first answer that is not a failure.
/// A deployment is skipped on connect failure, timeout, 5xx, 429 or a credential/config rejection, but only
/// before any byte reached the client; after that, an upstream failure ends the stream with an error event.
/// </summary>
internal sealed partial class Forwarder(UpstreamClient client, RouteTable routes, ServerOptions server, TimeProvider time, ILogger<Forwarder> logger, ReasoningSeal seal)
{
    public async Task<GatewayError?> ForwardAsync(HttpContext context, CorridorRequestFeature call)
    {
        var request = call.Request!;
        var aborted = context.RequestAborted;
        GatewayError? lastError = null;
        var attempts = 0;
        routes.RetryBudget.OnRequest();
        var order = routes.Order(call.AllowedDeployments, call.Config.Config.Routing);
        for (var i = 0; i < order.Count; i++)
        {
            var deployment = order[i];
            var health = routes.Health(deployment);
            if (!health.TryEnter(time.GetUtcNow(), out var entered))
            {
                lastError ??= new GatewayError(ErrorKind.Unavailable, $"Every deployment of model '{request.Model}' is failing; retry later.", "circuit_open");
                continue;
            }
            // A probe of a half-open breaker that learns nothing (the client leaves, the retry budget runs out, the request
            // cannot be translated for this deployment) is given back as the attempt ends, so the next request may probe.
            // Its outcome is recorded with the attempt, so one that began before the breaker opened, or before its probe,
            // cannot change it.
            using var attempt = entered;
            var target = call.Config.Upstreams[deployment];
            // The body is built before anything is spent on this deployment, from the request as its model would serve it
            // (an alias's fallback to another model goes out under that model's own decision and restrictions), without
            // making that model current yet: a deployment that cannot express the request is skipped at no cost to the
            // retry budget, and leaves the request's deployment and decision as they were.
            var candidate = call.RequestFor(deployment)!;
            var direction = UpstreamBody.Direction(call.Dialect, target.Dialect);
            var body = UpstreamBody.For(candidate, direction, target, call.Config.Config.Admission.DefaultOutputTokens(deployment.Model),
                call.Operation, seal, call.Caller);
            if (body.Error is { } translationError)
            {
                // This deployment cannot express the request; another vendor's might. A Responses client is told the
                // parameter it sent, not the one of the chat request made of it.
                var (message, param) = call.Responses is { } responses
                    ? ResponsesToChat.ForResponsesClient(translationError, body.ErrorParam, responses.Sources)
                    : (translationError, body.ErrorParam);
                lastError = GatewayError.Invalid(message, param);
                continue;
            }
            if (attempts++ > 0 && !routes.RetryBudget.TryRetry(time.GetUtcNow()))
            {
                LogRetryBudgetExhausted(call.RequestId, deployment.Id);
                break;
            }
            call.Deployment = deployment;
            call.ServeWith(deployment);
            request = call.Request!;
            var sentAt = time.GetTimestamp();

            var operation = call.Operation == Operation.Embeddings ? Operation.Embeddings : Operation.ChatCompletions;
            UpstreamResponse response;
            try
            {
                response = await client.SendAsync(target, operation, UpstreamBody.Bytes(body, request), UpstreamHeaders(target, call), server.EffectiveStreamIdleTimeout, aborted);
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                call.Outcome = RequestOutcome.ClientDisconnected;
                return null;
            }
            catch (OperationCanceledException)
            {
                LogUpstreamFailed(call.RequestId, deployment.Id, "no response headers within the idle timeout");
                health.RecordFailure(attempt, time.GetUtcNow());
                lastError = new GatewayError(ErrorKind.Timeout, $"The upstream for model '{request.Model}' did not answer in time.", "upstream_timeout");
                continue;
            }
            catch (HttpRequestException e)
            {
                LogUpstreamFailed(call.RequestId, deployment.Id, e.Message);
                health.RecordFailure(attempt, time.GetUtcNow());
                lastError = new GatewayError(ErrorKind.UpstreamFailed, $"The upstream for model '{request.Model}' could not be reached.", "upstream_unreachable");
                continue;
            }

            using (response)
            {
                var status = response.Status;
                if (IsRetriable(status))
                {
                    LogUpstreamFailed(call.RequestId, deployment.Id, $"status {status}");
                    health.RecordFailure(attempt, time.GetUtcNow());
                    lastError = UpstreamStatusError(response, request.Model, call.Dialect);
                    continue;
                }
                // Lowest latency orders by the time to the headers; the breaker learns of the deployment only once its answer
                // ended (below), since an answer can still break, stall or be unreadable after them.
                var latency = time.GetElapsedTime(sentAt);
                context.Response.Headers["x-corridor-region"] = deployment.Region;
                GatewayError? error = null;
                RequestOutcome learned;
                if (status >= 400)
                {
                    (error, learned) = await RelayUpstreamErrorAsync(context, call, target, response, aborted);
                }
                else if (request.Stream && response.IsEventStream)
                {
                    learned = await RelayStreamAsync(context, call, target, direction, response, aborted);
                }
                else
                {
                    error = await RelayWholeAsync(context, call, target, direction, response, aborted);
                    learned = call.Outcome;
                }
                Learn(health, attempt, learned, latency);
                return error;
            }
        }
        call.Deployment ??= call.AllowedDeployments.Count > 0 ? call.AllowedDeployments[^1] : null;
        return lastError ?? new GatewayError(ErrorKind.Unavailable, $"No deployment can serve model '{request.Model}'.", "no_deployment");
    }

    /// <summary>
    /// Tells the deployment's breaker how its answer ended, once it ended: a fault of the upstream (a body or stream that
    /// broke, stalled, was cut short, was unreadable, or carried the upstream's own error) is a failure, as one before the
    /// headers is; an answer that completed, or a whole 4xx relayed as the client's mistake, is a success. A client that left
    /// first learns nothing, and a half-open probe is given back as the attempt ends. An answer that began before the
    /// breaker opened (or before its probe) and ends now changes the breaker no more (<see cref="DeploymentHealth"/>).
    /// </summary>
    private void Learn(DeploymentHealth health, in BreakerAttempt attempt, RequestOutcome outcome, TimeSpan latency)
    {
        switch (outcome)
        {
            case RequestOutcome.ClientDisconnected:
                break;
            case RequestOutcome.UpstreamError or RequestOutcome.Timeout:
                health.RecordFailure(attempt, time.GetUtcNow());
                break;
            default:
                health.RecordSuccess(attempt, latency, time.GetUtcNow());
                break;
        }
    }

    /// <summary>A status that is the deployment's failure (tried elsewhere, counted by its breaker), not the client's mistake.</summary>
    internal static bool IsRetriable(int status) =>
        status >= 500 || status is StatusCodes.Status429TooManyRequests or StatusCodes.Status401Unauthorized
            or StatusCodes.Status403Forbidden or StatusCodes.Status404NotFound or StatusCodes.Status408RequestTimeout;

    private static GatewayError UpstreamStatusError(UpstreamResponse response, string model, Dialect client)
    {
        if (response.Status == StatusCodes.Status429TooManyRequests)
        {
            return new GatewayError(ErrorKind.RateLimited, $"Every deployment of model '{model}' is rate limited upstream; retry later.", "upstream_rate_limited")
            {
                RetryAfter = response.RetryAfter,
            };
        }
        if (response.Status is StatusCodes.Status503ServiceUnavailable or AnthropicOverloaded)
        {
            // No capacity now (OpenAI's and DeepSeek's 503, Anthropic's 529): said as the client's vendor says it, Anthropic's
            // 529 overloaded_error (on which Claude Code moves to its fallback model) or a 503; both SDKs retry either.
            return new GatewayError(ErrorKind.Unavailable, $"The upstream for model '{model}' is overloaded (status {response.Status}); retry later.", StreamErrors.UpstreamOverloadedCode)
            {
                RetryAfter = response.RetryAfter,
                StatusOverride = client == Dialect.Anthropic ? AnthropicOverloaded : null,
            };
        }
        return new GatewayError(ErrorKind.UpstreamFailed, $"The upstream for model '{model}' failed (status {response.Status}).", "upstream_error");
    }

    /// <summary>Anthropic's status for <c>overloaded_error</c>.</summary>
    private const int AnthropicOverloaded = 529;

    /// <summary>
    /// A 4xx from the upstream is the client's mistake: relay it, in the client's dialect. Returns the error to answer with
    /// and how the upstream's part ended for its breaker: the client's mistake, unless the upstream broke off or stalled
    /// its body, which is the upstream failing to deliver its answer, as for any other body (a whole body that is not the
    /// vendor's error, such as a proxy's page, is still the client's mistake: a client must not open a breaker for all).
    /// </summary>
    private async Task<(GatewayError? Error, RequestOutcome Learned)> RelayUpstreamErrorAsync(HttpContext context, CorridorRequestFeature call, UpstreamTarget target, UpstreamResponse response, CancellationToken aborted)
    {
        // A 4xx body that breaks or stalls still answers with the upstream's status, just without its message.
        var (read, how) = await response.ReadWholeAsync(server.EffectiveStreamIdleTimeout, aborted);
        using var body = read;
        call.Outcome = RequestOutcome.ClientError;
        call.Status = response.Status;
        var learned = how switch
        {
            BodyRead.Broken => RequestOutcome.UpstreamError,
            BodyRead.IdleTimeout => RequestOutcome.Timeout,
            _ => RequestOutcome.ClientError,
        };
        if (learned != RequestOutcome.ClientError)
        {
            LogUpstreamFailed(call.RequestId, target.Deployment.Id, how == BodyRead.Broken
                ? $"the connection broke while reading a status {call.Status} response" : $"a status {call.Status} response body stalled");
        }
        // An error that quotes the upstream's request quotes its credential too: the client gets the status, not the body.
        var shown = body is not null && !WithholdsQuotedCredential(call, target, body.Span) ? body : null;
        if (shown is not null && target.Dialect == call.Dialect && JsonObjectText.IsOneObject(shown.Span))
        {
            context.Response.StatusCode = call.Status;
            context.Response.ContentType = "application/json";
            // A Responses client never sent the chat parameter the error names: it is told the one it sent.
            call.Held.Write(call.Responses is { } responses && ResponsesToChat.TranslateError(shown.Span, responses.Sources) is { } renamed ? renamed : shown.Span);
            return (null, learned);
        }
        var message = shown is null ? null : UpstreamErrorMessage(shown.Span);
        if (message is not null
            && ContextLengthErrors.Translate(call.Dialect, target.Dialect, call.Responses is not null, message, shown!.Span, call.Status) is { } tooLong)
        {
            return (tooLong, learned);
        }
        return (new GatewayError(ErrorKind.InvalidRequest, message ?? $"The upstream rejected the request (status {call.Status}).", "upstream_rejected")
        {
            StatusOverride = call.Status,
        }, learned);
    }

    private async Task<GatewayError?> RelayWholeAsync(HttpContext context, CorridorRequestFeature call, UpstreamTarget target, TranslationDirection direction, UpstreamResponse response, CancellationToken aborted)
    {
        PooledBody? read;
        BodyRead how;
        try
        {
            (read, how) = await response.ReadWholeAsync(server.EffectiveStreamIdleTimeout, aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The upstream accepted the request and did the work; the client left before its answer arrived. The answer's
            // usage is lost with it, so the request is billed as estimated (the prompt; no output was seen).
            call.Served = true;
            call.Outcome = RequestOutcome.ClientDisconnected;
            return null;
        }
        using var body = read;
        // After the upstream's headers there is no fallback: it accepted the request and may have done (and charged for) the
        // work. Nothing reached the client, so nothing is billed to the tenant either.
        if (how == BodyRead.IdleTimeout)
        {
            LogUpstreamFailed(call.RequestId, target.Deployment.Id, "the response body stalled");
            call.Outcome = RequestOutcome.Timeout;
            return new GatewayError(ErrorKind.Timeout, $"The upstream for model '{call.Request!.Model}' stopped sending its response.", "upstream_timeout");
        }
        if (how == BodyRead.Broken)
        {
            LogUpstreamFailed(call.RequestId, target.Deployment.Id, "the connection broke while reading the response");
            call.Outcome = RequestOutcome.UpstreamError;
            return new GatewayError(ErrorKind.UpstreamFailed, $"The upstream for model '{call.Request!.Model}' broke off its response.", "upstream_response_broken");
        }
        if (body is null || !call.Usage.TryScanObject(body.Span))
        {
            LogUpstreamFailed(call.RequestId, target.Deployment.Id, "the response is not JSON");
            call.Outcome = RequestOutcome.UpstreamError;
            return new GatewayError(ErrorKind.UpstreamFailed, $"The upstream for model '{call.Request!.Model}' returned an invalid response.", "upstream_invalid_response");
        }
        var clientBody = ClientBody(call, direction, body.Span);
        if (clientBody.IsInterrupted)
        {
            // The upstream could not finish the answer: an Anthropic client gets Anthropic's own word for that, 529
            // overloaded_error, a Responses client a 503; both SDKs retry. No answer reached the client, so nothing is billed
            // (docs/faults.md); a stream cut the same way is billed, as any stream that began.
            call.Outcome = RequestOutcome.UpstreamError;
            return new GatewayError(ErrorKind.Unavailable, clientBody.Error!, clientBody.Anomaly) { StatusOverride = call.Dialect == Dialect.Anthropic ? AnthropicOverloaded : null };
        }
        if (clientBody.Error is { } error)
        {
            call.Outcome = RequestOutcome.UpstreamError;
            return new GatewayError(ErrorKind.UpstreamFailed, $"The upstream's response could not be translated: {error}", "upstream_invalid_response");
        }
        // Served (and so billed) only once the client has an answer it can read: an untranslatable one is a 502, billed
        // nothing, like any other invalid upstream answer (docs/faults.md). One translated with a change the client's
        // dialect required (tool-call arguments that are not JSON, wrapped) is served, and its row says so.
        call.Served = true;
        call.ErrorCode = clientBody.Anomaly;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        var bytes = clientBody.Body is { } translated ? translated.AsMemory() : body.Memory;
        context.Response.ContentLength = bytes.Length;
        // Held, not written: the pipeline sends the body once the request's ledger row is durable.
        call.Held.Write(bytes.Span);
        return null;
    }

    /// <summary>
    /// The upstream's whole answer in the client's dialect: translated when they differ (default: sent as it came), then,
    /// for a Responses API client, from the chat completion into the Responses shape.
    /// </summary>
    private TranslationResult ClientBody(CorridorRequestFeature call, TranslationDirection direction, ReadOnlySpan<byte> upstream)
    {
        var model = call.Request!.Model;
        var translated = direction switch
        {
            TranslationDirection.ChatToMessages => ChatToMessages.TranslateResponse(upstream, model, "chatcmpl-" + call.RequestId),
            TranslationDirection.MessagesToChat => MessagesToChat.TranslateResponse(upstream, model, "msg_" + call.RequestId, ReasoningBlocksFor(call)),
            _ => default,
        };
        if (ResponsesContextOf(call) is not { } responses || translated.Error is not null)
        {
            return translated;
        }
        var answer = ResponsesToChat.TranslateResponse(translated.Body is { } chat ? chat : upstream, responses, model);
        return answer with { Anomaly = answer.Anomaly ?? translated.Anomaly };
    }

    /// <summary>
    /// The translator of a stream whose client and upstream differ, or whose client speaks the Responses API; null when
    /// the upstream's events go to the client as they are.
    /// </summary>
    private IStreamTranslator? StreamTranslatorFor(CorridorRequestFeature call, TranslationDirection direction)
    {
        var request = call.Request!;
        var translator = direction switch
        {
            TranslationDirection.ChatToMessages => ChatToMessages.CreateStreamTranslator(request.Model, "chatcmpl-" + call.RequestId, request.IncludeUsage),
            // message_start's prompt count, which an OpenAI stream gives only at its end: the gateway's tokenizer's estimate
            // from the body's first 2 KiB (tokenizing more would hold the stream's first event and the socket's thread),
            // never above the model's context window (a base64 image is not its bytes' worth of tokens).
            TranslationDirection.MessagesToChat => MessagesToChat.CreateStreamTranslator(request.Model, "msg_" + call.RequestId,
                Math.Min(TokenCounter.EstimateUtf8(request.Body.Span, sampleBytes: 2 * 1024), call.Model!.Config.ContextWindow), ReasoningBlocksFor(call)),
            _ => null,
        };
        return ResponsesContextOf(call) is { } responses ? ResponsesToChat.CreateStreamTranslator(responses, request.Model, translator) : translator;
    }

    /// <summary>
    /// How an OpenAI-kind model's reasoning reaches an Anthropic client: a signed thinking block when the request forwarded
    /// asked for thinking, else a sealed redacted one (docs/translation.md).
    /// </summary>
    private ReasoningBlocks ReasoningBlocksFor(CorridorRequestFeature call) => new(seal, Shown: call.Request!.Reasoning);

    /// <summary>
    /// A Responses client's context, its answer to echo what was applied: the request as forwarded where policy or
    /// throttling rewrote the client's (null for a client of another API).
    /// </summary>
    private static ResponsesContext? ResponsesContextOf(CorridorRequestFeature call)
    {
        if (call.Responses is { } responses && call.Request is { RewrittenFrom: not null } forwarded)
        {
            responses.Forwarded(PolicyParametersOf(forwarded.Original), PolicyParametersOf(forwarded));
        }
        return call.Responses;

        static PolicyParameters PolicyParametersOf(ClientRequest request) => new(request.MaxTokens, request.Reasoning, request.Logprobs);
    }

    /// <summary>
    /// Relays the upstream's stream and returns how the upstream's part of it ended (<see cref="RequestOutcome.ClientDisconnected"/>
    /// when the client left before that): what the row says, except when only the last flush to the client failed.
    /// </summary>
    private async Task<RequestOutcome> RelayStreamAsync(HttpContext context, CorridorRequestFeature call, UpstreamTarget target, TranslationDirection direction, UpstreamResponse response, CancellationToken aborted)
    {
        var request = call.Request!;
        var translator = StreamTranslatorFor(call, direction);
        var dropUsageChunk = translator is null && target.Dialect == Dialect.OpenAI && !request.IncludeUsage;
        var output = context.Response.BodyWriter;
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["x-accel-buffering"] = "no";
        call.Served = true;
        var usage = call.Usage;
        var sawEnd = false;
        var malformed = false;
        // The ledger's code when the upstream ended its stream with an error event of its own: that event (relayed, or
        // translated) is the stream's last, and nothing after it is read.
        string? upstreamError = null;
        // Everything up to the upstream's end marker flows as it arrives; what the end marker and anything after it write
        // (the last event(s): [DONE], message_stop, an error event) is held until the ledger row is durable.
        IBufferWriter<byte> sink = output;

        void OnEvent(in SseEvent sse)
        {
            if (call.FirstEventTimestamp == 0)
            {
                call.FirstEventTimestamp = time.GetTimestamp();
            }
            if (malformed || upstreamError is not null || (sawEnd && translator is null) || translator?.Failed == true)
            {
                return;
            }
            switch (UpstreamStreamEvent.Read(sse, usage, target.Dialect == Dialect.OpenAI, out var code))
            {
                case UpstreamStreamEventKind.End:
                    sawEnd = true;
                    break;
                case UpstreamStreamEventKind.Malformed:
                    // An event that is not JSON ends the stream: relayed as is, it would break the client's SDK, so an error
                    // event (written below, the same translated or not) takes its place as the stream's held last event.
                    malformed = true;
                    break;
                case UpstreamStreamEventKind.UpstreamError when !sawEnd:
                    upstreamError = code;
                    break;
            }
            if (sawEnd || upstreamError is not null || malformed)
            {
                sink = call.Held;
            }
            if (upstreamError is not null && WithholdsQuotedCredential(call, target, sse.Data))
            {
                // The error event quotes the credential: the client's dialect's error event, in Corridor's words, instead.
                WriteStreamError(sink, call, translator, new GatewayError(
                    upstreamError == StreamErrors.UpstreamOverloadedCode ? ErrorKind.Unavailable : ErrorKind.UpstreamFailed,
                    "The upstream reported an error.", upstreamError));
                return;
            }
            if (malformed)
            {
                // Not translated either: its error event, the same translated or not, is written below.
                return;
            }
            if (translator is not null)
            {
                translator.OnEvent(sse.Name.IsEmpty ? null : Encoding.UTF8.GetString(sse.Name), sse.Data, sink);
                return;
            }
            if (dropUsageChunk && !sse.IsDone && IsUsageOnlyChunk(sse.Data))
            {
                return;
            }
            if (!sse.Name.IsEmpty)
            {
                sink.Write("event: "u8);
                sink.Write(sse.Name);
                sink.Write("\n"u8);
            }
            sink.Write("data: "u8);
            sink.Write(sse.Data);
            sink.Write("\n\n"u8);
        }

        SseReadResult result;
        try
        {
            var reader = PipeReader.Create(response.Body, new StreamPipeReaderOptions(leaveOpen: true));
            // A translator that ended the stream (an event with a string that cannot be decoded, found only by translating
            // it) reads no further either; its error event is written by OnEnd, into the held sink, below.
            result = await SseReader.ReadAllAsync(reader, OnEvent, async () => await output.FlushAsync(aborted), server.EffectiveStreamIdleTimeout, aborted,
                stop: () => malformed || upstreamError is not null || translator?.Failed == true, ended: () => sawEnd);
            await reader.CompleteAsync();
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            call.Outcome = RequestOutcome.ClientDisconnected;
            return call.Outcome;
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            LogUpstreamFailed(call.RequestId, target.Deployment.Id, "the stream broke: " + e.Message);
            result = SseReadResult.Ended;
        }

        sink = call.Held;
        if (upstreamError is not null)
        {
            call.Outcome = RequestOutcome.UpstreamError;
            call.ErrorCode = upstreamError;
        }
        else if (malformed && translator?.Completed != true)
        {
            call.Outcome = RequestOutcome.UpstreamError;
            call.ErrorCode = StreamErrors.InvalidResponseCode;
            WriteStreamError(sink, call, translator,
                new GatewayError(ErrorKind.UpstreamFailed, "The upstream sent an event that is not JSON.", call.ErrorCode));
        }
        else if (translator is not null && (result == SseReadResult.Ended || translator.Failed))
        {
            // The translator closes the client's stream itself, or ends it with the error of an event it could not read.
            translator.OnEnd(sink);
            if (!translator.Completed)
            {
                call.Outcome = RequestOutcome.UpstreamError;
                call.ErrorCode = translator.FailureCode ?? StreamBroken;
                if (!translator.Failed)
                {
                    // Cut before its answer was complete: the error an untranslated stream cut short ends with, below.
                    WriteStreamError(sink, call, translator, StreamBrokenError(call.ErrorCode));
                }
            }
        }
        else if (result != SseReadResult.Ended || !sawEnd)
        {
            call.Outcome = result == SseReadResult.IdleTimeout ? RequestOutcome.Timeout : RequestOutcome.UpstreamError;
            call.ErrorCode = result == SseReadResult.IdleTimeout ? "upstream_timeout" : StreamBroken;
            WriteStreamError(sink, call, translator, StreamBrokenError(call.ErrorCode));
        }
        call.ErrorCode ??= translator?.Anomaly;
        var upstreamOutcome = call.Outcome;
        try
        {
            await output.FlushAsync(aborted);
        }
        catch (OperationCanceledException)
        {
            call.Outcome = RequestOutcome.ClientDisconnected;
        }
        return upstreamOutcome;
    }

    private const string StreamBroken = "upstream_stream_broken";

    /// <summary>A stream that ended (or fell idle) before its answer was complete, whatever the client's dialect and the upstream's.</summary>
    private static GatewayError StreamBrokenError(string code) =>
        new(ErrorKind.UpstreamFailed, "The upstream stream ended before it was complete.", code);

    /// <summary>
    /// Ends a stream with an error Corridor found itself (not one a translator read from the upstream): the client's
    /// dialect's error event, with its code and request id; a Responses stream's is its translator's, <c>error</c> and
    /// <c>response.failed</c>, named and numbered (a chat error chunk is no event of that stream).
    /// </summary>
    private static void WriteStreamError(IBufferWriter<byte> sink, CorridorRequestFeature call, IStreamTranslator? translator, GatewayError error)
    {
        if (call.Responses is not null && translator is not null)
        {
            translator.Fail(sink, error.OpenAIType, error.Message, error.Code);
            return;
        }
        ErrorWriter.WriteStreamEvent(sink, call.Dialect, error, call.RequestId);
    }

    /// <summary>The chunk OpenAI sends for <c>include_usage</c>: an empty <c>choices</c> array and a <c>usage</c> object.</summary>
    internal static bool IsUsageOnlyChunk(ReadOnlySpan<byte> data)
    {
        if (data.IndexOf("\"usage\""u8) < 0)
        {
            return false;
        }
        var reader = new Utf8JsonReader(data);
        var emptyChoices = false;
        var hasUsage = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isChoices = reader.ValueTextEquals("choices"u8);
                var isUsage = reader.ValueTextEquals("usage"u8);
                reader.Read();
                if (isChoices)
                {
                    emptyChoices = reader.TokenType == JsonTokenType.StartArray && reader.Read() && reader.TokenType == JsonTokenType.EndArray;
                }
                else if (isUsage)
                {
                    hasUsage = reader.TokenType == JsonTokenType.StartObject;
                }
                reader.Skip();
            }
        }
        catch (JsonException)
        {
            return false;
        }
        return emptyChoices && hasUsage;
    }

    /// <summary>Whether an upstream's error <paramref name="text"/> quotes the deployment's credential, and must be withheld (logged, not the text).</summary>
    private bool WithholdsQuotedCredential(CorridorRequestFeature call, UpstreamTarget target, ReadOnlySpan<byte> text)
    {
        if (!target.QuotesCredential(text))
        {
            return false;
        }
        LogCredentialQuoted(call.RequestId, target.Deployment.Id);
        return true;
    }

    private static string? UpstreamErrorMessage(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 2 && reader.ValueTextEquals("message"u8))
                {
                    reader.Read();
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // Not JSON, or a message whose escapes decode to no text (a lone surrogate): the caller says so in its own words.
        }
        return null;
    }

    /// <summary>
    /// The header lines of the client's own that <paramref name="target"/> is sent: an Anthropic client's betas that the
    /// target's vendor enables, to an Anthropic-kind upstream only (an OpenAI-kind one gets a translated body, which uses none).
    /// </summary>
    private static ReadOnlyMemory<byte> UpstreamHeaders(UpstreamTarget target, CorridorRequestFeature call) =>
        target.Dialect == Dialect.Anthropic && call.AnthropicBetas is { } names && AnthropicBetas.Line(names, target.Betas) is { } line ? line : default;

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "{RequestId}: retry budget exhausted; not falling back to {Deployment}")]
    private partial void LogRetryBudgetExhausted(string requestId, string deployment);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "{RequestId}: upstream deployment {Deployment} quoted its credential in an error; the client was shown the status, not the error's text")]
    private partial void LogCredentialQuoted(string requestId, string deployment);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "{RequestId}: upstream deployment {Deployment} failed: {Reason}")]
    private partial void LogUpstreamFailed(string requestId, string deployment, string reason);
}
