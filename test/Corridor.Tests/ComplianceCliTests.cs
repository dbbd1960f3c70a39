using System.Text.Json;
using Corridor.Core.Tenants;
using Corridor.Storage;
using Corridor.Testing;
using Microsoft.Data.Sqlite;

namespace Corridor.Tests;

/// <summary>The tenant profile, screening and the audit log through the command line.</summary>
public sealed class ComplianceCliTests : IDisposable
{
    // Made up for the tests; no real listing.
    private const string ListCsv = """
        name,aliases,country,program
        "Huawei Technologies Co., Ltd.",Huawei;Hua Wei Technologies,CN,EXPORT-CONTROL
        Volga Petroleum Trading OOO,Volga Petro,RU,SANCTIONS-RU
        ,Nameless,US,P
        Kestrel Avionics LLC,,XX,EXPORT-CONTROL
        China Mobile Communications Group Co. Ltd.,China Mobile,CN,INVESTMENT-BAN
        """;

    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task TenantsAdd_WithTheProfile_ThenShow_PrintsEveryFieldAndTheEffectiveTier()
    {
        var added = await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme Logistics Pte. Ltd.", "--country", "SG",
            "--controlling-country", "us", "--entity-type", "startup", "--tier", "verified", "--verified-until", "2099-01-01", "--use-case", "freight support chat");
        var shown = await _cli.RunAsync("tenants", "show", "acme");
        var json = await _cli.RunAsync("tenants", "show", "acme", "--json");

