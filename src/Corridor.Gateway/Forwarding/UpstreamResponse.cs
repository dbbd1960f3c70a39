using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// An upstream's answer from <see cref="UpstreamClient"/>: the status, the few headers the forwarder reads, and the body
/// as a stream that undoes the HTTP/1.1 framing (Content-Length, chunked, or until the connection closes). Disposing it
/// returns the connection to its pool when the body was read to its end, and closes the connection otherwise.
/// </summary>
internal sealed class UpstreamResponse : IDisposable
{
    private readonly UpstreamConnection _connection;
    private readonly bool _keepAlive;
    private readonly BodyStream _body;
    private bool _disposed;

    // contentLength is null when the body is chunked or its length unstated.
    private UpstreamResponse(UpstreamConnection connection, int status, long? contentLength, bool chunked, bool keepAlive, bool isEventStream, string? retryAfter)
    {
        _connection = connection;
        Status = status;
        ContentLength = contentLength;
        IsEventStream = isEventStream;
        RetryAfter = retryAfter;
        // A body with neither length nor chunks runs until the connection closes, so that connection cannot be reused.
        _keepAlive = keepAlive && (chunked || contentLength is not null);
        _body = new BodyStream(connection, status is 204 or 304 ? 0 : contentLength, chunked);
    }

    public int Status { get; }

    /// <summary>The body's length from its Content-Length header; null when chunked or unstated.</summary>
    public long? ContentLength { get; }

    /// <summary>Whether the media type is <c>text/event-stream</c>.</summary>
    public bool IsEventStream { get; }

    /// <summary>The Retry-After header as sent (seconds or an HTTP date), if any.</summary>
    public string? RetryAfter { get; }

    /// <summary>The body, without its framing. Reading past its end returns 0; a connection that ends early throws <see cref="IOException"/>.</summary>
    public Stream Body => _body;

