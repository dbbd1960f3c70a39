namespace Corridor.Storage;

/// <summary>Why a store write was refused; the admin API maps these to 409 and 404, the command line to a message.</summary>
public enum StoreError
{
    /// <summary>A tenant or key with that id (or a key with that hash) already exists.</summary>
    Duplicate,

    /// <summary>The tenant a key was issued for does not exist.</summary>
    UnknownTenant,

    /// <summary>The database was written by a newer Corridor than this one.</summary>
    SchemaTooNew,

    /// <summary>A schema migration failed at start; it was rolled back and the schema is as it was before it.</summary>
    MigrationFailed,
}

/// <summary>A write the store refused for a reason the caller can act on. Its message is fit to show to an operator.</summary>
public sealed class CorridorStoreException : Exception
{
    /// <summary>
    /// Whether <paramref name="e"/> says the store could not do what was asked (refused, unreachable, locked, too slow),
    /// rather than a fault in the caller: the one test for every "the store is away" answer.
    /// </summary>
    public static bool IsStoreFailure(Exception e) =>
        e is CorridorStoreException or Npgsql.NpgsqlException or Microsoft.Data.Sqlite.SqliteException or TimeoutException;

    public CorridorStoreException(StoreError error, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
    }

    public StoreError Error { get; }
}
