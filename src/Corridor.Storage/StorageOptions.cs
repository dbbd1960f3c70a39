namespace Corridor.Storage;

/// <summary>Where Corridor keeps its state: one SQLite file by default.</summary>
public sealed record StorageOptions(string SqlitePath = StorageOptions.DefaultSqlitePath, string? PostgresConnectionString = null)
{
    public const string DefaultSqlitePath = "./data/corridor.db";
}
