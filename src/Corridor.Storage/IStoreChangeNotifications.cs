namespace Corridor.Storage;

/// <summary>
/// A store shared by several processes that announces, the moment they commit, changes that move
/// <see cref="ICorridorStore.GetRevisionAsync"/> (PostgreSQL: LISTEN/NOTIFY). Caches still poll the revision now and then,
/// so a notification lost to a dropped connection only delays a reload until the next poll.
/// </summary>
public interface IStoreChangeNotifications
{
    /// <summary>
    /// Completes at the next announced change, or when the listener (re)connects, since changes made while it was not
    /// listening were not announced. Get the task before reloading, so a change made during the reload is not missed.
    /// </summary>
    Task WaitForChangeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stops listening, waiting for the listener to end at most <paramref name="wait"/> (a gateway's stop: until its deadline).
    /// A listener that does not end by then (its connection waits on a database that stopped answering) is left to end with
    /// the process. Disposing the store does this too, if no one did before.
    /// </summary>
    Task StopListeningAsync(TimeSpan wait);
}
