using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// Corridor's HTTP/1.1 client for upstreams: keep-alive connections pooled per endpoint (plain TCP, or TLS through
/// <see cref="SslStream"/>), each request written in one send from the target's prepared head (docs/forwarding.md).
/// It does what the forwarder needs and no more (no redirects, cookies, proxies, compression or HTTP/2); at 1,000
/// requests/s it costs less CPU and latency than <see cref="SocketsHttpHandler"/> did (bench/README.md).
/// </summary>
/// <remarks>
/// Failures come back as the forwarder tells them apart: <see cref="HttpRequestException"/> when no answer began (connect
/// failure, a connection closed or reset before the status line, an answer that is not HTTP), cancellation when the
/// caller's token fired (the client leaving), when the headers did not come within the headers timeout or the connection
/// within the connect timeout, and <see cref="IOException"/> from
/// <see cref="UpstreamResponse.Body"/> when an answer breaks off. A request on a pooled connection the upstream had
/// closed meanwhile (seen when it was idle over a second, or when the request cannot be written) goes on a new connection.
/// </remarks>
internal sealed class UpstreamClient : IDisposable
{
    /// <summary>Idle connections older than this are closed, as SocketsHttpHandler's default pool did.</summary>
    internal static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(90);

    // A connection idle for longer is checked for a close from the upstream before it is used (one poll, a system call);
    // the busy ones in between are not.
    private static readonly TimeSpan CheckAfterIdle = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often the connections waiting for an answer's headers are checked against their deadline: a headers timeout ends
    /// the wait up to this much after it. One timer for every request, instead of a timer and a linked cancellation
    /// source each.
    /// </summary>
    internal static readonly TimeSpan HeadersDeadlineSweep = TimeSpan.FromMilliseconds(100);

    private readonly TimeSpan _connectTimeout;
    private readonly RemoteCertificateValidationCallback? _certificateValidation;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<UpstreamEndpoint, UpstreamPool> _pools = new();
    // Every connection made and not yet found closed by the deadline sweep, which walks them.
    private readonly ConcurrentDictionary<UpstreamConnection, byte> _connections = new();
    private readonly ITimer _sweep;
    private readonly ITimer _deadlines;
    private bool _disposed;

    public UpstreamClient(TimeSpan connectTimeout)
        : this(connectTimeout, certificateValidation: null, TimeProvider.System)
    {
    }

    /// <param name="connectTimeout">The bound on a new connection, TCP and TLS handshake together.</param>
    /// <param name="certificateValidation">Null: the system's trust store decides (tests pass their own).</param>
    /// <param name="time">The clock idle connections are aged by and the headers timeout is measured on (the connect timeout is the system's).</param>
    internal UpstreamClient(TimeSpan connectTimeout, RemoteCertificateValidationCallback? certificateValidation, TimeProvider time)
    {
        _connectTimeout = connectTimeout;
        _certificateValidation = certificateValidation;
        _time = time;
        _sweep = time.CreateTimer(static state => ((UpstreamClient)state!).CloseIdle(), this, IdleLifetime / 3, IdleLifetime / 3);
        _deadlines = time.CreateTimer(static state => ((UpstreamClient)state!).ShutOverdue(), this, HeadersDeadlineSweep, HeadersDeadlineSweep);
    }

    /// <summary>Connections open now, idle in the pools (for tests).</summary>
    internal int IdleConnections => _pools.Values.Sum(p => p.Count);

    /// <summary>The homes of the idle connections (<see cref="UpstreamPool"/>), for tests.</summary>
    internal IEnumerable<int> IdleHomes => _pools.Values.SelectMany(p => p.Stacks).SelectMany(idle => idle).Select(c => c.HomeThread);

