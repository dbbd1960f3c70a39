using Corridor.Storage;

namespace Corridor.Gateway.Recording;

/// <summary>
/// The one bound on how long the gateway's background work waits for the store on any one call: the ledger's and the audit
/// log's writes, the key cache's refresh and last-used times, the fleet's lease book. A database that stops answering
/// (a hung server, a network dropping packets) fails nothing by itself: without this, each call waited for the driver's
/// own timeouts (with PostgreSQL's defaults 30 s a command, 15 s to open a connection, and a cancellation that waits for
/// the server too), and so did the responses, shutdowns and readiness that waited on the call (docs/postgresql.md).
/// At a stop the store work waits less, until the stop's one deadline (<see cref="StopDeadline"/>).
/// </summary>
internal static class StoreDeadline
{
    /// <summary>How long one call to the store may take before it counts as failed.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs <paramref name="call"/>, waiting no longer than <see cref="Timeout"/> (or a shorter timeout of a caller that must
    /// answer sooner, such as /readyz or a stop; a <see cref="TimeoutException"/> then, at once and without asking the store
    /// when no time is left) or until <paramref name="cancellationToken"/> is cancelled. The call is asked to cancel
    /// (<see cref="CancelApart"/>), but a driver may not give up at once (opening a connection to a server that does not
    /// answer), so the wait ends at the deadline whatever the call does. A call given up on may still complete: callers
    /// only retry what the store ignores when it holds it already.
    /// </summary>
    public static Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, TimeProvider time, CancellationToken cancellationToken = default) =>
        RunAsync(call, time, Timeout, cancellationToken);

    /// <inheritdoc cref="RunAsync{T}(Func{CancellationToken, Task{T}}, TimeProvider, CancellationToken)"/>
    public static Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, TimeProvider time, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunAsync(call, time, timeout, CancellationToken.None, cancellationToken);

    /// <summary>
    /// Runs <paramref name="call"/> as <see cref="RunAsync{T}(Func{CancellationToken, Task{T}}, TimeProvider, CancellationToken)"/>
    /// does, bounded by the stop's deadline too: until the stop, <see cref="Timeout"/>; a call under way when the stop's store
    /// work must end is given up on then (a <see cref="TimeoutException"/>), even one begun before the stop with a longer
    /// bound of its own (a ledger or audit batch in flight).
    /// </summary>
    public static Task RunAsync(Func<CancellationToken, Task> call, TimeProvider time, StopDeadline stop, CancellationToken cancellationToken = default) =>
        RunAsync(Answered(call), time, stop.StoreTimeout, stop.StoreWorkOver, cancellationToken);

    private static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, TimeProvider time, TimeSpan timeout, CancellationToken stopOver,
        CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (timeout <= TimeSpan.Zero || stopOver.IsCancellationRequested)
        {
            throw new TimeoutException("The stop's deadline has passed: the store was not asked.");
        }

        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, stopOver, cancellationToken);
        // The call's own token: cancelled once the call is given up on, apart from whoever gave up (the deadline's timer,
        // the host stopping a service), never by them.
        var callCancellation = new CancellationTokenSource();
        var answer = call(callCancellation.Token);
        try
        {
            return await answer.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The store did not answer within {timeout.TotalSeconds:0.#} s.", e);
        }
        catch (OperationCanceledException e) when (stopOver.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException("The store did not answer by the stop's deadline.", e);
        }
        finally
        {
            if (answer.IsCompleted)
            {
                callCancellation.Dispose();
            }
            else
            {
                // Left to the thread that cancels it (it holds no timer to release).
                CancelApart(callCancellation);
            }
        }
    }

    /// <inheritdoc cref="RunAsync{T}(Func{CancellationToken, Task{T}}, TimeProvider, CancellationToken)"/>
    public static Task RunAsync(Func<CancellationToken, Task> call, TimeProvider time, CancellationToken cancellationToken = default) =>
        RunAsync(call, time, Timeout, cancellationToken);

    /// <inheritdoc cref="RunAsync{T}(Func{CancellationToken, Task{T}}, TimeProvider, CancellationToken)"/>
    public static Task RunAsync(Func<CancellationToken, Task> call, TimeProvider time, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunAsync(Answered(call), time, timeout, cancellationToken);

    private static Func<CancellationToken, Task<bool>> Answered(Func<CancellationToken, Task> call) => async token =>
    {
        await call(token);
        return true;
    };

    /// <inheritdoc cref="StoreCancellation.CancelApart"/>
    public static void CancelApart(CancellationTokenSource source) => StoreCancellation.CancelApart(source);

    /// <summary>
    /// Waits for work already under way on the store and asked to stop (a writer's background replay at shutdown) at most
    /// <paramref name="timeout"/>; work still waiting on a store that does not answer is left to it. Returns however it ended.
    /// </summary>
    public static async Task WaitOrLeaveAsync(Task work, TimeProvider time, TimeSpan timeout)
    {
        try
        {
            await work.WaitAsync(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero, time, CancellationToken.None);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }
    }
}
