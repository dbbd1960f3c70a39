using Corridor.Storage.Monitoring;
using Npgsql;
using NpgsqlTypes;

namespace Corridor.Storage.Postgres;

/// <summary>
/// The fleet's observation log in PostgreSQL (migration 11): shipped with binary COPY, taken by the leader with one
/// DELETE … RETURNING on the connection that holds <see cref="PostgresMigrations.MonitorLeaderLock"/>. A row committed
/// late (a lower id than rows already taken) is simply taken by the next call: nothing is skipped.
/// </summary>
internal sealed class PostgresFleetObservations(NpgsqlDataSource dataSource) : IFleetObservations
{
    public async Task ShipAsync(IReadOnlyList<FleetObservation> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var importer = await connection.BeginBinaryImportAsync("COPY monitor_observations (at, features) FROM STDIN (FORMAT BINARY)", cancellationToken);
        foreach (var observation in batch)
        {
            await importer.StartRowAsync(cancellationToken);
            await importer.WriteAsync(PostgresValues.ToUtc(observation.At), NpgsqlDbType.TimestampTz, cancellationToken);
            await importer.WriteAsync(observation.Features, NpgsqlDbType.Bytea, cancellationToken);
        }

        await importer.CompleteAsync(cancellationToken);
    }

    public async Task<IFleetMonitorLease?> TryLeadAsync(CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({PostgresMigrations.MonitorLeaderLock})", connection);
            if ((bool)(await command.ExecuteScalarAsync(cancellationToken))!)
            {
                return new Lease(connection);
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return null;
    }

    private sealed class Lease(NpgsqlConnection connection) : IFleetMonitorLease
    {
        public async Task<IReadOnlyList<FleetObservation>> TakeAsync(int max, CancellationToken cancellationToken)
        {
            await using var command = new NpgsqlCommand(
                """
                DELETE FROM monitor_observations WHERE id IN (SELECT id FROM monitor_observations ORDER BY id LIMIT $1)
                RETURNING id, at, features
                """, connection);
            command.Parameters.AddWithValue(max);
            var taken = new List<(long Id, FleetObservation Observation)>();
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    taken.Add((reader.GetInt64(0), new FleetObservation(reader.GetFieldValue<DateTimeOffset>(1), reader.GetFieldValue<byte[]>(2))));
                }
            }

            taken.Sort((a, b) => a.Id.CompareTo(b.Id));
            return [.. taken.Select(t => t.Observation)];
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var command = new NpgsqlCommand($"SELECT pg_advisory_unlock({PostgresMigrations.MonitorLeaderLock})", connection);
                await command.ExecuteNonQueryAsync();
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // The connection is gone, and the lock with its session.
            }

            await connection.DisposeAsync();
        }
    }
}
