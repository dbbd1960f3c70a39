using System.Net;

namespace Corridor.Simulator.Tests;

public sealed class HostTests
{
    [Fact]
    public async Task StartAsync_OnPortZero_ReportsTheRealLoopbackPort()
    {
        await using var simulator = await SimulatorHost.StartAsync("http://127.0.0.1:0", new SimulatorOptions(), CancellationToken.None).WaitAsync(SimulatorFixture.Timeout);

        Assert.Equal("127.0.0.1", simulator.BaseAddress.Host);
        Assert.NotEqual(0, simulator.BaseAddress.Port);
        using var client = new HttpClient { BaseAddress = simulator.BaseAddress, Timeout = SimulatorFixture.Timeout };
        using var response = await client.GetAsync("v1/models").WaitAsync(SimulatorFixture.Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task StartAsync_WithInvalidOptions_ListsEveryProblem()
    {
        var options = new SimulatorOptions { ErrorRate = 2, DisconnectRate = double.NaN, Latency = TimeSpan.FromSeconds(-1), RequiredApiKey = " " };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => SimulatorHost.StartAsync("http://127.0.0.1:0", options, CancellationToken.None)).WaitAsync(SimulatorFixture.Timeout);

        Assert.Contains("ErrorRate", error.Message, StringComparison.Ordinal);
        Assert.Contains("DisconnectRate", error.Message, StringComparison.Ordinal);
        Assert.Contains("Latency", error.Message, StringComparison.Ordinal);
        Assert.Contains("RequiredApiKey", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_ReturnsZero_WhenCancelled()
    {
        using var cancellation = new CancellationTokenSource();
        var run = SimulatorHost.RunAsync("http://127.0.0.1:0", new SimulatorOptions(), cancellation.Token);

        await cancellation.CancelAsync();

        Assert.Equal(0, await run.WaitAsync(SimulatorFixture.Timeout));
    }

    [Fact]
    public async Task RunAsync_ReturnsNonZero_ForInvalidOptions()
    {
        var exitCode = await SimulatorHost.RunAsync("http://127.0.0.1:0", new SimulatorOptions { RateLimitRate = -1 }, CancellationToken.None).WaitAsync(SimulatorFixture.Timeout);

        Assert.NotEqual(0, exitCode);
    }

    [Fact]
    public void Defaults_AreAHealthyUpstream()
    {
        var options = new SimulatorOptions();

        Assert.Equal(TimeSpan.Zero, options.Latency);
        Assert.Equal(TimeSpan.FromMilliseconds(2), options.TokenInterval);
        Assert.Equal(0, options.ErrorRate);
        Assert.Equal(0, options.RateLimitRate);
        Assert.Equal(0, options.DisconnectRate);
        Assert.Null(options.RequiredApiKey);
        Assert.Empty(options.Validate());
    }
}
