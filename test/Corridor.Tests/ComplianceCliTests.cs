using System.Globalization;
using System.Text.Json;
using Corridor.Core.Audit;
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

    // https://sqlite.org/rescode.html#readonly_dbmoved
    private const int SqliteReadonlyDbMoved = 1032;

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
        Assert.Equal(0, (await _cli.RunAsync("tenants", "list")).ExitCode);
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

    /// <summary>A backup into a folder that is not there is refused naming the folder, not with SQLite's "unable to open database".</summary>
    [Fact]
    public async Task Backup_IntoAFolderThatIsNotThere_SaysWhichFolder()
    {
        await _cli.RunAsync("tenants", "add", "--id", "a", "--name", "A Ltd", "--country", "SG");
        var folder = _cli.File("no-such-folder");

        var result = await _cli.RunAsync("backup", System.IO.Path.Combine(folder, "copy.db"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"error: the folder '{folder}' does not exist", result.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder));
    }

    /// <summary>
    /// Verifying a backup's audit log against the head noted down when it was taken (docs/operations.md, "Backups") reads
    /// the copy and writes nothing: not into it (no migration of an older Corridor's backup, no WAL mode), not beside it
    /// (no -wal, -shm, -journal, no ledger journal folder). A file that is not there is an error, not a new empty store.
    /// </summary>
    [Fact]
    public async Task AuditVerify_OfABackup_ReadsItWithoutWritingIntoOrBesideIt_EvenAtAnOlderSchema()
    {
        await _cli.RunAsync("tenants", "add", "--id", "a", "--name", "A Ltd", "--country", "SG");
        var copy = _cli.File("backup.db");
        string head;
        using (var backedUp = JsonDocument.Parse((await _cli.RunAsync("backup", copy, "--json")).Out))
        {
            head = backedUp.RootElement.GetProperty("audit_head").GetString()!;
        }
        var old = _cli.File("old-backup.db");
        var (_, oldHead) = await WriteOldStoreAsync(old, 11);
        var copyBytes = await File.ReadAllBytesAsync(copy).WithTimeout();
        var oldBytes = await File.ReadAllBytesAsync(old).WithTimeout();

        var verified = await CliRunner.RunRawAsync("audit", "verify", "--expect", head, "--db", copy);
        var verifiedOld = await CliRunner.RunRawAsync("audit", "verify", "--expect", $"{oldHead.Sequence}:{oldHead.Hash}", "--db", old);
        var missing = await CliRunner.RunRawAsync("audit", "verify", "--db", _cli.File("no-such-backup.db"));

        Assert.Equal(0, verified.ExitCode);
        Assert.Contains($"Head: {head}", verified.Out, StringComparison.Ordinal);
        Assert.Equal(0, verifiedOld.ExitCode);
        Assert.Contains("The audit log is intact: 2 records", verifiedOld.Out, StringComparison.Ordinal);
        Assert.Equal(copyBytes, await File.ReadAllBytesAsync(copy).WithTimeout());
        Assert.Equal(oldBytes, await File.ReadAllBytesAsync(old).WithTimeout());
        foreach (var file in new[] { copy, old })
        {
            Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(System.IO.Path.GetDirectoryName(file)!),
                f => f.StartsWith(file, StringComparison.Ordinal) && f != file);
        }
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no-such-backup.db", missing.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_cli.File("no-such-backup.db")));
    }

    /// <summary>
    /// A restore puts the backup in the store's place: what was written after the backup is gone from the store, and kept
    /// in the replaced store beside it (a store of its own); the restore is the restored log's newest record, chained after
    /// the backup's head, which still verifies.
    /// </summary>
    [Fact]
    public async Task Restore_PutsTheBackupInPlace_KeepsTheReplacedStoreAside_AndIsAudited()
    {
        await _cli.RunAsync("tenants", "add", "--id", "a", "--name", "A Ltd", "--country", "SG");
        await _cli.RunAsync("tenants", "add", "--id", "b", "--name", "B Ltd", "--country", "SG");
        var backup = _cli.File("backup.db");
        string backupHead;
        using (var backedUp = JsonDocument.Parse((await _cli.RunAsync("backup", backup, "--json")).Out))
        {
            backupHead = backedUp.RootElement.GetProperty("audit_head").GetString()!;
        }
        await _cli.RunAsync("tenants", "add", "--id", "c", "--name", "C Ltd", "--country", "SG");
        var replacedHead = (await _cli.RunAsync("audit", "verify")).Out.Split('\n').Single(l => l.StartsWith("Head: ", StringComparison.Ordinal))[6..].Trim();

        var root = await RestoreAsync(backup);

        Assert.Equal(backupHead, root.GetProperty("backup").GetProperty("audit_head").GetString());
        Assert.Equal(replacedHead, root.GetProperty("replaced_audit_head").GetString());
        var replaced = root.GetProperty("replaced").GetString()!;
        Assert.StartsWith(_cli.DbPath + ".before-restore-", replaced, StringComparison.Ordinal);
        Assert.Equal(["a", "b"], await TenantIdsAsync("--db", _cli.DbPath));
        Assert.Equal(["a", "b", "c"], await TenantIdsAsync("--db", replaced));

        var verified = await _cli.RunAsync("audit", "verify", "--expect", backupHead);
        Assert.Equal(0, verified.ExitCode);
        Assert.Contains($"Head: {root.GetProperty("audit_head").GetString()}", verified.Out, StringComparison.Ordinal);
        var record = await AuditAsync(AuditActions.StoreRestore);
        Assert.Equal(long.Parse(backupHead.Split(':')[0], CultureInfo.InvariantCulture) + 1, record.GetProperty("sequence").GetInt64());
        Assert.Equal(System.IO.Path.GetFullPath(backup), record.GetProperty("details").GetProperty("from").GetString());
        Assert.Equal(replaced, record.GetProperty("details").GetProperty("replaced").GetString());
        Assert.Equal(replacedHead, record.GetProperty("details").GetProperty("replaced_audit_head").GetString());
        Assert.DoesNotContain(Directory.EnumerateFiles(System.IO.Path.GetDirectoryName(_cli.DbPath)!), f => f.Contains(".restoring-", StringComparison.Ordinal));
    }

    /// <summary>
    /// A backup an older Corridor made (a store at schema 3, the first with an audit log; at 11, before the daily usage
    /// totals, the cache tokens, batches, expiring keys and the gateway's secrets; at 19, before the secrets and expiring
    /// keys) is restored and migrated to this build's schema on the way: its tenant,
    /// key and ledger are there, the usage it reports is read from the daily totals the migration filled from its ledger,
    /// its key is unrevoked and never expires, and its audit chain verifies, with the backup's head and with the restore after it.
    /// The backup file itself is left at its old schema.
    /// </summary>
    [Theory]
    [InlineData(3)]
    [InlineData(11)]
    [InlineData(19)]
    public async Task Restore_OfABackupAtAnOlderSchema_MigratesIt_KeepingItsDataAndItsAuditChain(int oldSchema)
    {
        await _cli.RunAsync("tenants", "add", "--id", "today", "--name", "Today Ltd", "--country", "SG");
        var backup = _cli.File("old-backup.db");
        var (secret, backupHead) = await WriteOldStoreAsync(backup, oldSchema);
        var anchor = $"{backupHead.Sequence}:{backupHead.Hash}";

        var root = await RestoreAsync(backup);

        Assert.Equal(oldSchema, root.GetProperty("backup").GetProperty("schema_version").GetInt64());
        Assert.Equal(anchor, root.GetProperty("backup").GetProperty("audit_head").GetString());
        Assert.Equal(Corridor.Storage.Sqlite.SqliteMigrations.LatestVersion, root.GetProperty("schema_version").GetInt64());
        Assert.Equal(Corridor.Storage.Sqlite.SqliteMigrations.LatestVersion, await SchemaVersionAsync(_cli.DbPath));
        Assert.Equal(oldSchema, await SchemaVersionAsync(backup));

        Assert.Equal(["acme"], await TenantIdsAsync("--db", _cli.DbPath));
        var tenant = await GetTenantAsync("acme");
        Assert.Equal("Acme Ltd", tenant.LegalName);
        var keys = await _cli.RunAsync("keys", "list", "--tenant", "acme", "--json");
        Assert.Equal(0, keys.ExitCode);
        Assert.Contains("key_0000000000000001", keys.Out, StringComparison.Ordinal);
        var usage = await _cli.RunAsync("usage", "--from", "2026-06-01", "--to", "2026-07-01", "--json");
        Assert.Equal(0, usage.ExitCode);
        using (var totals = JsonDocument.Parse(usage.Out))
        {
            var row = Assert.Single(totals.RootElement.EnumerateArray());
            Assert.Equal("acme", row.GetProperty("tenant").GetString());
            Assert.Equal(2, row.GetProperty("requests").GetInt64());
            Assert.Equal(400, row.GetProperty("input_tokens").GetInt64());
            Assert.Equal(30, row.GetProperty("output_tokens").GetInt64());
            Assert.Equal(0.00104m, decimal.Parse(row.GetProperty("cost").GetString()!, CultureInfo.InvariantCulture));
        }
        // Rows written before sell prices (schema 8) are billed at cost.
        var revenue = await _cli.RunAsync("report", "revenue", "--from", "2026-06-01", "--to", "2026-07-01", "--format", "json");
        Assert.Equal(0, revenue.ExitCode);
        using (var report = JsonDocument.Parse(revenue.Out))
        {
            var june = report.RootElement.GetProperty("totals").EnumerateArray().Single(t => t.GetProperty("period").GetString() == "2026-06");
            Assert.Equal(0.00104m, decimal.Parse(june.GetProperty("revenue").GetString()!, CultureInfo.InvariantCulture));
            Assert.Equal(0.00104m, decimal.Parse(june.GetProperty("spend").GetString()!, CultureInfo.InvariantCulture));
        }
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout())
        {
            var key = await store.GetKeyAsync("key_0000000000000001", CancellationToken.None).WithTimeout();
            Assert.NotNull(key);
            Assert.Equal(ApiKeys.Hash(secret), key.Hash);
            Assert.Null(key.ExpiresAt);
            Assert.False(key.IsRevoked);
        }

        var verified = await _cli.RunAsync("audit", "verify", "--expect", anchor);
        Assert.Equal(0, verified.ExitCode);
        Assert.Contains($"Head: {root.GetProperty("audit_head").GetString()}", verified.Out, StringComparison.Ordinal);
        var record = await AuditAsync(AuditActions.StoreRestore);
        Assert.Equal(backupHead.Sequence + 1, record.GetProperty("sequence").GetInt64());
        Assert.Equal(oldSchema, record.GetProperty("details").GetProperty("from_schema_version").GetInt64());
    }

    /// <summary>
    /// A store an early Corridor kept (schema 2: tenants, keys and the ledger, before the audit log began at 3) is a Corridor
    /// store, not a foreign file: restore says what it is and restores it, migrated, its restore the first record of the
    /// restored store's audit log; audit verify given it says it has no audit log to verify, and why.
    /// </summary>
    [Fact]
    public async Task Restore_OfAStoreFromBeforeTheAuditLog_SaysWhatItIs_AndMigratesIt()
    {
        await _cli.RunAsync("tenants", "add", "--id", "today", "--name", "Today Ltd", "--country", "SG");
        var backup = _cli.File("early-backup.db");
        var (secret, none) = await WriteOldStoreRowsAsync(backup, 2);
        Assert.Null(none);

        var restored = await _cli.RunAsync("restore", backup);
        var verifiedBackup = await CliRunner.RunRawAsync("audit", "verify", "--db", backup);

        Assert.True(restored.ExitCode == 0, restored.Error);
        Assert.Contains("schema version 2, ledger rows 3, audit records 0", restored.Out, StringComparison.Ordinal);
        Assert.Contains("from before the audit log (schema version 2; the log begins at 3)", restored.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("not a Corridor store", restored.Out + restored.Error, StringComparison.Ordinal);
        Assert.Equal(Corridor.Storage.Sqlite.SqliteMigrations.LatestVersion, await SchemaVersionAsync(_cli.DbPath));
        Assert.Equal(2, await SchemaVersionAsync(backup));
        Assert.Equal(["acme"], await TenantIdsAsync("--db", _cli.DbPath));
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout())
        {
            Assert.Equal(ApiKeys.Hash(secret), (await store.GetKeyAsync("key_0000000000000001", CancellationToken.None).WithTimeout())?.Hash);
        }
        Assert.Equal(0, (await _cli.RunAsync("audit", "verify")).ExitCode);
        var record = await AuditAsync(AuditActions.StoreRestore);
        Assert.Equal(1, record.GetProperty("sequence").GetInt64());
        Assert.Equal(2, record.GetProperty("details").GetProperty("from_schema_version").GetInt64());
        Assert.Equal(JsonValueKind.Null, record.GetProperty("details").GetProperty("from_audit_head").ValueKind);

        Assert.Equal(1, verifiedBackup.ExitCode);
        Assert.Contains("is a Corridor store at schema version 2, from before the audit log (schema version 3): it has no audit log to verify.",
            verifiedBackup.Error, StringComparison.Ordinal);
    }

    /// <summary>A backup that fails a check, a file that is not a Corridor store and one of a newer schema are refused, and the store is left as it was.</summary>
    [Fact]
    public async Task Restore_RefusesATamperedForeignOrNewerFile_LeavingTheStoreAsItWas()
    {
        await _cli.RunAsync("tenants", "add", "--id", "a", "--name", "A Ltd", "--country", "SG");
        var backup = _cli.File("backup.db");
        Assert.Equal(0, (await _cli.RunAsync("backup", backup)).ExitCode);
        var tampered = _cli.File("tampered.db");
        File.Copy(backup, tampered);
        await ExecuteAsync(tampered, """
            DROP TRIGGER audit_log_no_update;
            UPDATE audit_log SET details = replace(details, 'A Ltd', 'Aye Ltd') WHERE sequence = 1;
            """);
        var newer = _cli.File("newer.db");
        File.Copy(backup, newer);
        await ExecuteAsync(newer, "INSERT INTO schema_migrations (version, name, applied_at) SELECT MAX(version) + 1, 'from a later Corridor', 0 FROM schema_migrations");
        var foreign = _cli.File("foreign.db");
        await ExecuteAsync(foreign, "CREATE TABLE notes (body TEXT)");
        var text = _cli.File("notes.txt");
        await File.WriteAllTextAsync(text, "not a database, not even close; long enough to be more than a header would be.\n").WithTimeout();

        var fromTampered = await _cli.RunAsync("restore", tampered);
        var fromNewer = await _cli.RunAsync("restore", newer);
        var fromForeign = await _cli.RunAsync("restore", foreign);
        var fromText = await _cli.RunAsync("restore", text);

        Assert.Equal(1, fromTampered.ExitCode);
        Assert.Contains("error: the backup's audit log is broken at record 1", fromTampered.Error, StringComparison.Ordinal);
        Assert.Equal(1, fromNewer.ExitCode);
        Assert.Contains("newer than this Corridor knows", fromNewer.Error, StringComparison.Ordinal);
        Assert.Equal(1, fromForeign.ExitCode);
        Assert.Contains("is a SQLite database but not a Corridor store", fromForeign.Error, StringComparison.Ordinal);
        Assert.Equal(1, fromText.ExitCode);
        Assert.Contains("cannot be read as a SQLite database", fromText.Error, StringComparison.Ordinal);
        Assert.Equal(["a"], await TenantIdsAsync("--db", _cli.DbPath));
        Assert.Equal(0, (await _cli.RunAsync("audit", "verify")).ExitCode);
        AssertNothingLeftBesideTheStore();
    }

    /// <summary>
    /// A backup whose migration to this Corridor's schema fails (here: it says it is at 23 but already has 24's column) is
    /// refused saying which migration failed and that nothing was changed; the store and the folder are as they were.
    /// </summary>
    [Fact]
    public async Task Restore_OfABackupThatCannotBeMigrated_SaysWhichMigration_AndChangesNothing()
    {
        await _cli.RunAsync("tenants", "add", "--id", "a", "--name", "A Ltd", "--country", "SG");
        var backup = _cli.File("backup.db");
        Assert.Equal(0, (await _cli.RunAsync("backup", backup)).ExitCode);
        await ExecuteAsync(backup, "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)");
        await _cli.RunAsync("tenants", "add", "--id", "b", "--name", "B Ltd", "--country", "SG");

        var refused = await _cli.RunAsync("restore", backup);

        Assert.Equal(1, refused.ExitCode);
        var latest = Corridor.Storage.Sqlite.SqliteMigrations.LatestVersion;
        Assert.Contains($"error: the backup '{backup}' could not be migrated to this Corridor's schema: Schema migration {latest} (", refused.Error, StringComparison.Ordinal);
        Assert.Contains($"the schema is unchanged at version {latest - 1}", refused.Error, StringComparison.Ordinal);
        Assert.Contains("SQLite said: ", refused.Error, StringComparison.Ordinal);
        Assert.Contains("Nothing was changed", refused.Error, StringComparison.Ordinal);
        Assert.Equal(["a", "b"], await TenantIdsAsync("--db", _cli.DbPath));
        AssertNothingLeftBesideTheStore();
    }

    /// <summary>
    /// While a store has the file open (a gateway's, in another process than the restore: it owns the ledger journal even
    /// with no SQLite connection open) or any SQLite connection does (the sqlite3 shell), the restore refuses and changes
    /// nothing; once they are closed it goes ahead.
    /// </summary>
    [Fact]
    public async Task Restore_RefusesWhileAStoreOrAConnectionHasTheFileOpen()
    {
        await _cli.RunAsync("tenants", "add", "--id", "a", "--name", "A Ltd", "--country", "SG");
        var backup = _cli.File("backup.db");
        Assert.Equal(0, (await _cli.RunAsync("backup", backup)).ExitCode);
        await _cli.RunAsync("tenants", "add", "--id", "b", "--name", "B Ltd", "--country", "SG");

        CliResult whileStoreOpen;
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout())
        {
            Assert.NotNull(await store.GetTenantAsync("b", CancellationToken.None).WithTimeout());
            // A gateway idle for a while, its pooled connections closed: it still owns the ledger journal.
            SqliteConnection.ClearAllPools();
            whileStoreOpen = await CliRunner.RunProcessAsync("restore", backup, "--db", _cli.DbPath);
        }
        CliResult whileConnectionOpen;
        await using (var connection = new SqliteConnection($"Data Source={_cli.DbPath};Pooling=False"))
        {
            await connection.OpenAsync().WithTimeout();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT COUNT(*) FROM tenants";
            Assert.Equal(2L, await read.ExecuteScalarAsync().WithTimeout());
            whileConnectionOpen = await _cli.RunAsync("restore", backup);
            Assert.Equal(2L, await read.ExecuteScalarAsync().WithTimeout());
        }
        var tenantsBetween = await TenantIdsAsync("--db", _cli.DbPath);
        var afterwards = await _cli.RunAsync("restore", backup);

        Assert.Equal(1, whileStoreOpen.ExitCode);
        Assert.Contains($"error: the store {_cli.DbPath} is open (its ledger journal {_cli.DbPath}-ledger is held)", whileStoreOpen.Error, StringComparison.Ordinal);
        Assert.Equal(1, whileConnectionOpen.ExitCode);
        Assert.Contains($"error: the store {_cli.DbPath} is open (SQLite could not lock it)", whileConnectionOpen.Error, StringComparison.Ordinal);
        Assert.Equal(["a", "b"], tenantsBetween);
        Assert.Equal(0, afterwards.ExitCode);
        Assert.Equal(["a"], await TenantIdsAsync("--db", _cli.DbPath));
    }

    /// <summary>
    /// A process that opened the file before the restore and first uses it after (a gateway starting meanwhile) holds the
    /// replaced store, out of WAL mode and moved: SQLite refuses it any write (SQLITE_READONLY_DBMOVED) rather than let it
    /// make a WAL named after the restored store's file.
    /// </summary>
    [Fact]
    public async Task Restore_LeavesAConnectionOpenedBeforeIt_UnableToWrite_AndTheRestoredStoreWhole()
    {
        await _cli.RunAsync("tenants", "add", "--id", "a", "--name", "A Ltd", "--country", "SG");
        var backup = _cli.File("backup.db");
        Assert.Equal(0, (await _cli.RunAsync("backup", backup)).ExitCode);
        await using var early = new SqliteConnection($"Data Source={_cli.DbPath};Pooling=False");
        await early.OpenAsync().WithTimeout();

        var restored = await _cli.RunAsync("restore", backup);
        using var toWal = early.CreateCommand();
        toWal.CommandText = "PRAGMA journal_mode = WAL";
        var intoWal = await Assert.ThrowsAsync<SqliteException>(() => toWal.ExecuteScalarAsync()).WithTimeout();
        using var insert = early.CreateCommand();
        insert.CommandText = "INSERT INTO tenants (id, legal_name, country, created_at) VALUES ('late', 'Late Ltd', 'SG', 0)";
        var write = await Assert.ThrowsAsync<SqliteException>(() => insert.ExecuteNonQueryAsync()).WithTimeout();

        Assert.Equal(0, restored.ExitCode);
        Assert.Equal(SqliteReadonlyDbMoved, intoWal.SqliteExtendedErrorCode);
        Assert.Equal(SqliteReadonlyDbMoved, write.SqliteExtendedErrorCode);
        Assert.False(File.Exists(_cli.DbPath + "-wal"));
        Assert.Equal(["a"], await TenantIdsAsync("--db", _cli.DbPath));
        Assert.Equal(0, (await _cli.RunAsync("audit", "verify")).ExitCode);
    }

    /// <summary>A store SQLite cannot read at all (what a restore is often for) is moved aside as it was, its WAL with it.</summary>
    [Fact]
    public async Task Restore_OverAStoreSqliteCannotRead_MovesItAsideAsItWas()
    {
        await _cli.RunAsync("tenants", "add", "--id", "a", "--name", "A Ltd", "--country", "SG");
        var backup = _cli.File("backup.db");
        Assert.Equal(0, (await _cli.RunAsync("backup", backup)).ExitCode);
        var damage = new byte[64 * 1024];
        new Random(7).NextBytes(damage);
        await File.WriteAllBytesAsync(_cli.DbPath, damage).WithTimeout();
        await File.WriteAllTextAsync(_cli.DbPath + "-wal", "the damaged store's WAL").WithTimeout();

        var restored = await _cli.RunAsync("restore", backup, "--json");

        Assert.Equal(0, restored.ExitCode);
        using var doc = JsonDocument.Parse(restored.Out);
        var replaced = doc.RootElement.GetProperty("replaced").GetString()!;
        Assert.NotNull(doc.RootElement.GetProperty("replaced_problem").GetString());
        Assert.Equal(damage, await File.ReadAllBytesAsync(replaced).WithTimeout());
        Assert.Equal("the damaged store's WAL", await File.ReadAllTextAsync(replaced + "-wal").WithTimeout());
        Assert.False(File.Exists(_cli.DbPath + "-wal"));
        Assert.Equal(["a"], await TenantIdsAsync("--db", _cli.DbPath));
        Assert.Equal(0, (await _cli.RunAsync("audit", "verify")).ExitCode);
    }

    /// <summary>PostgreSQL is backed up with its own tools; the command names them without connecting (no server is needed to refuse).</summary>
    [Fact]
    public async Task Backup_OfAPostgresStore_IsRefused_NamingPostgresOwnTools_WithoutConnecting()
    {
        var refused = await CliRunner.RunRawAsync("backup", _cli.File("copy.db"), "--db", "Host=127.0.0.1;Port=1;Database=corridor;Username=corridor");

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error: a PostgreSQL store is backed up with PostgreSQL's own tools: pg_dump", refused.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_cli.File("copy.db")));
    }

    /// <summary>PostgreSQL is restored with its own tools; the command names them and touches nothing (no server is needed to refuse).</summary>
    [Fact]
    public async Task Restore_OfAPostgresStore_IsRefused_NamingPostgresOwnTools()
    {
        var backup = _cli.File("backup.db");
        await File.WriteAllTextAsync(backup, "unused").WithTimeout();

        var refused = await CliRunner.RunRawAsync("restore", backup, "--db", "Host=127.0.0.1;Port=1;Database=corridor;Username=corridor");

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("error: a PostgreSQL store is restored with PostgreSQL's own tools: pg_restore", refused.Error, StringComparison.Ordinal);
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

    /// <summary>A refused restore leaves no store moved aside and no copy being prepared beside the store.</summary>
    private void AssertNothingLeftBesideTheStore() =>
        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(System.IO.Path.GetDirectoryName(_cli.DbPath)!),
            f => f.Contains(".before-restore-", StringComparison.Ordinal) || f.Contains(".restoring-", StringComparison.Ordinal));

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

    /// <summary>
    /// A store as an older Corridor at <paramref name="oldSchema"/> (3 or later) left it: written at schema 3 (a tenant, a
    /// key, three ledger rows, two audit records), then migrated to the old schema, as a store that old Corridor kept had
    /// been, so the rows have what those migrations filled in (revenue, the daily totals). Returns the key's secret and the
    /// audit head.
    /// </summary>
    private static async Task<(string Secret, AuditRecord Head)> WriteOldStoreAsync(string path, int oldSchema)
    {
        Assert.True(oldSchema >= 3);
        var (secret, head) = await WriteOldStoreRowsAsync(path, oldSchema);
        return (secret, head!);
    }

    /// <summary>
    /// As <see cref="WriteOldStoreAsync"/>, and for a schema before the audit log (1 or 2) the same tenant, key and ledger
    /// rows written at that schema, with no audit records (the head null).
    /// </summary>
    private static async Task<(string Secret, AuditRecord? Head)> WriteOldStoreRowsAsync(string path, int oldSchema)
    {
        var secret = ApiKeys.NewSecret();
        var written = Math.Min(oldSchema, 3);
        AuditRecord? head = null;
        await using (var old = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await old.OpenAsync().WithTimeout();
            Assert.Equal(written, await Corridor.Storage.Sqlite.SqliteMigrations.ApplyAsync(old, TimeProvider.System, written, CancellationToken.None).WithTimeout());
            var transaction = old.BeginTransaction();
            using (var insert = old.CreateCommand())
            {
                insert.Transaction = transaction;
                // Two billable rows on two days, and a refused one.
                insert.CommandText = """
                    INSERT INTO tenants (id, legal_name, country, created_at, tier) VALUES ('acme', 'Acme Ltd', 'SG', 1780000000000, 'established');
                    INSERT INTO api_keys (id, tenant_id, prefix, hash, name, created_at) VALUES ('key_0000000000000001', 'acme', $prefix, $hash, 'old', 1780000000000);
                    INSERT INTO ledger (request_id, time, tenant_id, key_id, model, endpoint, deployment_id, region, status, outcome,
                        input_tokens, output_tokens, cost, estimated, latency_ms, billable)
                    VALUES
                        ('req_1', 1781049600000, 'acme', 'key_0000000000000001', 'gpt-4.1', '/v1/chat/completions', 'gpt-4.1-sg', 'sg', 200, 'Success', 100, 20, '0.00036', 0, 40, 1),
                        ('req_2', 1781136000000, 'acme', 'key_0000000000000001', 'gpt-4.1', '/v1/chat/completions', 'gpt-4.1-sg', 'sg', 200, 'Success', 300, 10, '0.00068', 0, 40, 1),
                        ('req_3', 1781136000001, 'acme', 'key_0000000000000001', 'gpt-4.1', '/v1/chat/completions', NULL, 'none', 403, 'Denied', 0, 0, '0', 0, 1, 0);
                    """;
                insert.Parameters.AddWithValue("$prefix", secret[..12]);
                insert.Parameters.AddWithValue("$hash", ApiKeys.Hash(secret));
                await insert.ExecuteNonQueryAsync().WithTimeout();
            }
            if (written == 3)
            {
                var time = DateTimeOffset.FromUnixTimeMilliseconds(1780000000000);
                var records = await Corridor.Storage.Sqlite.SqliteAudit.AppendAsync(old, transaction,
                [
                    new AuditEntry(time, "cli:old", AuditActions.TenantCreate, "acme", "{\"legal_name\":\"Acme Ltd\"}"),
                    new AuditEntry(time, "cli:old", AuditActions.KeyIssue, "key_0000000000000001", "{\"tenant\":\"acme\"}"),
                ], CancellationToken.None).WithTimeout();
                head = records[^1];
            }
            transaction.Commit();
            transaction.Dispose();
            Assert.Equal(oldSchema - written, await Corridor.Storage.Sqlite.SqliteMigrations.ApplyAsync(old, TimeProvider.System, oldSchema, CancellationToken.None).WithTimeout());
        }
        return (secret, head);
    }

    /// <summary>Restores <paramref name="backup"/> over the store with <c>--json</c>, which must succeed; its document.</summary>
    private async Task<JsonElement> RestoreAsync(string backup)
    {
        var restored = await _cli.RunAsync("restore", backup, "--json");
        Assert.Equal(0, restored.ExitCode);
        using var doc = JsonDocument.Parse(restored.Out);
        Assert.True(doc.RootElement.GetProperty("restored").GetBoolean());
        return doc.RootElement.Clone();
    }

    private Task ExecuteAsync(string sql) => ExecuteAsync(_cli.DbPath, sql);

    private static async Task<long> SchemaVersionAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync().WithTimeout();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT MAX(version) FROM schema_migrations";
        return (long)(await command.ExecuteScalarAsync().WithTimeout())!;
    }

    private static async Task<string[]> TenantIdsAsync(params string[] db)
    {
        var listed = await CliRunner.RunRawAsync(["tenants", "list", "--json", .. db]);
        Assert.Equal(0, listed.ExitCode);
        using var tenants = JsonDocument.Parse(listed.Out);
        return [.. tenants.RootElement.EnumerateArray().Select(t => t.GetProperty("id").GetString()!)];
    }

    private static async Task ExecuteAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync().WithTimeout();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync().WithTimeout();
    }
}
