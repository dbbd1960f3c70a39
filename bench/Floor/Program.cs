// The floor: a reverse proxy with nothing of Corridor in it, on the same server and runtime settings as
// `corridor serve` (Kestrel with inline scheduling and inline socket completions, server GC, no thread-pool spinning).
// It reads the request, sends it upstream with a credential of its own, reads the whole answer and writes it back: the
// part of a request's cost that is Kestrel, the upstream client and the runtime, whatever the gateway does besides.
// bench/run.sh measures it beside nginx and Corridor (bench/README.md).
//
//   corridor-floor LISTEN-URL UPSTREAM-URL [httpclient|sockets]
//
// httpclient (the default): one pooled SocketsHttpHandler, as Corridor's forwarder uses.
// sockets: a minimal HTTP/1.1 client of its own on pooled keep-alive sockets, for answers with a Content-Length only
// (enough for the fixed-answer upstream, nothing more): what the upstream client costs, by difference.
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

if (args.Length is < 2 or > 3 || (args.Length == 3 && args[2] is not ("httpclient" or "sockets")))
{
    Console.Error.WriteLine("usage: corridor-floor LISTEN-URL UPSTREAM-URL [httpclient|sockets]");
    return 2;
}
var upstream = new Uri(args[1]);
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
builder.Logging.ClearProviders();
builder.WebHost.UseUrls(args[0]);
builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
var app = builder.Build();

using IUpstream client = args.Length == 3 && args[2] == "sockets" ? new SocketsUpstream(upstream) : new HttpClientUpstream(upstream);
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

    private static async Task<int> Receive(Socket socket, Memory<byte> into, CancellationToken cancellationToken)
    {
        var read = await socket.ReceiveAsync(into, SocketFlags.None, cancellationToken);
        return read > 0 ? read : throw new IOException("the upstream closed the connection");
    }

    public void Dispose()
    {
        while (_idle.TryTake(out var socket))
        {
            socket.Dispose();
        }
    }
}
