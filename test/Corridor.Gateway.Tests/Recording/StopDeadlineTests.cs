using Corridor.Gateway.Recording;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Recording;

/// <summary>
/// The stop's one deadline (<see cref="StopDeadline"/>): the store work after the requests in flight shares what is left of
/// <c>server.shutdownTimeoutSeconds</c> (at least <see cref="StopDeadline.Grace"/>), instead of waiting up to
/// <see cref="StoreDeadline.Timeout"/> a step.
/// </summary>
public sealed class StopDeadlineTests
{
    [Fact]
    public async Task TheStoreWork_SharesWhatIsLeftOfTheShutdownDeadline_AndIsNotAskedPastIt()
    {
        var clock = new FakeClock();
        var stop = new StopDeadline(clock, TimeSpan.FromSeconds(3));
        Assert.Equal(StoreDeadline.Timeout, stop.StoreTimeout);

        await stop.StoppingAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1)); // requests in flight finish
        Assert.Equal(StoreDeadline.Timeout, stop.StoreTimeout);
        await stop.StopAsync(CancellationToken.None);
        Assert.Equal(TimeSpan.FromSeconds(2), stop.StoreTimeout);

        clock.Advance(TimeSpan.FromSeconds(1.5)); // one step's store work, then the next step's
        Assert.Equal(TimeSpan.FromSeconds(0.5), stop.StoreTimeout);
        clock.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(TimeSpan.Zero, stop.StoreTimeout);

        var asked = false;
        await Assert.ThrowsAsync<TimeoutException>(() => StoreDeadline.RunAsync(_ =>
        {
            asked = true;
            return Task.CompletedTask;
        }, clock, stop.StoreTimeout));
        Assert.False(asked, "the store was asked past the stop's deadline");
    }

    [Fact]
    public async Task RequestsInFlightThatTookTheWholeDeadline_LeaveTheStoreWorkItsGrace()
    {
        var clock = new FakeClock();
        var stop = new StopDeadline(clock, TimeSpan.FromSeconds(3));
        await stop.StoppingAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(3.2));
        await stop.StopAsync(CancellationToken.None);
        Assert.Equal(StopDeadline.Grace, stop.StoreTimeout);
        clock.Advance(StopDeadline.Grace);
        Assert.Equal(TimeSpan.Zero, stop.StoreTimeout);
    }

    [Fact]
    public async Task ALongDeadline_StillBoundsEachCallByTheStoreDeadline()
    {
        var clock = new FakeClock();
        var stop = new StopDeadline(clock, TimeSpan.FromSeconds(30));
        await stop.StoppingAsync(CancellationToken.None);
        await stop.StopAsync(CancellationToken.None);
        Assert.Equal(StoreDeadline.Timeout, stop.StoreTimeout);
        clock.Advance(TimeSpan.FromSeconds(27));
        Assert.Equal(TimeSpan.FromSeconds(3), stop.StoreTimeout);
    }
}
