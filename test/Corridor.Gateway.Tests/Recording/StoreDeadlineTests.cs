using Corridor.Gateway.Recording;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Recording;

/// <summary>
/// The bound on one store call (<see cref="StoreDeadline"/>), against a driver whose cancellation blocks the thread that
/// cancels, as Npgsql's does against a server that does not answer: it sends the server a cancel request and waits for its
/// answer on that thread (30 s measured with PostgreSQL stopped by SIGSTOP).
/// </summary>
public sealed class StoreDeadlineTests
{
    [Fact]
    public async Task AStopCancellingACallWhoseDriverBlocksOnCancellation_IsNotHeldByIt()
    {
        using var released = new ManualResetEventSlim();
        using var stopping = new CancellationTokenSource();
        var call = StoreDeadline.RunAsync(BlockingOnCancellation(released), new FakeClock(), stopping.Token);

        // The host stopping a service cancels its token on the stop's own thread: that must return with the driver still busy.
        try
        {
            await Task.Run(stopping.Cancel).WithTimeout();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call).WithTimeout();
        }
        finally
        {
            released.Set();
        }
    }

    [Fact]
    public async Task ADeadlinePassingOnACallWhoseDriverBlocksOnCancellation_DoesNotHoldTheClocksTimer()
    {
        using var released = new ManualResetEventSlim();
        var clock = new FakeClock();
        var call = StoreDeadline.RunAsync(BlockingOnCancellation(released), clock);

        // The deadline's timer fires on the clock's thread (a timer thread of the system clock), which the next timers wait for.
        try
        {
            await Task.Run(() => clock.Advance(StoreDeadline.Timeout)).WithTimeout();
            await Assert.ThrowsAsync<TimeoutException>(() => call).WithTimeout();
        }
        finally
        {
            released.Set();
        }
    }

    /// <summary>A call that never answers, and whose token's cancellation blocks until <paramref name="released"/>.</summary>
    private static Func<CancellationToken, Task<int>> BlockingOnCancellation(ManualResetEventSlim released) => token =>
    {
        token.Register(() => released.Wait());
        return new TaskCompletionSource<int>().Task;
    };
}
