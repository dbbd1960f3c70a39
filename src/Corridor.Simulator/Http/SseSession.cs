using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using HttpProtocol = Microsoft.AspNetCore.Http.HttpProtocol;

namespace Corridor.Simulator.Http;

/// <summary>
/// One server-sent-event response: writes events, paces tokens and, when a fault asks for it,
/// cuts the connection after a number of tokens.
/// </summary>
/// <remarks>
/// A stream that will be cut frames its own chunks (HTTP/1.1) and asks for the connection to close: the cut is then the
/// end of the response without its last chunk, after every event flushed has left. Aborting the connection instead
/// would drop what Kestrel had not yet handed to the socket, headers included, whenever the machine is busy.
/// </remarks>
internal sealed class SseSession : IDisposable
{
    private readonly HttpContext _context;
    private readonly PipeWriter _body;
    private readonly IBufferWriter<byte> _pipe;
    private readonly ArrayBufferWriter<byte>? _chunk;
    private readonly Utf8JsonWriter _json;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tokenInterval;
    private readonly int? _cutAfterTokens;
    private readonly int? _stallAfterTokens;
    private readonly int? _truncateAfterTokens;
    private int _tokens;

    private SseSession(HttpContext context, TimeProvider time, TimeSpan tokenInterval, int? cutAfterTokens, int? stallAfterTokens, int? truncateAfterTokens)
    {
        _truncateAfterTokens = truncateAfterTokens;
        _stallAfterTokens = stallAfterTokens;
        _context = context;
        _body = context.Response.BodyWriter;
        if (cutAfterTokens is not null && HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            _chunk = new ArrayBufferWriter<byte>();
            _pipe = _chunk;
        }
        else
        {
            _pipe = _body;
        }
        _json = new Utf8JsonWriter(_pipe, HttpBodies.WriterOptions);
        _time = time;
        _tokenInterval = tokenInterval;
        _cutAfterTokens = cutAfterTokens;
    }

    /// <summary>Sends the 200 headers of an event stream.</summary>
    public static SseSession Start(HttpContext context, TimeProvider time, TimeSpan tokenInterval, int? cutAfterTokens, int? stallAfterTokens = null, int? truncateAfterTokens = null)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        if (cutAfterTokens is not null && HttpProtocol.IsHttp11(context.Request.Protocol))
        {
            // Chunks of the session's own, so that Kestrel does not end the body with its last chunk when the cut comes.
            response.Headers.TransferEncoding = "chunked";
            response.Headers.Connection = "close";
        }

        return new SseSession(context, time, tokenInterval, cutAfterTokens, stallAfterTokens, truncateAfterTokens);
    }

    private CancellationToken Aborted => _context.RequestAborted;

    /// <summary>Starts an event (with an <c>event:</c> line when named) and returns the writer for its data.</summary>
    public Utf8JsonWriter BeginEvent(ReadOnlySpan<byte> eventName)
    {
        if (!eventName.IsEmpty)
        {
            _pipe.Write("event: "u8);
            _pipe.Write(eventName);
            _pipe.Write("\n"u8);
        }

        _pipe.Write("data: "u8);
        _json.Reset(_pipe);
        return _json;
    }

    public void EndEvent()
    {
        _json.Flush();
        _pipe.Write("\n\n"u8);
    }

    public void WriteDone() => _pipe.Write("data: [DONE]\n\n"u8);

    public void WriteRaw(ReadOnlySpan<byte> bytes) => _pipe.Write(bytes);

    /// <summary>Sends what was written; false when the client has gone.</summary>
    public async ValueTask<bool> FlushAsync()
    {
        if (_chunk is { WrittenCount: > 0 })
        {
            WriteChunk(_chunk.WrittenSpan);
            _chunk.ResetWrittenCount();
        }

        var result = await _body.FlushAsync(Aborted);
        return !result.IsCompleted && !result.IsCanceled;
    }

    /// <summary>
    /// Waits the token interval; false (and the connection aborted) when the stream must be cut here. A stall sends what was
    /// written, then nothing more until the client gives up: the connection stays open, silent.
    /// </summary>
    public async ValueTask<bool> BeforeTokenAsync()
    {
        if (_tokens >= _cutAfterTokens)
        {
            await CutAsync();
            return false;
        }

        if (_tokens >= _truncateAfterTokens)
        {
            // Half an event, then a clean end of the response: the stream is truncated, not reset.
            _pipe.Write("data: {\"id\":\"truncated"u8);
            await FlushAsync();
            return false;
        }

        if (_tokens >= _stallAfterTokens)
        {
            await FlushAsync();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, _time, Aborted);
            }
            catch (OperationCanceledException)
            {
            }
            return false;
        }

        if (_tokenInterval > TimeSpan.Zero)
        {
            await Task.Delay(_tokenInterval, _time, Aborted);
        }

        _tokens++;
        return true;
    }

    /// <summary>A cut asked for beyond the last token still happens, before the stream's closing events.</summary>
    public async ValueTask<bool> BeforeClosingAsync()
    {
        if (_truncateAfterTokens is not null && _cutAfterTokens is null)
        {
            _pipe.Write("data: {\"id\":\"truncated"u8);
            await FlushAsync();
            return false;
        }

        if (_cutAfterTokens is null)
        {
            return true;
        }

        await CutAsync();
        return false;
    }

    /// <summary>
    /// Cuts the stream after the events flushed: with its own chunks, by ending the response without the last chunk, so
    /// the connection closes once everything before it has left. Otherwise (not HTTP/1.1) by aborting the connection,
    /// which drops output Kestrel has not yet handed to the socket, so the events flushed get a moment to leave first.
    /// </summary>
    private async Task CutAsync()
    {
        if (_chunk is not null)
        {
            _chunk.ResetWrittenCount();
            return;
        }

        await HttpBodies.AbortOnceFlushedAsync(_context, _time);
    }

    private void WriteChunk(ReadOnlySpan<byte> data)
    {
        Span<byte> size = stackalloc byte[8];
        data.Length.TryFormat(size, out var written, "x", CultureInfo.InvariantCulture);
        _body.Write(size[..written]);
        _body.Write("\r\n"u8);
        _body.Write(data);
        _body.Write("\r\n"u8);
    }

    public void Dispose() => _json.Dispose();
}
