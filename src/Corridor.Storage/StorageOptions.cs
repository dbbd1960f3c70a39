namespace Corridor.Storage;

/// <summary>
/// Where Corridor keeps its state: one SQLite file by default, or a PostgreSQL database shared by several gateway replicas
/// when <see cref="PostgresConnectionString"/> is set (an Npgsql connection string; it wins over the SQLite path).
/// </summary>
public sealed record StorageOptions(string SqlitePath = StorageOptions.DefaultSqlitePath, string? PostgresConnectionString = null)
{
    public const string DefaultSqlitePath = "./data/corridor.db";

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
