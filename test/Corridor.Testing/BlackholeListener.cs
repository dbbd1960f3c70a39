using System.Net;
using System.Net.Sockets;

namespace Corridor.Testing;

/// <summary>
/// A loopback address where a TCP connect neither succeeds nor is refused: a socket listens but never accepts, and its
/// accept queue is filled at once, so the kernel drops further connection attempts (their SYNs go unanswered) and a
/// client's connect waits until its own timeout, as it would for a blackholed or firewalled upstream.
/// </summary>
public sealed class BlackholeListener : IDisposable
{
    private readonly Socket _listener;
    private readonly List<Socket> _fillers = [];

    private BlackholeListener()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1);
        var endpoint = (IPEndPoint)_listener.LocalEndPoint!;
        Address = new Uri($"http://127.0.0.1:{endpoint.Port}");
        // Linux queues backlog + 1 completed connections; a few more than that make sure the queue is full.
        for (var i = 0; i < 4; i++)
        {
            var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
            try
            {
                filler.Connect(endpoint);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
            }
            _fillers.Add(filler);
        }
    }

    public Uri Address { get; }

    public static BlackholeListener Start() => new();

    public void Dispose()
    {
        foreach (var filler in _fillers)
        {
            filler.Dispose();
        }
        _listener.Dispose();
    }
}