    /// <summary>
    /// Sends <paramref name="body"/> as a JSON POST to <paramref name="target"/>'s URL for <paramref name="operation"/>
    /// and returns once the answer's status line and headers are in. The caller disposes the response, which returns the
    /// connection to its pool when the whole body was read (or was already buffered) and closes it otherwise.
    /// </summary>
    public Task<UpstreamResponse> SendAsync(UpstreamTarget target, Operation operation, ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        SendAsync(target, operation, body, Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>
    /// As <see cref="SendAsync(UpstreamTarget, Operation, ReadOnlyMemory{byte}, CancellationToken)"/>, within
    /// <c>headersTimeout</c> from here until the answer's headers are in (connecting, within its own timeout, and writing
    /// the request included): past it the connection is shut and an <see cref="OperationCanceledException"/> thrown. A
    /// request whose time ran out before it could be written (a slow connection or handshake) is not written.
    /// </summary>
    public Task<UpstreamResponse> SendAsync(UpstreamTarget target, Operation operation, ReadOnlyMemory<byte> body, TimeSpan headersTimeout, CancellationToken cancellationToken) =>
        SendAsync(target, operation, body, default, headersTimeout, cancellationToken);

    /// <summary>
    /// As <see cref="SendAsync(UpstreamTarget, Operation, ReadOnlyMemory{byte}, TimeSpan, CancellationToken)"/>, with
    /// <paramref name="headers"/> (whole header lines, each ending in CRLF, checked by their maker) after the target's own.
    /// </summary>
    public async Task<UpstreamResponse> SendAsync(UpstreamTarget target, Operation operation, ReadOnlyMemory<byte> body, ReadOnlyMemory<byte> headers, TimeSpan headersTimeout, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var pool = _pools.GetOrAdd(target.Endpoint, static _ => new UpstreamPool());
        var head = target.RequestHead(operation);
        var due = headersTimeout == Timeout.InfiniteTimeSpan ? 0 : _time.GetTimestamp() + (long)(headersTimeout.TotalSeconds * _time.TimestampFrequency);
        while (true)
        {
            var connection = Rent(pool);
            var reused = connection is not null;
            if (connection is null)
            {
                // Connecting counts against the headers' time too: within whichever of the two ends first, the headers' time
                // on the clock it is measured on.
                var left = due == 0 ? Timeout.InfiniteTimeSpan : _time.GetElapsedTime(_time.GetTimestamp(), due);
                var headersFirst = due != 0 && left < _connectTimeout;
                try
                {
                    connection = headersFirst
                        ? await ConnectAsync(target.Endpoint, pool, left, _time, cancellationToken)
                        : await ConnectAsync(target.Endpoint, pool, _connectTimeout, TimeProvider.System, cancellationToken);
                }
                catch (OperationCanceledException) when (headersFirst && !cancellationToken.IsCancellationRequested)
                {
                    throw HeadersOverdue(target, headersTimeout);
                }
                // Connected, but maybe just after the time ran out (a pooled connection is rented at once, so only a new
                // one needs the check). Never written, so the upstream did no work: the connection goes back as it is.
                if (due != 0 && _time.GetTimestamp() >= due)
                {
                    Return(pool, connection);
                    throw HeadersOverdue(target, headersTimeout);
                }
            }
            connection.AwaitHeadersBy(due);
            var sent = false;
            try
            {
                await connection.WriteRequestAsync(head, headers, body, cancellationToken);
                sent = true;
                var response = await connection.ReadResponseHeadAsync(cancellationToken);
                if (!connection.HeadersCameInTime())
                {
                    response.Dispose();
                    throw HeadersOverdue(target, headersTimeout);
                }
                return response;
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                connection.Dispose();
                if (!connection.HeadersCameInTime())
                {
                    // The deadline sweep shut the connection (which is what broke the read or write).
                    throw HeadersOverdue(target, headersTimeout);
                }
                if (reused && !sent)
                {
                    // The upstream closed this idle connection while it sat in the pool, and the request could not be
                    // written: send it on a new one. Once written, it may have reached the upstream (which may have done
                    // the work), so it is never sent twice; the forwarder falls back as for any deployment that failed.
                    continue;
                }
                throw e as HttpRequestException ?? new HttpRequestException(HttpRequestError.ResponseEnded, $"The connection to {target.Endpoint} broke: {e.Message}", e);
            }
            catch
            {
                connection.HeadersCameInTime();
                connection.Dispose();
                throw;
            }
        }
    }

    private static OperationCanceledException HeadersOverdue(UpstreamTarget target, TimeSpan headersTimeout) =>
        new($"No response headers from {target.Endpoint} within {headersTimeout.TotalSeconds:0.#} s.");

    /// <summary>The deadline sweep: shuts every connection whose answer's headers are overdue, and forgets closed ones.</summary>
    private void ShutOverdue()
    {
        var now = _time.GetTimestamp();
        foreach (var (connection, _) in _connections)
        {
            if (connection.IsDisposed)
            {
                _connections.TryRemove(connection, out _);
            }
            else
            {
                connection.ShutIfOverdue(now);
            }
        }
    }

    private UpstreamConnection? Rent(UpstreamPool pool)
    {
        var now = _time.GetTimestamp();
        while (pool.TryPop(out var connection))
        {
            var idle = _time.GetElapsedTime(connection.IdleSince, now);
            if (idle < IdleLifetime && (idle < CheckAfterIdle || connection.IsOpen()))
            {
                return connection;
            }
            connection.Dispose();
        }
        return null;
    }

    private void Return(UpstreamPool pool, UpstreamConnection connection)
    {
        if (_disposed || connection.WasShut)
        {
            connection.Dispose();
            return;
        }
        connection.IdleSince = _time.GetTimestamp();
        pool.Push(connection);
    }

    private async Task<UpstreamConnection> ConnectAsync(UpstreamEndpoint endpoint, UpstreamPool pool, TimeSpan within, TimeProvider clock, CancellationToken cancellationToken)
    {
        using var bound = new CancellationTokenSource(within > TimeSpan.Zero ? within : TimeSpan.Zero, clock);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, bound.Token);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        try
        {
            await socket.ConnectAsync(new DnsEndPoint(endpoint.Host, endpoint.Port), timeout.Token);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (endpoint.Tls)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false, _certificateValidation);
                stream = tls;
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = endpoint.Host,
                    ApplicationProtocols = [SslApplicationProtocol.Http11],
                    CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
                }, timeout.Token);
            }
            var connection = new UpstreamConnection(socket, stream, connection => Return(pool, connection));
            _connections.TryAdd(connection, 0);
            return connection;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Close(socket, stream);
            throw new OperationCanceledException($"No connection to {endpoint} within {_connectTimeout.TotalSeconds:0.#} s.");
        }
        catch (Exception e) when (e is SocketException or IOException or AuthenticationException)
        {
            Close(socket, stream);
            throw new HttpRequestException(HttpRequestError.ConnectionError, $"Could not connect to {endpoint}: {e.Message}", e);
        }
        catch
        {
            Close(socket, stream);
            throw;
        }
    }

    private static void Close(Socket socket, Stream? stream)
    {
        if (stream is not null)
        {
            stream.Dispose();
        }
        else
        {
            socket.Dispose();
        }
    }

    private void CloseIdle()
    {
        foreach (var pool in _pools.Values.SelectMany(pool => pool.Stacks))
        {
            var count = pool.Count;
            var now = _time.GetTimestamp();
            var keep = new List<UpstreamConnection>(count);
            while (count-- > 0 && pool.TryPop(out var connection))
            {
                if (_time.GetElapsedTime(connection.IdleSince, now) < IdleLifetime)
                {
                    keep.Add(connection);
                }
                else
                {
                    connection.Dispose();
                }
            }
            // Oldest first, so the most recently used stay on top.
            for (var i = keep.Count - 1; i >= 0; i--)
            {
                pool.Push(keep[i]);
            }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        _sweep.Dispose();
        _deadlines.Dispose();
        _connections.Clear();
        foreach (var pool in _pools.Values.SelectMany(pool => pool.Stacks))
        {
            while (pool.TryPop(out var connection))
            {
                connection.Dispose();
            }
        }
    }
}

