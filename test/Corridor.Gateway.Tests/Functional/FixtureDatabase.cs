using Corridor.Testing.Storage;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>A PostgreSQL database of a fixture's own, made before its gateway starts and dropped after it stops.</summary>
public sealed class FixtureDatabase
{
    private TestDatabase? _database;

    public async Task CreateAsync() => _database = await TestPostgres.CreateDatabaseAsync();

    /// <summary>The <c>storage:</c> section that puts a gateway's store in it, to append to its <c>corridor.yaml</c>.</summary>
    public string StorageYaml => $"""

        storage:
          postgres: "{_database!.ConnectionString}"
        """;

    public async Task DropAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