        Assert.Equal(0, added.ExitCode);
        Assert.Equal(0, shown.ExitCode);
        Assert.Matches(@"(?m)^controlling_country\s+US$", shown.Out);
        Assert.Matches(@"(?m)^entity_type\s+startup$", shown.Out);
        Assert.Matches(@"(?m)^tier\s+verified$", shown.Out);
        Assert.Matches(@"(?m)^verification_expires_at\s+2099-01-01T00:00:00\.000Z$", shown.Out);
        Assert.Matches(@"(?m)^use_case\s+freight support chat$", shown.Out);
        Assert.Matches(@"(?m)^denied_party\s+clear$", shown.Out);
        Assert.Matches(@"(?m)^effective_tier\s+verified$", shown.Out);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal("US", doc.RootElement.GetProperty("controlling_country").GetString());
        Assert.Equal("verified", doc.RootElement.GetProperty("effective_tier").GetString());
        var stored = await GetTenantAsync("acme");
        Assert.Equal((EntityType.Startup, VettingTier.Verified, "freight support chat"), (stored.EntityType, stored.Tier, stored.UseCase));
    }

    [Fact]
    public async Task ALapsedVerification_ShowsAsUnverified_InShowAndList()
    {
        await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG", "--tier", "established", "--verified-until", "2020-01-01");

        var shown = await _cli.RunAsync("tenants", "show", "acme");
        var list = await _cli.RunAsync("tenants", "list");

        Assert.Matches(@"(?m)^effective_tier\s+unverified \(verification lapsed\)$", shown.Out);
        Assert.Matches(@"(?m)^acme\s+Acme\s+SG\s+SG\s+established \(lapsed\)\s+clear\s", list.Out);
    }

    [Fact]
    public async Task TenantsAdd_WithBadProfileValues_ReportsEveryProblem()
    {
        var result = await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG",
            "--entity-type", "charity", "--tier", "gold", "--verified-until", "next year");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: entity type 'charity' is not one of enterprise|startup|individual|research|government", result.Error, StringComparison.Ordinal);
        Assert.Contains("error: tier 'gold' is not one of", result.Error, StringComparison.Ordinal);
        Assert.Contains("error: 'next year' is not a date", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TenantsUpdate_ChangesOnlyTheGivenFields_PrintsThem_AndIsAudited()
    {
        await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG", "--controlling-country", "US", "--use-case", "chat");

        var updated = await _cli.RunAsync("tenants", "update", "acme", "--tier", "basic", "--controlling-country", "none", "--use-case", "none");
        var again = await _cli.RunAsync("tenants", "update", "acme", "--tier", "basic");
        var audit = await _cli.RunAsync("audit", "list", "--subject", "acme", "--json");

        Assert.Equal(0, updated.ExitCode);
        Assert.Contains("controlling_country: US -> -", updated.Out, StringComparison.Ordinal);
        Assert.Contains("tier: unverified -> basic", updated.Out, StringComparison.Ordinal);
        Assert.Contains("nothing changed", again.Out, StringComparison.Ordinal);
        var stored = await GetTenantAsync("acme");
        Assert.Equal(("Acme", "SG", null, VettingTier.Basic, null), (stored.LegalName, stored.Country, stored.ControllingCountry, stored.Tier, stored.UseCase));
        using var doc = JsonDocument.Parse(audit.Out);
        var records = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(["tenant.create", "tenant.update"], records.Select(r => r.GetProperty("action").GetString()));
        Assert.All(records, r => Assert.StartsWith("cli:", r.GetProperty("actor").GetString(), StringComparison.Ordinal));
        var changes = records[1].GetProperty("details").GetProperty("changes");
        Assert.Equal("basic", changes.GetProperty("tier").GetProperty("to").GetString());
        Assert.Equal(JsonValueKind.Null, changes.GetProperty("use_case").GetProperty("to").ValueKind);
        Assert.False(changes.TryGetProperty("legal_name", out _));
    }

    [Fact]
    public async Task TenantsUpdate_WithNothingOrAnUnknownTenant_Exits1()
    {
        var nothing = await _cli.RunAsync("tenants", "update", "acme");
        var unknown = await _cli.RunAsync("tenants", "update", "ghost", "--tier", "basic");
        var show = await _cli.RunAsync("tenants", "show", "ghost");

        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("nothing to change", nothing.Error, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("unknown tenant 'ghost'", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(1, show.ExitCode);
    }

    [Fact]
    public async Task ScreeningImport_ReportsRowsReadAndRejectedWithLineNumbers()
    {
        var result = await ImportAsync();

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Imported 3 parties from list.csv: 5 rows read, 2 rejected.", result.Out, StringComparison.Ordinal);
        Assert.Contains("warning: line 4: the name is empty", result.Error, StringComparison.Ordinal);
        Assert.Contains("warning: line 5: 'XX' is not an ISO 3166-1 alpha-2 country code", result.Error, StringComparison.Ordinal);
        var threshold = await _cli.RunAsync("screening", "threshold");
        Assert.Contains("Threshold 0.85; 3 listed parties from list.csv", threshold.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScreeningImport_OfAFileWithoutValidRows_LeavesTheListAlone()
    {
        await ImportAsync();
        await File.WriteAllTextAsync(_cli.File("bad.csv"), "name,country\nAcme,US\n").WithTimeout();

        var result = await _cli.RunAsync("screening", "import", _cli.File("bad.csv"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("the list was not changed", result.Error, StringComparison.Ordinal);
        Assert.Contains("3 listed parties", (await _cli.RunAsync("screening", "threshold")).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANewTenantMatchingTheList_IsPending_AuditedWithTheMatch_AndAReviewClearsIt()
    {
        await ImportAsync();

        var added = await _cli.RunAsync("tenants", "add", "--id", "hw-sg", "--name", "HUA WEI TECHNOLOGIES PTE. LTD.", "--country", "SG", "--controlling-country", "CN");
        var pending = await GetTenantAsync("hw-sg");
        var reviewed = await _cli.RunAsync("screening", "review", "hw-sg", "--decision", "clear", "--note", "Different company: registry SG-2019-1234, no common owners");
        var flag = await AuditAsync("denied_party.flag");
        var review = await AuditAsync("denied_party.review");

        Assert.Equal(0, added.ExitCode);
        Assert.Contains("Denied-party screening matched 'Huawei Technologies Co., Ltd.'", added.Out, StringComparison.Ordinal);
        Assert.Contains("corridor screening review hw-sg --decision confirm|clear", added.Out, StringComparison.Ordinal);
        Assert.Equal(DeniedPartyStatus.Pending, pending.DeniedParty);
        Assert.Equal(0, reviewed.ExitCode);
        Assert.Contains("pending -> cleared", reviewed.Out, StringComparison.Ordinal);
        Assert.Equal(DeniedPartyStatus.Cleared, (await GetTenantAsync("hw-sg")).DeniedParty);
        Assert.Equal("hw-sg", flag.GetProperty("subject").GetString());
        Assert.Equal("Huawei Technologies Co., Ltd.", flag.GetProperty("details").GetProperty("listed_name").GetString());
        Assert.Equal(1.0, flag.GetProperty("details").GetProperty("score").GetDouble());
        Assert.Equal("clear", review.GetProperty("details").GetProperty("decision").GetString());
        Assert.Contains("SG-2019-1234", review.GetProperty("details").GetProperty("note").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScreeningReview_NeedsADecisionANoteAndSomethingToReview()
    {
        await ImportAsync();
        await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG");

        var nothing = await _cli.RunAsync("screening", "review", "acme", "--decision", "clear", "--note", "ok");
        var bad = await _cli.RunAsync("screening", "review", "acme", "--decision", "maybe", "--note", " ");

        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("has no denied-party match to review", nothing.Error, StringComparison.Ordinal);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("error: the decision must be confirm or clear", bad.Error, StringComparison.Ordinal);
        Assert.Contains("error: a note is required", bad.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARenamedTenant_IsScreenedAgain_AndAConfirmedOneStaysRefused()
    {
        await ImportAsync();
        await _cli.RunAsync("tenants", "add", "--id", "volga", "--name", "Volga River Cruises", "--country", "RU");

        var renamed = await _cli.RunAsync("tenants", "update", "volga", "--name", "Volga Petro Holdings");
        await _cli.RunAsync("screening", "review", "volga", "--decision", "confirm", "--note", "Same owners as the listed party");
        await _cli.RunAsync("tenants", "update", "volga", "--name", "Volga Cruises");

        Assert.Contains("denied_party: clear -> pending", renamed.Out, StringComparison.Ordinal);
        Assert.Contains("matched 'Volga Petroleum Trading OOO'", renamed.Out, StringComparison.Ordinal);
        Assert.Equal(DeniedPartyStatus.Confirmed, (await GetTenantAsync("volga")).DeniedParty);
    }

    [Fact]
    public async Task ScreeningImport_FlagsExistingClearTenantsThatNowMatch()
    {
        await _cli.RunAsync("tenants", "add", "--id", "kestrel", "--name", "Kestrel Avionics, L.L.C.", "--country", "US");
        await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG");
        await File.WriteAllTextAsync(_cli.File("list2.csv"), "name,aliases,country,program\nKestrel Avionics LLC,,US,EXPORT-CONTROL\n").WithTimeout();

        var result = await _cli.RunAsync("screening", "import", _cli.File("list2.csv"));

        Assert.Contains("Flagged tenant kestrel (Kestrel Avionics, L.L.C.)", result.Out, StringComparison.Ordinal);
        Assert.Equal(DeniedPartyStatus.Pending, (await GetTenantAsync("kestrel")).DeniedParty);
        Assert.Equal(DeniedPartyStatus.Clear, (await GetTenantAsync("acme")).DeniedParty);
        var import = await AuditAsync("screening.import");
        Assert.Equal(["kestrel"], import.GetProperty("details").GetProperty("flagged").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(64, import.GetProperty("details").GetProperty("sha256").GetString()!.Length);
    }

    [Fact]
    public async Task ScreeningCheck_PrintsMatchesForOperators_AndNoMatchForUnrelatedNames()
    {
        await ImportAsync();

        var hit = await _cli.RunAsync("screening", "check", "Shen Zhen Hua Wei Technologies", "--country", "CN");
        var miss = await _cli.RunAsync("screening", "check", "China Merchants Bank");
        var lower = await _cli.RunAsync("screening", "check", "Huawei Device Singapore", "--country", "SG", "--threshold", "0.5", "--json");

        Assert.Equal(0, hit.ExitCode);
        Assert.Matches(@"(?m)^\s*\d\.\d+\s+\d\.\d+\s+CN \(same\)\s+Huawei Technologies Co\., Ltd\.", hit.Out);
        Assert.Contains("No match.", miss.Out, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(lower.Out);
        var match = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal("different", match.GetProperty("country_effect").GetString());
        Assert.Equal(0.8, match.GetProperty("score").GetDouble());
    }

    [Fact]
    public async Task ScreeningThreshold_IsSetAndAudited_AndRefusesNonsense()
    {
        var set = await _cli.RunAsync("screening", "threshold", "0.9");
        var bad = await _cli.RunAsync("screening", "threshold", "2");

        Assert.Equal(0, set.ExitCode);
        Assert.Contains("Threshold 0.85 -> 0.9", set.Out, StringComparison.Ordinal);
        Assert.Equal(1, bad.ExitCode);
        Assert.Equal(0.9, (await AuditAsync("screening.threshold")).GetProperty("details").GetProperty("to").GetDouble());
    }

    [Fact]
    public async Task KeysIssueAndRevoke_AreAudited_WithoutTheSecret()
    {
        await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG");
        var issued = await _cli.RunAsync("keys", "issue", "--tenant", "acme", "--json");
        using var key = JsonDocument.Parse(issued.Out);
        var keyId = key.RootElement.GetProperty("id").GetString()!;
        await _cli.RunAsync("keys", "revoke", keyId);
        await _cli.RunAsync("keys", "revoke", keyId);

        var list = await _cli.RunAsync("audit", "list", "--subject", keyId);

        Assert.Matches($@"(?m)^\s*2\s+\S+\s+cli:\S+\s+key\.issue\s+{keyId}\s+{{""tenant"":""acme""", list.Out);
        Assert.Matches($@"(?m)^\s*3\s+\S+\s+cli:\S+\s+key\.revoke\s+{keyId}\s", list.Out);
        Assert.Equal(2, list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1);
        Assert.DoesNotContain(key.RootElement.GetProperty("secret").GetString()!, list.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditVerify_OnAnIntactLog_PrintsTheHead_AndAcceptsItAsAnAnchor()
    {
        await ImportAsync();
        await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG");

        var verified = await _cli.RunAsync("audit", "verify");
        var head = verified.Out.Split('\n').Single(l => l.StartsWith("Head: ", StringComparison.Ordinal))["Head: ".Length..].Trim();
        var anchored = await _cli.RunAsync("audit", "verify", "--expect", head);

        Assert.Equal(0, verified.ExitCode);
        Assert.Contains("The audit log is intact: 2 records, 1 to 2.", verified.Out, StringComparison.Ordinal);
        Assert.Equal(0, anchored.ExitCode);

        // The same anchor given twice is one; two hashes for one record is a mistake, said plainly (not a crash).
        var twice = await _cli.RunAsync("audit", "verify", "--expect", head, "--expect", head);
        var sequence = head[..head.IndexOf(':', StringComparison.Ordinal)];
        var conflicting = await _cli.RunAsync("audit", "verify", "--expect", head, "--expect", sequence + ":" + new string('0', 64));
        Assert.Equal(0, twice.ExitCode);
        Assert.Equal(1, conflicting.ExitCode);
        Assert.Contains($"--expect names record {sequence} twice, with two different hashes.", conflicting.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditVerify_OnAnEmptyLog_SaysSo()
    {
        var result = await _cli.RunAsync("audit", "verify");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("The audit log is empty.", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditVerify_AfterTheFileWasTamperedWith_Exits1AndNamesTheFirstBadRecord()
    {
        foreach (var id in new[] { "a", "b", "c" })
        {
            await _cli.RunAsync("tenants", "add", "--id", id, "--name", id.ToUpperInvariant() + " Ltd", "--country", "SG");
        }

        var head = (await _cli.RunAsync("audit", "verify")).Out.Split('\n').Single(l => l.StartsWith("Head: ", StringComparison.Ordinal))[6..].Trim();
        await ExecuteAsync("""
            DROP TRIGGER audit_log_no_update;
            UPDATE audit_log SET details = replace(details, 'B Ltd', 'Bee Ltd') WHERE sequence = 2;
            """);

        var result = await _cli.RunAsync("audit", "verify");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: the audit log is broken at record 2: record 2 (tenant.create b) does not match its hash", result.Error, StringComparison.Ordinal);
        Assert.Contains("the last good one is 1", result.Error, StringComparison.Ordinal);

        await ExecuteAsync("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE sequence >= 2;");
        var truncated = await _cli.RunAsync("audit", "verify", "--expect", head);
        Assert.Equal(1, truncated.ExitCode);
        Assert.Contains("broken at record 3", truncated.Error, StringComparison.Ordinal);
        Assert.Contains("the log ends at 1", truncated.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// A backup is a new file holding the whole store, read back and checked: the same audit head as the store's, usable as a
    /// store of its own; it never overwrites a file, and the copy of a store whose audit log was tampered with says so and
    /// exits 1.
    /// </summary>
    [Fact]
    public async Task Backup_WritesACheckedCopy_WithTheStoresAuditHead_NeverOverAFile_AndReportsATamperedLog()
    {
        foreach (var id in new[] { "a", "b", "c" })
        {
            await _cli.RunAsync("tenants", "add", "--id", id, "--name", id.ToUpperInvariant() + " Ltd", "--country", "SG");
        }
        var head = (await _cli.RunAsync("audit", "verify")).Out.Split('\n').Single(l => l.StartsWith("Head: ", StringComparison.Ordinal))[6..].Trim();
        var copy = _cli.File("backup.db");

        var backedUp = await _cli.RunAsync("backup", copy, "--json");
        var again = await _cli.RunAsync("backup", copy);
        var fromCopy = await CliRunner.RunRawAsync("tenants", "list", "--json", "--db", copy);
        await ExecuteAsync("""
            DROP TRIGGER audit_log_no_update;
            UPDATE audit_log SET details = replace(details, 'B Ltd', 'Bee Ltd') WHERE sequence = 2;
            """);
        var tampered = await _cli.RunAsync("backup", _cli.File("tampered.db"));

        Assert.Equal(0, backedUp.ExitCode);
        using (var doc = JsonDocument.Parse(backedUp.Out))
        {
            Assert.Equal(System.IO.Path.GetFullPath(copy), doc.RootElement.GetProperty("path").GetString());
            Assert.Equal("ok", doc.RootElement.GetProperty("integrity").GetString());
            Assert.Equal(head, doc.RootElement.GetProperty("audit_head").GetString());
            Assert.Equal(3, doc.RootElement.GetProperty("audit_records").GetInt64());
            Assert.True(doc.RootElement.GetProperty("sound").GetBoolean());
            Assert.Equal(new FileInfo(copy).Length, doc.RootElement.GetProperty("bytes").GetInt64());
        }
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("exists: a backup is written to a new file, never over one", again.Error, StringComparison.Ordinal);
        Assert.Equal(0, fromCopy.ExitCode);
        using (var tenants = JsonDocument.Parse(fromCopy.Out))
        {
            Assert.Equal(["a", "b", "c"], tenants.RootElement.EnumerateArray().Select(t => t.GetProperty("id").GetString()));
        }
        Assert.Equal(1, tampered.ExitCode);
        Assert.Contains("the copy's audit log is broken at record 2", tampered.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditList_FiltersByAction_AndLimits()
    {
        foreach (var id in new[] { "a", "b", "c" })
        {
            await _cli.RunAsync("tenants", "add", "--id", id, "--name", id + " Ltd", "--country", "SG");
        }

        await _cli.RunAsync("tenants", "update", "b", "--tier", "basic");

        var limited = await _cli.RunAsync("audit", "list", "--action", "tenant.create", "--limit", "2", "--json");

        using var doc = JsonDocument.Parse(limited.Out);
        Assert.Equal(["b", "c"], doc.RootElement.EnumerateArray().Select(r => r.GetProperty("subject").GetString()));
        Assert.Equal(1, (await _cli.RunAsync("audit", "list", "--limit", "0")).ExitCode);
    }

    private async Task<CliResult> ImportAsync()
    {
        await File.WriteAllTextAsync(_cli.File("list.csv"), ListCsv).WithTimeout();
        return await _cli.RunAsync("screening", "import", _cli.File("list.csv"));
    }

    private async Task<JsonElement> AuditAsync(string action)
    {
        var result = await _cli.RunAsync("audit", "list", "--action", action, "--json");
        using var doc = JsonDocument.Parse(result.Out);
        return doc.RootElement.EnumerateArray().Last().Clone();
    }

    private async Task<Tenant> GetTenantAsync(string id)
    {
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout();
        return (await store.GetTenantAsync(id, CancellationToken.None).WithTimeout())!;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_cli.DbPath};Pooling=False");
        await connection.OpenAsync().WithTimeout();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync().WithTimeout();
    }
}
