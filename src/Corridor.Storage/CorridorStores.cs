using Corridor.Storage.Sqlite;

namespace Corridor.Storage;

/// <summary>Opens the store that <see cref="StorageOptions"/> selects, creating and migrating it as needed.</summary>
public static class CorridorStores
{
    /// <summary>
    /// Opens the SQLite file at <see cref="StorageOptions.SqlitePath"/> (creating its folder) and migrates it.
    /// A PostgreSQL connection string is not supported yet and throws <see cref="NotSupportedException"/>.
    /// </summary>
    public static async Task<ICorridorStore> OpenAsync(StorageOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrWhiteSpace(options.PostgresConnectionString))
        {
            throw new NotSupportedException(
                "PostgreSQL storage is not available in this version of Corridor; remove the PostgreSQL connection string to use the embedded SQLite file.");
        }

        var store = new SqliteStore(options.SqlitePath);
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
