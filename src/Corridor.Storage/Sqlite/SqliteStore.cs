using System.Runtime.CompilerServices;
using System.Text;
using Corridor.Core.Metering;
using Corridor.Core.Tenants;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, shared safely by the gateway and the command line.
/// Every operation takes a pooled connection of its own, so concurrent callers never share one;
/// writes run in <c>BEGIN IMMEDIATE</c> transactions and wait (busy timeout) rather than fail when another writer holds the file.
/// </summary>
internal sealed class SqliteStore : ICorridorStore
{
    private const int BusyTimeoutMs = 5000;

    // SQLite result codes (https://sqlite.org/rescode.html).
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintForeignKey = 787;

    private const string TenantColumns = "id, legal_name, country, created_at";
    private const string KeyColumns = "id, tenant_id, prefix, hash, created_at, last_used_at, revoked_at, name";

    private readonly string _connectionString;
    private readonly TimeProvider _timeProvider;

    public SqliteStore(string path, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _timeProvider = timeProvider ?? TimeProvider.System;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
        }.ToString();
    }

    /// <summary>The database file, as an absolute path.</summary>
    public string Path { get; }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var folder = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        await using var connection = await OpenAsync(cancellationToken);
        // WAL lets the gateway read while the CLI (or the ledger writer) writes; the setting is kept in the file.
        await ExecuteAsync(connection, "PRAGMA journal_mode = WAL", cancellationToken);
        await SqliteMigrations.ApplyAsync(connection, _timeProvider, cancellationToken);
    }

    public async ValueTask<long> GetRevisionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM revision WHERE id = 1";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task AddTenantAsync(Tenant tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO tenants ({TenantColumns}) VALUES ($id, $legal_name, $country, $created_at)";
        command.Parameters.AddWithValue("$id", tenant.Id);
        command.Parameters.AddWithValue("$legal_name", tenant.LegalName);
        command.Parameters.AddWithValue("$country", tenant.Country);
        command.Parameters.AddWithValue("$created_at", SqliteValues.ToUnixMs(tenant.CreatedAt));
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
        {
            throw new CorridorStoreException(StoreError.Duplicate, $"A tenant with id '{tenant.Id}' already exists.", ex);
        }
    }

    public Task<Tenant?> GetTenantAsync(string tenantId, CancellationToken cancellationToken) =>
        QueryByIdAsync($"SELECT {TenantColumns} FROM tenants WHERE id = $id", tenantId, ReadTenant, cancellationToken);

    public Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {TenantColumns} FROM tenants ORDER BY id", null, null, ReadTenant, cancellationToken);

    public async Task AddKeyAsync(ApiKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"INSERT INTO api_keys ({KeyColumns}) VALUES ($id, $tenant_id, $prefix, $hash, $created_at, $last_used_at, $revoked_at, $name)";
        command.Parameters.AddWithValue("$id", key.Id);
        command.Parameters.AddWithValue("$tenant_id", key.TenantId);
        command.Parameters.AddWithValue("$prefix", key.Prefix);
        command.Parameters.AddWithValue("$hash", key.Hash);
        command.Parameters.AddWithValue("$created_at", SqliteValues.ToUnixMs(key.CreatedAt));
        command.Parameters.AddWithValue("$last_used_at", SqliteValues.OrNull(key.LastUsedAt));
        command.Parameters.AddWithValue("$revoked_at", SqliteValues.OrNull(key.RevokedAt));
        command.Parameters.AddWithValue("$name", SqliteValues.OrNull(key.Name));
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == SqliteConstraintForeignKey)
        {
            throw new CorridorStoreException(StoreError.UnknownTenant, $"No tenant with id '{key.TenantId}'.", ex);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
        {
            throw new CorridorStoreException(StoreError.Duplicate, $"A key with id '{key.Id}' or the same secret already exists.", ex);
        }
    }

    public Task<ApiKey?> GetKeyAsync(string keyId, CancellationToken cancellationToken) =>
        QueryByIdAsync($"SELECT {KeyColumns} FROM api_keys WHERE id = $id", keyId, ReadKey, cancellationToken);

    public Task<IReadOnlyList<ApiKey>> ListKeysAsync(string? tenantId, CancellationToken cancellationToken) => tenantId is null
        ? QueryAsync($"SELECT {KeyColumns} FROM api_keys ORDER BY tenant_id, created_at, id", null, null, ReadKey, cancellationToken)
        : QueryAsync($"SELECT {KeyColumns} FROM api_keys WHERE tenant_id = $tenant_id ORDER BY created_at, id", "$tenant_id", tenantId, ReadKey, cancellationToken);

    public async Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        // Only an unrevoked key changes, so the first revocation time stands and the revision moves once.
        command.CommandText = """
            UPDATE api_keys SET revoked_at = $at WHERE id = $id AND revoked_at IS NULL;
            SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $id);
            """;
        command.Parameters.AddWithValue("$id", keyId);
        command.Parameters.AddWithValue("$at", SqliteValues.ToUnixMs(at));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    public Task TouchKeysAsync(IReadOnlyCollection<KeyValuePair<string, DateTimeOffset>> lastUsed, CancellationToken cancellationToken) =>
        ExecuteBatchAsync(
            lastUsed,
            "UPDATE api_keys SET last_used_at = $at WHERE id = $id AND (last_used_at IS NULL OR last_used_at < $at)",
            static command =>
            {
                command.Parameters.Add("$id", SqliteType.Text);
                command.Parameters.Add("$at", SqliteType.Integer);
            },
            static (parameters, use) =>
            {
                parameters[0].Value = use.Key;
                parameters[1].Value = SqliteValues.ToUnixMs(use.Value);
            },
            cancellationToken);

    public Task AppendLedgerAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken) =>
        ExecuteBatchAsync(entries, LedgerRows.InsertSql, LedgerRows.AddParameters, LedgerRows.Bind, cancellationToken);

    public async IAsyncEnumerable<LedgerEntry> ReadLedgerAsync(
        DateTimeOffset? from,
        DateTimeOffset? to,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        // rowid breaks ties in arrival order; both come from the time index.
        command.CommandText = LedgerRows.SelectSql + TimeRange(command, from, to, "WHERE") + " ORDER BY time, rowid";
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return LedgerRows.Read(reader);
        }
    }

    public async Task<IReadOnlyList<UsageTotal>> GetUsageTotalsAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT tenant_id, model, input_tokens, output_tokens, cost FROM ledger WHERE billable = 1 AND tenant_id IS NOT NULL"
            + TimeRange(command, from, to, "AND");

        // Summed here in decimal: SQLite would add the cost text as floating point.
        var totals = new Dictionary<(string Tenant, string Model), UsageAccumulator>();
        using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var group = (reader.GetString(0), reader.GetString(1));
                if (!totals.TryGetValue(group, out var total))
                {
                    totals[group] = total = new UsageAccumulator();
                }

                total.Requests++;
                total.InputTokens += reader.GetInt64(2);
                total.OutputTokens += reader.GetInt64(3);
                total.Cost += SqliteValues.ParseDecimal(reader.GetString(4));
            }
        }

        return
        [
            .. totals
                .OrderBy(t => t.Key.Tenant, StringComparer.Ordinal)
                .ThenBy(t => t.Key.Model, StringComparer.Ordinal)
                .Select(t => new UsageTotal(t.Key.Tenant, t.Key.Model, t.Value.Requests, t.Value.InputTokens, t.Value.OutputTokens, t.Value.Cost)),
        ];
    }

    public ValueTask DisposeAsync()
    {
        // Close the idle pooled connections to this file so it can be moved or deleted.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await ExecuteAsync(connection, $"PRAGMA busy_timeout = {BusyTimeoutMs}", cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(
        string sql,
        string? parameterName,
        string? parameterValue,
        Func<SqliteDataReader, T> read,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (parameterName is not null)
        {
            command.Parameters.AddWithValue(parameterName, parameterValue);
        }

        var results = new List<T>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            results.Add(read(reader));
        }

        return results;
    }

    /// <summary>Runs one prepared statement per item, all in one transaction: a batch lands whole or not at all.</summary>
    private async Task ExecuteBatchAsync<T>(
        IReadOnlyCollection<T> items,
        string sql,
        Action<SqliteCommand> addParameters,
        Action<SqliteParameterCollection, T> bind,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        addParameters(command);
        command.Prepare();
        foreach (var item in items)
        {
            bind(command.Parameters, item);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        transaction.Commit();
    }

    private async Task<T?> QueryByIdAsync<T>(string sql, string id, Func<SqliteDataReader, T> read, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(id);
        var rows = await QueryAsync(sql, "$id", id, read, cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Adds <c>from &lt;= time &lt; to</c> conditions (each only when given) and their parameters.</summary>
    private static string TimeRange(SqliteCommand command, DateTimeOffset? from, DateTimeOffset? to, string firstKeyword)
    {
        var sql = new StringBuilder();
        var keyword = firstKeyword;
        if (from is { } start)
        {
            sql.Append(' ').Append(keyword).Append(" time >= $from");
            command.Parameters.AddWithValue("$from", SqliteValues.ToUnixMs(start));
            keyword = "AND";
        }

        if (to is { } end)
        {
            sql.Append(' ').Append(keyword).Append(" time < $to");
            command.Parameters.AddWithValue("$to", SqliteValues.ToUnixMs(end));
        }

        return sql.ToString();
    }

    private static Tenant ReadTenant(SqliteDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), SqliteValues.FromUnixMs(r.GetInt64(3)));

    private static ApiKey ReadKey(SqliteDataReader r) => new(
        Id: r.GetString(0),
        TenantId: r.GetString(1),
        Prefix: r.GetString(2),
        Hash: r.GetString(3),
        CreatedAt: SqliteValues.FromUnixMs(r.GetInt64(4)),
        LastUsedAt: SqliteValues.GetTimeOrNull(r, 5),
        RevokedAt: SqliteValues.GetTimeOrNull(r, 6),
        Name: SqliteValues.GetStringOrNull(r, 7));

    private sealed class UsageAccumulator
    {
        public long Requests;
        public long InputTokens;
        public long OutputTokens;
        public decimal Cost;
    }
}
