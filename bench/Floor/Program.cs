// The floor: a reverse proxy with nothing of Corridor in it, on the same server, client and runtime settings as
// `corridor serve` (Kestrel with inline scheduling and inline socket completions, one pooled SocketsHttpHandler, server
// GC, no thread-pool spinning). It reads the request, sends it upstream with a credential of its own, reads the whole
// answer and writes it back: the part of a request's cost that is Kestrel, HttpClient and the runtime, whatever the
// gateway does besides. bench/run.sh measures it beside nginx and Corridor.
//
//   corridor-floor http://127.0.0.1:LISTEN-PORT http://127.0.0.1:UPSTREAM-PORT/v1/chat/completions
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: corridor-floor LISTEN-URL UPSTREAM-URL");
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

using var invoker = new HttpMessageInvoker(new SocketsHttpHandler
{
    UseProxy = false,
    AllowAutoRedirect = false,
    UseCookies = false,
    MaxConnectionsPerServer = int.MaxValue,
    ActivityHeadersPropagator = null,
});
var json = new MediaTypeHeaderValue("application/json");

app.MapPost(upstream.AbsolutePath, async (HttpContext context) =>
{
    var body = new MemoryStream();
    await context.Request.Body.CopyToAsync(body, context.RequestAborted);
    using var request = new HttpRequestMessage(HttpMethod.Post, upstream)
    {
        Content = new ByteArrayContent(body.GetBuffer(), 0, (int)body.Length),
    };
    request.Content.Headers.ContentType = json;
    request.Headers.TryAddWithoutValidation("Authorization", "Bearer floor");
    using var response = await invoker.SendAsync(request, context.RequestAborted);
    var answer = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
    context.Response.StatusCode = (int)response.StatusCode;
    context.Response.ContentType = "application/json";
    context.Response.ContentLength = answer.Length;
    await context.Response.Body.WriteAsync(answer, context.RequestAborted);
});
app.MapGet("/healthz", () => "ok");
await app.RunAsync();
return 0;
