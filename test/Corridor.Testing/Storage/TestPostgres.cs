using Npgsql;

namespace Corridor.Testing.Storage;

/// <summary>
/// The PostgreSQL server the tests use, named by the environment variable <see cref="Variable"/> (scripts/test.sh starts a
/// throwaway server and sets it). Each test gets a database of its own, dropped when the test ends.
/// <para>
/// Without the variable these tests fail rather than skip, so a run cannot pass without having tested PostgreSQL. Every such
/// test carries the trait <c>Requires=PostgreSQL</c>; a run that means to leave them out says so:
/// <c>dotnet test --filter "Requires!=PostgreSQL"</c>.
/// </para>
/// </summary>
public static class TestPostgres
{
    public const string Variable = "CORRIDOR_TEST_POSTGRES";

    /// <summary>The trait every test that needs PostgreSQL carries: <c>[Trait(TestPostgres.Trait, TestPostgres.Value)]</c>.</summary>
    public const string Trait = "Requires";

    public const string Value = "PostgreSQL";

    /// <summary>The server's connection string (its maintenance database); throws with how to fix it when unset.</summary>
    public static string ServerConnectionString =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{Variable} is not set, so there is no PostgreSQL to test against. Run ./scripts/test.sh (it starts a throwaway server), "
                + $"set {Variable} to a connection string whose role may CREATE DATABASE, "
                + "or leave these tests out explicitly with: dotnet test --filter \"Requires!=PostgreSQL\"");

    /// <summary>Creates an empty database and returns a handle that drops it (closing any connection still open to it).</summary>
    public static async Task<TestDatabase> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var server = ServerConnectionString;
        var name = "corridor_test_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync(cancellationToken).WaitAsync(TestTimeouts.Default, cancellationToken);
            await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await command.ExecuteNonQueryAsync(cancellationToken).WaitAsync(TestTimeouts.Default, cancellationToken);
        }

        var builder = new NpgsqlConnectionStringBuilder(server) { Database = name };
        return new TestDatabase(server, name, builder.ConnectionString);
    }
}

/// <summary>One test's database on the test server.</summary>
public sealed class TestDatabase(string serverConnectionString, string name, string connectionString) : IAsyncDisposable
{
    public string Name { get; } = name;

    /// <summary>The connection string to give Corridor (<c>storage.postgres</c>).</summary>
    public string ConnectionString { get; } = connectionString;

    /// <summary>Runs SQL on this database outside any store, as an operator with psql would.</summary>
    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync().WithTimeout();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync().WithTimeout();
    }

    /// <summary>The first column of the first row of <paramref name="sql"/>; SQL NULL as null.</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString + ";Pooling=false");
        await connection.OpenAsync().WithTimeout();
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync().WithTimeout();
        return value is DBNull ? null : value;
    }

    /// <summary>Makes the database refuse connections and cuts the open ones (the database going away), or lets it back.</summary>
    public async Task SetReachableAsync(bool reachable)
    {
        await using var connection = new NpgsqlConnection(serverConnectionString);
        await connection.OpenAsync().WithTimeout();
        await using var command = new NpgsqlCommand(
            $"ALTER DATABASE {Name} ALLOW_CONNECTIONS {(reachable ? "true" : "false")};"
            + (reachable ? "" : $" SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{Name}';"),
            connection);
        await command.ExecuteNonQueryAsync().WithTimeout();
    }

    public async ValueTask DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(serverConnectionString);
        await connection.OpenAsync().WithTimeout();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync().WithTimeout();
    }
}
