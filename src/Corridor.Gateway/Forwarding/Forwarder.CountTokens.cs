using System.Text.Json;
using Corridor.Core.Catalog;
using Corridor.Core.Metering;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Metering;
using Corridor.Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// <c>POST /v1/messages/count_tokens</c>: the prompt counted by the first of the request's allowed deployments, in the
/// router's order, that can count it. An Anthropic-kind deployment is asked (its count is the vendor's own); an OpenAI-kind
/// one has no such endpoint, so Corridor counts the prompt as that deployment would be sent it, translated, with its own
/// tokenizer, and says so (<c>x-corridor-estimated: true</c>). The prompt goes to no upstream outside the decision.
/// </summary>
internal sealed partial class Forwarder
{
    /// <summary>The header that marks a count Corridor made itself, not the upstream.</summary>
    public const string EstimatedHeader = "x-corridor-estimated";

    /// <summary>
    /// Answers the count (held in <see cref="CorridorRequestFeature.Held"/>) or returns the error to answer with. A deployment
    /// whose count fails (unreachable, timed out, 5xx, 429, a 404 from an upstream that does not count, an unreadable answer)
    /// is skipped for the next, as a message's is; the client's mistake (any other 4xx) is relayed. A count changes no
    /// breaker and spends no retry budget: it is not the traffic they protect, and an upstream that does not count tokens
    /// must not open the breaker its messages go through. A deployment whose breaker is open is not asked, as for a message.
    /// </summary>
    public async Task<GatewayError?> CountTokensAsync(HttpContext context, CorridorRequestFeature call)
    {
        var aborted = context.RequestAborted;
        var model = call.Request!.Model;
        GatewayError? lastError = null;
        foreach (var deployment in routes.Order(call.AllowedDeployments, call.Config.Config.Routing))
        {
            var target = call.Config.Upstreams[deployment];
            var request = call.RequestFor(deployment)!;
            if (!target.CountsTokens)
            {
                if (await CountLocallyAsync(context, call, deployment, target, request) is not { } untranslatable)
                {
                    return null;
                }
                // This deployment cannot express the request; another vendor's might.
                lastError = untranslatable;
                continue;
            }
            if (routes.Health(deployment).IsOpen(time.GetUtcNow()))
            {
                lastError ??= new GatewayError(ErrorKind.Unavailable, $"Every deployment of model '{model}' is failing; retry later.", "circuit_open");
                continue;
            }
            call.Deployment = deployment;
            call.ServeWith(deployment);
            var body = UpstreamBody.Create(request, TranslationDirection.None, deployment.UpstreamModel, defaultMaxTokens: 0, openAIUpstreamStream: false,
                seal: seal);
            UpstreamResponse response;
            try
            {
                response = await client.SendAsync(target, Operation.CountTokens, UpstreamBody.Bytes(body, request), UpstreamHeaders(target, call), server.EffectiveStreamIdleTimeout, aborted);
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                call.Outcome = RequestOutcome.ClientDisconnected;
                return null;
            }
            catch (OperationCanceledException)
            {
                LogUpstreamFailed(call.RequestId, deployment.Id, "no response headers to a token count within the idle timeout");
                lastError = new GatewayError(ErrorKind.Timeout, $"The upstream for model '{model}' did not answer in time.", "upstream_timeout");
                continue;
            }
            catch (HttpRequestException e)
            {
                LogUpstreamFailed(call.RequestId, deployment.Id, e.Message);
                lastError = new GatewayError(ErrorKind.UpstreamFailed, $"The upstream for model '{model}' could not be reached.", "upstream_unreachable");
                continue;
            }

            using (response)
            {
                if (IsRetriable(response.Status))
                {
                    LogUpstreamFailed(call.RequestId, deployment.Id, $"status {response.Status} to a token count");
                    lastError = UpstreamStatusError(response, model, Dialect.Anthropic);
                    continue;
                }
                context.Response.Headers["x-corridor-region"] = deployment.Region;
                if (response.Status >= 400)
                {
                    return (await RelayUpstreamErrorAsync(context, call, target, response, aborted)).Error;
                }
                var (read, how) = await response.ReadWholeAsync(server.EffectiveStreamIdleTimeout, aborted);
                using var answer = read;
                if (how != BodyRead.Complete || answer is null || CountOf(answer.Span) is null)
                {
                    LogUpstreamFailed(call.RequestId, deployment.Id, "the token count is not a JSON object with input_tokens");
                    context.Response.Headers["x-corridor-region"] = "none";
                    lastError = new GatewayError(ErrorKind.UpstreamFailed, $"The upstream for model '{model}' returned an invalid token count.", "upstream_invalid_response");
                    continue;
                }
                // The vendor's answer as it gave it: fields a newer API adds beside input_tokens reach the client too.
                context.Response.StatusCode = StatusCodes.Status200OK;
                context.Response.ContentType = "application/json";
                context.Response.ContentLength = answer.Span.Length;
                call.Held.Write(answer.Span);
                return null;
            }
        }
        call.Deployment ??= call.AllowedDeployments.Count > 0 ? call.AllowedDeployments[^1] : null;
        return lastError ?? new GatewayError(ErrorKind.Unavailable, $"No deployment can serve model '{model}'.", "no_deployment");
    }

    /// <summary>
    /// The prompt as <paramref name="deployment"/> (OpenAI-kind) would be sent it, counted by Corridor's tokenizer (with the
    /// reasoning of Corridor's blocks as its <c>reasoning_content</c> when <paramref name="target"/> takes it, as a message's
    /// body has it); null once the count is held, or the error when the request cannot be translated for this deployment.
    /// </summary>
    private async ValueTask<GatewayError?> CountLocallyAsync(HttpContext context, CorridorRequestFeature call, DeploymentEntry deployment, UpstreamTarget target,
        ClientRequest request)
    {
        var translated = UpstreamBody.Create(request, TranslationDirection.MessagesToChat, deployment.UpstreamModel, defaultMaxTokens: 0, openAIUpstreamStream: false,
            leaveOutReasoning: UpstreamBody.LeavesOutReasoning(Operation.Messages, target), seal: seal);
        if (translated.Body is not { } chat)
        {
            return GatewayError.Invalid(translated.Error!, translated.ErrorParam);
        }
        if (chat.Length > Meter.InlineEstimateSize)
        {
            // Off the socket's event thread: tokenizing takes about 30 µs a KiB (Meter.InlineEstimateSize).
            await Task.Yield();
        }
        var tokens = PromptTokens.CountChat(chat);
        call.ServeWith(deployment);
        call.Estimated = true;
        context.Response.Headers[EstimatedHeader] = "true";
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        using var json = new Utf8JsonWriter(call.Held);
        json.WriteStartObject();
        json.WriteNumber("input_tokens"u8, tokens);
        json.WriteEndObject();
        return null;
    }

    /// <summary>The <c>input_tokens</c> of an upstream's count: one JSON object with a non-negative integer there; null otherwise.</summary>
    internal static long? CountOf(ReadOnlySpan<byte> answer)
    {
        try
        {
            var reader = new Utf8JsonReader(answer);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            long? count = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isCount = reader.ValueTextEquals("input_tokens"u8);
                reader.Read();
                if (isCount)
                {
                    count = reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n) && n >= 0 ? n : null;
                }
                reader.Skip();
            }
            return reader.TokenType == JsonTokenType.EndObject && !reader.Read() ? count : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
