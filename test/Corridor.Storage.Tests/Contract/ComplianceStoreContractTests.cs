using Corridor.Core.Audit;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using System.Data.Common;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Contract;

/// <summary>The tenant profile, the audit log and the denied-party list, for every store (see <see cref="StoreContractTests"/>).</summary>
public abstract class ComplianceStoreContractTests : StoreContract
{
    private static readonly DateTimeOffset T0 = LedgerSamples.Start;
    private static readonly CancellationToken None = CancellationToken.None;

    internal static Tenant FullTenant(string id) => new(id, "Acme Logistics Pte. Ltd.", "SG", T0)
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
    public async Task TheProfile_RoundTripsEveryField()
    {
        var tenant = FullTenant("acme");

        await Store.AddTenantAsync(tenant, None).WithTimeout();

        Assert.Equal(tenant, await Store.GetTenantAsync("acme", None).WithTimeout());
        Assert.Equal([tenant], await Store.ListTenantsAsync(None).WithTimeout());
    }

    [Fact]
    public async Task UpdateTenant_StoresEveryFieldButIdAndCreation_AndMovesTheRevision()
    {
        await Store.AddTenantAsync(new Tenant("acme", "Acme", "SG", T0), None).WithTimeout();
        var revision = await Store.GetRevisionAsync(None).WithTimeout();
        var changed = FullTenant("acme") with { CreatedAt = T0.AddDays(9), VerificationExpiresAt = null, ControllingCountry = null };

        Assert.True(await Store.UpdateTenantAsync(changed, [Entry(AuditActions.TenantUpdate, "acme")], None).WithTimeout());

        Assert.Equal(changed with { CreatedAt = T0 }, await Store.GetTenantAsync("acme", None).WithTimeout());
        Assert.True(await Store.GetRevisionAsync(None).WithTimeout() > revision);
        Assert.Equal(AuditActions.TenantUpdate, Assert.Single(await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync()).Action);
    }

