using System.Net;

namespace Corridor.Simulator.Tests;

public sealed class StatsTests
{
    [Fact]
    public async Task Stats_CountRequestsPerPath_IncludingKnobPrefixes_ButNotThemselves()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());
        await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());
        await sim.PostAsync("/x/status=503/v1/chat/completions", Bodies.OpenAIChat());
        await sim.PostMessagesAsync(Bodies.AnthropicMessage());
        await sim.GetAsync("/_sim/stats");

        var stats = (await sim.GetAsync("/_sim/stats")).Json;

        Assert.Equal(4, stats.GetProperty("total").GetInt64());
        var paths = stats.GetProperty("paths");
        Assert.Equal(2, paths.GetProperty("/v1/chat/completions").GetInt64());
        Assert.Equal(1, paths.GetProperty("/x/status=503/v1/chat/completions").GetInt64());
        Assert.Equal(1, paths.GetProperty("/v1/messages").GetInt64());
        Assert.False(paths.TryGetProperty("/_sim/stats", out _));
    }

    [Fact]
    public async Task Reset_ClearsTheCounts()
    {
        await using var sim = await SimulatorFixture.StartAsync();
        await sim.PostAsync("/v1/chat/completions", Bodies.OpenAIChat());

        var reset = await sim.PostAsync("/_sim/reset", "");
        var stats = (await sim.GetAsync("/_sim/stats")).Json;

        Assert.Equal(HttpStatusCode.NoContent, reset.Status);
        Assert.Equal(0, stats.GetProperty("total").GetInt64());
        Assert.Empty(stats.GetProperty("paths").EnumerateObject());
    }

    [Fact]
    public async Task EveryResponse_IsMarkedAsSimulated_EvenANotFound()
    {
        await using var sim = await SimulatorFixture.StartAsync();

        var notFound = await sim.GetAsync("/no/such/path");
        var error = await sim.PostAsync("/x/status=500/v1/chat/completions", "{}");

        Assert.Equal(HttpStatusCode.NotFound, notFound.Status);
        Assert.Equal("1", notFound.Header("x-corridor-simulator"));
        Assert.Equal("1", error.Header("x-corridor-simulator"));
    }
}
