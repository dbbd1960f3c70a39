using System.Net;
using System.Net.Sockets;

namespace Corridor.Testing;

/// <summary>
/// A transparent TCP relay on a loopback port in front of another server (the simulator). Tests point the
/// gateway's deployments at it to see, from outside the gateway, when the gateway closes an upstream
/// connection: a connection whose caller side ends first was closed by the gateway, not by the upstream.
/// In front of PostgreSQL, <see cref="Freeze"/> makes the server stop answering, as SIGSTOP does to it.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly DnsEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private readonly object _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _closedByCaller;
    private volatile bool _frozen;

    private TcpRelay(Uri target)
    {
        _target = new DnsEndPoint(target.Host, target.Port);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    /// <summary>Where callers connect, e.g. <c>http://127.0.0.1:51234/</c>.</summary>
    public Uri Address { get; }

    /// <summary>
    /// Everything callers sent through the relay so far (the first <see cref="MaxRecorded"/> bytes), as Latin-1 text: what
    /// the gateway really put on the wire to the upstream, headers included.
    /// </summary>
    public string Sent => Text(_sent);

    /// <summary>
    /// The bodies (UTF-8) of the whole requests callers sent through the relay so far, in order: what the upstream received.
    /// It reads HTTP/1.1 requests one after another, framed by Content-Length (none: no body), so it serves tests that send
    /// one request at a time; a request still on its way is left out.
    /// </summary>
    public IReadOnlyList<string> SentBodies()
    {
        var sent = Sent;
        var bodies = new List<string>();
        var at = 0;
        while (sent.IndexOf("\r\n\r\n", at, StringComparison.Ordinal) is var end and >= 0)
        {
            var length = 0;
            foreach (var line in sent[at..end].Split("\r\n"))
            {
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                {
                    length = int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            var start = end + 4;
            if (sent.Length < start + length)
            {
                break;
            }
            bodies.Add(System.Text.Encoding.UTF8.GetString(System.Text.Encoding.Latin1.GetBytes(sent, start, length)));
            at = start + length;
        }
        return bodies;
    }

    /// <summary>The body of the first request the upstream receives once <paramref name="send"/> has run (one request at a time).</summary>
    public async Task<string> BodySentByAsync(Func<Task> send)
    {
        ArgumentNullException.ThrowIfNull(send);
        var before = SentBodies().Count;
        await send().ConfigureAwait(false);
        await TestTimeouts.UntilAsync(() => Task.FromResult(SentBodies().Count > before)).ConfigureAwait(false);
        return SentBodies()[before];
    }

    /// <summary>Everything the upstream sent back through the relay so far (the first <see cref="MaxRecorded"/> bytes), as Latin-1 text.</summary>
    public string Received => Text(_received);

    /// <summary>
    /// What callers sent once the relay was frozen, held and never passed on (the first <see cref="MaxRecorded"/> bytes), as
    /// Latin-1 text: a test waits on it to know a command is waiting on the server that stopped answering.
    /// </summary>
    public string HeldWhileFrozen => Text(_held);

    private const int MaxRecorded = 1024 * 1024;
    private readonly MemoryStream _sent = new();
    private readonly MemoryStream _received = new();
    private readonly MemoryStream _held = new();

    private static string Text(MemoryStream recorded)
    {
        lock (recorded)
        {
            return System.Text.Encoding.Latin1.GetString(recorded.GetBuffer(), 0, (int)recorded.Length);
        }
    }

    /// <summary>Connections that the caller (the gateway) closed while the upstream still had them open.</summary>
    public int ClosedByCaller => Volatile.Read(ref _closedByCaller);

    public static TcpRelay Start(Uri target) => new(target);

    /// <summary>
    /// From now on nothing passes either way and new connections are accepted but never answered, while every connection
    /// stays open: to its callers the server behind stopped answering, as a hung server (SIGSTOP) or a network that drops
    /// packets does, rather than refusing. It lasts until the relay is disposed, which closes every connection.
    /// </summary>
    public void Freeze() => _frozen = true;

    private async Task WhileFrozenAsync()
    {
        if (_frozen)
        {
            await Task.Delay(Timeout.Infinite, _stop.Token).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until <see cref="ClosedByCaller"/> exceeds <paramref name="count"/>; throws <see cref="TimeoutException"/> after <see cref="TestTimeouts.Default"/>.</summary>
    public async Task WaitForClosedByCallerAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_closedByCaller > count)
                {
                    return;
                }
                changed = _changed.Task;
            }
            try
            {
                await changed.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no connection through the relay was closed by its caller within {TestTimeouts.Default.TotalSeconds} s ({_closedByCaller} so far)");
            }
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient caller;
            try
            {
                caller = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            // InvalidOperationException ("Not listening"): DisposeAsync stopped the listener after the loop's check above.
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            lock (_gate)
            {
                _connections.Add(RelayAsync(caller));
            }
        }
    }

    private async Task RelayAsync(TcpClient caller)
    {
        using (caller)
        using (var upstream = new TcpClient())
        {
            try
            {
                await WhileFrozenAsync().ConfigureAwait(false);
                await upstream.ConnectAsync(_target.Host, _target.Port, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                return;
            }
            var callerStream = caller.GetStream();
            var upstreamStream = upstream.GetStream();
            var toUpstream = PumpAsync(callerStream, upstreamStream, _sent);
            var toCaller = PumpAsync(upstreamStream, callerStream, _received);
            var first = await Task.WhenAny(toUpstream, toCaller, Task.Delay(Timeout.Infinite, _stop.Token)).ConfigureAwait(false);
            if (first == toUpstream && toUpstream.Result)
            {
                lock (_gate)
                {
                    _closedByCaller++;
                    _changed.TrySetResult();
                    _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }
            caller.Close();
            upstream.Close();
            await Task.WhenAll(toUpstream, toCaller).ConfigureAwait(false);
        }
    }

    /// <summary>Copies until either side ends; true when the source ended (closed or reset), false when writing failed. Never throws.</summary>
    private async Task<bool> PumpAsync(NetworkStream from, NetworkStream to, MemoryStream recorded)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            int read;
            try
            {
                read = await from.ReadAsync(buffer, _stop.Token).ConfigureAwait(false);
                // Frozen: what was read is held, and nothing more is read.
                if (_frozen && recorded == _sent)
                {
                    lock (_held)
                    {
                        _held.Write(buffer, 0, (int)Math.Min(read, Math.Max(0, MaxRecorded - _held.Length)));
                    }
                }
                await WhileFrozenAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return !_stop.IsCancellationRequested;
            }
            if (read == 0)
            {
                return true;
            }
            try
            {
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return false;
            }
            // Recorded once passed on: what the relay shows was sent, the other side has.
            lock (recorded)
            {
                recorded.Write(buffer, 0, (int)Math.Min(read, Math.Max(0, MaxRecorded - recorded.Length)));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        Task[] connections;
        lock (_gate)
        {
            connections = [.. _connections];
        }
        await Task.WhenAll(connections).ConfigureAwait(false);
        _stop.Dispose();
        _sent.Dispose();
        _held.Dispose();
        _received.Dispose();
    }
}
