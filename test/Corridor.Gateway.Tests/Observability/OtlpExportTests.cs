using System.Text;
using Corridor.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>
/// With <c>observability.otlpEndpoint</c> set, the gateway pushes its metrics over OTLP (HTTP/protobuf here) to a collector:
/// a loopback server in the test stands in for one and keeps what is posted to <c>/v1/metrics</c>.
/// </summary>
public sealed class OtlpExportTests
{
    [Fact]
    public async Task Metrics_ArePushedOverOtlp_WithTheGenAiNames()
    {
        var posts = new List<byte[]>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        collector.MapPost("/v1/metrics", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            lock (posts)
            {
                posts.Add(body.ToArray());
            }
            return Results.Ok();
        });
        await collector.StartAsync().WithTimeout();
        var address = collector.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator) + $"""

            observability:
              otlpEndpoint: "{address}"
              otlpProtocol: http/protobuf
              otlpExportIntervalSeconds: 1
            """);
        await live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Export me.")], null, default).WithTimeout();

        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            string all;
            lock (posts)
            {
                all = string.Join("\n", posts.Select(Encoding.UTF8.GetString));
            }
            // Protobuf keeps strings as UTF-8 bytes: the names are readable in the payload.
            if (all.Contains("gen_ai.server.request.duration", StringComparison.Ordinal) && all.Contains("gen_ai.client.token.usage", StringComparison.Ordinal))
            {
                Assert.Contains("gen_ai.request.model", all, StringComparison.Ordinal);
                Assert.Contains("gpt-4.1", all, StringComparison.Ordinal);
                Assert.Contains("corridor", all, StringComparison.Ordinal);
                Assert.DoesNotContain(live.Secret, all, StringComparison.Ordinal);
                return;
            }
            await Task.Delay(100, cts.Token);
        }
    }
}
