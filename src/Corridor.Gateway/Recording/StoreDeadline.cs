namespace Corridor.Gateway.Recording;

/// <summary>
/// The one bound on how long the gateway's background work waits for the store on any one call: the ledger's and the audit
/// log's writes, the key cache's refresh and last-used times, the fleet's lease book. A database that stops answering
/// (a hung server, a network dropping packets) fails nothing by itself: without this, each call waited for the driver's
/// own timeouts (with PostgreSQL's defaults 30 s a command, 15 s to open a connection, and a cancellation that waits for
/// the server too), and so did the responses, shutdowns and readiness that waited on the call (docs/postgresql.md).
/// </summary>
internal static class StoreDeadline
{
    /// <summary>How long one call to the store may take before it counts as failed.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Runs <paramref name="call"/>, waiting no longer than <see cref="Timeout"/> (or a shorter timeout of a caller that must
    /// answer sooner, such as /readyz; a <see cref="TimeoutException"/> then) or until <paramref name="cancellationToken"/> is
    /// cancelled. The call is asked to cancel, but a driver may not give up at once (opening a connection to a server that does not answer), so the wait ends at the deadline whatever the call
    /// does. A call given up on may still complete: callers only retry what the store ignores when it holds it already.
    /// </summary>
    public static Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, TimeProvider time, CancellationToken cancellationToken = default) =>
        RunAsync(call, time, Timeout, cancellationToken);

    /// <inheritdoc cref="RunAsync{T}(Func{CancellationToken, Task{T}}, TimeProvider, CancellationToken)"/>
    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, TimeProvider time, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        try
        {
            return await call(linked.Token).WaitAsync(linked.Token);
        }
        catch (OperationCanceledException e) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The store did not answer within {timeout.TotalSeconds:0} s.", e);
        }
    }

    /// <summary>
    /// Waits for work already under way on the store and asked to stop (a writer's background replay at shutdown) at most
    /// <see cref="Timeout"/>; work still waiting on a store that does not answer is left to it. Returns however it ended.
    /// </summary>
    public static async Task WaitOrLeaveAsync(Task work, TimeProvider time)
    {
        try
        {
            await work.WaitAsync(Timeout, time, CancellationToken.None);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
        }
    }

    /// <inheritdoc cref="RunAsync{T}(Func{CancellationToken, Task{T}}, TimeProvider, CancellationToken)"/>
    public static Task RunAsync(Func<CancellationToken, Task> call, TimeProvider time, CancellationToken cancellationToken = default) =>
        RunAsync(async token =>
        {
            await call(token);
            return true;
        }, time, cancellationToken);
}
