using Corridor.Storage.Postgres;
using Corridor.Storage.Sqlite;

namespace Corridor.Storage;

/// <summary>Opens the store that <see cref="StorageOptions"/> selects, creating and migrating it as needed.</summary>
public static class CorridorStores
{
    /// <summary>
    /// Opens PostgreSQL when <see cref="StorageOptions.PostgresConnectionString"/> is set, else the SQLite file at
    /// <see cref="StorageOptions.SqlitePath"/> (creating its folder), and migrates it. A migration that fails throws
    /// <see cref="CorridorStoreException"/> (<see cref="StoreError.MigrationFailed"/>) with the reason, the schema unchanged.
    /// </summary>
    public static async Task<ICorridorStore> OpenAsync(StorageOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ICorridorStore store = string.IsNullOrWhiteSpace(options.PostgresConnectionString)
            ? new SqliteStore(options.SqlitePath, fullSync: options.SqliteFullSync)
            : new PostgresStore(options.PostgresConnectionString);
        try
        {
            await store.MigrateAsync(cancellationToken);
            return store;
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }
}
