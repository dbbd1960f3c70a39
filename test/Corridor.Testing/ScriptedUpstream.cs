using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Corridor.Testing;

/// <summary>
/// A loopback HTTP/1.1 server that reads each request (head and Content-Length body) and writes what the test's
/// script returns for it (null: nothing, ever), optionally a byte at a time, optionally closing afterwards.
/// </summary>
public sealed class ScriptedUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2? _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private Func<int, string, string?> _script = (_, _) => null;
    private bool _byteByByte;
    private bool _closeAfter;
    private bool _closeIdle;
    private int _connectionCount;
    private int _requestCount;

    public ScriptedUpstream(X509Certificate2? certificate = null)
    {
        _certificate = certificate;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>What the server waits for before its side of a TLS handshake (a test holds the handshake with it).</summary>
    public Task HandshakeHeldUntil { get; init; } = Task.CompletedTask;

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}");

    public int Connections => Volatile.Read(ref _connectionCount);

    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Completes when the client closed a connection the server was waiting on.</summary>
    public TaskCompletionSource ClosedByClientSource { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task ClosedByClient => ClosedByClientSource.Task;

    /// <summary>Completes when the server closed a connection after answering (<c>closeIdleAfterAnswer</c>).</summary>
    public TaskCompletionSource ServerClosedIdleSource { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task ServerClosedIdle => ServerClosedIdleSource.Task;

    public void Answer(Func<int, string?> script, bool byteByByte = false, bool closeAfter = false, bool closeIdleAfterAnswer = false)
    {
        _script = (index, _) => script(index);
        _byteByByte = byteByByte;
        _closeAfter = closeAfter;
        _closeIdle = closeIdleAfterAnswer;
    }

    /// <summary>Answers each request with what <paramref name="script"/> returns for its text (head and body).</summary>
    public void AnswerRequests(Func<string, string?> script) => _script = (_, request) => script(request);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _connectionCount);
                lock (_connections)
                {
                    _connections.Add(ServeAsync(socket));
                }
            }
        }
        // InvalidOperationException ("Not listening"): the loop came round to accept again after DisposeAsync stopped the
        // listener, which a busy machine lets happen.
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var owner = socket;
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            if (_certificate is not null)
            {
                await HandshakeHeldUntil.WaitAsync(_stop.Token);
                var tls = new SslStream(stream);
                await tls.AuthenticateAsServerAsync(_certificate);
                stream = tls;
            }
            var buffer = new List<byte>();
            var chunk = new byte[4096];
            while (true)
            {
                int headEnd;
                while ((headEnd = IndexOfHeadEnd(buffer)) < 0)
                {
                    var read = await stream.ReadAsync(chunk, _stop.Token);
                    if (read == 0)
                    {
                        ClosedByClientSource.TrySetResult();
                        return;
                    }
                    buffer.AddRange(chunk.AsSpan(0, read));
                }
                var head = Encoding.ASCII.GetString(buffer.GetRange(0, headEnd).ToArray());
                var lengthAt = head.IndexOf("Content-Length: ", StringComparison.Ordinal) + 16;
                var length = int.Parse(head.AsSpan(lengthAt, head.IndexOf('\r', lengthAt) - lengthAt), System.Globalization.CultureInfo.InvariantCulture);
                while (buffer.Count < headEnd + length)
                {
                    var read = await stream.ReadAsync(chunk, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }
                    buffer.AddRange(chunk.AsSpan(0, read));
                }
                var request = Encoding.UTF8.GetString(buffer.GetRange(0, headEnd + length).ToArray());
                Requests.Enqueue(request);
                buffer.RemoveRange(0, headEnd + length);
                var answer = _script(Interlocked.Increment(ref _requestCount) - 1, request);
                if (answer is null)
                {
                    // Silence: wait for the client to give up and close.
                    while (await stream.ReadAsync(chunk, _stop.Token) > 0)
                    {
                    }
                    ClosedByClientSource.TrySetResult();
                    return;
                }
                var bytes = Encoding.UTF8.GetBytes(answer);
                if (_byteByByte)
                {
                    for (var i = 0; i < bytes.Length; i++)
                    {
                        await stream.WriteAsync(bytes.AsMemory(i, 1), _stop.Token);
                        await stream.FlushAsync(_stop.Token);
                    }
                }
                else
                {
                    await stream.WriteAsync(bytes, _stop.Token);
                }
                await stream.FlushAsync(_stop.Token);
                if (_closeAfter)
                {
                    socket.Shutdown(SocketShutdown.Both);
                    return;
                }
                if (_closeIdle)
                {
                    await Task.Delay(50, _stop.Token);
                    socket.Shutdown(SocketShutdown.Both);
                    ServerClosedIdleSource.TrySetResult();
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            ClosedByClientSource.TrySetResult();
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    private static int IndexOfHeadEnd(List<byte> buffer)
    {
        for (var i = 3; i < buffer.Count; i++)
        {
            if (buffer[i - 3] == '\r' && buffer[i - 2] == '\n' && buffer[i - 1] == '\r' && buffer[i] == '\n')
            {
                return i + 1;
            }
        }
        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }
        await Task.WhenAll(connections);
        _stop.Dispose();
    }
}
