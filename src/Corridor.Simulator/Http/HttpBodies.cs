using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Corridor.Simulator.Http;

/// <summary>Reads request bodies and writes whole JSON responses.</summary>
internal static class HttpBodies
{
    // Upstreams send UTF-8 as is; escaping only what JSON requires keeps bodies small and realistic.
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

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
    public static async Task WriteJsonAsync<TState>(HttpContext context, int statusCode, TState state, Action<Utf8JsonWriter, TState> write)
    {
        using var buffer = new PooledBufferWriter(4096);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer, state);
        }

        await WriteBytesAsync(context, statusCode, "application/json", buffer.WrittenMemory);
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
