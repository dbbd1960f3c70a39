using Corridor.Core.Admission;
using Corridor.Core.Audit;
using Corridor.Core.Metering;
using Corridor.Core.Reports;
using Corridor.Core.Shadow;
using Corridor.Core.Tenants;
using Corridor.Storage.Reports;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Contract;

/// <summary>
/// What every <see cref="ICorridorStore"/> must do, whatever its database: tenants, keys, the revision and the ledger.
/// Each backend runs these through a subclass (<c>SqliteStoreContractTests</c>, <c>PostgresStoreContractTests</c>);
/// a test added here runs against all of them.
/// </summary>
public abstract class StoreContractTests : StoreContract
{
    private static readonly DateTimeOffset T0 = LedgerSamples.Start;
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task Tenants_RoundTrip()
    {
        await Store.AddTenantAsync(new Tenant("zeta", "Zeta GmbH", "DE", T0.AddMinutes(1)), None).WithTimeout();
        await Store.AddTenantAsync(new Tenant("acme", "Acme Logistics Pte. Ltd.", "SG", T0), None).WithTimeout();

        Assert.Equal(new Tenant("acme", "Acme Logistics Pte. Ltd.", "SG", T0), await Store.GetTenantAsync("acme", None).WithTimeout());
        Assert.Null(await Store.GetTenantAsync("nobody", None).WithTimeout());
        Assert.Equal(["acme", "zeta"], (await Store.ListTenantsAsync(None).WithTimeout()).Select(t => t.Id));
    }