/// <summary>Where an upstream's connections go: scheme, host and port of its URLs.</summary>
internal readonly record struct UpstreamEndpoint(bool Tls, string Host, int Port)
{
    public static UpstreamEndpoint Of(Uri url) =>
        new(url.Scheme == Uri.UriSchemeHttps, url.HostNameType == UriHostNameType.IPv6 ? url.DnsSafeHost : url.IdnHost, url.Port);

    public override string ToString() => $"{(Tls ? "https" : "http")}://{Host}:{Port}";
}

/// <summary>
/// One keep-alive connection to an upstream, used by one request at a time, with its read buffer; <paramref name="release"/>
/// puts it back in its pool once an answer was read through.
/// </summary>
internal sealed class UpstreamConnection(Socket socket, Stream stream, Action<UpstreamConnection> release) : IDisposable
{
    // The status line and headers must fit in this; the body is read through it too, when it is not read straight into
    // the caller's buffer.
    internal const int MaxHeadBytes = 64 * 1024;
    private const int BufferBytes = 16 * 1024;
    private const int OneWriteMaxBytes = 64 * 1024;

    // When the answer's headers are due (a timestamp), 0 while none is awaited, Shut once the client's deadline sweep found
    // them overdue and shut the connection.
    private const long Shut = -1;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(BufferBytes);
    private int _start;
    private int _end;
    private volatile bool _disposed;
    private long _headersDue;

