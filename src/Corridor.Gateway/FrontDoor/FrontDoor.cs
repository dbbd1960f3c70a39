using System.Buffers;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.StoredResponses;
using Corridor.Gateway.Translation;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.FrontDoor;

/// <summary>Reads the client's body into a pooled buffer, within the size limit, and parses it.</summary>
internal sealed class FrontDoor(ServerOptions server)
{
    public async ValueTask<GatewayError?> ReadAsync(HttpContext context, CorridorRequestFeature call)
    {
        if (call.Dialect == Dialect.Anthropic)
        {
            // A request Corridor makes itself (a batch's) carries the betas its client sent when it made the batch, read then.
            if (call.InProcess is { } inProcess)
            {
                call.AnthropicBetas = inProcess.AnthropicBetas;
            }
            else if (AnthropicBetas.Read(context.Request, out var betas) is { } invalid)
            {
                return invalid;
            }
            else
            {
                call.AnthropicBetas = betas;
            }
        }
        var limit = server.MaxRequestBodyBytes;
        var declared = context.Request.ContentLength;
        if (declared > limit)
        {
            return TooLarge(limit);
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(declared ?? 4096, limit) + 1);
        var length = 0;
        try
        {
            // Kestrel's own reader, not the Stream over it: a body that came with its headers is one read, and a declared
            // length read whole needs no further read to learn that the body has ended.
            var reader = context.Request.BodyReader;
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted);
                var data = result.Buffer;
                var over = false;
                foreach (var segment in data)
                {
                    if (length + segment.Length > buffer.Length)
                    {
                        if (length + segment.Length > limit)
                        {
                            over = true;
                            break;
                        }
                        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max((long)buffer.Length * 2, length + segment.Length), limit + 1));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }
                    segment.Span.CopyTo(buffer.AsSpan(length));
                    length += segment.Length;
                }
                reader.AdvanceTo(data.End);
                if (over)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    return TooLarge(limit);
                }
                if (result.IsCompleted || length == declared)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return e switch
            {
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TooLarge(limit),
                // Kestrel's minimum body data rate: the client sent its body too slowly.
                BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } =>
                    GatewayError.Invalid("The request body arrived too slowly.") with { Code = "request_timeout", StatusOverride = StatusCodes.Status408RequestTimeout },
                _ => GatewayError.Invalid("The request body could not be read."),
            };
        }
        if (length > limit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return TooLarge(limit);
        }
        call.Request = new ClientRequest(buffer, length);
        return call.Operation == Operation.Responses ? ReadResponsesRequest(call) : RequestParser.Parse(call.Request, call.Operation);
    }

    /// <summary>
    /// A Responses API request becomes the chat completion every later step reads, checks, bills and records (the monitor,
    /// policy and the ledger see a chat request, as for <c>/v1/chat/completions</c>); what its answer must echo is kept.
    /// A request that continues a stored response is only checked here: it is translated once, with that response's items,
    /// when its caller is known (<see cref="Continue"/>, the pipeline's step 2b).
    /// </summary>
    private static GatewayError? ReadResponsesRequest(CorridorRequestFeature call)
    {
        var sent = call.Request!;
        if (!System.Text.Unicode.Utf8.IsValid(sent.Body.Span))
        {
            return GatewayError.Invalid("The request body is not valid UTF-8.");
        }
        if (ResponsesToChat.TranslateUnlessContinuing(sent.Body.Span, out var echo, out var sources, out var keeping) is { } chat)
        {
            return Served(call, chat, echo, sources, keeping);
        }
        call.Continued = new ContinuedRequest(sent, keeping.PreviousResponseId!);
        call.Request = null;
        return null;
    }

    /// <summary>
    /// Serves a Responses request that continues a stored response (<see cref="CorridorRequestFeature.Continued"/>) with that
    /// response's items before its own <c>input</c> (<paramref name="earlier"/>: JSON arrays, its input items, then its output
    /// items): the one translation of the request into the chat completion every later step reads.
    /// </summary>
    public static GatewayError? Continue(CorridorRequestFeature call, string[] earlier)
    {
        var continued = call.Continued!;
        call.Continued = null;
        using var sent = continued.Sent;
        var chat = ResponsesToChat.TranslateRequest(sent.Body.Span, earlier, out var echo, out var sources, out var keeping);
        return Served(call, chat, echo, sources, keeping, earlier);
    }

    /// <summary>
    /// The chat completion <paramref name="chat"/> made of a Responses request becomes the request every later step reads (the
    /// client's body, <see cref="CorridorRequestFeature.Request"/>, returned), with the context its answer needs; a translation
    /// that failed is a 400, the client's body left as it came.
    /// </summary>
    private static GatewayError? Served(CorridorRequestFeature call, TranslationResult chat, byte[] echo, MessageSource[] sources, ResponseKeeping keeping, string[]? earlier = null)
    {
        if (chat.Body is not { } body)
        {
            return GatewayError.Invalid(chat.Error!, chat.ErrorParam);
        }
        var responses = ResponsesContext.For(call.RequestId, call.ReceivedAt, echo, sources);
        responses.Store = keeping.Store;
        responses.PreviousResponseId = keeping.PreviousResponseId;
        responses.Input = keeping.Input;
        responses.Earlier = earlier;
        var buffer = ArrayPool<byte>.Shared.Rent(body.Length);
        body.CopyTo(buffer, 0);
        call.Request?.Dispose();
        call.Request = new ClientRequest(buffer, body.Length);
        call.Responses = responses;
        return RequestParser.Parse(call.Request, Operation.Responses);
    }

    private static GatewayError TooLarge(long limit) =>
        new(ErrorKind.RequestTooLarge, $"The request body is larger than the limit of {limit} bytes.", "request_too_large");
}