    /// <summary>
    /// Parses a head (status line and headers, through the blank line); returns null for an interim (1xx) answer and
    /// throws <see cref="HttpRequestException"/> for one that is not HTTP/1.x.
    /// </summary>
    internal static UpstreamResponse? Parse(UpstreamConnection connection, ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        var statusLine = head[..lineEnd];
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || statusLine[8] != (byte)' '
            || !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out var consumed) || consumed != 3 || status < 100
            || (statusLine.Length > 12 && statusLine[12] != (byte)' '))
        {
            throw Invalid("its status line is not HTTP/1.x");
        }
        if (status is >= 100 and < 200)
        {
            return null;
        }
        var keepAlive = statusLine[7] == (byte)'1'; // HTTP/1.1 keeps the connection unless told otherwise; 1.0 closes it
        long? contentLength = null;
        var chunked = false;
        var eventStream = false;
        string? retryAfter = null;
        var rest = head[(lineEnd + 2)..];
        while (rest.Length > 2)
        {
            var end = rest.IndexOf("\r\n"u8);
            var line = rest[..end];
            rest = rest[(end + 2)..];
            if (line.Length > 0 && line[0] is (byte)' ' or (byte)'\t')
            {
                continue; // an obsolete folded continuation of the previous header, none of which is read here
            }
            var colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                throw Invalid("a header line has no name");
            }
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ').Trim((byte)'\t');
            if (Ascii.EqualsIgnoreCase(name, "content-length"u8))
            {
                if (!Utf8Parser.TryParse(value, out long length, out consumed) || consumed != value.Length || length < 0
                    || (contentLength is { } earlier && earlier != length))
                {
                    throw Invalid("its Content-Length is not a length");
                }
                contentLength = length;
            }
            else if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8))
            {
                // Chunked is the last coding when present; anything else means the body runs to the connection's end.
                var last = value.LastIndexOf((byte)',');
                chunked = Ascii.EqualsIgnoreCase(value[(last + 1)..].Trim((byte)' '), "chunked"u8);
                keepAlive &= chunked;
                contentLength = null;
            }
            else if (Ascii.EqualsIgnoreCase(name, "content-type"u8))
            {
                var parameters = value.IndexOf((byte)';');
                eventStream = Ascii.EqualsIgnoreCase((parameters < 0 ? value : value[..parameters]).Trim((byte)' '), "text/event-stream"u8);
            }
            else if (Ascii.EqualsIgnoreCase(name, "retry-after"u8))
            {
                retryAfter = RetryAfterValue(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                foreach (var range in value.Split((byte)','))
                {
                    var option = value[range].Trim(" \t"u8);
                    if (Ascii.EqualsIgnoreCase(option, "close"u8))
                    {
                        keepAlive = false;
                    }
                    else if (Ascii.EqualsIgnoreCase(option, "keep-alive"u8))
                    {
                        keepAlive = true;
                    }
                }
            }
        }
        return new UpstreamResponse(connection, status, chunked ? null : contentLength, chunked, keepAlive, eventStream, retryAfter);
    }

    private static HttpRequestException Invalid(string why) =>
        new(HttpRequestError.InvalidResponse, $"The upstream's answer is not valid HTTP: {why}.");

    /// <summary>The most of a whole (not streamed) body that is read; a larger one is treated as invalid.</summary>
    internal const int MaxWholeBodyBytes = 64 * 1024 * 1024;

    /// <summary>
    /// Reads the whole body within <see cref="MaxWholeBodyBytes"/>, waiting at most <paramref name="idleTimeout"/> for each
    /// read. A body that is too large comes back as null with <see cref="BodyRead.Complete"/>; the caller's token firing throws.
    /// </summary>
    public async ValueTask<(PooledBody? Body, BodyRead How)> ReadWholeAsync(TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        if (ContentLength > MaxWholeBodyBytes)
        {
            return (null, BodyRead.Complete);
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)(ContentLength is { } length && length > 0 ? length : 16 * 1024));
        var written = 0;
        // The timer is armed only for a read that waits: a small answer has usually come whole with its headers.
        CancellationTokenSource? idle = null;
        try
        {
            while (true)
            {
                if (written == buffer.Length)
                {
                    if (buffer.Length >= MaxWholeBodyBytes)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return (null, BodyRead.Complete);
                    }
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, written).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                if (!_body.TryReadBuffered(buffer.AsSpan(written), out var read))
                {
                    if (idle is null)
                    {
                        idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    }
                    else if (!idle.TryReset())
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return (null, BodyRead.IdleTimeout);
                    }
                    idle.CancelAfter(idleTimeout);
                    read = await _body.ReadAsync(buffer.AsMemory(written), idle.Token);
                }
                if (read == 0)
                {
                    return (new PooledBody(buffer, written), BodyRead.Complete);
                }
                written += read;
                if (written == ContentLength)
                {
                    // Every byte is in: no read (and no timer) for the end.
                    return (new PooledBody(buffer, written), BodyRead.Complete);
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, BodyRead.IdleTimeout);
        }
        catch (IOException)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, BodyRead.Broken);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        finally
        {
            idle?.Dispose();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_keepAlive && _body.TryFinishFromBuffer() && _connection.Buffered.IsEmpty)
        {
            _connection.Release();
        }
        else
        {
            _connection.Dispose();
        }
    }

    /// <summary>The body's bytes, undone from their framing, read through the connection's buffer.</summary>
    private sealed class BodyStream(UpstreamConnection connection, long? length, bool chunked) : Stream
    {
        // Content-Length (or none) framing: the bytes left; null runs to the connection's end.
        private long? _remaining = length;
        private ChunkState _state = chunked ? ChunkState.Size : ChunkState.Data;
        private long _chunkLeft;
        private bool _ended = length == 0 && !chunked;

        private enum ChunkState
        {
            Size,
            Data,
            DataEnd,
            Trailers,
        }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        /// <summary>Reads the rest of the body from the buffer alone, without I/O; false when more must come from the connection.</summary>
        public bool TryFinishFromBuffer()
        {
            try
            {
                return FinishFromBuffer();
            }
            catch (IOException)
            {
                return false; // misframed: the connection is closed
            }
        }

        private bool FinishFromBuffer()
        {
            Span<byte> sink = stackalloc byte[256];
            while (!_ended)
            {
                if (connection.Buffered.IsEmpty)
                {
                    return false;
                }
                if (!chunked)
                {
                    if (_remaining is null)
                    {
                        return false;
                    }
                    _remaining -= connection.Take(sink, _remaining.Value);
                    _ended = _remaining == 0;
                    continue;
                }
                if (!StepChunked(sink, out _))
                {
                    return false;
                }
            }
            return true;
        }

        /// <summary>
        /// Reads what the connection already holds, without I/O: true with the bytes produced (0 at the body's end, or for
        /// an empty <paramref name="destination"/>), false when the next bytes must come from the connection.
        /// </summary>
        public bool TryReadBuffered(Span<byte> destination, out int produced)
        {
            if (chunked)
            {
                while (!_ended)
                {
                    if (!StepChunked(destination, out produced))
                    {
                        return false;
                    }
                    if (produced > 0 || destination.IsEmpty)
                    {
                        return true;
                    }
                }
                produced = 0;
                return true;
            }
            produced = 0;
            if (_ended)
            {
                return true;
            }
            if (connection.Buffered.Length > 0)
            {
                produced = connection.Take(destination, _remaining ?? long.MaxValue);
                Consumed(produced);
                return true;
            }
            return destination.IsEmpty;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
        {
            while (true)
            {
                if (TryReadBuffered(destination.Span, out var produced))
                {
                    return produced;
                }
                if (!chunked)
                {
                    var want = (int)Math.Min(destination.Length, _remaining ?? long.MaxValue);
                    var read = await connection.ReadDirectAsync(destination[..want], cancellationToken);
                    if (read == 0)
                    {
                        if (_remaining is not null)
                        {
                            throw new IOException($"The upstream closed the connection with {_remaining} bytes of its response still to come.");
                        }
                        _ended = true;
                        return 0;
                    }
                    Consumed(read);
                    return read;
                }
                int filled;
                try
                {
                    filled = await connection.FillAsync(cancellationToken);
                }
                catch (HttpRequestException e)
                {
                    throw new IOException("The upstream's chunked response is malformed: " + e.Message, e); // trailers over the limit
                }
                if (filled == 0)
                {
                    throw new IOException("The upstream closed the connection in the middle of a chunked response.");
                }
            }
        }

        private void Consumed(int count)
        {
            if (_remaining is not null)
            {
                _remaining -= count;
                _ended = _remaining == 0;
            }
        }

        /// <summary>One step of the chunked decoder on buffered bytes; false when it needs more bytes first.</summary>
        private bool StepChunked(Span<byte> destination, out int produced)
        {
            produced = 0;
            var buffered = connection.Buffered;
            switch (_state)
            {
                case ChunkState.Data:
                    if (buffered.IsEmpty)
                    {
                        return false;
                    }
                    if (destination.IsEmpty)
                    {
                        return true;
                    }
                    produced = connection.Take(destination, _chunkLeft);
                    _chunkLeft -= produced;
                    if (_chunkLeft == 0)
                    {
                        _state = ChunkState.DataEnd;
                    }
                    return true;
                case ChunkState.DataEnd:
                    if (buffered.Length < 2)
                    {
                        return false;
                    }
                    if (!buffered.StartsWith("\r\n"u8))
                    {
                        throw new IOException("The upstream's chunked response is malformed: a chunk does not end with CRLF.");
                    }
                    connection.Skip(2);
                    _state = ChunkState.Size;
                    return true;
                case ChunkState.Size:
                {
                    var end = buffered.IndexOf("\r\n"u8);
                    if (end < 0)
                    {
                        if (buffered.Length > 1024)
                        {
                            throw new IOException("The upstream's chunked response is malformed: a chunk size line is too long.");
                        }
                        return false;
                    }
                    var line = buffered[..end];
                    var extension = line.IndexOf((byte)';');
                    var digits = (extension < 0 ? line : line[..extension]).Trim((byte)' ');
                    if (digits.IsEmpty || digits.Length > 15 || !Utf8Parser.TryParse(digits, out long size, out var consumed, 'X') || consumed != digits.Length)
                    {
                        throw new IOException("The upstream's chunked response is malformed: a chunk size is not hexadecimal.");
                    }
                    connection.Skip(end + 2);
                    _chunkLeft = size;
                    _state = size == 0 ? ChunkState.Trailers : ChunkState.Data;
                    return true;
                }
                default:
                {
                    var end = buffered.IndexOf("\r\n"u8);
                    if (end < 0)
                    {
                        if (buffered.Length > UpstreamConnection.MaxHeadBytes)
                        {
                            throw new IOException("The upstream's chunked response is malformed: its trailers are too long.");
                        }
                        return false;
                    }
                    connection.Skip(end + 2);
                    _ended = end == 0; // the blank line after the trailers (if any) ends the body
                    return true;
                }
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>
    /// The upstream's <c>Retry-After</c> when it is one of the two forms HTTP defines (RFC 9110 §10.2.3): seconds, or an
    /// HTTP date. Anything else is dropped rather than passed on to the client's response.
    /// </summary>
    internal static string? RetryAfterValue(ReadOnlySpan<byte> value)
    {
        value = value.Trim(" \t"u8);
        if (value.IsEmpty || value.Length > 29 || !Ascii.IsValid(value))
        {
            return null;
        }
        var text = Encoding.ASCII.GetString(value);
        if (value.IndexOfAnyExceptInRange((byte)'0', (byte)'9') < 0)
        {
            return value.Length <= 10 ? text : null;
        }
        return DateTimeOffset.TryParseExact(text, "r", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _)
            ? text
            : null;
    }
}

/// <summary>How reading a whole body ended.</summary>
internal enum BodyRead
{
    Complete,
    IdleTimeout,
    Broken,
}

/// <summary>A body read whole into a pooled array; disposing returns the array.</summary>
internal sealed class PooledBody(byte[] buffer, int length) : IDisposable
{
    public ReadOnlySpan<byte> Span => buffer.AsSpan(0, length);

    public ReadOnlyMemory<byte> Memory => buffer.AsMemory(0, length);

    public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);
}