    public long IdleSince { get; set; }

    /// <summary>The thread the last answer's read that waited completed on (0 until one did): see <see cref="UpstreamPool"/>.</summary>
    public int HomeThread { get; set; }

    public bool IsDisposed => _disposed;

    /// <summary>True once the deadline sweep shut this connection: it is not used again.</summary>
    public bool WasShut => Volatile.Read(ref _headersDue) == Shut;

    /// <summary>Starts the wait for an answer's headers, due by <paramref name="due"/> (a timestamp; 0: no deadline).</summary>
    public void AwaitHeadersBy(long due) => Volatile.Write(ref _headersDue, due);

    /// <summary>Ends the wait for the headers; false when the deadline sweep had found them overdue and shut the connection.</summary>
    public bool HeadersCameInTime()
    {
        while (true)
        {
            var due = Volatile.Read(ref _headersDue);
            if (due == Shut)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _headersDue, 0, due) == due)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// For the deadline sweep: shuts the connection when its answer's headers are overdue at <paramref name="now"/>, which
    /// ends the read or write waiting on it. The owner sees it in <see cref="HeadersCameInTime"/> and disposes of it.
    /// </summary>
    public void ShutIfOverdue(long now)
    {
        var due = Volatile.Read(ref _headersDue);
        if (due <= 0 || now < due || Interlocked.CompareExchange(ref _headersDue, Shut, due) != due)
        {
            return;
        }
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed meanwhile by its owner: nothing is waiting on it.
        }
    }

    /// <summary>The unread bytes in the buffer.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Puts this connection back in its pool for the next request.</summary>
    public void Release() => release(this);

    /// <summary>False when the upstream closed (or wrote to) this idle connection.</summary>
    public bool IsOpen()
    {
        try
        {
            return !socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    public async ValueTask WriteRequestAsync(ReadOnlyMemory<byte> head, ReadOnlyMemory<byte> headers, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        _start = _end = 0;
        // The head ends with "Content-Length: "; the length, its line's end, the request's own header lines and the blank
        // line follow.
        Span<byte> length = stackalloc byte[24];
        Utf8Formatter.TryFormat(body.Length, length, out var lengthBytes);
        "\r\n"u8.CopyTo(length[lengthBytes..]);
        lengthBytes += 2;
        var headLength = head.Length + lengthBytes + headers.Length + 2;
        var total = headLength + body.Length;
        var request = ArrayPool<byte>.Shared.Rent(Math.Min(total, Math.Max(headLength, OneWriteMaxBytes)));
        try
        {
            head.Span.CopyTo(request);
            length[..lengthBytes].CopyTo(request.AsSpan(head.Length));
            headers.Span.CopyTo(request.AsSpan(head.Length + lengthBytes));
            "\r\n"u8.CopyTo(request.AsSpan(headLength - 2));
            if (total <= OneWriteMaxBytes)
            {
                body.Span.CopyTo(request.AsSpan(headLength));
                await stream.WriteAsync(request.AsMemory(0, total), cancellationToken);
            }
            else
            {
                await stream.WriteAsync(request.AsMemory(0, headLength), cancellationToken);
                await stream.WriteAsync(body, cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(request);
        }
    }

    /// <summary>Reads the status line and headers (skipping interim 1xx answers).</summary>
    public async ValueTask<UpstreamResponse> ReadResponseHeadAsync(CancellationToken cancellationToken)
    {
        var searched = 0;
        while (true)
        {
            var end = Buffered[searched..].IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                var headLength = searched + end + 4;
                var response = UpstreamResponse.Parse(this, _buffer.AsSpan(_start, headLength));
                _start += headLength;
                if (response is not null)
                {
                    return response;
                }
                searched = 0; // an interim answer; the real one follows
                continue;
            }
            searched = Math.Max(0, _end - _start - 3);
            // The read awaited here rather than through FillAsync: one async frame fewer for every answer that is waited for.
            var reading = ReadMoreAsync(cancellationToken);
            var waited = !reading.IsCompleted;
            var read = await reading;
            if (waited)
            {
                // Completed where this socket's reads complete: its home for the pool (UpstreamPool).
                HomeThread = Environment.CurrentManagedThreadId;
            }
            _end += read;
            if (read == 0)
            {
                throw new HttpRequestException(HttpRequestError.ResponseEnded,
                    _end == 0 ? "The upstream closed the connection without answering." : "The upstream closed the connection in the middle of its response headers.");
            }
        }
    }

    /// <summary>
    /// Reads more bytes into the buffer (keeping the unread ones, growing it up to <see cref="MaxHeadBytes"/> when it is
    /// full of them); returns how many arrived, 0 at the end of the connection.
    /// </summary>
    public async ValueTask<int> FillAsync(CancellationToken cancellationToken)
    {
        var read = await ReadMoreAsync(cancellationToken);
        _end += read;
        return read;
    }

    /// <summary>Makes room after the unread bytes (as <see cref="FillAsync"/> says) and reads into it; the caller counts what came.</summary>
    private ValueTask<int> ReadMoreAsync(CancellationToken cancellationToken)
    {
        if (_start > 0 && _end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxHeadBytes)
            {
                throw new HttpRequestException(HttpRequestError.InvalidResponse, $"The upstream's response headers are over {MaxHeadBytes / 1024} KiB.");
            }
            var larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        return stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
    }

    /// <summary>Reads into <paramref name="destination"/> directly, bypassing the buffer (which must be empty).</summary>
    public ValueTask<int> ReadDirectAsync(Memory<byte> destination, CancellationToken cancellationToken) =>
        stream.ReadAsync(destination, cancellationToken);

    /// <summary>Takes up to <paramref name="count"/> buffered bytes into <paramref name="destination"/>.</summary>
    public int Take(Span<byte> destination, long count)
    {
        var n = (int)Math.Min(Math.Min(count, destination.Length), _end - _start);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        return n;
    }

    /// <summary>Drops <paramref name="count"/> buffered bytes (which the caller has seen in <see cref="Buffered"/>).</summary>
    public void Skip(int count) => _start += count;

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        stream.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _start = _end = 0;
    }
}
