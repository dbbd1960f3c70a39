using System.Runtime.CompilerServices;
using Corridor.Core.Audit;
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

    /// <summary>
    /// Why a PostgreSQL store is not backed up by <see cref="ICorridorStore.BackupAsync"/>, naming PostgreSQL's own tools:
    /// for refusing before connecting to it.
    /// </summary>
    public const string PostgresBackupRefusal = PostgresStore.BackupRefusal;

    /// <summary>
    /// The audit log from its first record, for verifying it, with nothing migrated or written: a SQLite file (the store, or
    /// a backup of it, of any schema with an audit log) through a read-only connection, with nothing created beside it;
    /// PostgreSQL through its store. A SQLite file that is not there throws <see cref="FileNotFoundException"/>, one that is
    /// not a Corridor store <see cref="InvalidDataException"/>.
    /// </summary>
    public static async IAsyncEnumerable<AuditRecord> ReadAuditAsync(StorageOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.PostgresConnectionString))
        {
            await foreach (var record in SqliteStore.ReadAuditReadOnlyAsync(options.SqlitePath, cancellationToken))
            {
                yield return record;
            }
            yield break;
        }
        await using var store = await OpenAsync(options, cancellationToken);
        await foreach (var record in store.ReadAuditAsync(1, cancellationToken))
        {
            yield return record;
        }
    }

    /// <summary>
    /// Puts the backup at <paramref name="backupPath"/> (one <see cref="ICorridorStore.BackupAsync"/> wrote) in the place of the
    /// SQLite store <paramref name="options"/> selects, which nothing may have open, keeping the store it replaces beside it
    /// and recording the restore in the restored store's audit log as <paramref name="actor"/> (docs/operations.md,
    /// "Restoring"). A backup that fails the checks a backup's copy gets is not restored (<see cref="StoreRestore.Restored"/>
    /// false); one that is not a Corridor store, or of a newer schema, throws <see cref="InvalidDataException"/>; a store in
    /// use, <see cref="IOException"/>. A PostgreSQL store is restored with PostgreSQL's own tools: <see cref="NotSupportedException"/>.
    /// </summary>
    public static Task<StoreRestore> RestoreAsync(StorageOptions options, string backupPath, string actor, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(backupPath);
        return string.IsNullOrWhiteSpace(options.PostgresConnectionString)
            ? SqliteRestore.RestoreAsync(options.SqlitePath, backupPath, actor, time, cancellationToken)
            : throw new NotSupportedException(PostgresStore.RestoreRefusal);
    }
}
