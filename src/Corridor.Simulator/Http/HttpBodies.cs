using System.Text.Encodings.Web;
using System.Text.Json;
using Corridor.Core.Buffers;
using Microsoft.AspNetCore.Http;
using HttpProtocol = Microsoft.AspNetCore.Http.HttpProtocol;

namespace Corridor.Simulator.Http;

/// <summary>Reads request bodies and writes whole JSON responses.</summary>
internal static class HttpBodies
{
    // Upstreams send UTF-8 as is; escaping only what JSON requires keeps bodies small and realistic.
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly TimeSpan DrainBeforeAbort = TimeSpan.FromMilliseconds(100);

    /// <summary>The whole request body, in a pooled buffer the caller disposes.</summary>
    public static async Task<PooledBufferWriter> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var hint = request.ContentLength is long length and > 0 and < 1 << 20 ? (int)length : 4096;
        var body = new PooledBufferWriter(hint);
        try
        {
            var reader = request.BodyReader;
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                foreach (var segment in result.Buffer)
                {
                    body.Write(segment.Span);
                }

                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return body;
                }
            }
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    /// <summary>Writes a JSON body with a Content-Length, from a static writer callback and its state.</summary>
    public static Task WriteJsonAsync<TState>(HttpContext context, int statusCode, TState state, Action<Utf8JsonWriter, TState> write) =>
        WriteJsonAsync(context, statusCode, state, write, fault: null, TimeProvider.System);

    /// <summary>Writes a JSON body, or (with a <paramref name="fault"/>) the headers and the start of it, and then the fault.</summary>
    public static async Task WriteJsonAsync<TState>(HttpContext context, int statusCode, TState state, Action<Utf8JsonWriter, TState> write, BodyFault? fault, TimeProvider time)
    {
        using var buffer = new PooledBufferWriter(4096);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer, state);
        }

        if (fault is { } f)
        {
            await WriteFaultyAsync(context, statusCode, buffer.WrittenMemory, f, time);
            return;
        }

        await WriteBytesAsync(context, statusCode, "application/json", buffer.WrittenMemory);
    }

    /// <summary>
    /// The headers (with the whole body's Content-Length when the body will not end cleanly, so a client can tell it is
    /// short) and the first bytes of the body, then: a clean end (truncate), silence with the connection open (stall),
    /// or a dropped connection (reset).
    /// </summary>
    /// <remarks>
    /// Over HTTP/1.1 a reset asks for the connection to close and ends the response short of its Content-Length: Kestrel
    /// then closes the connection after the bytes written have left. Aborting it instead would drop what Kestrel had not
    /// yet handed to the socket, headers included, whenever the machine is busy.
    /// </remarks>
    private static async Task WriteFaultyAsync(HttpContext context, int statusCode, ReadOnlyMemory<byte> body, BodyFault fault, TimeProvider time)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = "application/json";
        if (fault.Kind != BodyFaultKind.Truncate)
        {
            response.ContentLength = body.Length;
        }

        var closeShort = fault.Kind == BodyFaultKind.Reset && HttpProtocol.IsHttp11(context.Request.Protocol);
        if (closeShort)
        {
            response.Headers.Connection = "close";
        }

        await response.StartAsync(context.RequestAborted);
        await response.Body.WriteAsync(body[..Math.Min(fault.Bytes, body.Length)], context.RequestAborted);
        await response.Body.FlushAsync(context.RequestAborted);
        switch (fault.Kind)
        {
            case BodyFaultKind.Stall:
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, time, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                break;
            case BodyFaultKind.Reset when closeShort:
                // Returning short of the Content-Length: Kestrel closes the connection once the bytes flushed have left.
                break;
            case BodyFaultKind.Reset:
                await AbortOnceFlushedAsync(context, time);
                break;
        }
    }

    /// <summary>
    /// Aborts the connection (a reset, for HTTP versions other than 1.1, where a response cannot be cut by its own
    /// framing). Kestrel drops output not yet handed to the socket when it aborts, so what was flushed gets a moment to
    /// leave first.
    /// </summary>
    public static async Task AbortOnceFlushedAsync(HttpContext context, TimeProvider time)
    {
        await Task.Delay(DrainBeforeAbort, time, CancellationToken.None);
        context.Abort();
    }

    public static async Task WriteBytesAsync(HttpContext context, int statusCode, string contentType, ReadOnlyMemory<byte> body)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted);
    }
}

internal enum BodyFaultKind
{
    Truncate,
    Stall,
    Reset,
}

/// <summary>A whole answer's body cut after <see cref="Bytes"/> bytes, in one of three ways.</summary>
internal readonly record struct BodyFault(BodyFaultKind Kind, int Bytes);
