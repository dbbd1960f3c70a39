using System.CommandLine;
using Corridor.Core.Audit;
using Corridor.Gateway.Configuration;
using Corridor.Storage;
using Corridor.Storage.Compliance;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Corridor.Cli;

/// <summary>What every command needs: where to write, the clock, the global options and how to reach the store.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, TimeProvider time)
{
    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    public TimeProvider Time { get; } = time;

    public Option<string> ConfigOption { get; } = GlobalOptions.Config();

    public Option<string?> DbOption { get; } = GlobalOptions.Db();

    /// <summary>Who the audit log says made a change from this command line: <c>cli:</c> and the operating-system user.</summary>
    public string Actor { get; } = AuditActors.Cli(Environment.UserName);

    /// <summary>
    /// Sets <paramref name="action"/> as the command's action. A mistake the user can fix (bad input, unknown ids,
    /// an unreadable config or database, or a store error) prints <c>error: ...</c> to stderr and exits 1, without a stack trace.
    /// </summary>
    public void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try
            {
                return await action(parseResult, cancellationToken);
            }
            catch (CliUserException ex)
            {
                return Fail(ex.Message);
            }
            catch (CorridorStoreException ex)
            {
                return Fail(ex.Message);
            }
            catch (AdminChangeException ex)
            {
                return Fail(ex.Message.Replace(Environment.NewLine, Environment.NewLine + "error: ", StringComparison.Ordinal));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                return Fail(ex.Message);
            }
            catch (NotSupportedException ex)
            {
                // A store that does not keep what the command needs (the monitor's cases and enforcement).
                return Fail(ex.Message);
            }
            catch (SqliteException ex)
            {
                return Fail($"database: {ex.Message}");
            }
            catch (NpgsqlException ex)
            {
                return Fail($"database: {ex.Message}");
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return Fail("cancelled");
            }
        });
    }

    /// <summary>
    /// Opens the store named by <c>--db</c> (a SQLite file, or a PostgreSQL connection string: <c>Host=...</c>), or else by the storage section of <c>--config</c>.
    /// With <c>--db</c> the config file is not read at all.
    /// </summary>
    public async Task<ICorridorStore> OpenStoreAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var options = ResolveStorage(parseResult);
        try
        {
            return await CorridorStores.OpenAsync(options, cancellationToken);
        }
        catch (NotSupportedException ex)
        {
            throw new CliUserException(ex.Message);
        }
        catch (SqliteException ex)
        {
            throw new CliUserException($"cannot open the database '{options.SqlitePath}': {ex.Message}");
        }
        catch (NpgsqlException ex)
        {
            throw new CliUserException($"cannot open the database {options.Describe()}: {ex.Message}");
        }
    }

    /// <summary>
    /// Whether <paramref name="db"/> reads as a connection string naming a host (<c>Host</c> or <c>Server</c>, any case,
    /// spaces allowed). Taken for a file path, <c>Server=db;Password=...</c> became a new, empty SQLite database named
    /// after the whole string, password and all, in the current folder, and the command ran on it.
    /// </summary>
    private static bool IsPostgresConnectionString(string db)
    {
        try
        {
            var parsed = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = db };
            return parsed.ContainsKey("Host") || parsed.ContainsKey("Server");
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The store <c>--db</c> or the storage section of <c>--config</c> selects, without opening it.</summary>
    public StorageOptions ResolveStorage(ParseResult parseResult)
    {
        var db = parseResult.GetValue(DbOption);
        if (db is not null)
        {
            if (string.IsNullOrWhiteSpace(db))
            {
                throw new CliUserException("--db needs a file path or a PostgreSQL connection string.");
            }

            // A PostgreSQL connection string (Host=...;Database=..., or Npgsql's synonym Server=...) rather than a file path.
            if (!IsPostgresConnectionString(db))
            {
                return new StorageOptions(db);
            }
            var postgres = new StorageOptions(PostgresConnectionString: db);
            return postgres.PostgresConnectionStringProblem() is { } problem
                ? throw new CliUserException($"--db is not a valid PostgreSQL connection string: {problem}")
                : postgres;
        }

        return LoadConfig(parseResult).Storage;
    }

    /// <summary>
    /// The server section of <c>--config</c> (which environment variables the gateways read their secrets from); with
    /// <c>--db</c>, whose commands read no config file, the defaults.
    /// </summary>
    public ServerOptions ResolveServer(ParseResult parseResult) =>
        parseResult.GetValue(DbOption) is null ? LoadConfig(parseResult).Server : new ServerOptions();

    private CorridorConfig LoadConfig(ParseResult parseResult)
    {
        var configPath = parseResult.GetRequiredValue(ConfigOption);
        if (!File.Exists(configPath))
        {
            throw new CliUserException($"config file '{configPath}' not found. Pass --config PATH, or --db PATH to use a database file directly.");
        }

        var loaded = ConfigLoader.Load(configPath);
        if (!loaded.Succeeded)
        {
            throw new CliUserException($"'{configPath}' is not a valid configuration:{Environment.NewLine}  {string.Join(Environment.NewLine + "  ", loaded.Errors)}");
        }

        return loaded.Config!;
    }

    private int Fail(string message)
    {
        Error.WriteLine($"error: {message}");
        return 1;
    }
}

/// <summary>A mistake the user can fix; its message is printed as is, without a stack trace.</summary>
internal sealed class CliUserException(string message) : Exception(message)
{
    /// <summary>Every problem, each on its own <c>error:</c> line.</summary>
    public static CliUserException FromErrors(IEnumerable<string> errors) =>
        new(string.Join(Environment.NewLine + "error: ", errors));
}
