using Corridor.Core.Metering;
using Corridor.Core.Tenants;
using Corridor.Storage.Sqlite;
using Corridor.Storage.Tests.Contract;
using Corridor.Testing;
using Corridor.Testing.Storage;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Tests.Sqlite;

public sealed class SqliteStoreContractTests : StoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.SqliteAsync();
}

public sealed class SqliteComplianceStoreContractTests : ComplianceStoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.SqliteAsync();
}

public sealed class SqliteMonitorStoreContractTests : MonitorStoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.SqliteAsync();
}

public sealed class SqliteBatchStoreContractTests : BatchStoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.SqliteAsync();
}

public sealed class SqliteResponseStoreContractTests : ResponseStoreContractTests
{
    protected override Task<StoreBackend> CreateBackendAsync() => StoreBackend.SqliteAsync();
}

/// <summary>What only the SQLite file has: its folder, WAL mode, and its migrations.</summary>
public sealed class SqliteStoreTests : IAsyncLifetime, IDisposable
{
    private static readonly DateTimeOffset T0 = LedgerSamples.Start;
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly TempDirectory _folder = new();
    private ICorridorStore _store = null!;

    private string DbPath => _folder.File("data/corridor.db");

    public async Task InitializeAsync() => _store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task OpenAsync_CreatesTheFolderAndAWalDatabase()
    {
        Assert.True(File.Exists(DbPath));
        Assert.Equal("wal", await ScalarAsync("PRAGMA journal_mode"));
        Assert.Equal((long)SqliteStore.PageSize, await ScalarAsync("PRAGMA page_size"));
        Assert.Equal(0L, await _store.GetRevisionAsync(None).WithTimeout());
    }

