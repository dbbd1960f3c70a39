namespace Corridor.Monitor.Tests;

/// <summary>The hand-off from the request path to the monitor's background loop.</summary>
public sealed class ObservationPumpTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    public async Task EveryQueuedRequest_IsObserved_WhetherObservedAtOnceOrGathered(int gatherMs)
    {
        var monitor = new DistillationMonitor();
        var pump = new ObservationPump(monitor, gatherInterval: TimeSpan.FromMilliseconds(gatherMs));
        using var stop = new CancellationTokenSource(Timeout);
        var loop = pump.RunAsync(stop.Token);
        var body = TestRequests.Chat("What is the capital of Singapore?");

        // Two bursts with a pause between them: the loop sleeps after the first and is woken by the second.
        for (var burst = 0; burst < 2; burst++)
        {
            for (var i = 0; i < 500; i++)
            {
                Assert.True(pump.TryEnqueue(TestRequests.Metadata(TestRequests.Start.AddSeconds(i), "key-a", "tenant-a"), body));
            }
            while (monitor.Stats.Observed < 500 * (burst + 1))
            {
                stop.Token.ThrowIfCancellationRequested();
                await Task.Delay(5, stop.Token);
            }
        }

        pump.Complete();
        await loop.WaitAsync(Timeout);
        Assert.Equal(1000, monitor.Stats.Observed);
        Assert.Equal(0, pump.Pending);
        Assert.Equal(0, pump.Dropped);
    }
}
