using Corridor.Core.Admission;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Corridor.Core.Audit;
using Corridor.Core.Metering;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using Npgsql;
using NpgsqlTypes;

namespace Corridor.Storage.Postgres;

/// <summary>
/// The shared store: one PostgreSQL database that several gateway replicas and the command line use at once.
/// Connections come from one pooled <see cref="NpgsqlDataSource"/>; admin changes run in a transaction with their audit
/// records; the ledger is partitioned by month and written with binary COPY; the audit log is extended under an
/// advisory lock so every writer appends to one chain. Changes to tenants and keys are announced to every replica
/// (<see cref="IStoreChangeNotifications"/>, in PostgresChanges.cs).
/// </summary>
internal sealed partial class PostgresStore : ICorridorStore, IStoreChangeNotifications
{
    private const string TenantColumns = StoreRows.TenantColumns;
    private const string KeyColumns = StoreRows.KeyColumns;

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _timeProvider;
    private readonly IReadOnlyList<PostgresMigrations.Migration> _migrations;

    // Months whose ledger partition this process knows to exist; a new month costs one call, then nothing.
    private readonly ConcurrentDictionary<DateTimeOffset, bool> _partitions = new();

    public PostgresStore(string connectionString, TimeProvider? timeProvider = null)
        : this(connectionString, PostgresMigrations.All, timeProvider)
    {
    }

    internal PostgresStore(string connectionString, IReadOnlyList<PostgresMigrations.Migration> migrations, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ConnectionString = connectionString;
        _migrations = migrations;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <summary>The connection string as configured.</summary>
    public string ConnectionString { get; }

    internal NpgsqlDataSource DataSource => _dataSource;

    public ILeaseBook? LeaseBook => field ??= new PostgresLeaseBook(_dataSource);

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await PostgresMigrations.ApplyAsync(_dataSource, _migrations, _timeProvider, cancellationToken);
        // Partitions ahead: this month and the next, so the first rows of a month never wait on DDL.
        var month = PostgresLedger.MonthOf(_timeProvider.GetUtcNow());
        await EnsurePartitionsAsync([month, month.AddMonths(1)], cancellationToken);
    }

