// The floor: a reverse proxy with nothing of Corridor in it, on the same server and runtime settings as
// `corridor serve` (Kestrel with inline scheduling and inline socket completions, server GC, no thread-pool spinning).
// It reads the request, sends it upstream with a credential of its own, reads the whole answer and writes it back: the
// part of a request's cost that is Kestrel, the upstream client and the runtime, whatever the gateway does besides.
// bench/run.sh measures it beside nginx and Corridor (bench/README.md).
//
//   corridor-floor LISTEN-URL UPSTREAM-URL [httpclient|sockets] [kestrel|raw]
//
// httpclient (the default): one pooled SocketsHttpHandler, as Corridor's forwarder uses.
// sockets: a minimal HTTP/1.1 client of its own on pooled keep-alive sockets, for answers with a Content-Length only
// (enough for the fixed-answer upstream, nothing more): what the upstream client costs, by difference.
// kestrel (the default): the server is Kestrel, as in `corridor serve`.
// raw: no Kestrel; a minimal HTTP/1.1 server of its own on the same .NET sockets (keep-alive, requests with a
// Content-Length, one at a time a connection; no limits, no validation, not a server anyone should run): what Kestrel
// and ASP.NET Core cost a request, by difference (bench/README.md, "Twelfth round").
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

if (args.Length is < 2 or > 4 || (args.Length >= 3 && args[2] is not ("httpclient" or "sockets")) || (args.Length == 4 && args[3] is not ("kestrel" or "raw")))
{
    Console.Error.WriteLine("usage: corridor-floor LISTEN-URL UPSTREAM-URL [httpclient|sockets] [kestrel|raw]");
    return 2;
}
var upstream = new Uri(args[1]);
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
if (args.Length == 4 && args[3] == "raw")
{
    using IUpstream rawClient = args[2] == "sockets" ? new SocketsUpstream(upstream) : new HttpClientUpstream(upstream);
    await RawServer.RunAsync(new Uri(args[0]), rawClient);
    return 0;
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
builder.Logging.ClearProviders();
builder.WebHost.UseUrls(args[0]);
builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
var app = builder.Build();

using IUpstream client = args.Length >= 3 && args[2] == "sockets" ? new SocketsUpstream(upstream) : new HttpClientUpstream(upstream);
app.MapPost(upstream.AbsolutePath, async (HttpContext context) =>
{
    var body = new MemoryStream();
    await context.Request.Body.CopyToAsync(body, context.RequestAborted);
    var (status, answer) = await client.SendAsync(body.GetBuffer().AsMemory(0, (int)body.Length), context.RequestAborted);
    context.Response.StatusCode = status;
    context.Response.ContentType = "application/json";
    context.Response.ContentLength = answer.Length;
    await context.Response.Body.WriteAsync(answer, context.RequestAborted);
});
app.MapGet("/healthz", () => "ok");
await app.RunAsync();
return 0;

internal interface IUpstream : IDisposable
{
    Task<(int Status, ReadOnlyMemory<byte> Answer)> SendAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}

internal sealed class HttpClientUpstream(Uri upstream) : IUpstream
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpMessageInvoker _invoker = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        UseCookies = false,
        MaxConnectionsPerServer = int.MaxValue,
        ActivityHeadersPropagator = null,
    });

    public async Task<(int Status, ReadOnlyMemory<byte> Answer)> SendAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, upstream) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.ContentType = Json;
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer floor");
        using var response = await _invoker.SendAsync(request, cancellationToken);
        return ((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(cancellationToken));
    }

    public void Dispose() => _invoker.Dispose();
}

/// <summary>Keep-alive sockets to one plain-HTTP upstream; answers must carry a Content-Length (no chunked bodies).</summary>
internal sealed class SocketsUpstream(Uri upstream) : IUpstream
{
    private readonly ConcurrentBag<Socket> _idle = [];
    private readonly IPEndPoint _endpoint = new(IPAddress.Parse(upstream.Host), upstream.Port);
    private readonly byte[] _head = Encoding.ASCII.GetBytes(
        $"POST {upstream.AbsolutePath} HTTP/1.1\r\nHost: {upstream.Authority}\r\nContent-Type: application/json\r\nAuthorization: Bearer floor\r\nContent-Length: ");

