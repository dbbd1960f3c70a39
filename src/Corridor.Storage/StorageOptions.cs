namespace Corridor.Storage;

/// <summary>
/// Where Corridor keeps its state: one SQLite file by default, or a PostgreSQL database shared by several gateway replicas
/// when <see cref="PostgresConnectionString"/> is set (an Npgsql connection string; it wins over the SQLite path).
/// </summary>
public sealed record StorageOptions(string SqlitePath = StorageOptions.DefaultSqlitePath, string? PostgresConnectionString = null)
{
    public const string DefaultSqlitePath = "./data/corridor.db";

    /// <summary>
    /// How long the gateway keeps serving from its cached keys and tenants after it last reached the store; past it, requests
    /// are refused with 503 (<c>store_unavailable</c>) until the store answers again.
    /// </summary>
    public TimeSpan UnavailableGrace { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// PostgreSQL only: how long after a fleet replica's last heartbeat the lease book takes back the budget slices it held
    /// unspent (a replica killed, or frozen); it spends from them only for half of it after its last confirmed heartbeat.
    /// </summary>
    public TimeSpan LeaseExpiry { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// SQLite only: whether every commit is synced to disk before it returns (<c>storage.sqliteSync: full</c>), so that a
    /// committed ledger row survives a power loss or an operating-system crash, at the price of one disk sync per batch.
    /// False (<c>normal</c>, the default): a commit is in the write-ahead log in the operating system's cache when it
    /// returns, which survives the gateway's crash or SIGKILL, and is synced at checkpoints (docs/durability.md).
    /// </summary>
    public bool SqliteFullSync { get; init; }

    /// <summary>
    /// Why <see cref="PostgresConnectionString"/> cannot be read as an Npgsql connection string (a keyword unknown, a port
    /// that is not a number, a quote left open), or null when it can or none is set. Only the reason, never a value: the
    /// string may hold a password.
    /// </summary>
    public string? PostgresConnectionStringProblem()
    {
        if (string.IsNullOrWhiteSpace(PostgresConnectionString))
        {
            return null;
        }

        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    /// <summary>Which store these options open, for the log and messages: the SQLite path, or PostgreSQL's host and database (never the password).</summary>
    public string Describe()
    {
        if (string.IsNullOrWhiteSpace(PostgresConnectionString))
        {
            return SqlitePath;
        }

        try
        {
            var builder = new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString);
            return $"postgresql://{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username}";
        }
        catch (ArgumentException)
        {
            return "postgresql (unreadable connection string)";
        }
    }
}
