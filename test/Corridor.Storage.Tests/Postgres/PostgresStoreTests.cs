using Corridor.Core.Admission;
using Corridor.Core.Audit;
using Corridor.Core.Batches;
using Corridor.Core.Tenants;
using Corridor.Storage.Postgres;
using Corridor.Storage.Tests.Contract;
using Corridor.Testing;
using Corridor.Testing.Storage;
using Npgsql;

namespace Corridor.Storage.Tests.Postgres;

[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresStoreContractTests : StoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.PostgresAsync();
}

[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresComplianceStoreContractTests : ComplianceStoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.PostgresAsync();
}

[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresMonitorStoreContractTests : MonitorStoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.PostgresAsync();
}

[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresBatchStoreContractTests : BatchStoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.PostgresAsync();
}

[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresResponseStoreContractTests : ResponseStoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.PostgresAsync();
}

/// <summary>What only the PostgreSQL store has: its migrations, monthly ledger partitions, and several writers at once.</summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = LedgerSamples.Start;
    private static readonly CancellationToken None = CancellationToken.None;

    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestPostgres.CreateDatabaseAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private Task<ICorridorStore> OpenAsync() =>
        CorridorStores.OpenAsync(new StorageOptions(PostgresConnectionString: _database.ConnectionString), None).WithTimeout();

    [Fact]
    public async Task MigrateAsync_Twice_AndFromTwoStoresAtOnce_AppliesEachStepOnce()
    {
        var stores = await Task.WhenAll(OpenAsync(), OpenAsync(), OpenAsync()).WithTimeout();
        await stores[0].AddTenantAsync(new("acme", "Acme", "SG", T0), None).WithTimeout();
        await stores[1].MigrateAsync(None).WithTimeout();

        Assert.Equal((long)PostgresMigrations.All.Count, await _database.ScalarAsync("SELECT count(*) FROM schema_migrations"));
        Assert.Equal(PostgresMigrations.LatestVersion, await _database.ScalarAsync("SELECT max(version) FROM schema_migrations"));
        // Every index is written for every ledger row: the partition key (time ranges) and one tenant's range, nothing else;
        // the batch rows' index (what a batch cost) holds no live request's row, whose batch_id is null.
        Assert.Equal("ix_ledger_batch_id ix_ledger_tenant_id_time ledger_pkey",
            await _database.ScalarAsync("SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'ledger'"));
        Assert.EndsWith("(batch_id) WHERE (batch_id IS NOT NULL)",
            (string)(await _database.ScalarAsync("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_ledger_batch_id'"))!, StringComparison.Ordinal);
        Assert.NotNull(await stores[2].GetTenantAsync("acme", None).WithTimeout());
        foreach (var store in stores)
        {
            await store.DisposeAsync();
        }
    }

    /// <summary>
    /// /v1/usage and the reports read the daily totals by tenant and a day range: keyed day first (migration 6), one tenant's
    /// month was scanned through every tenant's rows of that month, and its year as the whole table (docs/postgresql.md).
    /// Keyed tenant first, as SQLite's; every tenant's days keep an index of their own.
    /// </summary>
    [Fact]
    public async Task Backup_IsLeftToPostgresOwnTools_WithAMessageNamingThem()
    {
        await using var store = await OpenAsync();

        var refused = await Assert.ThrowsAsync<NotSupportedException>(() => store.BackupAsync("/tmp/never-written.db", None)).WithTimeout();

        Assert.Contains("pg_dump", refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists("/tmp/never-written.db"));
    }

    [Fact]
    public async Task DailyUsage_IsKeyedByTenantFirst_WithAnIndexOnTheDayForEveryTenantsDays()
    {
        await using var store = await OpenAsync();
        await store.AppendLedgerAsync([LedgerSamples.Entry("req_1")], None).WithTimeout();

        Assert.Equal("ix_usage_daily_day (day); usage_daily_pkey (tenant_id, day, model)", await _database.ScalarAsync(
            "SELECT string_agg(indexname || ' ' || substring(indexdef from '\\(.*\\)$'), '; ' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'usage_daily'"));
        var day = new DateTimeOffset(T0.UtcDateTime.Date, TimeSpan.Zero);
        Assert.Equal(1, Assert.Single(await store.GetUsageTotalsAsync(day, day.AddDays(1), "acme", None).WithTimeout()).Requests);
    }

    [Fact]
    public async Task CacheTokensMigration_OnADatabaseMadeBeforeIt_AddsTheLedgersCacheTokensToTheTotals_AndLaterRowsAddToThem()
    {
        // A database as migration 16 left it: its ledger has rows with cache tokens (since migration 15), and its daily
        // totals what the ledger's writer kept of them then, without the cache tokens. Rows over three UTC days, two
        // tenants and models, rows without a tenant and not billable.
        await using (var before = new PostgresStore(_database.ConnectionString, [.. PostgresMigrations.All.Where(m => m.Version <= 16)]))
        {
            await before.MigrateAsync(None).WithTimeout();
        }

        var midnight = new DateTimeOffset(2031, 5, 2, 0, 0, 0, TimeSpan.Zero);
        var rows = Enumerable.Range(0, 40).Select(i => LedgerSamples.Entry(
            $"old-{i}", midnight.AddMinutes(-90 + 97 * i), tenantId: i % 7 == 0 ? null : i % 3 == 0 ? "zeta" : "acme",
            model: i % 2 == 0 ? "gpt-4.1" : "deepseek-v4", inputTokens: 10 * i, outputTokens: i, cost: 0.001m * i, billable: i % 5 != 4) with
            {
                CacheReadTokens = i % 4 == 0 ? 0 : 5 * i, CacheWriteTokens = i % 3 == 0 ? 0 : 2 * i,
            }).ToList();
        await using (var connection = new NpgsqlConnection(_database.ConnectionString + ";Pooling=false"))
        {
            await connection.OpenAsync().WithTimeout();
            await using (var partition = new NpgsqlCommand("SELECT corridor_ensure_ledger_partition($1)", connection))
            {
                partition.Parameters.AddWithValue(midnight);
                await partition.ExecuteNonQueryAsync().WithTimeout();
            }

            foreach (var row in rows)
            {
                await using var insert = new NpgsqlCommand("""
                    INSERT INTO ledger (request_id, time, tenant_id, model, endpoint, status, outcome, input_tokens, output_tokens, cost,
                        estimated, latency_ms, billable, cache_read_tokens, cache_write_tokens)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, false, 1, $11, $12, $13)
                    """, connection);
                insert.Parameters.AddWithValue(row.RequestId);
                insert.Parameters.AddWithValue(row.Time);
                insert.Parameters.Add(new NpgsqlParameter { Value = (object?)row.TenantId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
                insert.Parameters.AddWithValue(row.Model);
                insert.Parameters.AddWithValue(row.Endpoint);
                insert.Parameters.AddWithValue(row.Status);
                insert.Parameters.AddWithValue(Corridor.Core.Metering.RequestOutcomes.Name(row.Outcome));
                insert.Parameters.AddWithValue(row.InputTokens);
                insert.Parameters.AddWithValue(row.OutputTokens);
                insert.Parameters.AddWithValue(row.Cost);
                insert.Parameters.AddWithValue(row.Billable);
                insert.Parameters.AddWithValue(row.CacheReadTokens);
                insert.Parameters.AddWithValue(row.CacheWriteTokens);
                await insert.ExecuteNonQueryAsync().WithTimeout();
            }
        }

        // What the ledger's writer added to the daily totals at schema 16 (PostgresLedger then, as migration 6's backfill).
        await _database.ExecuteAsync("""
            INSERT INTO usage_daily (day, tenant_id, model, requests, input_tokens, output_tokens, cost)
            SELECT (time AT TIME ZONE 'UTC')::date, tenant_id, model, count(*), sum(input_tokens), sum(output_tokens), sum(cost)
            FROM ledger WHERE billable AND tenant_id IS NOT NULL
            GROUP BY 1, 2, 3
            """);

        await using var store = await OpenAsync();

        await AssertDailyTotalsAsync(rows);
        var first = rows.First(r => r.Billable && r.TenantId is not null && r.CacheReadTokens > 0);
        var later = LedgerSamples.Entry("new-1", first.Time, first.TenantId, model: first.Model, inputTokens: 1000, outputTokens: 2) with
        {
            CacheReadTokens = 600, CacheWriteTokens = 300,
        };
        await store.AppendLedgerAsync([later], None).WithTimeout();
        await AssertDailyTotalsAsync([.. rows, later]);

        // Each whole UTC day from the daily totals alone, as the rows' sums per tenant and model.
        async Task AssertDailyTotalsAsync(IReadOnlyList<Corridor.Core.Metering.LedgerEntry> stored)
        {
            Assert.Contains(stored, r => r.Billable && r.TenantId is not null && r.CacheReadTokens > 0 && r.CacheWriteTokens > 0);
            for (var day = midnight.AddDays(-1); day < midnight.AddDays(3); day = day.AddDays(1))
            {
                var expected = stored
                    .Where(r => r.Billable && r.TenantId is not null && r.Time >= day && r.Time < day.AddDays(1))
                    .GroupBy(r => (Tenant: r.TenantId!, r.Model))
                    .OrderBy(g => g.Key.Tenant, StringComparer.Ordinal).ThenBy(g => g.Key.Model, StringComparer.Ordinal)
                    .Select(g => new UsageTotal(g.Key.Tenant, g.Key.Model, g.Count(), g.Sum(r => r.InputTokens), g.Sum(r => r.OutputTokens), g.Sum(r => r.Cost))
                    {
                        CacheReadTokens = g.Sum(r => r.CacheReadTokens), CacheWriteTokens = g.Sum(r => r.CacheWriteTokens),
                    });
                Assert.Equal(expected, await store.GetUsageTotalsAsync(day, day.AddDays(1), null, None).WithTimeout());
            }
        }
    }

    [Fact]
    public async Task MigrateAsync_RefusesADatabaseFromANewerCorridor()
    {
        await using var store = await OpenAsync();
        await _database.ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', now())");

        var error = await Assert.ThrowsAsync<CorridorStoreException>(() => store.MigrateAsync(None)).WithTimeout();

        Assert.Equal(StoreError.SchemaTooNew, error.Error);
        Assert.Contains("999", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMigrationThatFails_LeavesTheSchemaUnchanged_AndSaysWhy()
    {
        await (await OpenAsync()).DisposeAsync();
        // A step that changes something, then fails: nothing of it may stay.
        var broken = new PostgresMigrations.Migration(PostgresMigrations.LatestVersion + 1, "broken step", """
            ALTER TABLE tenants ADD COLUMN half_done text;
            CREATE TABLE half_done (id integer);
            ALTER TABLE no_such_table ADD COLUMN x text;
            """);
        await using var store = new PostgresStore(_database.ConnectionString, [.. PostgresMigrations.All, broken]);

        var error = await Assert.ThrowsAsync<CorridorStoreException>(() => store.MigrateAsync(None)).WithTimeout();

        Assert.Equal(StoreError.MigrationFailed, error.Error);
        Assert.Contains($"migration {broken.Version} (broken step) failed", error.Message, StringComparison.Ordinal);
        Assert.Contains($"unchanged at version {PostgresMigrations.LatestVersion}", error.Message, StringComparison.Ordinal);
        Assert.Contains("no_such_table", error.Message, StringComparison.Ordinal);
        Assert.Equal(PostgresMigrations.LatestVersion, await _database.ScalarAsync("SELECT max(version) FROM schema_migrations"));
        Assert.Null(await _database.ScalarAsync("SELECT to_regclass('half_done')::text"));
        Assert.Equal(0L, await _database.ScalarAsync("SELECT count(*) FROM information_schema.columns WHERE table_name = 'tenants' AND column_name = 'half_done'"));
    }

    /// <summary>
    /// Migration 22 indexes the whole ledger. Built in a transaction (as it was), it waited for the ledger's writes under way
    /// and held every new one until it was done: an outage for a fleet with a large ledger. Built concurrently, a partition at
    /// a time, a writer goes on while the build waits (here, for a write left open) and while it reads.
    /// </summary>
    [Fact]
    public async Task TheLedgerIndexMigration_BuildsConcurrently_AndALedgerWriterIsNotHeldMeanwhile()
    {
        await MigrateBeforeTheLedgerIndexAsync();
        await using var open = await OpenWriteAsync("open-1");
        await using var first = new PostgresStore(_database.ConnectionString);
        await using var second = new PostgresStore(_database.ConnectionString);
        // Two replicas starting at once.
        var migrating = Task.WhenAll(first.MigrateAsync(None), second.MigrateAsync(None));

        var (_, building) = await IndexBuildWaitingAsync();
        Assert.Contains("CREATE INDEX CONCURRENTLY", building, StringComparison.Ordinal);
        await InsertLedgerRowAsync("while-building", "batch_2");
        Assert.False(migrating.IsCompleted);

        await open.CommitAsync().WithTimeout();
        await open.Connection!.DisposeAsync();
        await migrating.WithTimeout();

        await AssertTheLedgerIndexIsBuiltOnceAsync(rows: 4);
    }

    /// <summary>
    /// A build cut short (its connection killed, here; a crash or a stop alike) leaves an invalid index behind, written to and
    /// never read, and the step unrecorded: the next start drops it, builds it again and records the step once.
    /// </summary>
    [Fact]
    public async Task AnIndexBuildCutShort_IsDroppedAndBuiltAgain_AtTheNextStart()
    {
        await MigrateBeforeTheLedgerIndexAsync();
        await using (var open = await OpenWriteAsync("open-1"))
        {
            await using var cutShort = new PostgresStore(_database.ConnectionString);
            var migrating = cutShort.MigrateAsync(None);
            var (pid, _) = await IndexBuildWaitingAsync();
            await _database.ExecuteAsync($"SELECT pg_terminate_backend({pid})");

            var error = await Assert.ThrowsAsync<CorridorStoreException>(() => migrating).WithTimeout();
            Assert.Equal(StoreError.MigrationFailed, error.Error);
            Assert.Contains("taken up where it stopped", error.Message, StringComparison.Ordinal);
            await open.CommitAsync().WithTimeout();
            await open.Connection!.DisposeAsync();
        }

        Assert.Equal(21, await _database.ScalarAsync("SELECT max(version) FROM schema_migrations"));
        Assert.Equal(1L, await _database.ScalarAsync("SELECT count(*) FROM pg_index WHERE NOT indisvalid"));

        await using var first = new PostgresStore(_database.ConnectionString);
        await using var second = new PostgresStore(_database.ConnectionString);
        await Task.WhenAll(first.MigrateAsync(None), second.MigrateAsync(None)).WithTimeout();

        await AssertTheLedgerIndexIsBuiltOnceAsync(rows: 3);
    }

    private async Task MigrateBeforeTheLedgerIndexAsync()
    {
        await using (var before = new PostgresStore(_database.ConnectionString, [.. PostgresMigrations.All.Where(m => m.Version < 22)]))
        {
            await before.MigrateAsync(None).WithTimeout();
        }
        await InsertLedgerRowAsync("live-1", null);
        await InsertLedgerRowAsync("batch-1", "batch_1");
    }

    /// <summary>A ledger write under way: a transaction that has inserted a row and is left open until committed.</summary>
    private async Task<NpgsqlTransaction> OpenWriteAsync(string requestId)
    {
        var connection = new NpgsqlConnection(_database.ConnectionString + ";Pooling=false");
        await connection.OpenAsync().WithTimeout();
        var transaction = await connection.BeginTransactionAsync().WithTimeout();
        await using var insert = new NpgsqlCommand(InsertLedgerRowSql, connection, transaction);
        insert.Parameters.AddWithValue(requestId);
        insert.Parameters.Add(new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await insert.ExecuteNonQueryAsync().WithTimeout();
        return transaction;
    }

    private const string InsertLedgerRowSql = """
        INSERT INTO ledger (request_id, time, model, endpoint, status, outcome, input_tokens, output_tokens, cost, estimated, latency_ms, billable, batch_id)
        VALUES ($1, now(), 'gpt-4.1', '/v1/chat/completions', 200, 'Success', 1, 1, 0, false, 1, true, $2)
        """;

    private async Task InsertLedgerRowAsync(string requestId, string? batchId)
    {
        await using var connection = new NpgsqlConnection(_database.ConnectionString + ";Pooling=false");
        await connection.OpenAsync().WithTimeout();
        await using var insert = new NpgsqlCommand(InsertLedgerRowSql, connection);
        insert.Parameters.AddWithValue(requestId);
        insert.Parameters.Add(new NpgsqlParameter { Value = (object?)batchId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await insert.ExecuteNonQueryAsync().WithTimeout();
    }

    /// <summary>The backend building the ledger's batch index once it waits on a lock (for the write left open), and its statement.</summary>
    private async Task<(int Pid, string Query)> IndexBuildWaitingAsync()
    {
        (int, string)? found = null;
        await TestTimeouts.UntilAsync(async () =>
        {
            await using var connection = new NpgsqlConnection(_database.ConnectionString + ";Pooling=false");
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                SELECT pid, query FROM pg_stat_activity
                WHERE datname = current_database() AND state = 'active' AND wait_event_type = 'Lock' AND query LIKE '%ix_ledger_batch_id%'
                """, connection);
            await using var reader = await command.ExecuteReaderAsync();
            if (await reader.ReadAsync())
            {
                found = (reader.GetInt32(0), reader.GetString(1));
            }
            return found is not null;
        });
        return found!.Value;
    }

    private async Task AssertTheLedgerIndexIsBuiltOnceAsync(long rows)
    {
        Assert.Equal(1L, await _database.ScalarAsync("SELECT count(*) FROM schema_migrations WHERE version = 22"));
        Assert.Equal(PostgresMigrations.LatestVersion, await _database.ScalarAsync("SELECT max(version) FROM schema_migrations"));
        Assert.Equal(true, await _database.ScalarAsync("SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_ledger_batch_id'::regclass"));
        Assert.Equal(0L, await _database.ScalarAsync("SELECT count(*) FROM pg_index WHERE NOT indisvalid"));
        // Every partition's index is the parent's, partial as it is.
        Assert.Equal(0L, await _database.ScalarAsync("""
            SELECT count(*) FROM pg_inherits AS p
            WHERE p.inhparent = 'ledger'::regclass AND NOT EXISTS (
                SELECT 1 FROM pg_index AS x JOIN pg_inherits AS xi ON xi.inhrelid = x.indexrelid
                WHERE x.indrelid = p.inhrelid AND xi.inhparent = 'ix_ledger_batch_id'::regclass AND x.indisvalid)
            """));
        Assert.EndsWith("(batch_id) WHERE (batch_id IS NOT NULL)",
            (string)(await _database.ScalarAsync("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_ledger_batch_id'"))!, StringComparison.Ordinal);
        Assert.Equal(rows, await _database.ScalarAsync("SELECT count(*) FROM ledger"));
        Assert.Equal(rows - 2, await _database.ScalarAsync("SELECT count(*) FROM ledger WHERE batch_id IS NOT NULL"));
    }

    [Fact]
    public async Task LeasesFromTwoReplicasAtOnce_NeverTakeMoreThanTheLimit()
    {
        await (await OpenAsync()).DisposeAsync();
        await using var first = NpgsqlDataSource.Create(_database.ConnectionString);
        await using var second = NpgsqlDataSource.Create(_database.ConnectionString);
        var books = new[] { new PostgresLeaseBook(first), new PostgresLeaseBook(second) };
        var key = new LeaseKey(new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.Requests), 29_000_000);

        // 2 replicas × 8 workers × 10 leases of 3 against a limit of 100: 240 wanted, exactly 100 granted.
        var grants = await Task.WhenAll(Enumerable.Range(0, 16).Select(async worker =>
        {
            var granted = 0m;
            for (var i = 0; i < 10; i++)
            {
                granted += await books[worker % 2].LeaseAsync(key, 100m, 3m, "replica_1", None);
            }
            return granted;
        })).WithTimeout();

        Assert.Equal(100m, grants.Sum());
        Assert.Equal(0m, await books[0].LeaseAsync(key, 100m, 1m, "replica_1", None).AsTask().WithTimeout());
    }

    [Fact]
    public async Task ALeaseReturned_CanBeLeasedAgain_AndSpendBeyondReservationsCounts()
    {
        await (await OpenAsync()).DisposeAsync();
        await using var dataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        var book = new PostgresLeaseBook(dataSource);
        await book.RegisterAsync("replica_1", None).AsTask().WithTimeout(); // budgets are granted to registered replicas
        var budget = new LeaseKey(new LeaseSubject(LimitScope.Key, "key_1", LeaseKind.DayBudget), 740_000);

        Assert.Equal(6.5m, await book.LeaseAsync(budget, 10m, 6.5m, "replica_1", None).AsTask().WithTimeout());
        Assert.Equal(3.5m, await book.LeaseAsync(budget, 10m, 6.5m, "replica_1", None).AsTask().WithTimeout());
        await book.ReturnAsync(new LeaseReturn(budget, 2m), "replica_1", None).AsTask().WithTimeout();
        await book.ReturnAsync(new LeaseReturn(budget, -0.25m), "replica_1", None).AsTask().WithTimeout(); // settled beyond reservations
        Assert.Equal(1.75m, await book.LeaseAsync(budget, 10m, 5m, "replica_1", None).AsTask().WithTimeout());
        // A return sent again after its answer was lost (the book applied it, the replica saw an error) is applied once.
        var back = new LeaseReturn(budget, 1m);
        await book.ReturnAsync(back, "replica_1", None).AsTask().WithTimeout();
        await book.ReturnAsync(back, "replica_1", None).AsTask().WithTimeout();
        Assert.Equal(1m, await book.LeaseAsync(budget, 10m, 5m, "replica_1", None).AsTask().WithTimeout());
        // A lower limit than what is taken grants nothing (never negative).
        Assert.Equal(0m, await book.LeaseAsync(budget, 5m, 1m, "replica_1", None).AsTask().WithTimeout());

        var minute = new LeaseKey(new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.Requests), 100);
        await book.LeaseAsync(minute, 10m, 1m, "replica_1", None).AsTask().WithTimeout();
        await book.PruneAsync(LeaseKind.Requests, 100, None).AsTask().WithTimeout();
        Assert.Equal(2L, await _database.ScalarAsync("SELECT count(*) FROM admission_leases"));
        await book.PruneAsync(LeaseKind.Requests, 101, None).AsTask().WithTimeout();
        Assert.Equal(1L, await _database.ScalarAsync("SELECT count(*) FROM admission_leases"));
        // The ids of returns go with their period's rows.
        Assert.Equal(3L, await _database.ScalarAsync("SELECT count(*) FROM admission_returns"));
        await book.PruneAsync(LeaseKind.DayBudget, 740_001, None).AsTask().WithTimeout();
        Assert.Equal(0L, await _database.ScalarAsync("SELECT count(*) FROM admission_returns"));
    }

    [Fact]
    public async Task AReplicaThatStopsBeating_HasWhatItHeldOfBudgetsGivenBack_OnceAfterTheExpiry()
    {
        await (await OpenAsync()).DisposeAsync();
        await using var dataSource = NpgsqlDataSource.Create(_database.ConnectionString);
        var book = new PostgresLeaseBook(dataSource);
        var month = new LeaseKey(new LeaseSubject(LimitScope.Key, "key_1", LeaseKind.MonthBudget), 24_316);
        var minute = new LeaseKey(new LeaseSubject(LimitScope.Key, "key_1", LeaseKind.Requests), 29_000_000);
        await book.RegisterAsync("a", None).AsTask().WithTimeout();
        await book.RegisterAsync("b", None).AsTask().WithTimeout();

        Assert.Equal(10m, await book.LeaseAsync(month, 100m, 10m, "a", None).AsTask().WithTimeout());
        Assert.Equal(10m, await HeldAsync("a")); // counted with the grant: a killed before its next heartbeat has it given back
        Assert.Equal(0m, await book.LeaseAsync(month, 100m, 10m, "unknown", None).AsTask().WithTimeout());
        Assert.Equal(5m, await book.LeaseAsync(minute, 10m, 5m, "a", None).AsTask().WithTimeout()); // rates are not held per replica
        Assert.True(await book.HeartbeatAsync("a", [new LeaseHeld(month, 8m)], None).AsTask().WithTimeout()); // a spent 2
        Assert.Equal(8m, await HeldAsync("a"));
        await book.ReturnAsync(new LeaseReturn(month, 3m), "a", None).AsTask().WithTimeout();
        Assert.Equal(5m, await HeldAsync("a")); // the return lowers what a holds in the same statement
        Assert.Equal(20m, await book.LeaseAsync(month, 100m, 20m, "b", None).AsTask().WithTimeout());
        Assert.Equal(27m, await TakenAsync(month));

        // a stops beating (killed, or frozen); b keeps beating. The expiry is measured by the database's clock.
        await book.ReclaimAsync(TimeSpan.FromSeconds(15), None).AsTask().WithTimeout();
        Assert.Equal(27m, await TakenAsync(month));
        await _database.ExecuteAsync("UPDATE admission_replicas SET seen = now() - interval '16 seconds' WHERE replica_id = 'a'");
        Assert.True(await book.HeartbeatAsync("b", [new LeaseHeld(month, 20m)], None).AsTask().WithTimeout());
        await book.ReclaimAsync(TimeSpan.FromSeconds(15), None).AsTask().WithTimeout();
        await book.ReclaimAsync(TimeSpan.FromSeconds(15), None).AsTask().WithTimeout(); // another replica's worker: nothing twice
        Assert.Equal(22m, await TakenAsync(month));
        Assert.Equal("b", await _database.ScalarAsync("SELECT string_agg(replica_id, ',') FROM admission_replicas"));
        Assert.Equal(0m, await HeldAsync("a"));

        // a thaws: fenced; its late positive return gives nothing back (the book took it already), spend beyond
        // reservations still counts, and it is granted nothing until it registers again.
        Assert.False(await book.HeartbeatAsync("a", [new LeaseHeld(month, 5m)], None).AsTask().WithTimeout());
        Assert.Equal(0L, await _database.ScalarAsync("SELECT count(*) FROM admission_holdings WHERE replica_id = 'a'"));
        await book.ReturnAsync(new LeaseReturn(month, 2m), "a", None).AsTask().WithTimeout();
        await book.ReturnAsync(new LeaseReturn(month, -0.5m), "a", None).AsTask().WithTimeout();
        Assert.Equal(22.5m, await TakenAsync(month));
        Assert.Equal(0m, await book.LeaseAsync(month, 100m, 10m, "a", None).AsTask().WithTimeout());
        await book.RegisterAsync("a2", None).AsTask().WithTimeout();
        Assert.Equal(10m, await book.LeaseAsync(month, 100m, 10m, "a2", None).AsTask().WithTimeout());

        // A graceful stop, after its returns: registration and holdings go, nothing is given back by them.
        await book.LeaveAsync("b", None).AsTask().WithTimeout();
        await _database.ExecuteAsync("UPDATE admission_replicas SET seen = now() - interval '1 hour'");
        await book.ReclaimAsync(TimeSpan.FromSeconds(15), None).AsTask().WithTimeout();
        Assert.Equal(22.5m, await TakenAsync(month));
        Assert.Equal(0L, await _database.ScalarAsync("SELECT count(*) FROM admission_replicas"));

        // Holdings of past periods go with their rows.
        await book.RegisterAsync("c", None).AsTask().WithTimeout();
        await book.LeaseAsync(month, 100m, 1m, "c", None).AsTask().WithTimeout();
        await book.PruneAsync(LeaseKind.MonthBudget, 24_317, None).AsTask().WithTimeout();
        Assert.Equal(0L, await _database.ScalarAsync("SELECT count(*) FROM admission_holdings"));
    }

    [Fact]
    public async Task ReturnsRacingAReclaim_GiveBackWhatTheReplicaHeld_ExactlyOnce()
    {
        await (await OpenAsync()).DisposeAsync();
        await using var first = NpgsqlDataSource.Create(_database.ConnectionString);
        await using var second = NpgsqlDataSource.Create(_database.ConnectionString);
        var (replica, survivor) = (new PostgresLeaseBook(first), new PostgresLeaseBook(second));
        var month = new LeaseKey(new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.MonthBudget), 24_316);
        for (var round = 0; round < 20; round++)
        {
            var id = $"r{round}";
            await replica.RegisterAsync(id, None).AsTask().WithTimeout();
            Assert.Equal(10m, await replica.LeaseAsync(month, 1_000m, 10m, id, None).AsTask().WithTimeout());
            var taken = await TakenAsync(month);
            await _database.ExecuteAsync($"UPDATE admission_replicas SET seen = now() - interval '1 minute' WHERE replica_id = '{id}'");

            // The replica gives back 1 at a time, five times, while another replica's worker reclaims it.
            var returns = Task.WhenAll(Enumerable.Range(0, 5).Select(_ => replica.ReturnAsync(new LeaseReturn(month, 1m), id, None).AsTask()));
            await survivor.ReclaimAsync(TimeSpan.FromSeconds(15), None).AsTask().WithTimeout();
            await returns.WithTimeout();

            Assert.Equal(taken - 10m, await TakenAsync(month));
        }
    }

    private async Task<decimal> TakenAsync(LeaseKey key) =>
        (decimal)(await _database.ScalarAsync(
            $"SELECT taken FROM admission_leases WHERE scope = '{(key.Subject.Scope == LimitScope.Tenant ? "tenant" : "key")}' AND id = '{key.Subject.Id}' AND period = {key.Period} AND kind = '{PostgresLeaseBook.KindName(key.Subject.Kind)}'"))!;

    private async Task<decimal> HeldAsync(string replica) =>
        (decimal)(await _database.ScalarAsync($"SELECT coalesce(sum(unspent), 0) FROM admission_holdings WHERE replica_id = '{replica}'"))!;

    [Fact]
    public async Task SpendSeededFromTheLedger_StartsARowTheBookLacks_AndLeavesARowItHas()
    {
        await using var store = await OpenAsync();
        var book = store.LeaseBook!;
        await book.RegisterAsync("replica_1", None).AsTask().WithTimeout(); // budgets are granted to registered replicas
        var fresh = new LeaseKey(new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.MonthBudget), 24_316);
        var counted = new LeaseKey(new LeaseSubject(LimitScope.Key, "key_1", LeaseKind.MonthBudget), 24_316);
        Assert.Equal(4m, await book.LeaseAsync(counted, 10m, 4m, "replica_1", None).AsTask().WithTimeout());

        await book.SeedAsync(fresh, 7.5m, None).AsTask().WithTimeout();
        await book.SeedAsync(counted, 7.5m, None).AsTask().WithTimeout(); // the book counts this row's spend itself
        await book.SeedAsync(fresh, 1m, None).AsTask().WithTimeout(); // a second replica starting: the row stays

        Assert.Equal(2.5m, await book.LeaseAsync(fresh, 10m, 5m, "replica_1", None).AsTask().WithTimeout());
        Assert.Equal(5m, await book.LeaseAsync(counted, 10m, 5m, "replica_1", None).AsTask().WithTimeout());
    }

    [Fact]
    public async Task ABudgetFirstLeasedMidPeriod_CountsTheLedgersSpendOfThatPeriod()
    {
        // A budget set on a tenant or key that was already spending (without one) must count the period's spend so far,
        // as one machine does: the book's first row of the period starts from the ledger.
        await using var store = await OpenAsync();
        var noon = new DateTimeOffset(2031, 5, 20, 12, 0, 0, TimeSpan.Zero);
        await store.AddTenantAsync(new("acme", "Acme", "SG", T0), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await store.AddKeyAsync(key, None).WithTimeout();
        await store.AppendLedgerAsync(
        [
            LedgerSamples.Entry("r-1", noon.AddHours(-2), keyId: key.Id, cost: 3m),
            LedgerSamples.Entry("r-2", noon.AddHours(-1), keyId: "key_other", cost: 3m),
            // Began yesterday, ended today (812 ms later): today's spend, as settlement counted it.
            LedgerSamples.Entry("r-3", new DateTimeOffset(2031, 5, 19, 23, 59, 59, 900, TimeSpan.Zero), keyId: key.Id, cost: 1m),
            LedgerSamples.Entry("r-4", noon.AddDays(-1), keyId: key.Id, cost: 100m),
            LedgerSamples.Entry("r-5", noon, tenantId: "zeta", cost: 50m),
            LedgerSamples.Entry("r-6", noon, keyId: key.Id, cost: 20m, billable: false),
        ], None).WithTimeout();
        var book = store.LeaseBook!;
        await book.RegisterAsync("replica_1", None).AsTask().WithTimeout(); // budgets are granted to registered replicas
        var tenantDay = new LeaseKey(new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.DayBudget), LeasePeriods.Of(LeaseKind.DayBudget, noon));
        var keyDay = new LeaseKey(new LeaseSubject(LimitScope.Key, key.Id, LeaseKind.DayBudget), LeasePeriods.Of(LeaseKind.DayBudget, noon));
        var tenantMonth = new LeaseKey(new LeaseSubject(LimitScope.Tenant, "acme", LeaseKind.MonthBudget), LeasePeriods.Of(LeaseKind.MonthBudget, noon));

        Assert.Equal(3m, await book.LeaseAsync(tenantDay, 10m, 5m, "replica_1", None).AsTask().WithTimeout());
        Assert.Equal(6m, await book.LeaseAsync(keyDay, 10m, 8m, "replica_1", None).AsTask().WithTimeout());
        Assert.Equal(93m, await book.LeaseAsync(tenantMonth, 200m, 100m, "replica_1", None).AsTask().WithTimeout());
        // The row is started once: later leases count what the book holds, not the ledger again.
        Assert.Equal(0m, await book.LeaseAsync(tenantDay, 10m, 5m, "replica_1", None).AsTask().WithTimeout());
        await book.ReturnAsync(new LeaseReturn(tenantDay, 3m), "replica_1", None).AsTask().WithTimeout();
        Assert.Equal(3m, await book.LeaseAsync(tenantDay, 10m, 5m, "replica_1", None).AsTask().WithTimeout());
    }

    [Fact]
    public async Task OpeningAFailingDatabase_StopsWithTheReason()
    {
        var unreachable = new StorageOptions(PostgresConnectionString: "Host=127.0.0.1;Port=1;Username=corridor;Timeout=2");

        await Assert.ThrowsAnyAsync<Exception>(() => CorridorStores.OpenAsync(unreachable, None)).WithTimeout();
        Assert.Equal("postgresql://127.0.0.1:1/corridor", unreachable.Describe());
    }

    [Fact]
    public async Task TheLedger_GoesToOnePartitionPerMonth_CreatedAsRowsArrive()
    {
        await using var store = await OpenAsync();
        var january = new DateTimeOffset(2031, 1, 31, 23, 59, 59, 999, TimeSpan.Zero);
        var february = new DateTimeOffset(2031, 2, 1, 0, 0, 0, TimeSpan.Zero);
        // 08:00 on 1 March in Singapore is still 28 February in UTC: partitions follow UTC months.
        var lateFebruary = new DateTimeOffset(2031, 3, 1, 7, 0, 0, TimeSpan.FromHours(8));

        await store.AppendLedgerAsync(
            [LedgerSamples.Entry("r-jan", january), LedgerSamples.Entry("r-feb", february), LedgerSamples.Entry("r-feb2", lateFebruary)], None).WithTimeout();

        Assert.Equal(1L, await _database.ScalarAsync("SELECT count(*) FROM ledger_2031_01"));
        Assert.Equal(2L, await _database.ScalarAsync("SELECT count(*) FROM ledger_2031_02"));
        Assert.Null(await _database.ScalarAsync("SELECT to_regclass('ledger_2031_03')::text"));
        var february2031 = await store.ReadLedgerAsync(february, february.AddMonths(1), None).ToListWithTimeoutAsync();
        Assert.Equal(["r-feb", "r-feb2"], february2031.Select(r => r.RequestId));
    }

    [Fact]
    public async Task ALateRowOfAMonthWhosePartitionWasDetached_LandsInANewPartition()
    {
        // The operator detaches an old month (docs/postgresql.md); a row of that month arriving later (a replica's spool
        // replayed after an outage) must still land, not fail its batch, and the spool's replay, for ever.
        var january = new DateTimeOffset(2031, 1, 20, 0, 0, 0, TimeSpan.Zero);
        await using var running = await OpenAsync();
        await running.AppendLedgerAsync([LedgerSamples.Entry("r-1", january)], None).WithTimeout();

        await _database.ExecuteAsync("ALTER TABLE ledger DETACH PARTITION ledger_2031_01");
        // A replica that wrote the month before (and so knows its partition) and one started since.
        await running.AppendLedgerAsync([LedgerSamples.Entry("r-2", january.AddDays(1)), LedgerSamples.Entry("r-3", january.AddMonths(1))], None).WithTimeout();
        await using var started = await OpenAsync();
        await started.AppendLedgerAsync([LedgerSamples.Entry("r-4", january.AddDays(2))], None).WithTimeout();

        Assert.Equal(["r-2", "r-4", "r-3"], (await running.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Select(r => r.RequestId));
        Assert.Equal(1L, await _database.ScalarAsync("SELECT count(*) FROM ledger_2031_01"));
    }

    [Fact]
    public async Task MigrateAsync_CreatesThisMonthsAndNextMonthsPartitionAhead()
    {
        await using var store = await OpenAsync();
        var now = DateTimeOffset.UtcNow;

        Assert.NotNull(await _database.ScalarAsync($"SELECT to_regclass('ledger_{now:yyyy_MM}')::text"));
        Assert.NotNull(await _database.ScalarAsync($"SELECT to_regclass('ledger_{now.AddMonths(1):yyyy_MM}')::text"));
    }

    [Fact]
    public async Task TwoStoresWritingANewMonthAtOnce_CreateItsPartitionOnce()
    {
        await using var one = await OpenAsync();
        await using var two = await OpenAsync();
        var month = new DateTimeOffset(2032, 7, 1, 0, 0, 0, TimeSpan.Zero);

        await Task.WhenAll(
            Task.Run(() => one.AppendLedgerAsync([.. Enumerable.Range(0, 200).Select(i => LedgerSamples.Entry($"a{i}", month.AddSeconds(i)))], None)),
            Task.Run(() => two.AppendLedgerAsync([.. Enumerable.Range(0, 200).Select(i => LedgerSamples.Entry($"b{i}", month.AddSeconds(i)))], None))).WithTimeout();

        Assert.Equal(400L, await _database.ScalarAsync("SELECT count(*) FROM ledger_2032_07"));
    }

    /// <summary>
    /// Two gateways claiming at the same moment never take the same batch. A gate (a trigger on batches that waits for an
    /// advisory lock this test holds) keeps each claim inside its UPDATE, after it has chosen its batch, until both have
    /// chosen: so the second always chooses while the first holds its choice uncommitted. Without the claim's row lock
    /// (FOR UPDATE SKIP LOCKED), both chose the oldest batch and both were given it. The same holds of two sweeps claiming
    /// batches to end (those of a refused key, here) at once: a batch is ended by one of them.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoGatewaysClaimingAtOnce_NeverTakeTheSameBatch(bool toEnd)
    {
        await using var one = await OpenAsync();
        await using var two = await OpenAsync();
        foreach (var (id, second) in new[] { ("batch_old", 1), ("batch_new", 2) })
        {
            var batch = new BatchJob(id, BatchApi.OpenAI, "acme", "key_1", "/v1/chat/completions", BatchStates.InProgress, T0.AddSeconds(second), T0.AddHours(24));
            await one.AddBatchAsync(batch, [new BatchItem(0, "req-0", "{}"u8.ToArray())], None).WithTimeout();
        }

        await _database.ExecuteAsync("""
            CREATE FUNCTION test_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared(7); RETURN NEW; END $$;
            CREATE TRIGGER test_gate BEFORE UPDATE ON batches FOR EACH ROW EXECUTE FUNCTION test_gate();
            """);
        await using var gate = new NpgsqlConnection(_database.ConnectionString + ";Pooling=false");
        await gate.OpenAsync().WithTimeout();
        await using (var close = new NpgsqlCommand("SELECT pg_advisory_lock(7)", gate))
        {
            await close.ExecuteNonQueryAsync().WithTimeout();
        }

        var now = T0.AddMinutes(1);
        var claims = new[] { (one, "gw-a"), (two, "gw-b") }.Select(c => Task.Run(() => toEnd
            ? c.Item1.ClaimBatchToEndAsync(c.Item2, now, now.AddSeconds(30), ["key_1"], None)
            : c.Item1.ClaimBatchAsync(c.Item2, now, now.AddSeconds(30), None))).ToArray();
        // Both have chosen and wait: at the gate, or (without the row lock) for the other's uncommitted change of the same batch.
        await TestTimeouts.UntilAsync(async () =>
            (long)(await _database.ScalarAsync("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))! == 2);
        await using (var open = new NpgsqlCommand("SELECT pg_advisory_unlock(7)", gate))
        {
            await open.ExecuteNonQueryAsync().WithTimeout();
        }

        var claimed = await Task.WhenAll(claims).WithTimeout();
        Assert.Equal(["batch_new", "batch_old"], claimed.Select(b => b?.Id).Order(StringComparer.Ordinal));
        Assert.Equal("gw-a gw-b", await _database.ScalarAsync("SELECT string_agg(owner, ' ' ORDER BY owner) FROM batches"));
    }

    /// <summary>
    /// Claims on batches are measured by the database's clock, as the lease book's expiry is, not by the claiming gateways'
    /// clocks: before, a replica whose clock ran two minutes ahead took a live holder's batch over (its claim looked run out),
    /// and one whose clock ran behind left a dead holder's batch alone for those two minutes more.
    /// </summary>
    [Fact]
    public async Task ABatchClaim_RunsOutByTheDatabasesClock_NotByAClaimingReplicasClock()
    {
        await using var store = await OpenAsync();
        var batch = new BatchJob("batch_1", BatchApi.OpenAI, "acme", "key_1", "/v1/chat/completions", BatchStates.InProgress, T0, T0.AddDays(3650));
        await store.AddBatchAsync(batch, [new BatchItem(0, "req-0", "{}"u8.ToArray())], None).WithTimeout();
        // Three replicas' fake clocks: the holder's reads as the database's, one runs two minutes ahead, one two behind.
        var holder = new FakeClock(new DateTimeOffset((DateTime)(await _database.ScalarAsync("SELECT now()"))!, TimeSpan.Zero));
        var ahead = new FakeClock(holder.GetUtcNow().AddMinutes(2));
        var behind = new FakeClock(holder.GetUtcNow().AddMinutes(-2));

        Assert.Equal("batch_1", (await ClaimAsync("gw-a/0", holder))?.Id);
        Assert.Null(await ClaimAsync("gw-b/0", ahead));
        // Its cancel asked, it is still the live holder's to end, not the sweep's of the replica ahead.
        await store.CancelBatchAsync("acme", "batch_1", holder.GetUtcNow(), None).WithTimeout();
        Assert.Null(await store.ClaimBatchToEndAsync("gw-b/sweep", ahead.GetUtcNow(), ahead.GetUtcNow().AddSeconds(60), [], None).WithTimeout());
        Assert.Equal("gw-a/0", await _database.ScalarAsync("SELECT owner FROM batches"));

        // The holder died: its claim runs out by the database's clock, and the replica behind sweeps the batch at once.
        await _database.ExecuteAsync("UPDATE batches SET owner_until = now() - interval '1 second'");
        Assert.Equal("batch_1", (await store.ClaimBatchToEndAsync("gw-c/sweep", behind.GetUtcNow(), behind.GetUtcNow().AddSeconds(60), [], None).WithTimeout())?.Id);
        // Held for the minute asked, by the database's clock.
        Assert.Equal(true, await _database.ScalarAsync("SELECT owner_until BETWEEN now() + interval '59 seconds' AND now() + interval '61 seconds' FROM batches"));

        Task<BatchJob?> ClaimAsync(string owner, TimeProvider clock) =>
            store.ClaimBatchAsync(owner, clock.GetUtcNow(), clock.GetUtcNow().AddSeconds(60), None).WithTimeout();
    }

    [Fact]
    public async Task AChangeThroughOneStore_WakesAWaiterOnAnother_AtOnce()
    {
        await using var listener = await OpenAsync();
        await using var writer = await OpenAsync();
        var notifications = Assert.IsAssignableFrom<IStoreChangeNotifications>(listener);
        // The first wait completes when the listener is connected (anything before it was not announced).
        await notifications.WaitForChangeAsync(None).WithTimeout();
        var next = notifications.WaitForChangeAsync(None);
        var revision = await listener.GetRevisionAsync(None).WithTimeout();

        Assert.False(next.IsCompleted);
        await writer.AddTenantAsync(new("acme", "Acme", "SG", T0), None).WithTimeout();

        await next.WithTimeout();
        Assert.True(await listener.GetRevisionAsync(None).WithTimeout() > revision);
    }

    /// <summary>
    /// Stopping the listener while it is connecting again (its LISTEN sent to a database that then stopped answering) waits
    /// for it no longer than it was told, on the store's clock, then leaves it; so does disposing the store. Before, the
    /// disposal waited for Npgsql's cancellation of the LISTEN, which waited on the server: 59.6 s measured.
    /// </summary>
    [Theory]
    [InlineData("stop")]
    [InlineData("dispose")]
    public async Task StoppingAListenerWhoseDatabaseStoppedAnswering_WaitsForItNoLongerThanTheStopsBound(string how)
    {
        await (await OpenAsync()).DisposeAsync(); // migrated
        var direct = new NpgsqlConnectionStringBuilder(_database.ConnectionString);
        await using var relay = TcpRelay.Start(new Uri($"tcp://{direct.Host}:{direct.Port}"));
        var throughRelay = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Host = "127.0.0.1", Port = relay.Address.Port }.ConnectionString;
        var clock = new FakeClock();
        var store = new PostgresStore(throughRelay, clock);
        await store.GetRevisionAsync(None).AsTask().WithTimeout(); // a pooled connection, which the listener takes at once

        relay.Freeze();
        var listening = store.WaitForChangeAsync(None);
        await TestTimeouts.UntilAsync(() => Task.FromResult(relay.HeldWhileFrozen.Contains("LISTEN", StringComparison.Ordinal)));
        var stopping = how == "stop" ? store.StopListeningAsync(TimeSpan.FromSeconds(3)) : store.DisposeAsync().AsTask();
        await clock.AdvanceUntilDoneAsync(stopping);

        Assert.False(listening.IsCompleted, "the listener was never connected, so no change was announced");
        await store.DisposeAsync();
    }

    [Fact]
    public async Task ConcurrentAdminChangesAndAuditAppends_FromTwoStores_KeepOneValidChain()
    {
        await using var one = await OpenAsync();
        await using var two = await OpenAsync();
        await one.AddTenantAsync(new("acme", "Acme", "SG", T0), None).WithTimeout();

        // Keys issued (each with its record) on one store while the other appends decision records.
        var issuing = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await Corridor.Storage.Compliance.AdminChanges.IssueKeyAsync(one, "acme", $"k{i}", "test", T0.AddSeconds(i), None);
            }
        });
        var deciding = Task.Run(async () =>
        {
            for (var i = 0; i < 20; i++)
            {
                await two.AppendAuditAsync([new AuditEntry(T0.AddSeconds(i), "gateway", "decision", $"d{i}", "{}"), new AuditEntry(T0.AddSeconds(i), "gateway", "decision", $"e{i}", "{}")], None);
            }
        });
        await Task.WhenAll(issuing, deciding).WithTimeout();

        var all = await one.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal(60, all.Count);
        var result = AuditVerifier.Verify(all);
        Assert.True(result.IsValid, result.Problem?.Message);
    }
}
