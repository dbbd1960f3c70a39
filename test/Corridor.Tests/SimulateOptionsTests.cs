using Corridor.Cli.Commands;

namespace Corridor.Tests;

public sealed class SimulateOptionsTests
{
    [Fact]
    public void Knobs_BecomeSimulatorOptions()
    {
        var options = HostCommands.ToSimulatorOptions(new SimulateArguments(50, 0.1, 0.2, 0.3, 7, 42, "sim-key"));

        Assert.Equal(TimeSpan.FromMilliseconds(50), options.Latency);
        Assert.Equal(0.1, options.ErrorRate);
        Assert.Equal(0.2, options.RateLimitRate);
        Assert.Equal(0.3, options.DisconnectRate);
        Assert.Equal(TimeSpan.FromMilliseconds(7), options.TokenInterval);
        Assert.Equal(42, options.Seed);
        Assert.Equal("sim-key", options.RequiredApiKey);
    }

    [Fact]
    public void AbsentKnobs_KeepTheDefaults()
    {
        Assert.Equal(new Corridor.Simulator.SimulatorOptions(), HostCommands.ToSimulatorOptions(new SimulateArguments(null, null, null, null, null, null, null)));
    }
}
