using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Corridor.Gateway.Configuration;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>Aliases and strategies through the real gateway and simulator.</summary>
public sealed class RoutingTests
{
    private static string Catalog(Uri simulator) => TestCatalog.Yaml(simulator) + """

        routing:
          breaker: { failures: 2, openSeconds: 600 }
          models:
            flaky: { strategy: lowest-cost }
          aliases:
            chat-fallback: [dead, gpt-4.1]
        """;

    private static async Task<HttpResponseMessage> ChatAsync(HttpClient http, string model)
    {
        using var cts = new CancellationTokenSource(LiveGateway.Timeout);
        return await http.PostAsJsonAsync("/v1/chat/completions",
            new { model, messages = new[] { new { role = "user", content = "route me" } } }, cts.Token);
    }

    [Fact]
    public async Task Alias_FallsBackAcrossModels_InItsOrder()
    {
        await using var stack = await LiveGateway.StartAsync(Catalog);
        using var http = stack.Http();

        using var response = await ChatAsync(http, "chat-fallback");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("sg", response.Headers.GetValues("x-corridor-region").Single());
        using var models = await http.GetAsync("/v1/models");
        var ids = JsonDocument.Parse(await models.Content.ReadAsStringAsync()).RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString());
        Assert.Contains("chat-fallback", ids);
    }

    [Fact]
    public async Task LowestCost_TriesTheCheaperDeploymentFirst()
    {
        // flaky-sg (503) costs 1+1 per million, flaky-jp 1+2: lowest-cost keeps sg first, then falls back.
        await using var stack = await LiveGateway.StartAsync(Catalog);
        using var http = stack.Http();

        using var response = await ChatAsync(http, "flaky");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("jp-east", response.Headers.GetValues("x-corridor-region").Single());
    }

    [Fact]
    public async Task OpenBreaker_StopsSendingToAFailingDeployment()
    {
        await using var stack = await LiveGateway.StartAsync(Catalog);
        using var http = stack.Http();
        using var sim = new HttpClient { BaseAddress = stack.Simulator.BaseAddress, Timeout = LiveGateway.Timeout };

        for (var i = 0; i < 2; i++)
        {
            using var failing = await ChatAsync(http, "flaky");
            Assert.Equal(HttpStatusCode.OK, failing.StatusCode);
        }
        var before = await FailingPathCountAsync(sim);
        for (var i = 0; i < 3; i++)
        {
            using var served = await ChatAsync(http, "flaky");
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.Equal("jp-east", served.Headers.GetValues("x-corridor-region").Single());
        }

        Assert.Equal(2, before);
        Assert.Equal(before, await FailingPathCountAsync(sim));
    }

    [Fact]
    public async Task BreakerSettingsChangedByAReload_ApplyToTheNextRequest()
    {
        // Started with the default breaker (5 failures); corridor.yaml is then edited to open it after one.
        await using var stack = await LiveGateway.StartAsync();
        using var http = stack.Http();
        using var sim = new HttpClient { BaseAddress = stack.Simulator.BaseAddress, Timeout = LiveGateway.Timeout };
        var state = (GatewayState)stack.Gateway.Services.GetService(typeof(GatewayState))!;
        var edited = ConfigLoader.Parse(TestCatalog.Yaml(stack.Simulator.BaseAddress) + """

            routing:
              breaker: { failures: 1, openSeconds: 600 }
            """, stack.Directory.Path, environment: null);
        Assert.True(state.Reload(edited, Environment.GetEnvironmentVariable, DateTimeOffset.UtcNow).Succeeded);

        for (var i = 0; i < 3; i++)
        {
            using var served = await ChatAsync(http, "flaky");
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.Equal("jp-east", served.Headers.GetValues("x-corridor-region").Single());
        }

        Assert.Equal(1, await FailingPathCountAsync(sim));
    }

    [Fact]
    public async Task ADeploymentSkippedBecauseTheRequestCannotBeTranslatedForIt_SpendsNoRetryBudget()
    {
        // No deposits: the budget holds only its floor, ten retries in any 10 s. Claude's deployment is tried first, and an
        // audio part cannot be carried to an Anthropic upstream, so each request skips it and is served by gpt-4.1 without a
        // retry. Thirty of them in a few seconds would spend the floor three times over if skips paid.
        await using var stack = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator) + """

            routing:
              retryBudget: 0
              aliases:
                claude-first: [claude-sonnet-4, gpt-4.1]
            """);
        using var http = stack.Http();

        for (var i = 0; i < 30; i++)
        {
            using var cts = new CancellationTokenSource(LiveGateway.Timeout);
            using var skipped = await http.PostAsJsonAsync("/v1/chat/completions", new
            {
                model = "claude-first",
                messages = new[]
                {
                    new { role = "user", content = new object[] { new { type = "text", text = "listen" }, new { type = "input_audio", input_audio = new { data = "UklGRg==", format = "wav" } } } },
                },
            }, cts.Token);
            Assert.True(skipped.StatusCode == HttpStatusCode.OK, $"request {i}: {skipped.StatusCode} {await skipped.Content.ReadAsStringAsync(cts.Token)}");
            Assert.Equal("sg", skipped.Headers.GetValues("x-corridor-region").Single());
        }
        // The budget is whole: a real fallback still has its retry.
        using var fallback = await ChatAsync(http, "flaky");

        Assert.Equal(HttpStatusCode.OK, fallback.StatusCode);
        Assert.Equal("jp-east", fallback.Headers.GetValues("x-corridor-region").Single());
    }

    private static async Task<long> FailingPathCountAsync(HttpClient sim)
    {
        using var cts = new CancellationTokenSource(LiveGateway.Timeout);
        var stats = await sim.GetStringAsync("/_sim/stats", cts.Token);
        var total = 0L;
        foreach (var (path, count) in Flatten(JsonDocument.Parse(stats).RootElement, ""))
        {
            if (path.Contains("status=503", StringComparison.Ordinal))
            {
                total += count;
            }
        }
        return total;
    }

    private static IEnumerable<(string Path, long Count)> Flatten(JsonElement element, string prefix)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                foreach (var item in Flatten(property.Value, prefix + "/" + property.Name))
                {
                    yield return item;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Number)
        {
            yield return (prefix, element.GetInt64());
        }
    }
}