    public async ValueTask<long> GetRevisionAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT value FROM revision WHERE id = 1");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public Task AddTenantAsync(Tenant tenant, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(
                $"INSERT INTO tenants ({TenantColumns}) VALUES ($1, $2, $3, $10, $4, $5, $6, $7, $8, $9)", connection, transaction);
            BindTenant(command, tenant);
            command.Parameters.AddWithValue(PostgresValues.ToUtc(tenant.CreatedAt));
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw new CorridorStoreException(StoreError.Duplicate, $"A tenant with id '{tenant.Id}' already exists.", ex);
            }

            return true;
        }, cancellationToken);
    }

    public Task<bool> UpdateTenantAsync(Tenant tenant, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand("""
                UPDATE tenants SET legal_name = $2, country = $3, controlling_country = $4, entity_type = $5, tier = $6,
                    verification_expires_at = $7, use_case = $8, denied_party = $9
                WHERE id = $1
                """, connection, transaction);
            BindTenant(command, tenant);
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }

            return true;
        }, cancellationToken);
    }

    public Task<Tenant?> GetTenantAsync(string tenantId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenantId);
        return FirstOrDefaultAsync($"SELECT {TenantColumns} FROM tenants WHERE id = $1", tenantId, PostgresValues.Rows.Tenant, cancellationToken);
    }

    public Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {TenantColumns} FROM tenants ORDER BY id COLLATE \"C\"", null, PostgresValues.Rows.Tenant, cancellationToken);

    public Task AddKeyAsync(ApiKey key, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            await using var command = new NpgsqlCommand(
                $"INSERT INTO api_keys ({KeyColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", connection, transaction);
            command.Parameters.AddWithValue(key.Id);
            command.Parameters.AddWithValue(key.TenantId);
            command.Parameters.AddWithValue(key.Prefix);
            command.Parameters.AddWithValue(key.Hash);
            command.Parameters.AddWithValue(PostgresValues.ToUtc(key.CreatedAt));
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = PostgresValues.OrNull(key.LastUsedAt) });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = PostgresValues.OrNull(key.RevokedAt) });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = PostgresValues.OrNull(key.Name) });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = PostgresValues.OrNull(key.ExpiresAt) });
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
            {
                throw new CorridorStoreException(StoreError.UnknownTenant, $"No tenant with id '{key.TenantId}'.", ex);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                throw new CorridorStoreException(StoreError.Duplicate, $"A key with id '{key.Id}' or the same secret already exists.", ex);
            }

            return true;
        }, cancellationToken);
    }

    public Task<StoreBackup> BackupAsync(string path, CancellationToken cancellationToken) => throw new NotSupportedException(BackupRefusal);

    /// <summary>Why <c>corridor backup</c> refuses a PostgreSQL store (<see cref="CorridorStores.PostgresBackupRefusal"/>).</summary>
    internal const string BackupRefusal =
        "a PostgreSQL store is backed up with PostgreSQL's own tools: pg_dump for a copy, or a base backup with WAL archiving for a point in time (docs/postgresql.md).";

    /// <summary>Why <c>corridor restore</c> refuses a PostgreSQL store (<see cref="CorridorStores.RestoreAsync"/>).</summary>
    internal const string RestoreRefusal =
        "a PostgreSQL store is restored with PostgreSQL's own tools: pg_restore (or psql) for a pg_dump copy, or a base backup and its archived WAL for a point in time (docs/postgresql.md).";

    public Task<ApiKey?> GetKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return FirstOrDefaultAsync($"SELECT {KeyColumns} FROM api_keys WHERE id = $1", keyId, PostgresValues.Rows.Key, cancellationToken);
    }

    public Task<IReadOnlyList<ApiKey>> ListKeysAsync(string? tenantId, CancellationToken cancellationToken) => tenantId is null
        ? QueryAsync($"SELECT {KeyColumns} FROM api_keys ORDER BY tenant_id COLLATE \"C\", created_at, id COLLATE \"C\"", null, PostgresValues.Rows.Key, cancellationToken)
        : QueryAsync($"SELECT {KeyColumns} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id COLLATE \"C\"", tenantId, PostgresValues.Rows.Key, cancellationToken);

    public Task<bool> SetKeyExpiryAsync(string keyId, DateTimeOffset? expiresAt, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            await using (var command = new NpgsqlCommand("UPDATE api_keys SET expires_at = $2 WHERE id = $1 AND revoked_at IS NULL", connection, transaction))
            {
                command.Parameters.AddWithValue(keyId);
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = PostgresValues.OrNull(expiresAt) });
                if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return false;
                }
            }

            return true;
        }, cancellationToken);
    }

    public async Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset at, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        var revokedBefore = false;
        var revoked = await AuditedAsync(audit, async (connection, transaction) =>
        {
            // Only an unrevoked key changes, so the first revocation time stands and the revision moves once.
            await using (var command = new NpgsqlCommand("UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", connection, transaction))
            {
                command.Parameters.AddWithValue(keyId);
                command.Parameters.AddWithValue(PostgresValues.ToUtc(at));
                if (await command.ExecuteNonQueryAsync(cancellationToken) > 0)
                {
                    return true;
                }
            }

            // A key revoked before is not revoked again, nor audited again; it is still a key that is revoked.
            await using var exists = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)", connection, transaction);
            exists.Parameters.AddWithValue(keyId);
            revokedBefore = (bool)(await exists.ExecuteScalarAsync(cancellationToken))!;
            return false;
        }, cancellationToken);
        return revoked || revokedBefore;
    }

    public async Task TouchKeysAsync(IReadOnlyCollection<KeyValuePair<string, DateTimeOffset>> lastUsed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lastUsed);
        if (lastUsed.Count == 0)
        {
            return;
        }

        // One statement for the whole batch: the ids and times as two arrays, unnested side by side.
        await using var command = _dataSource.CreateCommand("""
            UPDATE api_keys AS k SET last_used_at = u.at
            FROM unnest($1::text[], $2::timestamptz[]) AS u (id, at)
            WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)
            """);
        command.Parameters.AddWithValue(lastUsed.Select(u => u.Key).ToArray());
        command.Parameters.AddWithValue(lastUsed.Select(u => PostgresValues.ToUtc(u.Value)).ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Binary COPY straight into the ledger, in one transaction. A batch holding a request id already stored (a retry after a
    /// write whose outcome was unknown) fails that COPY on the key; it is then copied again into a staging table and moved in
    /// with <c>ON CONFLICT DO NOTHING</c>, so the stored rows stay as they were and the new ones land, once.
    /// </summary>
    public async Task AppendLedgerAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        var months = entries.Select(e => PostgresLedger.MonthOf(e.Time)).Distinct().ToList();
        await EnsurePartitionsAsync(months, cancellationToken);
        try
        {
            await CopyLedgerAsync(entries, cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.CheckViolation)
        {
            // No partition for a row (the ledger has no other check): a month known here was detached or dropped since.
            // Forget the batch's months and make sure of them again, once.
            foreach (var month in months)
            {
                _partitions.TryRemove(month, out _);
            }

            await EnsurePartitionsAsync(months, cancellationToken);
            await CopyLedgerAsync(entries, cancellationToken);
        }
    }

    private async Task CopyLedgerAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await CopyAsync(connection, PostgresLedger.CopyIntoLedgerSql, entries, cancellationToken);
            await using (var daily = new NpgsqlCommand(PostgresLedger.AddDailySql, connection, transaction))
            {
                PostgresLedger.AddDailyParameters(daily, entries);
                await daily.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // Some rows are stored already: fall through to the path that skips them.
        }

        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using (var create = new NpgsqlCommand(PostgresLedger.CreateIncomingSql, connection, transaction))
            {
                await create.ExecuteNonQueryAsync(cancellationToken);
            }

            await CopyAsync(connection, PostgresLedger.CopyIntoIncomingSql, entries, cancellationToken);
            await using (var insert = new NpgsqlCommand(PostgresLedger.InsertIncomingSql, connection, transaction))
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
    }

    private static async Task CopyAsync(NpgsqlConnection connection, string copySql, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        await using var importer = await connection.BeginBinaryImportAsync(copySql, cancellationToken);
        await PostgresLedger.WriteAsync(importer, entries, cancellationToken);
        await importer.CompleteAsync(cancellationToken);
    }

    /// <summary>Creates the ledger partitions of <paramref name="months"/> that this process has not seen yet.</summary>
    private async Task EnsurePartitionsAsync(IEnumerable<DateTimeOffset> months, CancellationToken cancellationToken)
    {
        foreach (var month in months)
        {
            if (_partitions.ContainsKey(month))
            {
                continue;
            }

            await using var command = _dataSource.CreateCommand("SELECT corridor_ensure_ledger_partition($1)");
            command.Parameters.AddWithValue(month);
            await command.ExecuteNonQueryAsync(cancellationToken);
            _partitions.TryAdd(month, true);
        }
    }

    public async IAsyncEnumerable<LedgerEntry> ReadLedgerAsync(
        DateTimeOffset? from,
        DateTimeOffset? to,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand { Connection = connection };
        // seq breaks ties in arrival order.
        command.CommandText = PostgresLedger.SelectSql + PostgresValues.Rows.TimeRange(command, from, to, "WHERE") + " ORDER BY time, seq";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return PostgresValues.Rows.Ledger(reader);
        }
    }

    public async Task<IReadOnlyList<LedgerEntry>> ReadRecentTenantRequestsAsync(int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand { Connection = connection };
        // Newest first (the primary key's time leads; seq breaks ties, as ReadLedgerAsync's order), stopped at the count.
        command.CommandText = PostgresLedger.SelectSql + StoreRows.RecentTenantRequests + " ORDER BY time DESC, seq DESC LIMIT @count";
        command.Parameters.AddWithValue("count", count);
        var rows = new List<LedgerEntry>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(PostgresValues.Rows.Ledger(reader));
            }
        }
        rows.Reverse();
        return rows;
    }

    /// <summary>
    /// Whole UTC days come from the daily totals; only the part days at either end of the range are summed from the ledger
    /// (<see cref="UsageDays"/>; and only their partitions are read). numeric sums exactly.
    /// </summary>
    public async Task<IReadOnlyList<UsageTotal>> GetUsageTotalsAsync(DateTimeOffset? from, DateTimeOffset? to, string? tenantId, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand { Connection = connection };
        var tenant = PostgresValues.Rows.Tenant(command, tenantId);
        var days = UsageDays.Of(from, to);
        var parts = new List<string>();
        foreach (var (i, (start, end)) in days.LedgerSpans().Index())
        {
            parts.Add($"SELECT tenant_id, model, 1 AS requests, input_tokens, output_tokens, cost, cache_read_tokens, cache_write_tokens FROM ledger WHERE billable AND {tenant} AND time >= @from{i}"
                + (end is null ? "" : $" AND time < @to{i}"));
            AddTime(command, $"from{i}", start);
            if (end is { } e)
            {
                AddTime(command, $"to{i}", e);
            }
        }

        if (days.HasWholeDays)
        {
            var where = new List<string> { tenant };
            if (days.FirstDay is { } first)
            {
                where.Add("day >= @first_day");
                command.Parameters.AddWithValue("first_day", first);
            }

            if (days.EndDay is { } endDay)
            {
                where.Add("day < @end_day");
                command.Parameters.AddWithValue("end_day", endDay);
            }

            parts.Add("SELECT tenant_id, model, requests, input_tokens, output_tokens, cost, cache_read_tokens, cache_write_tokens FROM usage_daily WHERE "
                + string.Join(" AND ", where));
        }

        command.CommandText = $"""
            SELECT tenant_id, model, sum(requests)::bigint, sum(input_tokens)::bigint, sum(output_tokens)::bigint, sum(cost),
                sum(cache_read_tokens)::bigint, sum(cache_write_tokens)::bigint
            FROM ({string.Join(" UNION ALL ", parts)}) AS usage
            GROUP BY tenant_id, model ORDER BY tenant_id COLLATE "C", model COLLATE "C"
            """;
        var totals = new List<UsageTotal>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            totals.Add(new UsageTotal(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetDecimal(5))
            {
                CacheReadTokens = reader.GetInt64(6), CacheWriteTokens = reader.GetInt64(7),
            });
        }

        return totals;

        static void AddTime(NpgsqlCommand command, string name, DateTimeOffset time) =>
            command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.TimestampTz) { Value = PostgresValues.ToUtc(time) });
    }

    public Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken) =>
        AppendAuditAsync(entries, again: false, cancellationToken);

    public Task<IReadOnlyList<AuditRecord>> AppendAuditAgainAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken) =>
        AppendAuditAsync(entries, again: true, cancellationToken);

    private async Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(IReadOnlyList<AuditEntry> entries, bool again, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return [];
        }

        return await InTransactionAsync((connection, transaction) => PostgresAudit.AppendAsync(connection, transaction, entries, cancellationToken, again), cancellationToken);
    }

    public async IAsyncEnumerable<AuditRecord> ReadAuditAsync(long fromSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT {PostgresAudit.Columns} FROM audit_log WHERE sequence >= $1 ORDER BY sequence", connection);
        command.Parameters.AddWithValue(fromSequence);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return PostgresValues.Rows.Audit(reader);
        }
    }

    public async Task<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand { Connection = connection };
        return await PostgresValues.Rows.SearchAuditAsync(command, query, cancellationToken);
    }

    public async Task<DeniedPartyList> GetDeniedPartyListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // One snapshot for both reads, so the list and its settings are of the same import.
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var entries = new List<DeniedPartyEntry>();
        await using (var command = new NpgsqlCommand("SELECT name, aliases, country, program FROM denied_parties ORDER BY position", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                entries.Add(new DeniedPartyEntry(
                    reader.GetString(0),
                    reader.GetFieldValue<string[]>(1),
                    StoreRows.GetStringOrNull(reader, 2),
                    reader.GetString(3)));
            }
        }

        await using (var command = new NpgsqlCommand("SELECT threshold, list_file, list_sha256, list_imported_at FROM screening WHERE id = 1", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            var source = reader.IsDBNull(1)
                ? null
                : new DeniedPartyListSource(reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3));
            return new DeniedPartyList(entries, reader.GetDouble(0), source);
        }
    }

    public Task ReplaceDeniedPartyListAsync(
        IReadOnlyList<DeniedPartyEntry> entries,
        DeniedPartyListSource source,
        IReadOnlyList<Tenant> flagged,
        IReadOnlyList<AuditEntry> audit,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(flagged);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            await using (var clear = new NpgsqlCommand("DELETE FROM denied_parties", connection, transaction))
            {
                await clear.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var importer = await connection.BeginBinaryImportAsync(
                "COPY denied_parties (position, name, aliases, country, program) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                for (var i = 0; i < entries.Count; i++)
                {
                    await importer.StartRowAsync(cancellationToken);
                    await importer.WriteAsync(i + 1, NpgsqlDbType.Integer, cancellationToken);
                    await importer.WriteAsync(entries[i].Name, NpgsqlDbType.Text, cancellationToken);
                    await importer.WriteAsync(entries[i].Aliases.ToArray(), NpgsqlDbType.Array | NpgsqlDbType.Text, cancellationToken);
                    if (entries[i].Country is { } country)
                    {
                        await importer.WriteAsync(country, NpgsqlDbType.Text, cancellationToken);
                    }
                    else
                    {
                        await importer.WriteNullAsync(cancellationToken);
                    }

                    await importer.WriteAsync(entries[i].Program, NpgsqlDbType.Text, cancellationToken);
                }

                await importer.CompleteAsync(cancellationToken);
            }

            await using (var settings = new NpgsqlCommand("UPDATE screening SET list_file = $1, list_sha256 = $2, list_imported_at = $3 WHERE id = 1", connection, transaction))
            {
                settings.Parameters.AddWithValue(source.FileName);
                settings.Parameters.AddWithValue(source.Sha256);
                settings.Parameters.AddWithValue(PostgresValues.ToUtc(source.ImportedAt));
                await settings.ExecuteNonQueryAsync(cancellationToken);
            }

            foreach (var tenant in flagged)
            {
                await using var update = new NpgsqlCommand("UPDATE tenants SET denied_party = $2 WHERE id = $1", connection, transaction);
                update.Parameters.AddWithValue(tenant.Id);
                update.Parameters.AddWithValue(TenantNames.Name(tenant.DeniedParty));
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            return true;
        }, cancellationToken);
    }

    public Task SetScreeningThresholdAsync(double threshold, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        if (!DeniedPartyScreener.IsValidThreshold(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be above 0 and at most 1.");
        }

        return AuditedAsync(audit, async (connection, transaction) =>
        {
            await using (var command = new NpgsqlCommand("UPDATE screening SET threshold = $1 WHERE id = 1", connection, transaction))
            {
                command.Parameters.AddWithValue(threshold);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            return true;
        }, cancellationToken);
    }

    public async Task<GatewaySecret> GetSecretAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        // Read first: every call but a database's first finds it (replicas read it again whenever the revision moves).
        if (await ReadSecretAsync(name, cancellationToken) is { } kept)
        {
            return kept;
        }

        // Two statements, each its own transaction: a replica whose insert met another's, not yet committed, waits for that
        // commit and inserts nothing; its read then starts after that commit (read committed), so it sees the other's secret.
        // One statement (an insert and a read in a WITH) would read from before the other's commit and find nothing.
        await using (var insert = _dataSource.CreateCommand("INSERT INTO gateway_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING"))
        {
            insert.Parameters.AddWithValue(name);
            insert.Parameters.AddWithValue(GatewaySecrets.Make());
            insert.Parameters.AddWithValue(_timeProvider.GetUtcNow());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return (await ReadSecretAsync(name, cancellationToken))!;
    }

    public Task<bool> RotateSecretAsync(string name, DateTimeOffset at, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            // The right-hand sides read the row as it was: the value replaced becomes the previous one. Two rotations at
            // once: the second waits for the first's row lock, then replaces the value the first wrote.
            await using (var update = new NpgsqlCommand(
                "UPDATE gateway_secrets SET previous_value = value, value = $2, rotated_at = $3 WHERE name = $1", connection, transaction))
            {
                update.Parameters.AddWithValue(name);
                update.Parameters.AddWithValue(GatewaySecrets.Make());
                update.Parameters.AddWithValue(at);
                if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return false;
                }
            }

            return true;
        }, cancellationToken);
    }

    private async Task<GatewaySecret?> ReadSecretAsync(string name, CancellationToken cancellationToken)
    {
        await using var select = _dataSource.CreateCommand("SELECT value, previous_value, rotated_at FROM gateway_secrets WHERE name = $1");
        select.Parameters.AddWithValue(name);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new GatewaySecret(
            (byte[])reader.GetValue(0),
            reader.IsDBNull(1) ? null : (byte[])reader.GetValue(1),
            reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2));
    }

    public async ValueTask DisposeAsync()
    {
        await StopListeningAsync(ListenerStopWait);
        await _dataSource.DisposeAsync();
    }

    /// <summary>
    /// A change and its audit records in one transaction: <paramref name="change"/> runs its statements and says whether
    /// there was anything to change. Only then are the records appended; both commit together.
    /// </summary>
    private Task<bool> AuditedAsync(IReadOnlyList<AuditEntry> audit, Func<NpgsqlConnection, NpgsqlTransaction, Task<bool>> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        return InTransactionAsync(async (connection, transaction) =>
        {
            if (!await change(connection, transaction))
            {
                return false;
            }

            await PostgresAudit.AppendAsync(connection, transaction, audit, cancellationToken);
            return true;
        }, cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> in a read-committed transaction and commits it unless it throws.</summary>
    private async Task<T> InTransactionAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    private async Task<T?> FirstOrDefaultAsync<T>(string sql, string id, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken)
        where T : class
    {
        var rows = await QueryAsync(sql, id, read, cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    private Task<IReadOnlyList<T>> QueryAsync<T>(string sql, string? parameter, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken) =>
        QueryAsync(sql, read, cancellationToken, parameter is null ? [] : [parameter]);

    /// <summary>
    /// Every row of <paramref name="sql"/> with its positional <paramref name="parameters"/>: each a value, or an
    /// <see cref="NpgsqlParameter"/> where the type must be said (a null).
    /// </summary>
    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object[] parameters)
    {
        await using var command = _dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter as NpgsqlParameter ?? new NpgsqlParameter { Value = parameter });
        }

        var results = new List<T>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            results.Add(read(reader));
        }

        return results;
    }

    // Positions $1..$9: id, legal_name, country, controlling_country, entity_type, tier, verification_expires_at, use_case, denied_party.
    private static void BindTenant(NpgsqlCommand command, Tenant tenant)
    {
        command.Parameters.AddWithValue(tenant.Id);
        command.Parameters.AddWithValue(tenant.LegalName);
        command.Parameters.AddWithValue(tenant.Country);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = PostgresValues.OrNull(tenant.ControllingCountry) });
        command.Parameters.AddWithValue(TenantNames.Name(tenant.EntityType));
        command.Parameters.AddWithValue(TenantNames.Name(tenant.Tier));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = PostgresValues.OrNull(tenant.VerificationExpiresAt) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = PostgresValues.OrNull(tenant.UseCase) });
        command.Parameters.AddWithValue(TenantNames.Name(tenant.DeniedParty));
    }
}