    [Fact]
    public async Task UpdateTenant_OfAnUnknownTenant_ReturnsFalse_AndAppendsNothing()
    {
        Assert.False(await Store.UpdateTenantAsync(FullTenant("ghost"), [Entry(AuditActions.TenantUpdate, "ghost")], None).WithTimeout());

        Assert.Empty(await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task AChangeThatFails_AppendsNoAuditRecord()
    {
        await Store.AddTenantAsync(FullTenant("acme"), [Entry(AuditActions.TenantCreate, "acme")], None).WithTimeout();

        await Assert.ThrowsAsync<CorridorStoreException>(
            () => Store.AddTenantAsync(FullTenant("acme"), [Entry(AuditActions.TenantCreate, "acme", 1)], None)).WithTimeout();
        await Assert.ThrowsAsync<CorridorStoreException>(
            () => Store.AddKeyAsync(ApiKeys.Create("ghost", T0).Key, [Entry(AuditActions.KeyIssue, "key")], None)).WithTimeout();

        Assert.Single(await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task RevokeKey_AppendsItsRecordOnlyWhenItRevokes()
    {
        await Store.AddTenantAsync(FullTenant("acme"), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await Store.AddKeyAsync(key, [Entry(AuditActions.KeyIssue, key.Id)], None).WithTimeout();

        Assert.True(await Store.RevokeKeyAsync(key.Id, T0.AddHours(1), [Entry(AuditActions.KeyRevoke, key.Id, 1)], None).WithTimeout());
        Assert.True(await Store.RevokeKeyAsync(key.Id, T0.AddHours(2), [Entry(AuditActions.KeyRevoke, key.Id, 2)], None).WithTimeout());
        Assert.False(await Store.RevokeKeyAsync("key_ffffffffffffffff", T0, [Entry(AuditActions.KeyRevoke, "key_ffffffffffffffff", 3)], None).WithTimeout());

        var records = await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal([AuditActions.KeyIssue, AuditActions.KeyRevoke], records.Select(r => r.Action));
        Assert.Equal(T0.AddHours(1), (await Store.GetKeyAsync(key.Id, None).WithTimeout())!.RevokedAt);
    }

    [Fact]
    public async Task SetKeyExpiry_AppendsItsRecordOnlyWhenItChangesAKey()
    {
        await Store.AddTenantAsync(FullTenant("acme"), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await Store.AddKeyAsync(key, [Entry(AuditActions.KeyIssue, key.Id)], None).WithTimeout();

        Assert.True(await Store.SetKeyExpiryAsync(key.Id, T0.AddDays(1), [Entry(AuditActions.KeyExpiry, key.Id, 1)], None).WithTimeout());
        Assert.False(await Store.SetKeyExpiryAsync("key_ffffffffffffffff", T0.AddDays(1), [Entry(AuditActions.KeyExpiry, "key_ffffffffffffffff", 2)], None).WithTimeout());
        await Store.RevokeKeyAsync(key.Id, T0.AddHours(1), [Entry(AuditActions.KeyRevoke, key.Id, 3)], None).WithTimeout();
        Assert.False(await Store.SetKeyExpiryAsync(key.Id, null, [Entry(AuditActions.KeyExpiry, key.Id, 4)], None).WithTimeout());

        var records = await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal([AuditActions.KeyIssue, AuditActions.KeyExpiry, AuditActions.KeyRevoke], records.Select(r => r.Action));
        Assert.Equal(T0.AddDays(1), (await Store.GetKeyAsync(key.Id, None).WithTimeout())!.ExpiresAt);
    }

    [Fact]
    public async Task AppendAudit_ChainsFromOne_AndReadsFromASequence()
    {
        var first = await Store.AppendAuditAsync([Entry("a", "s", 1), Entry("b", "s", 2)], None).WithTimeout();
        var second = await Store.AppendAuditAsync([Entry("c", "t", 3)], None).WithTimeout();

        var all = await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal([.. first, .. second], all);
        Assert.Equal([1L, 2, 3], all.Select(r => r.Sequence));
        Assert.Equal(AuditChain.GenesisHash, all[0].PreviousHash);
        Assert.Equal(all[1].Hash, all[2].PreviousHash);
        Assert.True(AuditVerifier.Verify(all).IsValid);
        Assert.Equal(["c"], (await Store.ReadAuditAsync(3, None).ToListWithTimeoutAsync()).Select(r => r.Action));
    }

    [Fact]
    public async Task AppendAuditAgain_OfABatchTheLogHolds_AppendsNothing_AndReturnsItsRecords()
    {
        // The first append committed, though its caller saw it fail; another writer appended after it before the retry.
        // Entries of one batch at the same moment, with sub-millisecond times, as a writer makes them.
        var moment = T0.AddTicks(1234);
        AuditEntry[] batch = [new(moment, "gateway", "decision", "dec_1", "{}"), new(moment, "gateway", "decision", "dec_2", "{}")];
        var stored = await Store.AppendAuditAsync(batch, None).WithTimeout();
        await Store.AppendAuditAsync([Entry("other", "s", 1)], None).WithTimeout();

        var again = await Store.AppendAuditAgainAsync(batch, None).WithTimeout();

        Assert.Equal(stored, again);
        var all = await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal(["dec_1", "dec_2", "s"], all.Select(r => r.Subject));
        Assert.True(AuditVerifier.Verify(all).IsValid);
    }

    [Fact]
    public async Task AppendAuditAgain_OfABatchTheLogDoesNotHold_AppendsIt_EvenBesideOneLikeIt()
    {
        // The first append rolled back. Records of the same subject, action and time that are not this batch do not count:
        // its first entry alone, and the same entries in another order.
        AuditEntry[] batch = [Entry("a", "s", 1), Entry("b", "s", 1)];
        await Store.AppendAuditAsync([batch[0]], None).WithTimeout();
        await Store.AppendAuditAsync([batch[0], Entry("c", "s", 1)], None).WithTimeout();

        var again = await Store.AppendAuditAgainAsync(batch, None).WithTimeout();

        Assert.Equal([4L, 5], again.Select(r => r.Sequence));
        var all = await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal(["a", "a", "c", "a", "b"], all.Select(r => r.Action));
        Assert.True(AuditVerifier.Verify(all).IsValid);
    }

    [Fact]
    public async Task SearchAudit_FiltersBySubjectAndAction_AndKeepsTheNewest()
    {
        await Store.AppendAuditAsync([.. Enumerable.Range(1, 6).Select(i => Entry(i % 2 == 0 ? "even" : "odd", i <= 3 ? "low" : "high", i))], None).WithTimeout();

        var newestTwo = await Store.SearchAuditAsync(new AuditQuery(Limit: 2), None).WithTimeout();
        var evenHigh = await Store.SearchAuditAsync(new AuditQuery("high", "even"), None).WithTimeout();

        Assert.Equal([5L, 6], newestTwo.Select(r => r.Sequence));
        Assert.Equal([4L, 6], evenHigh.Select(r => r.Sequence));
    }

    [Fact]
    public async Task ConcurrentAppenders_InTwoStoresOnOneDatabase_KeepOneValidChain()
    {
        await using var other = await Backend.OpenAsync();
        const int Batches = 25;
        const int PerBatch = 4;

        async Task AppendManyAsync(ICorridorStore store, string writer)
        {
            for (var b = 0; b < Batches; b++)
            {
                await store.AppendAuditAsync([.. Enumerable.Range(0, PerBatch).Select(i => Entry(writer, $"{writer}-{b}", i))], None);
            }
        }

        await Task.WhenAll(Task.Run(() => AppendManyAsync(Store, "one")), Task.Run(() => AppendManyAsync(other, "two"))).WithTimeout();

        var all = await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
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
        await Store.AppendAuditAsync([Entry("a", "s")], None).WithTimeout();

        var update = await Assert.ThrowsAnyAsync<DbException>(() => Backend.ExecuteAsync("UPDATE audit_log SET actor = 'x'")).WithTimeout();
        var delete = await Assert.ThrowsAnyAsync<DbException>(() => Backend.ExecuteAsync("DELETE FROM audit_log")).WithTimeout();

        Assert.Contains("append-only", update.Message, StringComparison.Ordinal);
        Assert.Contains("append-only", delete.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("UPDATE audit_log SET details = '{\"n\":99}' WHERE sequence = 3", 3, AuditFault.Edited)]
    [InlineData("DELETE FROM audit_log WHERE sequence = 2", 2, AuditFault.Missing)]
    [InlineData("UPDATE audit_log SET sequence = sequence + 10 WHERE sequence = 4", 4, AuditFault.Missing)]
    public async Task TamperingWithTheDatabase_EvenWithoutTheTriggers_IsFoundByTheVerifier(string tamper, long firstBad, AuditFault fault)
    {
        await Store.AppendAuditAsync([.. Enumerable.Range(1, 5).Select(i => Entry("a", "s", i))], None).WithTimeout();
        await Backend.ExecuteAsync(Backend.DropAuditGuardsSql);
        await Backend.ExecuteAsync(tamper);

        var result = AuditVerifier.Verify(await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());

        Assert.Equal(firstBad, result.Problem!.Sequence);
        Assert.Equal(fault, result.Problem.Fault);
    }

    [Fact]
    public async Task TheDeniedPartyList_IsReplacedWhole_WithItsSourceAndFlaggedTenants()
    {
        var before = await Store.GetDeniedPartyListAsync(None).WithTimeout();
        await Store.AddTenantAsync(FullTenant("acme") with { DeniedParty = DeniedPartyStatus.Clear }, None).WithTimeout();
        DeniedPartyEntry[] first = [new("First Party", ["One"], "CN", "P1"), new("Second Party", [], null, "P2")];
        DeniedPartyEntry[] second = [new("Third Party", ["Three", "Drei"], "DE", "P3")];
        var source = new DeniedPartyListSource("list.csv", new string('a', 64), T0);

        await Store.ReplaceDeniedPartyListAsync(first, source, [], [], None).WithTimeout();
        await Store.ReplaceDeniedPartyListAsync(
            second,
            source with { FileName = "list2.csv" },
            [FullTenant("acme") with { DeniedParty = DeniedPartyStatus.Pending }],
            [Entry(AuditActions.ScreeningImport, "list2.csv")],
            None).WithTimeout();

        Assert.Empty(before.Entries);
        Assert.Null(before.Source);
        Assert.Equal(DeniedPartyScreener.DefaultThreshold, before.Threshold);
        var after = await Store.GetDeniedPartyListAsync(None).WithTimeout();
        var entry = Assert.Single(after.Entries);
        Assert.Equal(("Third Party", "DE", "P3"), (entry.Name, entry.Country, entry.Program));
        Assert.Equal(["Three", "Drei"], entry.Aliases);
        Assert.Equal(source with { FileName = "list2.csv" }, after.Source);
        Assert.Equal(DeniedPartyStatus.Pending, (await Store.GetTenantAsync("acme", None).WithTimeout())!.DeniedParty);
        Assert.Single(await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task TheThreshold_IsStored_AndOutOfRangeValuesAreRefused()
    {
        await Store.SetScreeningThresholdAsync(0.9, [Entry(AuditActions.ScreeningThreshold, "screening")], None).WithTimeout();

        Assert.Equal(0.9, (await Store.GetDeniedPartyListAsync(None).WithTimeout()).Threshold);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.SetScreeningThresholdAsync(1.5, [], None)).WithTimeout();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.SetScreeningThresholdAsync(0, [], None)).WithTimeout();
    }
}
