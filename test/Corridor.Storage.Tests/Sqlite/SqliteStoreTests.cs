using Corridor.Core.Admission;
using Corridor.Core.Metering;
using Corridor.Core.Shadow;
using Corridor.Core.Tenants;
using Corridor.Storage.Sqlite;
using Corridor.Testing;
using Corridor.Testing.Storage;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Tests.Sqlite;

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
        await ExecuteAsync("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");

        var error = await Assert.ThrowsAsync<CorridorStoreException>(() => _store.MigrateAsync(None)).WithTimeout();

        Assert.Equal(StoreError.SchemaTooNew, error.Error);
        Assert.Contains("999", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tenants_RoundTrip()
    {
        await _store.AddTenantAsync(new Tenant("zeta", "Zeta GmbH", "DE", T0.AddMinutes(1)), None).WithTimeout();
        await _store.AddTenantAsync(new Tenant("acme", "Acme Logistics Pte. Ltd.", "SG", T0), None).WithTimeout();

        Assert.Equal(new Tenant("acme", "Acme Logistics Pte. Ltd.", "SG", T0), await _store.GetTenantAsync("acme", None).WithTimeout());
        Assert.Null(await _store.GetTenantAsync("nobody", None).WithTimeout());
        Assert.Equal(["acme", "zeta"], (await _store.ListTenantsAsync(None).WithTimeout()).Select(t => t.Id));
    }

    [Fact]
    public async Task Limits_RoundTripExactly_MoveTheRevision_AndAnEmptySetRemovesTheRow()
    {
        await _store.AddTenantAsync(new Tenant("acme", "Acme Logistics Pte. Ltd.", "SG", T0), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await _store.AddKeyAsync(key, None).WithTimeout();
        var tenantLimits = new Limits { RequestsPerMinute = 600, TokensPerMinute = 2_000_000, DailyHardBudget = 250.50m, DailySoftBudget = 200.125m };
        var keyLimits = new Limits { ConcurrentStreams = 3, MonthlyHardBudget = 0.000001m, MonthlySoftBudget = 0m };
        var revision = await _store.GetRevisionAsync(None).WithTimeout();

        Assert.True(await _store.SetLimitsAsync(new SubjectLimits(LimitScope.Tenant, "acme", tenantLimits), [], None).WithTimeout());
        Assert.True(await _store.SetLimitsAsync(new SubjectLimits(LimitScope.Key, key.Id, keyLimits), [], None).WithTimeout());
        Assert.False(await _store.SetLimitsAsync(new SubjectLimits(LimitScope.Key, "key_unknown", keyLimits), [], None).WithTimeout());
        Assert.False(await _store.SetLimitsAsync(new SubjectLimits(LimitScope.Tenant, key.Id, keyLimits), [], None).WithTimeout());

        Assert.True(await _store.GetRevisionAsync(None).WithTimeout() > revision);
        var stored = await _store.ListLimitsAsync(None).WithTimeout();
        Assert.Equal([new SubjectLimits(LimitScope.Key, key.Id, keyLimits), new SubjectLimits(LimitScope.Tenant, "acme", tenantLimits)], stored);
        Assert.Equal("250.50", stored[1].Limits.DailyHardBudget!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(await _store.SetLimitsAsync(new SubjectLimits(LimitScope.Key, key.Id, Limits.None), [], None).WithTimeout());
        Assert.Equal(["acme"], (await _store.ListLimitsAsync(None).WithTimeout()).Select(l => l.Id));
    }

    [Fact]
    public async Task AddTenant_WithATakenId_FailsWithADuplicateError()
    {
        await _store.AddTenantAsync(Tenant("acme"), None).WithTimeout();

        var error = await Assert.ThrowsAsync<CorridorStoreException>(() => _store.AddTenantAsync(Tenant("acme"), None)).WithTimeout();

        Assert.Equal(StoreError.Duplicate, error.Error);
        Assert.Contains("'acme' already exists", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_RoundTrip_ByIdAndByTenant()
    {
        await _store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        await _store.AddTenantAsync(Tenant("zeta"), None).WithTimeout();
        var first = ApiKeys.Create("acme", T0, "ci").Key;
        var second = ApiKeys.Create("acme", T0.AddSeconds(1)).Key;
        var other = ApiKeys.Create("zeta", T0).Key;
        foreach (var key in new[] { second, other, first })
        {
            await _store.AddKeyAsync(key, None).WithTimeout();
        }

        Assert.Equal(first, await _store.GetKeyAsync(first.Id, None).WithTimeout());
        Assert.Null(await _store.GetKeyAsync("key_ffffffffffffffff", None).WithTimeout());
        Assert.Equal([first, second], await _store.ListKeysAsync("acme", None).WithTimeout());
        Assert.Equal([first, second, other], await _store.ListKeysAsync(null, None).WithTimeout());
    }

    [Fact]
    public async Task AddKey_ForAnUnknownTenant_FailsWithAnUnknownTenantError()
    {
        var error = await Assert.ThrowsAsync<CorridorStoreException>(
            () => _store.AddKeyAsync(ApiKeys.Create("ghost", T0).Key, None)).WithTimeout();

        Assert.Equal(StoreError.UnknownTenant, error.Error);
        Assert.Contains("'ghost'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddKey_WithATakenHash_FailsWithADuplicateError()
    {
        await _store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await _store.AddKeyAsync(key, None).WithTimeout();

        var error = await Assert.ThrowsAsync<CorridorStoreException>(
            () => _store.AddKeyAsync(key with { Id = ApiKeys.NewKeyId() }, None)).WithTimeout();

        Assert.Equal(StoreError.Duplicate, error.Error);
    }

    [Fact]
    public async Task RevokeKey_RevokesOnlyThatKey_AndKeepsTheFirstRevocationTime()
    {
        await _store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var revoked = ApiKeys.Create("acme", T0).Key;
        var kept = ApiKeys.Create("acme", T0).Key;
        await _store.AddKeyAsync(revoked, None).WithTimeout();
        await _store.AddKeyAsync(kept, None).WithTimeout();

        Assert.True(await _store.RevokeKeyAsync(revoked.Id, T0.AddHours(1), None).WithTimeout());
        var revision = await _store.GetRevisionAsync(None).WithTimeout();
        Assert.True(await _store.RevokeKeyAsync(revoked.Id, T0.AddHours(2), None).WithTimeout());
        Assert.False(await _store.RevokeKeyAsync("key_ffffffffffffffff", T0, None).WithTimeout());

        Assert.Equal(T0.AddHours(1), (await _store.GetKeyAsync(revoked.Id, None).WithTimeout())!.RevokedAt);
        Assert.Null((await _store.GetKeyAsync(kept.Id, None).WithTimeout())!.RevokedAt);
        Assert.NotNull(await _store.GetTenantAsync("acme", None).WithTimeout());
        Assert.Equal(revision, await _store.GetRevisionAsync(None).WithTimeout());
    }

    [Fact]
    public async Task TouchKeys_KeepsTheLatestUse_AndLeavesTheRevisionAlone()
    {
        await _store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await _store.AddKeyAsync(key, None).WithTimeout();
        var revision = await _store.GetRevisionAsync(None).WithTimeout();

        await _store.TouchKeysAsync([new(key.Id, T0.AddMinutes(5)), new("key_ffffffffffffffff", T0)], None).WithTimeout();
        await _store.TouchKeysAsync([new(key.Id, T0.AddMinutes(3))], None).WithTimeout();

        Assert.Equal(T0.AddMinutes(5), (await _store.GetKeyAsync(key.Id, None).WithTimeout())!.LastUsedAt);
        Assert.Equal(revision, await _store.GetRevisionAsync(None).WithTimeout());
    }

    [Fact]
    public async Task Revision_MovesAfterAWriteThroughASecondStoreOnTheSameFile()
    {
        await using var other = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();
        var start = await _store.GetRevisionAsync(None).WithTimeout();

        await other.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var afterTenant = await _store.GetRevisionAsync(None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await other.AddKeyAsync(key, None).WithTimeout();
        var afterKey = await _store.GetRevisionAsync(None).WithTimeout();
        await other.RevokeKeyAsync(key.Id, T0, None).WithTimeout();
        var afterRevoke = await _store.GetRevisionAsync(None).WithTimeout();

        Assert.True(afterTenant > start);
        Assert.True(afterKey > afterTenant);
        Assert.True(afterRevoke > afterKey);
    }

    [Fact]
    public async Task Revision_MovesWhenTheTablesAreChangedDirectly()
    {
        await _store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var before = await _store.GetRevisionAsync(None).WithTimeout();

        await ExecuteAsync("UPDATE tenants SET legal_name = 'Acme 2' WHERE id = 'acme'");

        Assert.True(await _store.GetRevisionAsync(None).WithTimeout() > before);
    }

    [Fact]
    public async Task AppendLedger_RoundTripsEveryField()
    {
        var full = new LedgerEntry(
            "r-1", T0.AddMilliseconds(123), "acme", "key_0000000000000001", "gpt-4.1", "/v1/chat/completions",
            "gpt-4.1-sg", "sg", 200, RequestOutcome.Success, 182, 240, 0.00123456789m, true, 812, true,
            "none", "203.0.113.7", "openai-python/1.40.0", """{"model":"gpt-4.1"}""", "Hello", "stop")
        {
            Vendor = "openai",
            DecisionId = "dec_1",
            Revenue = 0.001851851851m,
            ShadowOf = "req_primary",
        };
        var sparse = LedgerSamples.Entry("r-2", T0.AddSeconds(1), tenantId: null, keyId: null, billable: false) with { ErrorCode = "invalid_api_key" };

        await _store.AppendLedgerAsync([full, sparse], None).WithTimeout();

        Assert.Equal([full, sparse], await _store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task AppendLedger_IgnoresRequestIdsAlreadyStored()
    {
        var batch = Enumerable.Range(0, 300).Select(i => LedgerSamples.Entry($"r-{i}", T0.AddSeconds(i))).ToList();

        await _store.AppendLedgerAsync(batch, None).WithTimeout();
        await _store.AppendLedgerAsync(batch, None).WithTimeout();
        await _store.AppendLedgerAsync([batch[0] with { Cost = 99m }, LedgerSamples.Entry("r-new", T0)], None).WithTimeout();

        var rows = await _store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync();
        Assert.Equal(301, rows.Count);
        Assert.Equal(0.001m, rows.Single(r => r.RequestId == "r-0").Cost);
        Assert.Equal(301, (await _store.GetUsageTotalsAsync(null, null, None).WithTimeout()).Single().Requests);
    }

    [Fact]
    public async Task AppendLedger_WithAnInvalidRow_FailsTheWholeBatchInsteadOfDroppingTheRow()
    {
        var batch = new[] { LedgerSamples.Entry("r-1"), LedgerSamples.Entry("r-2", model: null!) };

        await Assert.ThrowsAnyAsync<Exception>(() => _store.AppendLedgerAsync(batch, None)).WithTimeout();

        Assert.Empty(await _store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task AppendLedger_FromConcurrentWriters_KeepsEveryRow()
    {
        await using var other = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();
        var writes = Enumerable.Range(0, 8).Select(w => (w % 2 == 0 ? _store : other).AppendLedgerAsync(
            [.. Enumerable.Range(0, 100).Select(i => LedgerSamples.Entry($"w{w}-{i}", T0.AddMilliseconds(i)))], None));

        await Task.WhenAll(writes).WithTimeout();

        Assert.Equal(800, (await _store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
    }

    [Fact]
    public async Task UsageTotals_AreExactDecimalSums()
    {
        await _store.AppendLedgerAsync(
        [
            LedgerSamples.Entry("r-1", cost: 0.1m),
            LedgerSamples.Entry("r-2", cost: 0.2m),
            LedgerSamples.Entry("r-3", cost: 0.000000001m),
        ], None).WithTimeout();

        var total = Assert.Single(await _store.GetUsageTotalsAsync(null, null, None).WithTimeout());

        Assert.Equal(0.300000001m, total.Cost);
        Assert.Equal("0.300000001", total.Cost.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task UsageTotals_GroupBillableRowsByTenantAndModel()
    {
        await _store.AppendLedgerAsync(
        [
            LedgerSamples.Entry("r-1", tenantId: "zeta", model: "gpt-4.1", inputTokens: 10, outputTokens: 1, cost: 1m),
            LedgerSamples.Entry("r-2", tenantId: "acme", model: "gpt-4.1", inputTokens: 20, outputTokens: 2, cost: 2m),
            LedgerSamples.Entry("r-3", tenantId: "acme", model: "deepseek-v4", inputTokens: 30, outputTokens: 3, cost: 3m),
            LedgerSamples.Entry("r-4", tenantId: "acme", model: "gpt-4.1", inputTokens: 40, outputTokens: 4, cost: 4m),
            LedgerSamples.Entry("r-5", tenantId: "acme", model: "gpt-4.1", inputTokens: 500, outputTokens: 5, cost: 50m, billable: false),
            LedgerSamples.Entry("r-6", tenantId: null, keyId: null, billable: false),
        ], None).WithTimeout();

        var totals = await _store.GetUsageTotalsAsync(null, null, None).WithTimeout();

        Assert.Equal(
        [
            new UsageTotal("acme", "deepseek-v4", 1, 30, 3, 3m),
            new UsageTotal("acme", "gpt-4.1", 2, 60, 6, 6m),
            new UsageTotal("zeta", "gpt-4.1", 1, 10, 1, 1m),
        ], totals);
    }

    [Fact]
    public async Task ReadLedger_FiltersFromInclusiveToExclusive_InTimeOrder()
    {
        // Appended out of order; two rows share a time and keep their arrival order.
        await _store.AppendLedgerAsync(
        [
            LedgerSamples.Entry("r-3", T0.AddHours(3)),
            LedgerSamples.Entry("r-1", T0.AddHours(1)),
            LedgerSamples.Entry("r-0", T0),
            LedgerSamples.Entry("r-2a", T0.AddHours(2)),
            LedgerSamples.Entry("r-2b", T0.AddHours(2)),
        ], None).WithTimeout();

        var all = await _store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync();
        var window = await _store.ReadLedgerAsync(T0.AddHours(1), T0.AddHours(3), None).ToListWithTimeoutAsync();
        var since = await _store.ReadLedgerAsync(T0.AddHours(2), null, None).ToListWithTimeoutAsync();
        var until = await _store.ReadLedgerAsync(null, T0.AddHours(1), None).ToListWithTimeoutAsync();

        Assert.Equal(["r-0", "r-1", "r-2a", "r-2b", "r-3"], all.Select(r => r.RequestId));
        Assert.Equal(["r-1", "r-2a", "r-2b"], window.Select(r => r.RequestId));
        Assert.Equal(["r-2a", "r-2b", "r-3"], since.Select(r => r.RequestId));
        Assert.Equal(["r-0"], until.Select(r => r.RequestId));
        var totals = await _store.GetUsageTotalsAsync(T0.AddHours(1), T0.AddHours(3), None).WithTimeout();
        Assert.Equal(3, Assert.Single(totals).Requests);
    }

    [Fact]
    public async Task OpenAsync_WithAPostgresConnectionString_IsNotSupportedYet()
    {
        await Assert.ThrowsAsync<NotSupportedException>(
            () => CorridorStores.OpenAsync(new StorageOptions(DbPath, "Host=localhost"), None)).WithTimeout();
    }

    [Fact]
    public async Task ShadowResults_RoundTripEveryField_InTimeOrder_AndARepeatedIdIsIgnored()
    {
        var compared = new ShadowResult("req_s1", "req_p1", T0.AddSeconds(2), "acme", "gpt-4.1", "deepseek-v4", ShadowOutcome.Compared, null,
            812, 640, 0.00228m, 0.000301m, new Similarity(0.4375, false, 0.8125, true, false));
        var skipped = new ShadowResult("req_s0", "req_p0", T0, null, "gpt-4.1", "deepseek-v4", ShadowOutcome.Skipped, "tier_below_minimum",
            10, null, 0.1m, 0m, null);

        await _store.AppendShadowResultsAsync([compared, skipped], None).WithTimeout();
        await _store.AppendShadowResultsAsync([compared with { PrimaryCost = 99m }], None).WithTimeout();

        Assert.Equal([skipped, compared], await _store.ReadShadowResultsAsync(T0, T0.AddSeconds(3), None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task RevenueMigration_BillsEarlierRowsAtCost()
    {
        await ExecuteAsync("DELETE FROM schema_migrations WHERE version = 8");
        await ExecuteAsync("DROP TABLE shadow_results");
        await ExecuteAsync("ALTER TABLE ledger DROP COLUMN revenue");
        await ExecuteAsync("ALTER TABLE ledger DROP COLUMN shadow_of");
        await ExecuteAsync("""
            INSERT INTO ledger (request_id, time, model, endpoint, status, outcome, input_tokens, output_tokens, cost, estimated, latency_ms, billable)
            VALUES ('old-1', 0, 'gpt-4.1', '/v1/chat/completions', 200, 'Success', 1, 1, '0.0000123', 0, 1, 1),
                   ('old-2', 1, 'gpt-4.1', '/v1/chat/completions', 400, 'ClientError', 0, 0, '0', 0, 1, 0)
            """);

        await _store.MigrateAsync(None).WithTimeout();

        var rows = await _store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync();
        Assert.Equal([("old-1", 0.0000123m), ("old-2", 0m)], rows.Select(r => (r.RequestId, r.Revenue)));
    }

    private static Tenant Tenant(string id) => new(id, id + " Ltd.", "SG", T0);

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