    public async Task<(int Status, ReadOnlyMemory<byte> Answer)> SendAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (!_idle.TryTake(out var socket))
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(_endpoint, cancellationToken);
        }
        var request = new byte[_head.Length + 16 + body.Length];
        _head.CopyTo(request, 0);
        var length = _head.Length + Encoding.ASCII.GetBytes($"{body.Length}\r\n\r\n", request.AsSpan(_head.Length));
        body.Span.CopyTo(request.AsSpan(length));
        await socket.SendAsync(request.AsMemory(0, length + body.Length), SocketFlags.None, cancellationToken);

        var buffer = new byte[16 * 1024];
        int filled = 0, headEnd;
        while ((headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            filled += await Receive(socket, buffer.AsMemory(filled), cancellationToken);
        }
        var head = Encoding.ASCII.GetString(buffer, 0, headEnd);
        var at = head.IndexOf("\r\ncontent-length:", StringComparison.OrdinalIgnoreCase) + 17;
        var end = head.IndexOf('\r', at);
        var contentLength = int.Parse(head.AsSpan(at, (end < 0 ? head.Length : end) - at).Trim(), CultureInfo.InvariantCulture);
        var start = headEnd + 4;
        while (filled - start < contentLength)
        {
            filled += await Receive(socket, buffer.AsMemory(filled), cancellationToken);
        }
        _idle.Add(socket);
        return (int.Parse(head.AsSpan(9, 3), CultureInfo.InvariantCulture), buffer.AsMemory(start, contentLength));
    }

    /// <summary>Reads what came; the connection's end is an <see cref="IOException"/>.</summary>
    internal static async Task<int> Receive(Socket socket, Memory<byte> into, CancellationToken cancellationToken)
    {
        var read = await socket.ReceiveAsync(into, SocketFlags.None, cancellationToken);
        return read > 0 ? read : throw new IOException("the other end closed the connection");
    }

    public void Dispose()
    {
        while (_idle.TryTake(out var socket))
        {
            socket.Dispose();
        }
    }
}

/// <summary>
/// A minimal HTTP/1.1 server on .NET sockets, for measuring only: keep-alive connections, one request at a time each, a
/// POST with a Content-Length forwarded upstream and its answer written back in one send, a GET answered "ok".
/// </summary>
internal static class RawServer
{
    public static async Task RunAsync(Uri listen, IUpstream client)
    {
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Parse(listen.Host), listen.Port));
        listener.Listen(4096);
        while (true)
        {
            var socket = await listener.AcceptAsync();
            socket.NoDelay = true;
            _ = ServeAsync(socket, client);
        }
    }

    private static async Task ServeAsync(Socket socket, IUpstream client)
    {
        var buffer = new byte[16 * 1024];
        var filled = 0;
        try
        {
            while (true)
            {
                int headEnd;
                while ((headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
                {
                    filled += await SocketsUpstream.Receive(socket, buffer.AsMemory(filled), CancellationToken.None);
                }
                var head = buffer.AsSpan(0, headEnd);
                var start = headEnd + 4;
                if (head.StartsWith("GET "u8))
                {
                    await socket.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray(), SocketFlags.None);
                    Shift(buffer, ref filled, start);
                    continue;
                }
                var at = head.IndexOf("\r\nContent-Length:"u8) + 17;
                var end = head[at..].IndexOf("\r\n"u8);
                var contentLength = int.Parse(Encoding.ASCII.GetString(end < 0 ? head[at..] : head.Slice(at, end)).Trim(), CultureInfo.InvariantCulture);
                while (filled - start < contentLength)
                {
                    filled += await SocketsUpstream.Receive(socket, buffer.AsMemory(filled), CancellationToken.None);
                }
                var (status, answer) = await client.SendAsync(buffer.AsMemory(start, contentLength), CancellationToken.None);
                var header = Encoding.ASCII.GetBytes($"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {answer.Length}\r\n\r\n");
                var response = new byte[header.Length + answer.Length];
                header.CopyTo(response, 0);
                answer.Span.CopyTo(response.AsSpan(header.Length));
                await socket.SendAsync(response, SocketFlags.None);
                Shift(buffer, ref filled, start + contentLength);
            }
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }

    private static void Shift(byte[] buffer, ref int filled, int consumed)
    {
        Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
        filled -= consumed;
    }
}
