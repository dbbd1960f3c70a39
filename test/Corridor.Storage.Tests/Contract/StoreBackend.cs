using Corridor.Testing;
using Corridor.Testing.Storage;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Tests.Contract;

/// <summary>
/// One empty database of one kind, for the contract tests: opens stores on it and runs SQL on it directly (as an operator
/// would), so the same test runs against SQLite and PostgreSQL. A new backend is one more subclass.
/// </summary>
public abstract class StoreBackend : IAsyncDisposable
{
    /// <summary>Opens (and migrates) a store on this database; several may be open at once, like several processes.</summary>
    public abstract Task<ICorridorStore> OpenAsync();

    /// <summary>Runs <paramref name="sql"/> outside any store.</summary>
    public abstract Task ExecuteAsync(string sql);

    /// <summary>The first column of the first row of <paramref name="sql"/>, run outside any store.</summary>
    public abstract Task<object?> ScalarAsync(string sql);

    /// <summary>SQL that removes the audit log's append-only triggers, as someone with full access to the database could.</summary>
    public abstract string DropAuditGuardsSql { get; }

    /// <summary>
    /// SQL that makes <paramref name="owner"/>'s claims on batches run out, as the claims of a gateway that stopped renewing
    /// them do: past by any caller's clock (SQLite) or by the database's (PostgreSQL, which measures claims by its own).
    /// </summary>
    public abstract string LapseClaimsSql(string owner);

    public abstract ValueTask DisposeAsync();

    public static Task<StoreBackend> SqliteAsync() => Task.FromResult<StoreBackend>(new SqliteBackend());

    public static async Task<StoreBackend> PostgresAsync() => new PostgresBackend(await TestPostgres.CreateDatabaseAsync());

    private sealed class SqliteBackend : StoreBackend
    {
        private readonly TempDirectory _folder = new();

        public string Path => _folder.File("data/corridor.db");

        public override string DropAuditGuardsSql => "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;";

        public override string LapseClaimsSql(string owner) => $"UPDATE batches SET owner_until = 0 WHERE owner = '{owner}'";

        public override async Task<ICorridorStore> OpenAsync() => await CorridorStores.OpenAsync(new StorageOptions(Path), CancellationToken.None).WithTimeout();

        public override async Task ExecuteAsync(string sql) => await ScalarAsync(sql);

        public override async Task<object?> ScalarAsync(string sql)
        {
            await using var connection = new SqliteConnection($"Data Source={Path};Pooling=False");
            await connection.OpenAsync().WithTimeout();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            return await command.ExecuteScalarAsync().WithTimeout();
        }

        public override ValueTask DisposeAsync()
        {
            _folder.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    private sealed class PostgresBackend(TestDatabase database) : StoreBackend
    {
        public override string DropAuditGuardsSql =>
            "DROP TRIGGER audit_log_no_update ON audit_log; DROP TRIGGER audit_log_no_delete ON audit_log;";

        public override string LapseClaimsSql(string owner) => $"UPDATE batches SET owner_until = now() - interval '1 second' WHERE owner = '{owner}'";

        public override async Task<ICorridorStore> OpenAsync() =>
            await CorridorStores.OpenAsync(new StorageOptions(PostgresConnectionString: database.ConnectionString), CancellationToken.None).WithTimeout();

        public override Task ExecuteAsync(string sql) => database.ExecuteAsync(sql);

        public override Task<object?> ScalarAsync(string sql) => database.ScalarAsync(sql);

        public override ValueTask DisposeAsync() => database.DisposeAsync();
    }
}
