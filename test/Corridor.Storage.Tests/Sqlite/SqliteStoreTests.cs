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
        Assert.Equal("ix_ledger_tenant_id_time ix_ledger_time sqlite_autoindex_ledger_1",
            await ScalarAsync("SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger' ORDER BY name)"));
    }

    [Fact]
    public async Task RevenueMigration_BillsEarlierRowsAtCost()
    {
        // Back to version 7: the steps after it are undone and run again.
        await ExecuteAsync("DELETE FROM schema_migrations WHERE version >= 8");
        await ExecuteAsync("DROP TRIGGER enforcement_insert_revision; DROP TRIGGER enforcement_update_revision; DROP TRIGGER enforcement_delete_revision");
        await ExecuteAsync("DROP TABLE shadow_results");
        await ExecuteAsync("ALTER TABLE enforcement DROP COLUMN members");
        await ExecuteAsync("ALTER TABLE ledger DROP COLUMN revenue");
        await ExecuteAsync("ALTER TABLE ledger DROP COLUMN shadow_of");
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
        // few).
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
            TaskScheduler.Default).WithTimeout();

        // The WAL stays within some restart lengths (pages plus frame headers), with room for a machine so busy that
        // the checkpoint's thread waits for a core while the batches go on. (Before the restart went ahead of the next
        // batch, back-to-back batches kept taking the turn from it: 18–46 MB in four runs beside the other store tests,
        // against 8–12 MB since, both with 4 KiB pages.)
        Assert.True(largest < 32 * restartFrames * (SqliteStore.PageSize + 24), $"the WAL reached {largest:N0} bytes");
        Assert.Equal(rows + 1, (await store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
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
