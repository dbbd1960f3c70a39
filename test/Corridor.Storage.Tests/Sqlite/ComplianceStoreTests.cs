using Corridor.Core.Audit;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using Corridor.Storage.Sqlite;
using Corridor.Testing;
using Corridor.Testing.Storage;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Tests.Sqlite;

/// <summary>The tenant profile, the audit log and the denied-party list in the SQLite store.</summary>
public sealed class ComplianceStoreTests : IAsyncLifetime, IDisposable
{
    private static readonly DateTimeOffset T0 = LedgerSamples.Start;
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly TempDirectory _folder = new();
    private ICorridorStore _store = null!;

    private string DbPath => _folder.File("corridor.db");

    public async Task InitializeAsync() => _store = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    public void Dispose() => _folder.Dispose();

    private static Tenant FullTenant(string id) => new(id, "Acme Logistics Pte. Ltd.", "SG", T0)
    {
        ControllingCountry = "US",
        EntityType = EntityType.Research,
        Tier = VettingTier.Established,
        VerificationExpiresAt = T0.AddDays(365),
        UseCase = "Support chat for freight customers",
        DeniedParty = DeniedPartyStatus.Cleared,
    };

    private static AuditEntry Entry(string action, string subject, int n = 0) =>
        new(T0.AddSeconds(n), "test", action, subject, AuditDetails.Write(json => json.WriteNumber("n", n)));

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