    [Fact]
    public async Task MigrateAsync_Twice_IsANoOp()
    {
        await _store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var revision = await _store.GetRevisionAsync(None).WithTimeout();

        await _store.MigrateAsync(None).WithTimeout();
        await using (var again = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout())
        {
            await again.MigrateAsync(None).WithTimeout();
        }

        Assert.Equal((long)SqliteMigrations.All.Count, await ScalarAsync("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal(revision, await _store.GetRevisionAsync(None).WithTimeout());
        Assert.NotNull(await _store.GetTenantAsync("acme", None).WithTimeout());
    }

    [Fact]
    public async Task MigrateAsync_RefusesADatabaseFromANewerCorridor()
    {
        await ScalarAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");

        var error = await Assert.ThrowsAsync<CorridorStoreException>(() => _store.MigrateAsync(None)).WithTimeout();

        Assert.Equal(StoreError.SchemaTooNew, error.Error);
        Assert.Contains("999", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A step SQLite refuses is reported as PostgreSQL's are: which migration, rolled back, the version the schema stays at.</summary>
    [Fact]
    public async Task AMigrationSqliteRefuses_IsMigrationFailed_NamingTheStep_TheSchemaUnchanged()
    {
        var path = _folder.File("refused.db");
        var latest = SqliteMigrations.All[^1];
        await using (var connection = await CreateFileAtVersionAsync(path, latest.Version))
        {
            // Says it is a step behind, but has that step's tables and columns already: the step cannot run again.
            using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM schema_migrations WHERE version = {latest.Version}";
            await command.ExecuteNonQueryAsync().WithTimeout();
        }

        var error = await Assert.ThrowsAsync<CorridorStoreException>(() => CorridorStores.OpenAsync(new StorageOptions(path), None)).WithTimeout();

        Assert.Equal(StoreError.MigrationFailed, error.Error);
        Assert.Contains($"Schema migration {latest.Version} ({latest.Name}) failed and was rolled back", error.Message, StringComparison.Ordinal);
        Assert.Contains($"unchanged at version {latest.Version - 1}", error.Message, StringComparison.Ordinal);
        Assert.Contains("SQLite said: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migration2_OnADatabaseCreatedByMigration1_KeepsTenantsWithProfileDefaults()
    {
        var path = _folder.File("old.db");
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync().WithTimeout();
            using var command = connection.CreateCommand();
            command.CommandText = $"""
                CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT;
                {SqliteMigrations.All[0].Sql}
                INSERT INTO schema_migrations VALUES (1, '{SqliteMigrations.All[0].Name}', 0);
                INSERT INTO tenants (id, legal_name, country, created_at) VALUES ('old', 'Old Trading Ltd.', 'DE', {T0.ToUnixTimeMilliseconds()});
                """;
            await command.ExecuteNonQueryAsync().WithTimeout();
        }

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(path), None).WithTimeout();

        // A file made before keeps SQLite's default page size: only an empty file takes the store's.
        await using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await connection.OpenAsync().WithTimeout();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA page_size";
            Assert.Equal(4096L, await command.ExecuteScalarAsync().WithTimeout());
        }
        Assert.Equal(new Tenant("old", "Old Trading Ltd.", "DE", T0), await store.GetTenantAsync("old", None).WithTimeout());
        var old = (await store.GetTenantAsync("old", None).WithTimeout())!;
        Assert.Equal((EntityType.Enterprise, VettingTier.Unverified, DeniedPartyStatus.Clear), (old.EntityType, old.Tier, old.DeniedParty));
        Assert.True(await store.UpdateTenantAsync(FullTenant("old"), [], None).WithTimeout());
        Assert.Equal(FullTenant("old"), await store.GetTenantAsync("old", None).WithTimeout());
        Assert.Empty(await store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());
        Assert.Empty((await store.GetDeniedPartyListAsync(None).WithTimeout()).Entries);
    }

    [Fact]
    public async Task LedgerRows_WhoseDescriptionsChangeOrNot_FromRowToRowAndBatchToBatch_AreStoredAsWritten()
    {
        // The insert binds a row's tenant, model, status, client and the like only when they differ from the row before
        // (LedgerRows.Dimension): every change is here, to and from null, within a batch and across batches.
        var full = LedgerJournalTests.FullEntry("req-0");
        LedgerEntry[] rows =
        [
            full,
            full with { RequestId = "req-1" },
            full with { RequestId = "req-2", TenantId = null, KeyId = null, ErrorCode = "upstream_error", Status = 502, Outcome = RequestOutcome.UpstreamError },
            full with { RequestId = "req-3", TenantId = "globex", Estimated = false, Billable = false, ClientIp = null, FinishReason = "stop" },
            full with { RequestId = "req-4", Model = "deepseek-v4", Vendor = "deepseek", ShadowOf = "req-3", UserAgent = null },
        ];
        LedgerEntry[] next =
        [
            full with { RequestId = "req-5" },
            full with { RequestId = "req-6", Region = null, DeploymentId = null, Endpoint = "/v1/chat/completions" },
            full with { RequestId = "req-7", Vendor = "deepseek", FinishReason = "length" },
        ];

        await _store.AppendLedgerAsync(rows, None).WithTimeout();
        await _store.AppendLedgerAsync(next, None).WithTimeout();

        var stored = await _store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync();
        Assert.Equal([.. rows, .. next], stored.OrderBy(r => r.RequestId, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Ledger_HasOnlyTheIndexesItsQueriesRead()
    {
        // Every index is a B-tree insert for every row of every request: time ranges, one tenant's range, the request id's key.
        // But one: the batch rows' index (what a batch cost) holds no live request's row, whose batch_id is null.
        Assert.Equal("ix_ledger_batch_id ix_ledger_tenant_id_time ix_ledger_time sqlite_autoindex_ledger_1",
            await ScalarAsync("SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger' ORDER BY name)"));
        Assert.EndsWith("ON ledger (batch_id) WHERE batch_id IS NOT NULL", (string)(await ScalarAsync("SELECT sql FROM sqlite_master WHERE name = 'ix_ledger_batch_id'"))!,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecentTenantRequests_AreReadDownTheTimeIndex_NotSortedFromEveryRow()
    {
        // policy diff's read: what it costs is the rows it returns, which a sort of every known tenant's row would not be.
        await using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        await connection.OpenAsync().WithTimeout();
        using var command = connection.CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + SqliteStore.RecentTenantRequestsSql;
        command.Parameters.AddWithValue("$count", 1000);
        var plan = new List<string>();
        using (var reader = await command.ExecuteReaderAsync().WithTimeout())
        {
            while (await reader.ReadAsync().WithTimeout())
            {
                plan.Add(reader.GetString(3));
            }
        }

        Assert.Contains("SCAN ledger USING INDEX ix_ledger_time", plan);
        Assert.DoesNotContain(plan, step => step.Contains("TEMP B-TREE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RevenueMigration_BillsEarlierRowsAtCost()
    {
        // Back to version 7: the steps after it are undone and run again.
        await ExecuteAsync("DELETE FROM schema_migrations WHERE version >= 8");
        await ExecuteAsync("DROP TRIGGER enforcement_insert_revision; DROP TRIGGER enforcement_update_revision; DROP TRIGGER enforcement_delete_revision");
        await ExecuteAsync("DROP TABLE shadow_results");
        await ExecuteAsync("DROP TABLE usage_daily");
        await ExecuteAsync("DROP TABLE files; DROP TABLE batches; DROP TABLE batch_items");
        await ExecuteAsync("DROP TABLE gateway_secrets");
        await ExecuteAsync("DROP TABLE responses");
        await ExecuteAsync("ALTER TABLE api_keys DROP COLUMN expires_at");
        await ExecuteAsync("ALTER TABLE enforcement DROP COLUMN members");
        await ExecuteAsync("ALTER TABLE ledger DROP COLUMN revenue");
        await ExecuteAsync("ALTER TABLE ledger DROP COLUMN shadow_of");
        await ExecuteAsync("ALTER TABLE ledger DROP COLUMN cache_read_tokens");
        await ExecuteAsync("ALTER TABLE ledger DROP COLUMN cache_write_tokens");
        await ExecuteAsync("DROP INDEX ix_ledger_batch_id");
        await ExecuteAsync("ALTER TABLE ledger DROP COLUMN batch_id");
        await ExecuteAsync("CREATE INDEX ledger_decision ON ledger (decision_id) WHERE decision_id IS NOT NULL");
        await ExecuteAsync("""
            INSERT INTO ledger (request_id, time, model, endpoint, status, outcome, input_tokens, output_tokens, cost, estimated, latency_ms, billable)
            VALUES ('old-1', 0, 'gpt-4.1', '/v1/chat/completions', 200, 'Success', 1, 1, '0.0000123', 0, 1, 1),
                   ('old-2', 1, 'gpt-4.1', '/v1/chat/completions', 400, 'ClientError', 0, 0, '0', 0, 1, 0)
            """);

        await _store.MigrateAsync(None).WithTimeout();

        var rows = await _store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync();
        Assert.Equal([("old-1", 0.0000123m), ("old-2", 0m)], rows.Select(r => (r.RequestId, r.Revenue)));
    }

    [Fact]
    public async Task LedgerWrittenWithoutPause_KeepsTheWalShort()
    {
        // Batches back to back, as the ledger writer commits at saturation: a commit lands during every background
        // checkpoint. Without the restart the WAL never starts over and holds every batch written (about 100 MB here:
        // each small commit rewrites the last page of the table and of each index).
        const long restartFrames = 256;
        const int rows = 40_000;
        var path = _folder.File("busy/corridor.db");
        // Each batch its own transaction, as when another store holds the ledger journal (with it, batches reach SQLite
        // in passes a few milliseconds apart).
        using var journalHeld = LedgerJournalLock.Hold(path);
        await using var store = new SqliteStore(path, null, fullSync: false, TimeSpan.FromMilliseconds(10), restartFrames);
        await store.MigrateAsync(None).WithTimeout();
        Assert.False(store.Journaled);
        await store.AppendLedgerAsync([LedgerSamples.Entry("req-first")], None).WithTimeout();
        await Task.Delay(200); // the checkpoint's loop has started (it starts with the first batch)

        // On a thread of its own: the loop never yields, and the checkpoint needs a thread-pool thread (the test host has
        // few). Four thousand commits took more than TestTimeouts.Default at a load average of 30 on 2 cores.
        var largest = await Task.Factory.StartNew(
            () =>
            {
                var largest = 0L;
                for (var written = 0; written < rows; written += 10)
                {
                    var batch = Enumerable.Range(written, 10).Select(i => LedgerSamples.Entry($"req-{i:D8}", T0.AddMilliseconds(i))).ToList();
                    store.AppendLedgerAsync(batch, None).GetAwaiter().GetResult();
                    largest = Math.Max(largest, new FileInfo(path + "-wal").Length);
                }
                return largest;
            },
            None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default).WaitAsync(TestTimeouts.Bulk);

        // The WAL stays within some restart lengths (pages plus frame headers), with room for a machine so busy that
        // the checkpoint's thread waits for a core while the batches go on. (Before the restart went ahead of the next
        // batch, back-to-back batches kept taking the turn from it: 18–46 MB in four runs beside the other store tests,
        // against 8–12 MB since, both with 4 KiB pages.)
        Assert.True(largest < 32 * restartFrames * (SqliteStore.PageSize + 24), $"the WAL reached {largest:N0} bytes");
        Assert.Equal(rows + 1, (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
    }

    /// <summary>
    /// A backup taken while another store (a gateway) keeps writing ledger rows: the writer is not held, the copy reads back
    /// whole and holds every row committed before it began (and none twice); nothing is written beside the copy.
    /// </summary>
    [Fact]
    public async Task Backup_WhileAnotherStoreWritesLedgerRows_IsAWholeCopy_OfAtLeastWhatWasCommittedBeforeIt()
    {
        await using var writer = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();
        await writer.AppendLedgerAsync(Enumerable.Range(0, 500).Select(i => LedgerSamples.Entry($"before-{i:D4}", T0.AddMilliseconds(i))).ToList(), None).WithTimeout();
        using var stop = new CancellationTokenSource();
        var during = 0;
        var writing = Task.Factory.StartNew(
            () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    writer.AppendLedgerAsync([LedgerSamples.Entry($"during-{during:D6}", T0.AddSeconds(1).AddMilliseconds(during))], None).GetAwaiter().GetResult();
                    during++;
                }
            },
            None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        await TestTimeouts.UntilAsync(() => Task.FromResult(Volatile.Read(ref during) > 10));

        var copy = _folder.File("backups/corridor-copy.db");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        var backup = await _store.BackupAsync(copy, None).WithTimeout();
        var afterBackup = Volatile.Read(ref during);
        await TestTimeouts.UntilAsync(() => Task.FromResult(Volatile.Read(ref during) > afterBackup + 10));
        await stop.CancelAsync();
        await writing.WaitAsync(TestTimeouts.Default);

        Assert.True(backup.IsSound, $"{backup.Integrity}; {backup.Audit.Problem}");
        Assert.Equal(SqliteMigrations.LatestVersion, backup.SchemaVersion);
        Assert.InRange(backup.LedgerRows, 500 + 10, 500 + during);
        await using (var connection = new SqliteConnection($"Data Source={copy};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*), COUNT(DISTINCT request_id), SUM(request_id LIKE 'before-%') FROM ledger";
            using var reader = command.ExecuteReader();
            reader.Read();
            Assert.Equal(backup.LedgerRows, reader.GetInt64(0));
            Assert.Equal(backup.LedgerRows, reader.GetInt64(1));
            Assert.Equal(500, reader.GetInt64(2));
        }
        Assert.Equal(["corridor-copy.db"], Directory.GetFileSystemEntries(Path.GetDirectoryName(copy)!).Select(Path.GetFileName));
        await Assert.ThrowsAsync<IOException>(() => _store.BackupAsync(copy, None)).WithTimeout();
    }

    [Fact]
    public async Task DailyUsage_IsTheLedgersBillableSums_PerDayTenantAndModel_ThroughTheJournalAndStraightIntoSqlite()
    {
        // Billable rows and not, shadow rows, rows without a tenant, several UTC days, two tenants and models, money of many
        // decimal places (summed as floating point, it would be off); through the journal's passes, a row taken at once, and
        // a store without the journal writing straight into SQLite, with batches that repeat rows already stored. Some of
        // the input tokens were read from the vendor's prompt cache or written to it.
        var rows = WithCacheTokens(MixedRows("r", 60));
        await using var other = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();
        Assert.True(((SqliteStore)_store).Journaled);
        Assert.False(((SqliteStore)other).Journaled);

        await _store.AppendLedgerAsync(rows[..25], None).WithTimeout();
        Assert.True(_store.TryAppendLedger(rows[25]));
        await other.AppendLedgerAsync(rows[20..45], None).WithTimeout();
        await _store.AppendLedgerAsync(rows[40..], None).WithTimeout();
        await other.AppendLedgerAsync(rows[..10], None).WithTimeout();

        Assert.Equal(60, (await _store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
        Assert.Equal(DailySums(rows), await ReadDailyUsageAsync(DbPath));
        Assert.Equal(
            DailySums(rows).GroupBy(d => (d.Tenant, d.Model)).Select(g => new UsageTotal(g.Key.Tenant, g.Key.Model, g.Sum(d => d.Requests),
                g.Sum(d => d.InputTokens), g.Sum(d => d.OutputTokens), g.Sum(d => d.Cost))
            {
                CacheReadTokens = g.Sum(d => d.CacheReadTokens), CacheWriteTokens = g.Sum(d => d.CacheWriteTokens),
            }).OrderBy(t => t.TenantId, StringComparer.Ordinal).ThenBy(t => t.Model, StringComparer.Ordinal),
            await _store.GetUsageTotalsAsync(null, null, null, None).WithTimeout());
    }

    [Fact]
    public async Task DailyUsageMigration_OnADatabaseMadeBeforeIt_FillsTheTotalsFromTheLedger_AndLaterRowsAddToThem()
    {
        // A file as migration 11 left it, its ledger holding rows of every kind.
        var path = _folder.File("before/corridor.db");
        var rows = MixedRows("old", 80);
        await using (var connection = await CreateFileAtVersionAsync(path, 11))
        {
            foreach (var row in rows)
            {
                await InsertLedgerRowAsync(connection, row);
            }
        }

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(path), None).WithTimeout();

        Assert.Equal(DailySums(rows), await ReadDailyUsageAsync(path));
        var first = rows.First(r => r.Billable && r.TenantId is not null);
        var later = LedgerSamples.Entry("new-1", first.Time, first.TenantId, model: first.Model, inputTokens: 1, outputTokens: 2, cost: 0.000000000000000001m);
        await store.AppendLedgerAsync([later], None).WithTimeout();
        Assert.Equal(81, (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
        Assert.Equal(DailySums([.. rows, later]), await ReadDailyUsageAsync(path));
    }

    [Fact]
    public async Task CacheTokensMigration_OnADatabaseMadeBeforeIt_AddsTheLedgersCacheTokensToTheTotals_AndLaterRowsAddToThem()
    {
        // A file as migration 13 left it: its ledger has rows with cache tokens (since migration 13), and its daily totals
        // what the ledger's writer kept of them then, without the cache tokens (summed here).
        var path = _folder.File("before-cache/corridor.db");
        var rows = WithCacheTokens(MixedRows("old", 80));
        await using (var connection = await CreateFileAtVersionAsync(path, 13))
        {
            foreach (var row in rows)
            {
                await InsertLedgerRowAsync(connection, row, cacheTokens: true);
            }

            foreach (var sums in DailySums(rows))
            {
                using var insert = connection.CreateCommand();
                insert.CommandText = """
                    INSERT INTO usage_daily (tenant_id, day, model, requests, input_tokens, output_tokens, cost)
                    VALUES ($tenant, $day, $model, $requests, $input, $output, $cost)
                    """;
                insert.Parameters.AddWithValue("$tenant", sums.Tenant);
                insert.Parameters.AddWithValue("$day", sums.Day);
                insert.Parameters.AddWithValue("$model", sums.Model);
                insert.Parameters.AddWithValue("$requests", sums.Requests);
                insert.Parameters.AddWithValue("$input", sums.InputTokens);
                insert.Parameters.AddWithValue("$output", sums.OutputTokens);
                insert.Parameters.AddWithValue("$cost", sums.Cost.ToString(System.Globalization.CultureInfo.InvariantCulture));
                await insert.ExecuteNonQueryAsync().WithTimeout();
            }
        }

        await using var store = await CorridorStores.OpenAsync(new StorageOptions(path), None).WithTimeout();

        Assert.Contains(DailySums(rows), d => d.CacheReadTokens > 0 && d.CacheWriteTokens > 0);
        Assert.Equal(DailySums(rows), await ReadDailyUsageAsync(path));
        var first = rows.First(r => r.Billable && r.TenantId is not null);
        var later = LedgerSamples.Entry("new-1", first.Time, first.TenantId, model: first.Model, inputTokens: 1000, outputTokens: 2) with
        {
            CacheReadTokens = 600, CacheWriteTokens = 300,
        };
        await store.AppendLedgerAsync([later], None).WithTimeout();
        Assert.Equal(81, (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count); // through the journal's pass
        Assert.Equal(DailySums([.. rows, later]), await ReadDailyUsageAsync(path));
        var day = new DateTimeOffset(first.Time.UtcDateTime.Date, TimeSpan.Zero);
        var total = Assert.Single(await store.GetUsageTotalsAsync(day, day.AddDays(1), first.TenantId, None).WithTimeout(), t => t.Model == first.Model);
        var expected = DailySums([.. rows, later]).Single(d => d.Tenant == first.TenantId && d.Day == day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) && d.Model == first.Model);
        Assert.Equal((expected.CacheReadTokens, expected.CacheWriteTokens), (total.CacheReadTokens, total.CacheWriteTokens));
    }

    /// <summary>A new file at <paramref name="path"/> as the steps up to <paramref name="version"/> left it (their SQL, on an empty ledger), open.</summary>
    private static async Task<SqliteConnection> CreateFileAtVersionAsync(string path, int version)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync().WithTimeout();
        using var command = connection.CreateCommand();
        command.CommandText = "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT;"
            + string.Concat(SqliteMigrations.All.Where(m => m.Version <= version).Select(m => $"{m.Sql}\nINSERT INTO schema_migrations VALUES ({m.Version}, 'before', 0);"));
        await command.ExecuteNonQueryAsync().WithTimeout();
        return connection;
    }

    /// <summary><paramref name="rows"/> with some of their input tokens read from the vendor's prompt cache and some written to it (neither, on some).</summary>
    private static List<LedgerEntry> WithCacheTokens(List<LedgerEntry> rows) =>
        [.. rows.Select((r, i) => r with { CacheReadTokens = i % 4 == 0 ? 0 : r.InputTokens / 2, CacheWriteTokens = i % 3 == 0 ? 0 : r.InputTokens / 5 })];

    /// <summary>Rows every 97 minutes from 90 minutes before a midnight: billable or not, shadow, without a tenant, two tenants and models, costs of up to 20 decimal places.</summary>
    private static List<LedgerEntry> MixedRows(string prefix, int count)
    {
        var midnight = new DateTimeOffset(2026, 6, 2, 0, 0, 0, TimeSpan.Zero);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var tenant = (i % 7) switch { 0 => null, 1 or 2 => "zeta", _ => "acme" };
            var row = LedgerSamples.Entry($"{prefix}-{i}", midnight.AddMinutes(-90 + 97 * i), tenant, tenant is null ? null : "key_0000000000000001",
                model: i % 3 == 0 ? "deepseek-v4" : "gpt-4.1", inputTokens: 10 * i, outputTokens: i, cost: Math.Round(1m / (i + 3), 20), billable: i % 5 != 4);
            return i % 11 == 5 ? row with { Billable = false, ShadowOf = $"{prefix}-0", Revenue = 0m } : row with { Revenue = row.Cost * 1.2m };
        })];
    }

    /// <summary>What <c>usage_daily</c> must hold for <paramref name="rows"/>, summed here: billable rows with a tenant, per UTC day, tenant and model.</summary>
    private static List<(string Tenant, string Day, string Model, long Requests, long InputTokens, long OutputTokens, decimal Cost, long CacheReadTokens, long CacheWriteTokens)> DailySums(IEnumerable<LedgerEntry> rows) =>
    [
        .. rows.Where(r => r.Billable && r.TenantId is not null)
            .GroupBy(r => (Tenant: r.TenantId!, Day: r.Time.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), r.Model))
            .Select(g => (g.Key.Tenant, g.Key.Day, g.Key.Model, (long)g.Count(), g.Sum(r => r.InputTokens), g.Sum(r => r.OutputTokens), g.Sum(r => r.Cost),
                g.Sum(r => r.CacheReadTokens), g.Sum(r => r.CacheWriteTokens)))
            .OrderBy(d => d.Tenant, StringComparer.Ordinal).ThenBy(d => d.Day, StringComparer.Ordinal).ThenBy(d => d.Model, StringComparer.Ordinal),
    ];

    private static async Task<List<(string Tenant, string Day, string Model, long Requests, long InputTokens, long OutputTokens, decimal Cost, long CacheReadTokens, long CacheWriteTokens)>> ReadDailyUsageAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync().WithTimeout();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT tenant_id, day, model, requests, input_tokens, output_tokens, cost, cache_read_tokens, cache_write_tokens
            FROM usage_daily ORDER BY tenant_id, day, model
            """;
        var daily = new List<(string, string, string, long, long, long, decimal, long, long)>();
        using var reader = await command.ExecuteReaderAsync().WithTimeout();
        while (await reader.ReadAsync().WithTimeout())
        {
            daily.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5),
                decimal.Parse(reader.GetString(6), System.Globalization.CultureInfo.InvariantCulture), reader.GetInt64(7), reader.GetInt64(8)));
        }

        return daily;
    }

    /// <summary>
    /// Inserts a ledger row as a Corridor before the daily totals did: the row alone; with its cache tokens when
    /// <paramref name="cacheTokens"/> (the ledger has their columns since migration 13).
    /// </summary>
    private static async Task InsertLedgerRowAsync(SqliteConnection connection, LedgerEntry row, bool cacheTokens = false)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO ledger (request_id, time, tenant_id, key_id, model, endpoint, status, outcome, input_tokens, output_tokens, cost,
                estimated, latency_ms, billable, revenue, shadow_of{(cacheTokens ? ", cache_read_tokens, cache_write_tokens" : "")})
            VALUES ($id, $time, $tenant, $key, $model, $endpoint, $status, $outcome, $input, $output, $cost, 0, $latency, $billable, $revenue, $shadow_of{(cacheTokens ? ", $cache_read, $cache_write" : "")})
            """;
        if (cacheTokens)
        {
            command.Parameters.AddWithValue("$cache_read", row.CacheReadTokens);
            command.Parameters.AddWithValue("$cache_write", row.CacheWriteTokens);
        }

        command.Parameters.AddWithValue("$id", row.RequestId);
        command.Parameters.AddWithValue("$time", row.Time.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$tenant", (object?)row.TenantId ?? DBNull.Value);
        command.Parameters.AddWithValue("$key", (object?)row.KeyId ?? DBNull.Value);
        command.Parameters.AddWithValue("$model", row.Model);
        command.Parameters.AddWithValue("$endpoint", row.Endpoint);
        command.Parameters.AddWithValue("$status", row.Status);
        command.Parameters.AddWithValue("$outcome", RequestOutcomes.Name(row.Outcome));
        command.Parameters.AddWithValue("$input", row.InputTokens);
        command.Parameters.AddWithValue("$output", row.OutputTokens);
        command.Parameters.AddWithValue("$cost", row.Cost.ToString(System.Globalization.CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$latency", row.LatencyMs);
        command.Parameters.AddWithValue("$billable", row.Billable ? 1 : 0);
        command.Parameters.AddWithValue("$revenue", row.Revenue.ToString(System.Globalization.CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$shadow_of", (object?)row.ShadowOf ?? DBNull.Value);
        await command.ExecuteNonQueryAsync().WithTimeout();
    }

    private static Tenant Tenant(string id) => new(id, id + " Ltd.", "SG", T0);

    private static Tenant FullTenant(string id) => ComplianceStoreContractTests.FullTenant(id);

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        await connection.OpenAsync().WithTimeout();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync().WithTimeout();
    }

    private async Task ExecuteAsync(string sql) => await ScalarAsync(sql);
}