    [Fact]
    public async Task AddTenant_WithATakenId_FailsWithADuplicateError()
    {
        await Store.AddTenantAsync(Tenant("acme"), None).WithTimeout();

        var error = await Assert.ThrowsAsync<CorridorStoreException>(() => Store.AddTenantAsync(Tenant("acme"), None)).WithTimeout();

        Assert.Equal(StoreError.Duplicate, error.Error);
        Assert.Contains("'acme' already exists", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_RoundTrip_ByIdAndByTenant()
    {
        await Store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        await Store.AddTenantAsync(Tenant("zeta"), None).WithTimeout();
        var first = ApiKeys.Create("acme", T0, "ci", expiresAt: T0.AddDays(90)).Key;
        var second = ApiKeys.Create("acme", T0.AddSeconds(1)).Key;
        var other = ApiKeys.Create("zeta", T0).Key;
        foreach (var key in new[] { second, other, first })
        {
            await Store.AddKeyAsync(key, None).WithTimeout();
        }

        Assert.Equal(first, await Store.GetKeyAsync(first.Id, None).WithTimeout());
        Assert.Equal(T0.AddDays(90), (await Store.GetKeyAsync(first.Id, None).WithTimeout())!.ExpiresAt);
        Assert.Null((await Store.GetKeyAsync(second.Id, None).WithTimeout())!.ExpiresAt);
        Assert.Null(await Store.GetKeyAsync("key_ffffffffffffffff", None).WithTimeout());
        Assert.Equal([first, second], await Store.ListKeysAsync("acme", None).WithTimeout());
        Assert.Equal([first, second, other], await Store.ListKeysAsync(null, None).WithTimeout());
    }

    [Fact]
    public async Task AddKey_ForAnUnknownTenant_FailsWithAnUnknownTenantError()
    {
        var error = await Assert.ThrowsAsync<CorridorStoreException>(
            () => Store.AddKeyAsync(ApiKeys.Create("ghost", T0).Key, None)).WithTimeout();

        Assert.Equal(StoreError.UnknownTenant, error.Error);
        Assert.Contains("'ghost'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddKey_WithATakenHash_FailsWithADuplicateError()
    {
        await Store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await Store.AddKeyAsync(key, None).WithTimeout();

        var error = await Assert.ThrowsAsync<CorridorStoreException>(
            () => Store.AddKeyAsync(key with { Id = ApiKeys.NewKeyId() }, None)).WithTimeout();

        Assert.Equal(StoreError.Duplicate, error.Error);
    }

    [Fact]
    public async Task RevokeKey_RevokesOnlyThatKey_AndKeepsTheFirstRevocationTime()
    {
        await Store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var revoked = ApiKeys.Create("acme", T0).Key;
        var kept = ApiKeys.Create("acme", T0).Key;
        await Store.AddKeyAsync(revoked, None).WithTimeout();
        await Store.AddKeyAsync(kept, None).WithTimeout();

        Assert.True(await Store.RevokeKeyAsync(revoked.Id, T0.AddHours(1), None).WithTimeout());
        var revision = await Store.GetRevisionAsync(None).WithTimeout();
        Assert.True(await Store.RevokeKeyAsync(revoked.Id, T0.AddHours(2), None).WithTimeout());
        Assert.False(await Store.RevokeKeyAsync("key_ffffffffffffffff", T0, None).WithTimeout());

        Assert.Equal(T0.AddHours(1), (await Store.GetKeyAsync(revoked.Id, None).WithTimeout())!.RevokedAt);
        Assert.Null((await Store.GetKeyAsync(kept.Id, None).WithTimeout())!.RevokedAt);
        Assert.NotNull(await Store.GetTenantAsync("acme", None).WithTimeout());
        Assert.Equal(revision, await Store.GetRevisionAsync(None).WithTimeout());
    }

    /// <summary>An expiry changed after issue moves the revision, so every gateway's key cache reloads and applies it.</summary>
    [Fact]
    public async Task SetKeyExpiry_ChangesOrRemovesAnUnrevokedKeysExpiry_MovesTheRevision_AndLeavesARevokedKeyAlone()
    {
        await Store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0, expiresAt: T0.AddDays(1)).Key;
        var revoked = ApiKeys.Create("acme", T0).Key;
        await Store.AddKeyAsync(key, None).WithTimeout();
        await Store.AddKeyAsync(revoked, None).WithTimeout();
        await Store.RevokeKeyAsync(revoked.Id, T0, None).WithTimeout();
        var revision = await Store.GetRevisionAsync(None).WithTimeout();

        Assert.True(await Store.SetKeyExpiryAsync(key.Id, T0.AddDays(30), [], None).WithTimeout());
        Assert.Equal(T0.AddDays(30), (await Store.GetKeyAsync(key.Id, None).WithTimeout())!.ExpiresAt);
        var afterChange = await Store.GetRevisionAsync(None).WithTimeout();
        Assert.True(afterChange > revision);

        Assert.True(await Store.SetKeyExpiryAsync(key.Id, null, [], None).WithTimeout());
        Assert.Null((await Store.GetKeyAsync(key.Id, None).WithTimeout())!.ExpiresAt);
        Assert.True(await Store.GetRevisionAsync(None).WithTimeout() > afterChange);

        var beforeRefusals = await Store.GetRevisionAsync(None).WithTimeout();
        Assert.False(await Store.SetKeyExpiryAsync(revoked.Id, T0.AddDays(30), [], None).WithTimeout());
        Assert.False(await Store.SetKeyExpiryAsync("key_ffffffffffffffff", T0.AddDays(30), [], None).WithTimeout());
        Assert.Null((await Store.GetKeyAsync(revoked.Id, None).WithTimeout())!.ExpiresAt);
        Assert.Equal(beforeRefusals, await Store.GetRevisionAsync(None).WithTimeout());
    }

    [Fact]
    public async Task TouchKeys_KeepsTheLatestUse_AndLeavesTheRevisionAlone()
    {
        await Store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await Store.AddKeyAsync(key, None).WithTimeout();
        var revision = await Store.GetRevisionAsync(None).WithTimeout();

        await Store.TouchKeysAsync([new(key.Id, T0.AddMinutes(5)), new("key_ffffffffffffffff", T0)], None).WithTimeout();
        await Store.TouchKeysAsync([new(key.Id, T0.AddMinutes(3))], None).WithTimeout();

        Assert.Equal(T0.AddMinutes(5), (await Store.GetKeyAsync(key.Id, None).WithTimeout())!.LastUsedAt);
        Assert.Equal(revision, await Store.GetRevisionAsync(None).WithTimeout());
    }

    [Fact]
    public async Task Revision_MovesAfterAWriteThroughASecondStoreOnTheSameDatabase()
    {
        await using var other = await Backend.OpenAsync();
        var start = await Store.GetRevisionAsync(None).WithTimeout();

        await other.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var afterTenant = await Store.GetRevisionAsync(None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await other.AddKeyAsync(key, None).WithTimeout();
        var afterKey = await Store.GetRevisionAsync(None).WithTimeout();
        await other.RevokeKeyAsync(key.Id, T0, None).WithTimeout();
        var afterRevoke = await Store.GetRevisionAsync(None).WithTimeout();

        Assert.True(afterTenant > start);
        Assert.True(afterKey > afterTenant);
        Assert.True(afterRevoke > afterKey);
    }

    [Fact]
    public async Task Revision_MovesWhenTheTablesAreChangedDirectly()
    {
        await Store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        var before = await Store.GetRevisionAsync(None).WithTimeout();

        await Backend.ExecuteAsync("UPDATE tenants SET legal_name = 'Acme 2' WHERE id = 'acme'");

        Assert.True(await Store.GetRevisionAsync(None).WithTimeout() > before);
    }

    [Fact]
    public async Task AppendLedger_RoundTripsEveryField()
    {
        var full = new LedgerEntry(
            "r-1", T0.AddMilliseconds(123), "acme", "key_0000000000000001", "gpt-4.1", "/v1/chat/completions",
            "gpt-4.1-sg", "sg", 200, RequestOutcome.Success, 182, 240, 0.00123456789m, true, 812, true,
            "none", "203.0.113.7", "openai-python/1.40.0", Utf8Text.From("""{"model":"gpt-4.1"}"""), "Hello", "stop")
        {
            Vendor = "openai",
            DecisionId = "dec_1",
            Revenue = 0.0014814814814m,
            CacheReadTokens = 128,
            CacheWriteTokens = 50,
            BatchId = "batch_0123456789abcdef0123456789abcdef",
        };
        var shadow = LedgerSamples.Entry("r-3", T0.AddSeconds(2), billable: false) with { ShadowOf = "r-1", Revenue = 0m };
        var sparse = LedgerSamples.Entry("r-2", T0.AddSeconds(1), tenantId: null, keyId: null, billable: false) with { ErrorCode = "invalid_api_key" };

        await Store.AppendLedgerAsync([full, sparse, shadow], None).WithTimeout();

        Assert.Equal([full, sparse, shadow], await Store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task ReadRecentTenantRequests_IsTheNewestOfKnownTenantsKeys_OldestFirst()
    {
        await Store.AddTenantAsync(Tenant("acme"), None).WithTimeout();
        await Store.AddTenantAsync(Tenant("zeta"), None).WithTimeout();
        var rows = Enumerable.Range(0, 50).Select(i => LedgerSamples.Entry($"r-{i:00}", T0.AddSeconds(i), tenantId: i % 2 == 0 ? "acme" : "zeta")).ToList();
        // Among the newest: a request no tenant made, one of a tenant no longer known, one refused its key (401), and two
        // of the same millisecond (arrival order keeps them).
        rows.AddRange(
        [
            LedgerSamples.Entry("r-no-tenant", T0.AddSeconds(60), tenantId: null, keyId: null, billable: false),
            LedgerSamples.Entry("r-gone", T0.AddSeconds(61), tenantId: "gone"),
            LedgerSamples.Entry("r-401", T0.AddSeconds(62)) with { Status = 401, Outcome = RequestOutcome.Unauthorized },
            LedgerSamples.Entry("r-b", T0.AddSeconds(63)),
            LedgerSamples.Entry("r-a", T0.AddSeconds(63), tenantId: "zeta"),
        ]);
        await Store.AppendLedgerAsync(rows, None).WithTimeout();

        var recent = await Store.ReadRecentTenantRequestsAsync(4, None).WithTimeout();
        var all = await Store.ReadRecentTenantRequestsAsync(1000, None).WithTimeout();

        Assert.Equal(["r-48", "r-49", "r-b", "r-a"], recent.Select(r => r.RequestId));
        Assert.Equal(rows[49], recent[1]);
        Assert.Equal(52, all.Count);
        Assert.Equal("r-00", all[0].RequestId);
    }

    [Fact]
    public async Task AppendLedger_IgnoresRequestIdsAlreadyStored()
    {
        var batch = Enumerable.Range(0, 300).Select(i => LedgerSamples.Entry($"r-{i}", T0.AddSeconds(i))).ToList();

        await Store.AppendLedgerAsync(batch, None).WithTimeout();
        await Store.AppendLedgerAsync(batch, None).WithTimeout();
        await Store.AppendLedgerAsync([batch[0] with { Cost = 99m }, LedgerSamples.Entry("r-new", T0)], None).WithTimeout();

        var rows = await Store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync();
        Assert.Equal(301, rows.Count);
        Assert.Equal(0.001m, rows.Single(r => r.RequestId == "r-0").Cost);
        Assert.Equal(301, (await Store.GetUsageTotalsAsync(null, null, tenantId: null, None).WithTimeout()).Single().Requests);
    }

    [Fact]
    public async Task AppendLedger_WithAnInvalidRow_FailsTheWholeBatchInsteadOfDroppingTheRow()
    {
        var batch = new[] { LedgerSamples.Entry("r-1"), LedgerSamples.Entry("r-2", model: null!) };

        await Assert.ThrowsAnyAsync<Exception>(() => Store.AppendLedgerAsync(batch, None)).WithTimeout();

        Assert.Empty(await Store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync());

        // The next batch lands (SQLite: on a fresh connection of the ledger's; the failed one was rolled back).
        await Store.AppendLedgerAsync([LedgerSamples.Entry("r-3")], None).WithTimeout();
        Assert.Equal(["r-3"], (await Store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Select(r => r.RequestId));
    }

    [Fact]
    public async Task AppendLedger_WithANulCharacterInItsText_StoresEveryRowOfTheBatch()
    {
        // Text a client or an upstream chose (the model a request named, the response) may hold U+0000, which PostgreSQL's
        // text cannot: such a row must not fail its batch (the other requests' rows, billable ones among them).
        var nul = LedgerSamples.Entry("r-1", T0, model: "gpt-4.1\0x") with { ResponseText = "a\0b", FinishReason = "stop\0" };
        var other = LedgerSamples.Entry("r-2", T0.AddSeconds(1), cost: 2m);

        await Store.AppendLedgerAsync([nul, other], None).WithTimeout();

        var rows = await Store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync();
        Assert.Equal(["r-1", "r-2"], rows.Select(r => r.RequestId));
        Assert.Equal("gpt-4.1\uFFFDx", rows[0].Model.Replace('\0', '\uFFFD'));
        Assert.Equal("a\uFFFDb", rows[0].ResponseText!.Replace('\0', '\uFFFD'));
        var totals = await Store.GetUsageTotalsAsync(null, null, tenantId: null, None).WithTimeout();
        Assert.Equal(2.001m, totals.Sum(t => t.Cost));
        Assert.Equal(rows.Select(r => r.Model).Order(StringComparer.Ordinal), totals.Select(t => t.Model));
    }

    [Fact]
    public async Task AppendLedger_FromConcurrentWriters_KeepsEveryRow()
    {
        await using var other = await Backend.OpenAsync();
        var writes = Enumerable.Range(0, 8).Select(w => (w % 2 == 0 ? Store : other).AppendLedgerAsync(
            [.. Enumerable.Range(0, 100).Select(i => LedgerSamples.Entry($"w{w}-{i}", T0.AddMilliseconds(i)))], None));

        await Task.WhenAll(writes).WithTimeout();

        Assert.Equal(800, (await Store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync()).Count);
    }

    [Fact]
    public async Task UsageTotals_AreExactDecimalSums()
    {
        await Store.AppendLedgerAsync(
        [
            LedgerSamples.Entry("r-1", cost: 0.1m),
            LedgerSamples.Entry("r-2", cost: 0.2m),
            LedgerSamples.Entry("r-3", cost: 0.000000001m),
        ], None).WithTimeout();

        var total = Assert.Single(await Store.GetUsageTotalsAsync(null, null, tenantId: null, None).WithTimeout());

        Assert.Equal(0.300000001m, total.Cost);
        Assert.Equal("0.300000001", total.Cost.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task UsageTotals_GroupBillableRowsByTenantAndModel()
    {
        await Store.AppendLedgerAsync(
        [
            LedgerSamples.Entry("r-1", tenantId: "zeta", model: "gpt-4.1", inputTokens: 10, outputTokens: 1, cost: 1m),
            LedgerSamples.Entry("r-2", tenantId: "acme", model: "gpt-4.1", inputTokens: 20, outputTokens: 2, cost: 2m),
            LedgerSamples.Entry("r-3", tenantId: "acme", model: "deepseek-v4", inputTokens: 30, outputTokens: 3, cost: 3m),
            LedgerSamples.Entry("r-4", tenantId: "acme", model: "gpt-4.1", inputTokens: 40, outputTokens: 4, cost: 4m),
            LedgerSamples.Entry("r-5", tenantId: "acme", model: "gpt-4.1", inputTokens: 500, outputTokens: 5, cost: 50m, billable: false),
            LedgerSamples.Entry("r-6", tenantId: null, keyId: null, billable: false),
        ], None).WithTimeout();

        var totals = await Store.GetUsageTotalsAsync(null, null, tenantId: null, None).WithTimeout();

        Assert.Equal(
        [
            new UsageTotal("acme", "deepseek-v4", 1, 30, 3, 3m),
            new UsageTotal("acme", "gpt-4.1", 2, 60, 6, 6m),
            new UsageTotal("zeta", "gpt-4.1", 1, 10, 1, 1m),
        ], totals);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("acme")]
    [InlineData("zeta")]
    [InlineData("globex")]
    public async Task UsageTotals_OverWholeAndPartDays_AreTheSumsOfTheRowsInRange_OfTheTenantAskedOrOfAll(string? tenantId)
    {
        // Every 7 hours for 12 days, two tenants and models, a retried batch and non-billable rows among them; globex has none.
        // Of the input tokens, some were read from the vendor's prompt cache and some written to it (neither, on some rows).
        var rows = Enumerable.Range(0, 41).Select(i => LedgerSamples.Entry(
            $"r-{i}", T0.AddHours(7 * i), tenantId: i % 3 == 0 ? "zeta" : "acme", model: i % 2 == 0 ? "gpt-4.1" : "deepseek-v4",
            inputTokens: 10 + i, outputTokens: i, cost: 0.001m * (i + 1), billable: i % 5 != 4) with
            {
                CacheReadTokens = i % 4 == 0 ? 0 : 1 + i / 2, CacheWriteTokens = i % 3 == 1 ? 0 : i % 7,
            }).ToList();
        await Store.AppendLedgerAsync(rows[..20], None).WithTimeout();
        await Store.AppendLedgerAsync(rows[10..], None).WithTimeout();
        var midnight = new DateTimeOffset(T0.UtcDateTime.Date, TimeSpan.Zero);
        (DateTimeOffset? From, DateTimeOffset? To)[] ranges =
        [
            (null, null), (midnight.AddDays(2), midnight.AddDays(9)), (T0.AddHours(5), T0.AddDays(6).AddMinutes(7)),
            (null, midnight.AddDays(4).AddHours(3)), (T0.AddDays(3).AddSeconds(1), null), (T0.AddHours(1), T0.AddHours(30)),
            (midnight.AddDays(5).AddHours(1), midnight.AddDays(5).AddHours(20)),
        ];

        foreach (var (from, to) in ranges)
        {
            var expected = rows
                .Where(r => r.Billable && (tenantId is null || r.TenantId == tenantId) && (from is null || r.Time >= from) && (to is null || r.Time < to))
                .GroupBy(r => (r.TenantId!, r.Model))
                .OrderBy(g => g.Key.Item1, StringComparer.Ordinal).ThenBy(g => g.Key.Model, StringComparer.Ordinal)
                .Select(g => new UsageTotal(g.Key.Item1, g.Key.Model, g.Count(), g.Sum(r => r.InputTokens), g.Sum(r => r.OutputTokens), g.Sum(r => r.Cost))
                {
                    CacheReadTokens = g.Sum(r => r.CacheReadTokens), CacheWriteTokens = g.Sum(r => r.CacheWriteTokens),
                });

            Assert.Equal(expected, await Store.GetUsageTotalsAsync(from, to, tenantId, None).WithTimeout());
        }
    }

    [Fact]
    public async Task UsageTotals_FromWithinTheLastDayThereIs_AreTheRowsFromThere()
    {
        // A range starting after midnight of 9999-12-31 has no next midnight to start whole days at.
        var last = new DateTimeOffset(9999, 12, 31, 12, 0, 0, TimeSpan.Zero);
        await Store.AppendLedgerAsync([LedgerSamples.Entry("r-1", last.AddHours(-1)), LedgerSamples.Entry("r-2", last.AddHours(1))], None).WithTimeout();

        Assert.Equal(1, Assert.Single(await Store.GetUsageTotalsAsync(last, null, tenantId: null, None).WithTimeout()).Requests);
        Assert.Equal(1, Assert.Single(await Store.GetUsageTotalsAsync(last, last.AddHours(2), tenantId: "acme", None).WithTimeout()).Requests);
    }

    [Fact]
    public async Task ReadLedger_FiltersFromInclusiveToExclusive_InTimeOrder()
    {
        // Appended out of order; two rows share a time and keep their arrival order.
        await Store.AppendLedgerAsync(
        [
            LedgerSamples.Entry("r-3", T0.AddHours(3)),
            LedgerSamples.Entry("r-1", T0.AddHours(1)),
            LedgerSamples.Entry("r-0", T0),
            LedgerSamples.Entry("r-2a", T0.AddHours(2)),
            LedgerSamples.Entry("r-2b", T0.AddHours(2)),
        ], None).WithTimeout();

        var all = await Store.ReadLedgerAsync(null, null, None).ToListWithTimeoutAsync();
        var window = await Store.ReadLedgerAsync(T0.AddHours(1), T0.AddHours(3), None).ToListWithTimeoutAsync();
        var since = await Store.ReadLedgerAsync(T0.AddHours(2), null, None).ToListWithTimeoutAsync();
        var until = await Store.ReadLedgerAsync(null, T0.AddHours(1), None).ToListWithTimeoutAsync();

        Assert.Equal(["r-0", "r-1", "r-2a", "r-2b", "r-3"], all.Select(r => r.RequestId));
        Assert.Equal(["r-1", "r-2a", "r-2b"], window.Select(r => r.RequestId));
        Assert.Equal(["r-2a", "r-2b", "r-3"], since.Select(r => r.RequestId));
        Assert.Equal(["r-0"], until.Select(r => r.RequestId));
        var totals = await Store.GetUsageTotalsAsync(T0.AddHours(1), T0.AddHours(3), tenantId: null, None).WithTimeout();
        Assert.Equal(3, Assert.Single(totals).Requests);
    }

    [Theory]
    [InlineData(SpendDimension.Tenant, ReportPeriod.Month, "2028-02-10", "2028-04-02")]
    [InlineData(SpendDimension.Country, ReportPeriod.Quarter, "2028-02-10", null)]
    [InlineData(SpendDimension.Region, ReportPeriod.Day, "2028-02-28T12:00:00Z", "2028-03-01T06:00:00Z")]
    [InlineData(SpendDimension.Vendor, ReportPeriod.Month, null, null)]
    public async Task SpendReport_FromTheStore_IsTheReportOfItsRows(SpendDimension by, ReportPeriod period, string? from, string? to)
    {
        // Rows on either side of period boundaries (to the tick, in a leap year), money of several scales, shadow and
        // refused rows: the store must hand the report exactly what it was given, whatever its database.
        await Store.AddTenantAsync(new Tenant("acme", "Acme Logistics Pte. Ltd.", "SG", T0), None).WithTimeout();
        await Store.AddTenantAsync(new Tenant("zeta", "Zeta GmbH", "DE", T0), None).WithTimeout();
        var march = new DateTimeOffset(2028, 3, 1, 0, 0, 0, TimeSpan.Zero);
        LedgerEntry Row(string id, DateTimeOffset time, string tenant, decimal cost, decimal revenue, string region = "sg", bool billable = true, string? shadowOf = null) =>
            LedgerSamples.Entry(id, time, tenantId: tenant, cost: cost, billable: billable) with
            {
                Region = region, Vendor = region == "sg" ? "openai" : "anthropic", Revenue = revenue, ShadowOf = shadowOf, Estimated = id.EndsWith('e'),
            };
        LedgerEntry[] rows =
        [
            Row("r-1", march.AddDays(-60), "acme", 1.10m, 1.65m),
            Row("r-2", march.AddDays(-1), "zeta", 0.000001m, 0.0000015m, "eu-west"),
            Row("r-3e", march.AddTicks(-1), "acme", 2.00m, 2.400m),
            Row("r-4", march, "zeta", 3m, 3.6m, "eu-west"),
            Row("r-5", march.AddHours(3), "acme", 0.05m, 0m, "us-east", billable: false, shadowOf: "r-4"),
            Row("r-6", march.AddHours(4), "acme", 0m, 0m, billable: false),
            Row("r-7", march.AddMonths(1).AddTicks(-1), "zeta", 0.10m, 0.30m),
            Row("r-8", march.AddMonths(1).AddDays(1), "acme", 7.25m, 8.7m),
        ];
        await Store.AppendLedgerAsync(rows, None).WithTimeout();
        var fromDate = from is null ? (DateTimeOffset?)null : DateTimeOffset.Parse(from, System.Globalization.CultureInfo.InvariantCulture);
        var toDate = to is null ? (DateTimeOffset?)null : DateTimeOffset.Parse(to, System.Globalization.CultureInfo.InvariantCulture);
        // What the store keeps: times to the millisecond.
        var kept = rows.Select(r => r with { Time = DateTimeOffset.FromUnixTimeMilliseconds(r.Time.ToUnixTimeMilliseconds()) });
        var countries = new Dictionary<string, string> { ["acme"] = "SG", ["zeta"] = "DE" };

        var report = await Store.SpendAsync(by, period, fromDate, toDate, SpendMeasure.Revenue, 10, None).WithTimeout();
        var expected = await SpendReport.BuildAsync(kept.ToAsyncEnumerable(), by, period, fromDate, toDate, countries.GetValueOrDefault, SpendMeasure.Revenue, 10, None).WithTimeout();

        Assert.Equal(Json(expected), Json(report));
        Assert.Equal(expected.ToCsv(), report.ToCsv());

        static string Json(SpendReport r)
        {
            using var stream = new MemoryStream();
            r.WriteJson(stream);
            return System.Text.Encoding.UTF8.GetString(stream.ToArray());
        }
    }

    [Fact]
    public async Task Limits_RoundTripExactly_MoveTheRevision_AndAnEmptySetRemovesTheRow()
    {
        await Store.AddTenantAsync(new Tenant("acme", "Acme Logistics Pte. Ltd.", "SG", T0), None).WithTimeout();
        var key = ApiKeys.Create("acme", T0).Key;
        await Store.AddKeyAsync(key, None).WithTimeout();
        var tenantLimits = new Limits { RequestsPerMinute = 600, TokensPerMinute = 2_000_000, DailyHardBudget = 250.50m, DailySoftBudget = 200.125m };
        var keyLimits = new Limits { ConcurrentStreams = 3, MonthlyHardBudget = 0.000001m, MonthlySoftBudget = 0m };
        var revision = await Store.GetRevisionAsync(None).WithTimeout();

        Assert.True(await Store.SetLimitsAsync(new SubjectLimits(LimitScope.Tenant, "acme", tenantLimits), [], None).WithTimeout());
        Assert.True(await Store.SetLimitsAsync(new SubjectLimits(LimitScope.Key, key.Id, keyLimits), [], None).WithTimeout());
        Assert.False(await Store.SetLimitsAsync(new SubjectLimits(LimitScope.Key, "key_unknown", keyLimits), [], None).WithTimeout());
        Assert.False(await Store.SetLimitsAsync(new SubjectLimits(LimitScope.Tenant, key.Id, keyLimits), [], None).WithTimeout());

        Assert.True(await Store.GetRevisionAsync(None).WithTimeout() > revision);
        var stored = await Store.ListLimitsAsync(None).WithTimeout();
        Assert.Equal([new SubjectLimits(LimitScope.Key, key.Id, keyLimits), new SubjectLimits(LimitScope.Tenant, "acme", tenantLimits)], stored);
        Assert.Equal("250.50", stored[1].Limits.DailyHardBudget!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(await Store.SetLimitsAsync(new SubjectLimits(LimitScope.Key, key.Id, Limits.None), [], None).WithTimeout());
        Assert.Equal(["acme"], (await Store.ListLimitsAsync(None).WithTimeout()).Select(l => l.Id));
    }

    [Fact]
    public async Task ShadowResults_RoundTripEveryField_InTimeOrder_AndARepeatedIdIsIgnored()
    {
        var compared = new ShadowResult("req_s1", "req_p1", T0.AddSeconds(2), "acme", "gpt-4.1", "deepseek-v4", ShadowOutcome.Compared, null,
            812, 640, 0.00228m, 0.000301m, new Similarity(0.4375, false, 0.8125, true, false));
        var skipped = new ShadowResult("req_s0", "req_p0", T0, null, "gpt-4.1", "deepseek-v4", ShadowOutcome.Skipped, "tier_below_minimum",
            10, null, 0.1m, 0m, null);

        await Store.AppendShadowResultsAsync([compared, skipped], None).WithTimeout();
        await Store.AppendShadowResultsAsync([compared with { PrimaryCost = 99m }], None).WithTimeout();

        Assert.Equal([skipped, compared], await Store.ReadShadowResultsAsync(T0, T0.AddSeconds(3), None).ToListWithTimeoutAsync());
    }

    [Fact]
    public async Task AGatewaySecret_IsMadeOnce_WhenTwoGatewaysAskForItAtOnce()
    {
        await using var other = await Backend.OpenAsync();

        // Two gateways starting together on an empty database (SQLite migration 19, PostgreSQL migration 23).
        var both = await Task.WhenAll(
            Store.GetSecretAsync(GatewaySecrets.ReasoningKey, None),
            other.GetSecretAsync(GatewaySecrets.ReasoningKey, None)).WithTimeout();

        Assert.Equal(GatewaySecrets.Bytes, both[0].Value.Length);
        Assert.Equal(both[0].Value, both[1].Value);
        Assert.Contains(both[0].Value, b => b != 0);
        Assert.Null(both[0].Previous);
        Assert.Null(both[0].RotatedAt);
    }

    /// <summary>
    /// <c>corridor secrets rotate-reasoning-key</c>'s store side (SQLite migration 24, PostgreSQL migration 28): a new value,
    /// the replaced one kept as the previous and the one before it gone, with the audit record in the same transaction; the
    /// revision moves, so running gateways take it up. Nothing to rotate before a gateway made the secret.
    /// </summary>
    [Fact]
    public async Task RotatingAGatewaySecret_KeepsTheReplacedOneAsPrevious_DropsTheOneBefore_MovesTheRevision_AndIsAudited()
    {
        var name = GatewaySecrets.ReasoningKey;
        AuditEntry Entry(DateTimeOffset at) => new(at, "cli:test", AuditActions.ReasoningKeyRotate, name, "{}");

        Assert.False(await Store.RotateSecretAsync(name, T0, [Entry(T0)], None).WithTimeout());
        Assert.Empty(await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync());

        var first = await Store.GetSecretAsync(name, None).WithTimeout();
        var revision = await Store.GetRevisionAsync(None);
        Assert.True(await Store.RotateSecretAsync(name, T0.AddMinutes(1), [Entry(T0.AddMinutes(1))], None).WithTimeout());
        // Read through another store on the same database: what a replica, or the gateway after a restart, reads.
        await using var other = await Backend.OpenAsync();
        var second = await other.GetSecretAsync(name, None).WithTimeout();
        var movedTo = await Store.GetRevisionAsync(None);
        Assert.True(await other.RotateSecretAsync(name, T0.AddMinutes(2), [Entry(T0.AddMinutes(2))], None).WithTimeout());
        var third = await Store.GetSecretAsync(name, None).WithTimeout();

        Assert.True(movedTo > revision, $"the revision stayed at {revision}");
        Assert.Equal(GatewaySecrets.Bytes, second.Value.Length);
        Assert.NotEqual(first.Value, second.Value);
        Assert.Equal(first.Value, second.Previous);
        Assert.Equal(T0.AddMinutes(1), second.RotatedAt);
        Assert.Equal(second.Value, third.Previous);
        Assert.NotEqual(first.Value, third.Value);
        Assert.Equal(T0.AddMinutes(2), third.RotatedAt);
        Assert.True(await Store.GetRevisionAsync(None) > movedTo);
        var audit = await Store.ReadAuditAsync(1, None).ToListWithTimeoutAsync();
        Assert.Equal([AuditActions.ReasoningKeyRotate, AuditActions.ReasoningKeyRotate], audit.Select(r => r.Action));
    }

    [Fact]
    public async Task AGatewaySecret_IsTheSame_ForAStoreOpenedLater()
    {
        var first = await Store.GetSecretAsync(GatewaySecrets.ReasoningKey, None).WithTimeout();

        // A gateway restarted, or another started later: a store of its own opened on the same database.
        await using var later = await Backend.OpenAsync();

        Assert.Equal(first.Value, (await later.GetSecretAsync(GatewaySecrets.ReasoningKey, None).WithTimeout()).Value);
        Assert.NotEqual(first.Value, (await later.GetSecretAsync("another secret", None).WithTimeout()).Value);
    }

    private static Tenant Tenant(string id) => new(id, id + " Ltd.", "SG", T0);
}