        Assert.Equal(new Tenant("old", "Old Trading Ltd.", "DE", T0), await store.GetTenantAsync("old", None).WithTimeout());
        var old = (await store.GetTenantAsync("old", None).WithTimeout())!;
        Assert.Equal((EntityType.Enterprise, VettingTier.Unverified, DeniedPartyStatus.Clear), (old.EntityType, old.Tier, old.DeniedParty));
        Assert.True(await store.UpdateTenantAsync(FullTenant("old"), [], None).WithTimeout());
        Assert.Equal(FullTenant("old"), await store.GetTenantAsync("old", None).WithTimeout());
        Assert.Empty(await store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());
        Assert.Empty((await store.GetDeniedPartyListAsync(None).WithTimeout()).Entries);
    }

    [Fact]
    public async Task TheProfile_RoundTripsEveryField()
    {
        var tenant = FullTenant("acme");

        await _store.AddTenantAsync(tenant, None).WithTimeout();

        Assert.Equal(tenant, await _store.GetTenantAsync("acme", None).WithTimeout());
        Assert.Equal([tenant], await _store.ListTenantsAsync(None).WithTimeout());
    }

    [Fact]
    public async Task UpdateTenant_StoresEveryFieldButIdAndCreation_AndMovesTheRevision()
    {
        await _store.AddTenantAsync(new Tenant("acme", "Acme", "SG", T0), None).WithTimeout();
        var revision = await _store.GetRevisionAsync(None).WithTimeout();
        var changed = FullTenant("acme") with { CreatedAt = T0.AddDays(9), VerificationExpiresAt = null, ControllingCountry = null };

        Assert.True(await _store.UpdateTenantAsync(changed, [Entry(AuditActions.TenantUpdate, "acme")], None).WithTimeout());

        Assert.Equal(changed with { CreatedAt = T0 }, await _store.GetTenantAsync("acme", None).WithTimeout());
        Assert.True(await _store.GetRevisionAsync(None).WithTimeout() > revision);
        Assert.Equal(AuditActions.TenantUpdate, Assert.Single(await _store.ReadAuditAsync(1, None).ToListWithTimeoutAsync()).Action);
    }

    [Fact]
    public async Task UpdateTenant_OfAnUnknownTenant_ReturnsFalse_AndAppendsNothing()
    {
        Assert.False(await _store.UpdateTenantAsync(FullTenant("ghost"), [Entry(AuditActions.TenantUpdate, "ghost")], None).WithTimeout());

        Assert.Empty(await _store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task AChangeThatFails_AppendsNoAuditRecord()
    {
        await _store.AddTenantAsync(FullTenant("acme"), [Entry(AuditActions.TenantCreate, "acme")], None).WithTimeout();

        await Assert.ThrowsAsync<CorridorStoreException>(
            () => _store.AddTenantAsync(FullTenant("acme"), [Entry(AuditActions.TenantCreate, "acme", 1)], None)).WithTimeout();
        await Assert.ThrowsAsync<CorridorStoreException>(
            () => _store.AddKeyAsync(ApiKeys.Create("ghost", T0).Key, [Entry(AuditActions.KeyIssue, "key")], None)).WithTimeout();

        Assert.Single(await _store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task RevokeKey_AppendsItsRecordOnlyWhenItRevokes()
    {
        await _store.AddTenantAsync(FullTenant("acme"), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await _store.AddKeyAsync(key, [Entry(AuditActions.KeyIssue, key.Id)], None).WithTimeout();

        Assert.True(await _store.RevokeKeyAsync(key.Id, T0.AddHours(1), [Entry(AuditActions.KeyRevoke, key.Id, 1)], None).WithTimeout());
        Assert.True(await _store.RevokeKeyAsync(key.Id, T0.AddHours(2), [Entry(AuditActions.KeyRevoke, key.Id, 2)], None).WithTimeout());
        Assert.False(await _store.RevokeKeyAsync("key_ffffffffffffffff", T0, [Entry(AuditActions.KeyRevoke, "key_ffffffffffffffff", 3)], None).WithTimeout());

        var records = await _store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal([AuditActions.KeyIssue, AuditActions.KeyRevoke], records.Select(r => r.Action));
        Assert.Equal(T0.AddHours(1), (await _store.GetKeyAsync(key.Id, None).WithTimeout())!.RevokedAt);
    }

    [Fact]
    public async Task AppendAudit_ChainsFromOne_AndReadsFromASequence()
    {
        var first = await _store.AppendAuditAsync([Entry("a", "s", 1), Entry("b", "s", 2)], None).WithTimeout();
        var second = await _store.AppendAuditAsync([Entry("c", "t", 3)], None).WithTimeout();

        var all = await _store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal([.. first, .. second], all);
        Assert.Equal([1L, 2, 3], all.Select(r => r.Sequence));
        Assert.Equal(AuditChain.GenesisHash, all[0].PreviousHash);
        Assert.Equal(all[1].Hash, all[2].PreviousHash);
        Assert.True(AuditVerifier.Verify(all).IsValid);
        Assert.Equal(["c"], (await _store.ReadAuditAsync(3, None).ToListWithTimeoutAsync()).Select(r => r.Action));
    }

    [Fact]
    public async Task SearchAudit_FiltersBySubjectAndAction_AndKeepsTheNewest()
    {
        await _store.AppendAuditAsync([.. Enumerable.Range(1, 6).Select(i => Entry(i % 2 == 0 ? "even" : "odd", i <= 3 ? "low" : "high", i))], None).WithTimeout();

        var newestTwo = await _store.SearchAuditAsync(new AuditQuery(Limit: 2), None).WithTimeout();
        var evenHigh = await _store.SearchAuditAsync(new AuditQuery("high", "even"), None).WithTimeout();

        Assert.Equal([5L, 6], newestTwo.Select(r => r.Sequence));
        Assert.Equal([4L, 6], evenHigh.Select(r => r.Sequence));
    }

    [Fact]
    public async Task ConcurrentAppenders_InTwoStoresOnOneFile_KeepOneValidChain()
    {
        await using var other = await CorridorStores.OpenAsync(new StorageOptions(DbPath), None).WithTimeout();
        const int Batches = 25;
        const int PerBatch = 4;

        async Task AppendManyAsync(ICorridorStore store, string writer)
        {
            for (var b = 0; b < Batches; b++)
            {
                await store.AppendAuditAsync([.. Enumerable.Range(0, PerBatch).Select(i => Entry(writer, $"{writer}-{b}", i))], None);
            }
        }

        await Task.WhenAll(Task.Run(() => AppendManyAsync(_store, "one")), Task.Run(() => AppendManyAsync(other, "two"))).WithTimeout();

        var all = await _store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal(2 * Batches * PerBatch, all.Count);
        Assert.Equal(Enumerable.Range(1, all.Count).Select(i => (long)i), all.Select(r => r.Sequence));
        var result = AuditVerifier.Verify(all);
        Assert.True(result.IsValid, result.Problem?.Message);
        // Each batch landed whole: its records are consecutive.
        Assert.All(all.Chunk(PerBatch), batch => Assert.Single(batch.Select(r => r.Subject).Distinct()));
    }

    [Fact]
    public async Task TheAuditLog_RefusesUpdatesAndDeletes()
    {
        await _store.AppendAuditAsync([Entry("a", "s")], None).WithTimeout();

        var update = await Assert.ThrowsAsync<SqliteException>(() => ExecuteAsync("UPDATE audit_log SET actor = 'x'")).WithTimeout();
        var delete = await Assert.ThrowsAsync<SqliteException>(() => ExecuteAsync("DELETE FROM audit_log")).WithTimeout();

        Assert.Contains("append-only", update.Message, StringComparison.Ordinal);
        Assert.Contains("append-only", delete.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UPDATE audit_log SET details = '{\"n\":99}' WHERE sequence = 3", 3, AuditFault.Edited)]
    [InlineData("DELETE FROM audit_log WHERE sequence = 2", 2, AuditFault.Missing)]
    [InlineData("UPDATE audit_log SET sequence = sequence + 10 WHERE sequence = 4", 4, AuditFault.Missing)]
    public async Task TamperingWithTheFile_EvenWithoutTheTriggers_IsFoundByTheVerifier(string tamper, long firstBad, AuditFault fault)
    {
        await _store.AppendAuditAsync([.. Enumerable.Range(1, 5).Select(i => Entry("a", "s", i))], None).WithTimeout();
        await ExecuteAsync("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
        await ExecuteAsync(tamper);

        var result = AuditVerifier.Verify(await _store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());

        Assert.Equal(firstBad, result.Problem!.Sequence);
        Assert.Equal(fault, result.Problem.Fault);
    }

    [Fact]
    public async Task TheDeniedPartyList_IsReplacedWhole_WithItsSourceAndFlaggedTenants()
    {
        var before = await _store.GetDeniedPartyListAsync(None).WithTimeout();
        await _store.AddTenantAsync(FullTenant("acme") with { DeniedParty = DeniedPartyStatus.Clear }, None).WithTimeout();
        DeniedPartyEntry[] first = [new("First Party", ["One"], "CN", "P1"), new("Second Party", [], null, "P2")];
        DeniedPartyEntry[] second = [new("Third Party", ["Three", "Drei"], "DE", "P3")];
        var source = new DeniedPartyListSource("list.csv", new string('a', 64), T0);

        await _store.ReplaceDeniedPartyListAsync(first, source, [], [], None).WithTimeout();
        await _store.ReplaceDeniedPartyListAsync(
            second,
            source with { FileName = "list2.csv" },
            [FullTenant("acme") with { DeniedParty = DeniedPartyStatus.Pending }],
            [Entry(AuditActions.ScreeningImport, "list2.csv")],
            None).WithTimeout();

        Assert.Empty(before.Entries);
        Assert.Null(before.Source);
        Assert.Equal(DeniedPartyScreener.DefaultThreshold, before.Threshold);
        var after = await _store.GetDeniedPartyListAsync(None).WithTimeout();
        var entry = Assert.Single(after.Entries);
        Assert.Equal(("Third Party", "DE", "P3"), (entry.Name, entry.Country, entry.Program));
        Assert.Equal(["Three", "Drei"], entry.Aliases);
        Assert.Equal(source with { FileName = "list2.csv" }, after.Source);
        Assert.Equal(DeniedPartyStatus.Pending, (await _store.GetTenantAsync("acme", None).WithTimeout())!.DeniedParty);
        Assert.Single(await _store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task TheThreshold_IsStored_AndOutOfRangeValuesAreRefused()
    {
        await _store.SetScreeningThresholdAsync(0.9, [Entry(AuditActions.ScreeningThreshold, "screening")], None).WithTimeout();

        Assert.Equal(0.9, (await _store.GetDeniedPartyListAsync(None).WithTimeout()).Threshold);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.SetScreeningThresholdAsync(1.5, [], None)).WithTimeout();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _store.SetScreeningThresholdAsync(0, [], None)).WithTimeout();
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        await connection.OpenAsync().WithTimeout();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync().WithTimeout();
    }
}
