namespace Corridor.Storage;

/// <summary>Cancelling store work without waiting on the driver's cancellation (docs/postgresql.md).</summary>
public static class StoreCancellation
{
    /// <summary>
    /// Cancels <paramref name="source"/>, whose token store work holds, on a thread of its own, and returns at once. Npgsql
    /// runs its cancellation on the thread that cancels: for a command under way it opens a connection to the server, sends a
    /// cancel request and reads the answer, synchronously; a server that does not answer held that thread twice its connect
    /// timeout (30 s measured: an encrypted attempt, then a plain one). Cancelled inline, that was the host stopping a
    /// service, the timer of a deadline (delaying the timers after it), a writer stopping its replay, or the store stopping
    /// its listener: a stop then took 46–48 s instead of 16.
    /// </summary>
    public static void CancelApart(CancellationTokenSource source) =>
        new Thread(static state =>
        {
            try
            {
                ((CancellationTokenSource)state!).Cancel();
            }
            catch (Exception e) when (e is AggregateException or ObjectDisposedException)
            {
                // A callback failed, or the owner is gone: nothing waits on this thread to hear it.
            }
        })
        { IsBackground = true, Name = "Corridor store cancel" }.Start(source);
}
