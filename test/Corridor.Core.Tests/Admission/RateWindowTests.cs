using Corridor.Core.Admission;

namespace Corridor.Core.Tests.Admission;

public sealed class RateWindowTests
{
    private const long Second = 1_000_000_000;
    private const long Minute = 60 * Second;

    [Fact]
    public void AFullMinuteMayBeSpentInABurst_ThenTheNextWaitsOneInterval()
    {
        var window = new RateWindow();
        for (var i = 0; i < 60; i++)
        {
            Assert.True(window.TryTake(1, 60, Minute, 0, out _));
        }

        Assert.False(window.TryTake(1, 60, Minute, 0, out var retryAfter));
        Assert.Equal(Second, retryAfter);
        Assert.False(window.TryTake(1, 60, Minute, Second - 1, out _));
        Assert.True(window.TryTake(1, 60, Minute, Second, out _));
    }

    [Fact]
    public void Status_SaysWhatIsLeftAndWhenTheWindowIsWhole()
    {
        var window = new RateWindow();
        window.Take(15, 60, Minute, 0);

        var status = window.Status(60, Minute, 0, Second);

        Assert.Equal(new RateStatus(60, 45, TimeSpan.FromSeconds(15)), status);
        Assert.Equal(new RateStatus(60, 50, TimeSpan.FromSeconds(10)), window.Status(60, Minute, 5 * Second, Second));
        Assert.Equal(new RateStatus(60, 60, TimeSpan.Zero), window.Status(60, Minute, 20 * Second, Second));
    }

    [Fact]
    public void TakingMoreThanTheLimitAtOnce_IsNeverAllowed()
    {
        var window = new RateWindow();

        Assert.False(window.CanTake(1001, 1000, Minute, 0, out _));
        Assert.True(window.CanTake(1000, 1000, Minute, 0, out _));
    }

    [Fact]
    public void GivingBack_ReturnsUnitsButNeverMoreThanAWholeWindow()
    {
        var window = new RateWindow();
        window.Take(1000, 1000, Minute, 0);
        Assert.Equal(0, window.Status(1000, Minute, 0, Second).Remaining);

        window.Adjust(-400, 1000, Minute, 0);
        Assert.Equal(400, window.Status(1000, Minute, 0, Second).Remaining);

        window.Adjust(-5000, 1000, Minute, 0);
        Assert.Equal(1000, window.Status(1000, Minute, 0, Second).Remaining);
        Assert.True(window.CanTake(1000, 1000, Minute, 0, out _));
        Assert.False(window.CanTake(1001, 1000, Minute, 0, out _));
    }

    [Fact]
    public void ChargingExtra_PutsTheWindowInDebtThatLaterTakesWaitOut()
    {
        var window = new RateWindow();
        window.Take(1000, 1000, Minute, 0);
        window.Adjust(500, 1000, Minute, 0);

        Assert.False(window.CanTake(1, 1000, Minute, 0, out var retryAfter));
        Assert.Equal(30 * Second + (Minute / 1000), retryAfter);
        Assert.True(window.CanTake(1, 1000, Minute, 30 * Second + (Minute / 1000), out _));
    }
}
