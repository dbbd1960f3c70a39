using Corridor.Storage.Postgres;

namespace Corridor.Storage.Monitoring;

/// <summary>
/// The fleet's shared observation log (PostgreSQL migration 11): every replica ships its requests' monitor features here
/// in batches, and the one replica that holds the leadership takes them and scores the whole fleet's traffic together.
/// Used off the request path only.
/// </summary>
public interface IFleetObservations
{
    /// <summary>Appends a batch of observations (one binary COPY).</summary>
    Task ShipAsync(IReadOnlyList<FleetObservation> batch, CancellationToken cancellationToken);

    /// <summary>
    /// Becomes the replica that scores the fleet, or returns null when another one is. The lease holds a connection of its
    /// own (a session advisory lock): when this process or its connection dies, another replica takes over.
    /// </summary>
    Task<IFleetMonitorLease?> TryLeadAsync(CancellationToken cancellationToken);
}

/// <summary>The leadership of the fleet's monitor; disposing it gives it up.</summary>
public interface IFleetMonitorLease : IAsyncDisposable
{
    /// <summary>
    /// Takes (and deletes) up to <paramref name="max"/> of the oldest shipped observations, in the order they were written.
    /// Throws when the lease's connection is lost: the caller then gives up the leadership and tries again later.
    /// </summary>
    Task<IReadOnlyList<FleetObservation>> TakeAsync(int max, CancellationToken cancellationToken);
}

public static class FleetObservations
{
    /// <summary>The store's shared observation log, or null for a store used by one process only (SQLite).</summary>
    public static IFleetObservations? For(ICorridorStore store) =>
        store is PostgresStore postgres ? new PostgresFleetObservations(postgres.DataSource) : null;
}
