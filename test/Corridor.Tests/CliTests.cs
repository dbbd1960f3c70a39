using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using Corridor.Core.Metering;
using Corridor.Core.Tenants;
using Corridor.Storage;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Tests;

public sealed partial class CliTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task TenantsAdd_ThenList_ShowsTheTenantWithAnUppercasedCountry()
    {
        var added = await _cli.RunAsync("tenants", "add", "--id", "acme-logistics", "--name", "Acme Logistics Pte. Ltd.", "--country", "sg");
        var table = await _cli.RunAsync("tenants", "list");
        var json = await _cli.RunAsync("tenants", "list", "--json");

        Assert.Equal(0, added.ExitCode);
        Assert.Contains("Added tenant acme-logistics", added.Out, StringComparison.Ordinal);
        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"(?m)^ID\s+NAME\s+COUNTRY\s+CONTROLLING\s+TIER\s+DENIED PARTY\s+CREATED$", table.Out);
        Assert.Matches(@"(?m)^acme-logistics\s+Acme Logistics Pte\. Ltd\.\s+SG\s+SG\s+unverified\s+clear\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", table.Out);
        using var doc = JsonDocument.Parse(json.Out);
        var tenant = Assert.Single(doc.RootElement.EnumerateArray());
        Assert.Equal("acme-logistics", tenant.GetProperty("id").GetString());
        Assert.Equal("Acme Logistics Pte. Ltd.", tenant.GetProperty("legal_name").GetString());
        Assert.Equal("SG", tenant.GetProperty("country").GetString());
        Assert.Empty(added.Error + table.Error + json.Error);
    }

    [Fact]
    public async Task TenantsAdd_WithBadInput_ReportsEveryProblemAndExits1()
    {
        var result = await _cli.RunAsync("tenants", "add", "--id", "Acme Corp", "--name", "Acme", "--country", "XX");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: tenant id 'Acme Corp' is not valid", result.Error, StringComparison.Ordinal);
        Assert.Contains("error: 'XX' is not an ISO 3166-1 alpha-2 country code", result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result);
        Assert.Contains("No tenants yet", (await _cli.RunAsync("tenants", "list")).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TenantsAdd_WithATakenId_Exits1()
    {
        await AddTenantAsync("acme");

        var result = await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Other", "--country", "DE");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: A tenant with id 'acme' already exists.", result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Fact]
    public async Task KeysIssue_PrintsTheSecretOnce_AndStoresOnlyItsHash()
    {
        await AddTenantAsync("acme");

        var issued = await _cli.RunAsync("keys", "issue", "--tenant", "acme", "--name", "ci");

        Assert.Equal(0, issued.ExitCode);
        var secret = Assert.Single(SecretPattern().Matches(issued.Out)).Value;
        Assert.Contains("cannot be shown again", issued.Out, StringComparison.Ordinal);
        var keys = await ListKeysAsync();
        var key = Assert.Single(keys);
        Assert.Equal(ApiKeys.Hash(secret), key.Hash);
        Assert.Equal(secret[..12], key.Prefix);
        Assert.Equal("ci", key.Name);
        Assert.Contains($"id      {key.Id}", issued.Out, StringComparison.Ordinal);
        Assert.Contains($"prefix  {key.Prefix}", issued.Out, StringComparison.Ordinal);

        foreach (var listing in new[] { await _cli.RunAsync("keys", "list"), await _cli.RunAsync("keys", "list", "--json") })
        {
            Assert.Equal(0, listing.ExitCode);
            Assert.Contains(key.Id, listing.Out, StringComparison.Ordinal);
            Assert.Contains(key.Prefix, listing.Out, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, listing.Out, StringComparison.Ordinal);
            Assert.DoesNotContain(key.Hash, listing.Out, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task KeysIssue_WithJson_ReturnsTheSecretForScripts()
    {
        await AddTenantAsync("acme");

        var issued = await _cli.RunAsync("keys", "issue", "--tenant", "acme", "--json");

        using var doc = JsonDocument.Parse(issued.Out);
        var secret = doc.RootElement.GetProperty("secret").GetString()!;
        Assert.Equal(ApiKeys.Hash(secret), Assert.Single(await ListKeysAsync()).Hash);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("name").ValueKind);
    }

    [Fact]
    public async Task KeysIssue_WithAnExpiry_KeepsIt_AndRefusesOneThatIsNotLater()
    {
        await AddTenantAsync("acme");
        var before = DateTimeOffset.UtcNow;

        var issued = await _cli.RunAsync("keys", "issue", "--tenant", "acme", "--expires", "90d", "--json");
        var past = await _cli.RunAsync("keys", "issue", "--tenant", "acme", "--expires", "2020-01-01");
        var garbled = await _cli.RunAsync("keys", "issue", "--tenant", "acme", "--expires", "soon");

        using var doc = JsonDocument.Parse(issued.Out);
        var expires = doc.RootElement.GetProperty("expires_at").GetDateTimeOffset();
        Assert.InRange(expires, before.AddDays(90).AddSeconds(-1), DateTimeOffset.UtcNow.AddDays(90));
        Assert.Equal(expires, Assert.Single(await ListKeysAsync()).ExpiresAt);
        Assert.Equal(1, past.ExitCode);
        // In the operator's words: the option typed, not the admin API's field.
        Assert.Contains("error: --expires must be later than now: a key issued expired would never work.", past.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("expires_at", past.Error, StringComparison.Ordinal);
        Assert.Equal(1, garbled.ExitCode);
        Assert.Contains("--expires: 'soon'", garbled.Error, StringComparison.Ordinal);
        Assert.Single(await ListKeysAsync());
    }

    [Fact]
    public async Task KeysUpdate_WithAnExpiry_ChangesOrRemovesIt_AndRefusesWhatItCannotDo()
    {
        await AddTenantAsync("acme");
        var issued = await _cli.RunAsync("keys", "issue", "--tenant", "acme", "--expires", "1d", "--json");
        string keyId;
        using (var doc = JsonDocument.Parse(issued.Out))
        {
            keyId = doc.RootElement.GetProperty("id").GetString()!;
        }

        var later = await _cli.RunAsync("keys", "update", keyId, "--expires", "2099-01-01");
        var laterKey = Assert.Single(await ListKeysAsync());
        var never = await _cli.RunAsync("keys", "update", keyId, "--expires", "never", "--rpm", "60");
        var neverKey = Assert.Single(await ListKeysAsync());
        var past = await _cli.RunAsync("keys", "update", keyId, "--expires", "2020-01-01");
        var nothing = await _cli.RunAsync("keys", "update", keyId);
        var unknown = await _cli.RunAsync("keys", "update", "key_ffffffffffffffff", "--expires", "30d");
        await _cli.RunAsync("keys", "revoke", keyId);
        var revoked = await _cli.RunAsync("keys", "update", keyId, "--expires", "30d");

        Assert.Equal(0, later.ExitCode);
        Assert.Contains("now expires at 2099-01-01", later.Out, StringComparison.Ordinal);
        Assert.Equal(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), laterKey.ExpiresAt);
        Assert.Equal(0, never.ExitCode);
        Assert.Contains("now never expires", never.Out, StringComparison.Ordinal);
        Assert.Contains("rpm", never.Out, StringComparison.Ordinal);
        Assert.Null(neverKey.ExpiresAt);
        Assert.Equal(1, past.ExitCode);
        Assert.Contains("error: --expires must be later than now: to stop a key now, revoke it (corridor keys revoke ID).", past.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("expires_at", past.Error, StringComparison.Ordinal);
        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("nothing to change: pass --expires", nothing.Error, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no key with id 'key_ffffffffffffffff'", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(1, revoked.ExitCode);
        Assert.Contains("is revoked", revoked.Error, StringComparison.Ordinal);
        Assert.Null(Assert.Single(await ListKeysAsync()).ExpiresAt);
    }

    [Fact]
    public async Task KeysIssue_ForAnUnknownTenant_Exits1WithAClearMessage()
    {
        var result = await _cli.RunAsync("keys", "issue", "--tenant", "ghost");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("error: unknown tenant 'ghost'", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Out);
        AssertNoStackTrace(result);
    }

    [Fact]
    public async Task KeysList_FiltersByTenant_AndRejectsAnUnknownOne()
    {
        await AddTenantAsync("acme");
        await AddTenantAsync("zeta");
        await _cli.RunAsync("keys", "issue", "--tenant", "acme");
        await _cli.RunAsync("keys", "issue", "--tenant", "zeta");

        var acme = await _cli.RunAsync("keys", "list", "--tenant", "acme", "--json");
        var unknown = await _cli.RunAsync("keys", "list", "--tenant", "ghost");

        using var doc = JsonDocument.Parse(acme.Out);
        Assert.Equal("acme", Assert.Single(doc.RootElement.EnumerateArray()).GetProperty("tenant").GetString());
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("unknown tenant 'ghost'", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysRevoke_RevokesOnce_AndReportsUnknownKeys()
    {
        await AddTenantAsync("acme");
        await _cli.RunAsync("keys", "issue", "--tenant", "acme");
        await _cli.RunAsync("keys", "issue", "--tenant", "acme");
        var keys = await ListKeysAsync();

        var revoked = await _cli.RunAsync("keys", "revoke", keys[0].Id);
        var firstTime = (await ListKeysAsync()).Single(k => k.Id == keys[0].Id).RevokedAt;
        var again = await _cli.RunAsync("keys", "revoke", keys[0].Id);
        var unknown = await _cli.RunAsync("keys", "revoke", "key_ffffffffffffffff");

        Assert.Equal(0, revoked.ExitCode);
        Assert.Contains($"Revoked key {keys[0].Id} of tenant acme", revoked.Out, StringComparison.Ordinal);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("already revoked", again.Out, StringComparison.Ordinal);
        var after = await ListKeysAsync();
        Assert.NotNull(firstTime);
        Assert.Equal(firstTime, after.Single(k => k.Id == keys[0].Id).RevokedAt);
        Assert.Null(after.Single(k => k.Id == keys[1].Id).RevokedAt);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("error: no key with id 'key_ffffffffffffffff'", unknown.Error, StringComparison.Ordinal);
        var table = await _cli.RunAsync("keys", "list");
        // The last columns: revoked, then expires (neither key expires).
        Assert.Matches($@"(?m)^{keys[0].Id}\s.*\d{{4}}-\d{{2}}-\d{{2}}T\S+Z\s+-$", table.Out);
        Assert.Matches($@"(?m)^{keys[1].Id}\s.*\s-\s+-\s+-$", table.Out);
    }

    [Fact]
    public async Task Usage_TotalsBillableRowsPerTenantAndModel_Exactly()
    {
        await AppendLedgerAsync(
            LedgerSamples.Entry("r-1", tenantId: "acme", model: "gpt-4.1", inputTokens: 1000, outputTokens: 10, cost: 0.1m) with { CacheReadTokens = 768 },
            LedgerSamples.Entry("r-2", tenantId: "acme", model: "gpt-4.1", inputTokens: 2000, outputTokens: 20, cost: 0.2m) with { CacheReadTokens = 1024, CacheWriteTokens = 500 },
            LedgerSamples.Entry("r-3", tenantId: "zeta", model: "deepseek-v4", inputTokens: 5, outputTokens: 5, cost: 0.000001m),
            LedgerSamples.Entry("r-4", tenantId: "acme", model: "gpt-4.1", cost: 9m, billable: false),
            LedgerSamples.Entry("r-5", LedgerSamples.Start.AddDays(40), tenantId: "acme", model: "gpt-4.1", cost: 5m));

        var json = await _cli.RunAsync("usage", "--to", "2026-07-01", "--json");
        var table = await _cli.RunAsync("usage", "--from", "2026-06-01", "--to", "2026-07-01");

        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Out);
        var rows = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal("acme", rows[0].GetProperty("tenant").GetString());
        Assert.Equal("gpt-4.1", rows[0].GetProperty("model").GetString());
        Assert.Equal(2, rows[0].GetProperty("requests").GetInt64());
        Assert.Equal(3000, rows[0].GetProperty("input_tokens").GetInt64());
        Assert.Equal(1792, rows[0].GetProperty("input_cached_tokens").GetInt64());
        Assert.Equal(500, rows[0].GetProperty("input_cache_write_tokens").GetInt64());
        Assert.Equal(0, rows[1].GetProperty("input_cached_tokens").GetInt64());
        Assert.Equal(30, rows[0].GetProperty("output_tokens").GetInt64());
        // Money as a decimal string, as GET /admin/usage and every report write it (docs/reports.md).
        Assert.Equal("0.3", rows[0].GetProperty("cost").GetString());
        Assert.Equal("0.000001", rows[1].GetProperty("cost").GetString());
        Assert.Matches(@"(?m)^TENANT\s+MODEL\s+REQUESTS\s+INPUT TOKENS\s+CACHE READ TOKENS\s+CACHE WRITE TOKENS\s+OUTPUT TOKENS\s+COST$", table.Out);
        Assert.Matches(@"(?m)^acme\s+gpt-4\.1\s+2\s+3,000\s+1,792\s+500\s+30\s+0\.3$", table.Out);
        Assert.Matches(@"(?m)^TOTAL\s+3\s+3,005\s+1,792\s+500\s+35\s+0\.300001$", table.Out);
    }

    [Fact]
    public async Task Usage_WithNoRows_SaysSo()
    {
        var result = await _cli.RunAsync("usage");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("No billable usage", result.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("06/01/2026")]
    [InlineData("yesterday")]
    public async Task Usage_WithABadDate_Exits1(string date)
    {
        var result = await _cli.RunAsync("usage", "--from", date);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"'{date}' is not a date", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_WithAnEmptyPeriod_Exits1()
    {
        var result = await _cli.RunAsync("usage", "--from", "2026-07-01", "--to", "2026-06-01");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--from must be earlier than --to", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("traffic.jsonl")]
    [InlineData("out/traffic.jsonl.gz")]
    public async Task Export_WritesTheLedgerAsTrafficLogV1(string name)
    {
        var path = _cli.File(name);
        await AppendLedgerAsync(
            LedgerSamples.Entry("r-2", LedgerSamples.Start.AddMinutes(1)) with { ResponseText = "Hi!", FinishReason = "stop" },
            LedgerSamples.Entry("r-1", LedgerSamples.Start.AddMilliseconds(5)) with
            {
                ClientIp = "203.0.113.7",
                UserAgent = "openai-python/1.40.0",
                RequestBody = Utf8Text.From("""{"model":"gpt-4.1","messages":[{"role":"user","content":"Hello"}],"stream":false}"""),
            },
            LedgerSamples.Entry("r-bad-key", LedgerSamples.Start.AddSeconds(2), tenantId: null, keyId: null, billable: false),
            LedgerSamples.Entry("r-shadow", LedgerSamples.Start.AddSeconds(3), billable: false) with { ShadowOf = "r-2" },
            LedgerSamples.Entry("r-later", LedgerSamples.Start.AddDays(1)));

        var result = await _cli.RunAsync("export", "--out", path, "--from", "2026-06-01", "--to", "2026-06-02");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Exported 2 requests", result.Out, StringComparison.Ordinal);
        // The shadow row is the operator's, not a request without a tenant: it is counted apart.
        Assert.Contains("Skipped 1 requests that no tenant made", result.Out, StringComparison.Ordinal);
        Assert.Contains("Left out 1 shadow requests", result.Out, StringComparison.Ordinal);
        var lines = await ReadLinesAsync(path);
        Assert.Equal(2, lines.Count);
        using var first = JsonDocument.Parse(lines[0]);
        using var second = JsonDocument.Parse(lines[1]);
        var r1 = first.RootElement;
        Assert.Equal(1, r1.GetProperty("v").GetInt32());
        Assert.Equal("r-1", r1.GetProperty("id").GetString());
        Assert.Equal("2026-06-01T08:00:00.005Z", r1.GetProperty("ts").GetString());
        Assert.Equal("acme", r1.GetProperty("tenant").GetString());
        Assert.Equal("key_0000000000000001", r1.GetProperty("key").GetString());
        Assert.Equal("gpt-4.1", r1.GetProperty("model").GetString());
        Assert.Equal("/v1/chat/completions", r1.GetProperty("endpoint").GetString());
        Assert.Equal("203.0.113.7", r1.GetProperty("client").GetProperty("ip").GetString());
        Assert.Equal("openai-python/1.40.0", r1.GetProperty("client").GetProperty("user_agent").GetString());
        Assert.Equal("Hello", r1.GetProperty("request").GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(200, r1.GetProperty("response").GetProperty("status").GetInt32());
        Assert.Equal(100, r1.GetProperty("response").GetProperty("usage").GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(50, r1.GetProperty("response").GetProperty("usage").GetProperty("completion_tokens").GetInt64());
        Assert.Equal(812, r1.GetProperty("latency_ms").GetInt32());
        var r2 = second.RootElement;
        Assert.Equal("r-2", r2.GetProperty("id").GetString());
        Assert.Equal("""{"model":"gpt-4.1"}""", r2.GetProperty("request").GetRawText());
        Assert.Equal("Hi!", r2.GetProperty("response").GetProperty("text").GetString());
        Assert.Equal("stop", r2.GetProperty("response").GetProperty("finish_reason").GetString());
        Assert.False(r2.TryGetProperty("client", out _));
    }

    [Fact]
    public async Task Export_RefusesToWriteOverAFile_UnlessForced()
    {
        var path = _cli.File("june.jsonl");
        await File.WriteAllTextAsync(path, "kept\n").WithTimeout();
        await AppendLedgerAsync(LedgerSamples.Entry("r-1", LedgerSamples.Start));

        var refused = await _cli.RunAsync("export", "--out", path);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"error: '{path}' exists; pass --force to write over it.", refused.Error, StringComparison.Ordinal);
        Assert.Equal("kept\n", await File.ReadAllTextAsync(path).WithTimeout());

        var forced = await _cli.RunAsync("export", "--out", path, "--force");

        Assert.Equal(0, forced.ExitCode);
        Assert.Equal("r-1", JsonDocument.Parse(Assert.Single(await ReadLinesAsync(path))).RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Export_NamesTheBatchOfABatchsRequest_AndReplayReadsItAsOne()
    {
        var path = _cli.File("batches.jsonl");
        await AppendLedgerAsync(
            LedgerSamples.Entry("r-live", LedgerSamples.Start),
            LedgerSamples.Entry("r-batch-1", LedgerSamples.Start.AddSeconds(1)) with { BatchId = "batch_0123456789abcdef0123456789abcdef" },
            LedgerSamples.Entry("r-batch-2", LedgerSamples.Start.AddSeconds(2)) with { BatchId = "batch_0123456789abcdef0123456789abcdef" });

        var exported = await _cli.RunAsync("export", "--out", path);
        var replayed = await CliRunner.RunRawAsync("replay", path, "--out", _cli.File("report.json"));

        Assert.Equal((0, 0), (exported.ExitCode, replayed.ExitCode));
        var lines = await ReadLinesAsync(path);
        Assert.Equal([null, "batch_0123456789abcdef0123456789abcdef", "batch_0123456789abcdef0123456789abcdef"],
            lines.Select(l => JsonDocument.Parse(l).RootElement.TryGetProperty("batch", out var b) ? b.GetString() : null));
        Assert.Contains("Replayed 3 requests", replayed.Out, StringComparison.Ordinal);
        Assert.Contains("Of those, 2 ran for batches", replayed.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoreCommands_WithoutDbOrConfig_Exit1WithAClearMessage()
    {
        var result = await CliRunner.RunRawAsync("tenants", "list", "--config", _cli.File("missing.yaml"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("config file", result.Error, StringComparison.Ordinal);
        Assert.Contains("not found", result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    [Fact]
    public async Task StoreCommands_OnAFileThatIsNotADatabase_Exit1WithAClearMessage()
    {
        await File.WriteAllTextAsync(_cli.DbPath, "not a database, just some text that is long enough to have a header").WithTimeout();

        var result = await _cli.RunAsync("tenants", "list");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot open the database", result.Error, StringComparison.Ordinal);
        AssertNoStackTrace(result);
    }

    /// <summary>
    /// Npgsql takes <c>Server=</c> for <c>Host=</c>: such a <c>--db</c> is PostgreSQL too (here one that refuses), not a
    /// SQLite file named after the string, password and all, made in the current folder and used as if it were the store.
    /// </summary>
    [Theory]
    [InlineData("Server=127.0.0.1;Port=1;Username=corridor;Password={0};Timeout=2")]
    [InlineData("server = 127.0.0.1; Port=1; Username=corridor; Password={0}; Timeout=2")]
    public async Task ADbThatIsAConnectionStringWithServer_OpensPostgreSql_NotAFileNamedAfterIt(string format)
    {
        var password = "pw-" + Guid.NewGuid().ToString("N");
        var db = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, password);

        var result = await CliRunner.RunRawAsync("tenants", "list", "--db", db);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("cannot open the database postgresql://127.0.0.1:1/", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(password, result.Out + result.Error, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Directory.GetCurrentDirectory(), "*" + password + "*"));
        AssertNoStackTrace(result);
    }

    [Fact]
    public async Task Serve_WithDb_Exits1()
    {
        var result = await _cli.RunAsync("serve");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--db applies to the store commands only", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--db", "corridor.db")]
    [InlineData("--config", "corridor.yaml")]
    public async Task Simulate_WithAStoreOption_Exits1BeforeStarting(string option, string value)
    {
        // The simulator reads no store and no config: an option it would ignore is refused, as serve refuses --db.
        var result = await CliRunner.RunRawAsync("simulate", "--urls", "http://127.0.0.1:0", option, _cli.File(value));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"error: simulate reads no store and no config file; {option} applies to the store commands", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(_cli.File(value)));
    }

    [Theory]
    [InlineData("--error-rate", "1.5")]
    [InlineData("--disconnect-rate", "-0.1")]
    [InlineData("--latency-ms", "-1")]
    public async Task Simulate_WithAnOutOfRangeKnob_Exits1BeforeStarting(string option, string value)
    {
        var result = await CliRunner.RunRawAsync("simulate", option, value);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains(option, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--from", "2026-13-01", "usage")]
    [InlineData("--to", "2026-02-30", "export", "--out", "traffic.jsonl")]
    [InlineData("--from", "soon", "report", "spend")]
    [InlineData("--to", "2026-13-01", "report", "residency", "--tenant", "acme")]
    [InlineData("--from", "06/01/2026", "report", "shadow")]
    public async Task ABadDate_IsOneErrorLine_NamingTheOption_WithoutTheHelp(string option, string value, params string[] command)
    {
        var result = await _cli.RunAsync([.. command, option, value]);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {option}: '{value}' is not a date: use 2026-06-01 or 2026-06-01T08:00:00Z.{Environment.NewLine}", result.Error);
        Assert.Equal(string.Empty, result.Out);
    }

    [Fact]
    public async Task AValueOfTheWrongType_OrAnUnknownOption_IsAnErrorLine_WithoutTheHelp()
    {
        var number = await _cli.RunAsync("batches", "list", "--tenant", "acme", "--limit", "ten");
        var unknown = await _cli.RunAsync("tenants", "list", "--bogus");

        Assert.Equal((1, 1), (number.ExitCode, unknown.ExitCode));
        Assert.Equal(string.Empty, number.Out + unknown.Out);
        Assert.StartsWith("error: ", number.Error, StringComparison.Ordinal);
        Assert.Contains("--limit", number.Error, StringComparison.Ordinal);
        // What to write instead, not the .NET type the value did not parse as.
        Assert.Contains(": expected a whole number.", number.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", number.Error, StringComparison.Ordinal);
        Assert.Single(number.Error.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries));
        // What was not understood, and where to look.
        Assert.Equal($"error: Unrecognized command or argument '--bogus'.{Environment.NewLine}See: corridor tenants list --help{Environment.NewLine}", unknown.Error);
    }

    [Fact]
    public async Task Help_IsStillPrinted_WhenAsked()
    {
        var help = await _cli.RunAsync("usage", "--help");
        var helpWithABadDate = await _cli.RunAsync("usage", "--from", "2026-13-01", "--help");

        Assert.Equal((0, string.Empty), (help.ExitCode, help.Error));
        Assert.Contains("--from <DATE>", help.Out, StringComparison.Ordinal);
        Assert.Contains("--from <DATE>", helpWithABadDate.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingRequiredOption_Exits1()
    {
        var result = await _cli.RunAsync("tenants", "add", "--id", "acme");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--name", result.Error, StringComparison.Ordinal);
        Assert.Contains("--country", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TenantsAndKeysUpdate_SetLimitsAndBudgets_ShowThem_AndAuditEachChange()
    {
        await AddTenantAsync("acme");
        await _cli.RunAsync("keys", "issue", "--tenant", "acme");
        var key = Assert.Single(await ListKeysAsync());

        var tenant = await _cli.RunAsync("tenants", "update", "acme", "--rpm", "600", "--daily-budget", "250", "--daily-soft-budget", "200.5");
        var keyUpdate = await _cli.RunAsync("keys", "update", key.Id, "--tpm", "100000", "--concurrent-streams", "2");
        var removed = await _cli.RunAsync("tenants", "update", "acme", "--daily-soft-budget", "none");
        var same = await _cli.RunAsync("keys", "update", key.Id, "--tpm", "100000");
        var shown = await _cli.RunAsync("tenants", "show", "acme");
        var shownJson = await _cli.RunAsync("tenants", "show", "acme", "--json");

        Assert.Equal(0, tenant.ExitCode);
        Assert.Contains("Updated the limits of tenant acme:", tenant.Out, StringComparison.Ordinal);
        Assert.Contains("rpm: - -> 600", tenant.Out, StringComparison.Ordinal);
        Assert.Contains("daily_budget: - -> 250", tenant.Out, StringComparison.Ordinal);
        Assert.Contains("concurrent_streams: - -> 2", keyUpdate.Out, StringComparison.Ordinal);
        Assert.Contains("daily_soft_budget: 200.5 -> -", removed.Out, StringComparison.Ordinal);
        Assert.Contains("already has those limits; nothing changed", same.Out, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^rpm\s+600$", shown.Out);
        Assert.Matches(@"(?m)^daily_budget\s+250$", shown.Out);
        // The JSON has them too, as the admin API's limits (counts as numbers, money as decimal strings, null: none).
        using (var doc = JsonDocument.Parse(shownJson.Out))
        {
            var own = doc.RootElement.GetProperty("limits");
            Assert.Equal(600, own.GetProperty("rpm").GetInt32());
            Assert.Equal(JsonValueKind.Null, own.GetProperty("tpm").ValueKind);
            Assert.Equal("250", own.GetProperty("daily_budget").GetString());
            Assert.Equal(JsonValueKind.Null, own.GetProperty("daily_soft_budget").ValueKind);
            Assert.Equal(JsonValueKind.Null, own.GetProperty("monthly_budget").ValueKind);
        }
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout();
        var audit = await store.SearchAuditAsync(new AuditQuery(Action: "limits.update"), CancellationToken.None).WithTimeout();
        Assert.Equal(["acme", key.Id, "acme"], audit.Select(a => a.Subject));
        var limits = await store.ListLimitsAsync(CancellationToken.None).WithTimeout();
        Assert.Equal(2, limits.Count);
    }

    [Fact]
    public async Task LimitsUpdate_WithBadValuesOrAnUnknownKey_ReportsEveryProblemAndExits1()
    {
        await AddTenantAsync("acme");

        var bad = await _cli.RunAsync("tenants", "update", "acme", "--rpm", "0", "--monthly-budget", "ten");
        var softAbove = await _cli.RunAsync("tenants", "update", "acme", "--daily-budget", "100", "--daily-soft-budget", "200");
        var unknown = await _cli.RunAsync("keys", "update", "key_0000000000000000", "--rpm", "5");
        var nothing = await _cli.RunAsync("keys", "update", "key_0000000000000000");

        Assert.Equal(1, bad.ExitCode);
        // Each named as the operator typed it.
        Assert.Contains("--rpm '0' is not a whole number", bad.Error, StringComparison.Ordinal);
        Assert.Contains("--monthly-budget 'ten' is not an amount", bad.Error, StringComparison.Ordinal);
        Assert.Equal(1, softAbove.ExitCode);
        Assert.Contains("the --daily-soft-budget (200) is above the --daily-budget (100).", softAbove.Error, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("unknown key 'key_0000000000000000'", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(1, nothing.ExitCode);
        Assert.Contains("nothing to change", nothing.Error, StringComparison.Ordinal);
        AssertNoStackTrace(bad);
        AssertNoStackTrace(unknown);
    }

    /// <summary>
    /// An update that changes a profile field or an expiry and limits together changes nothing when any of it is refused,
    /// and lists every problem, profile and limits alike: exit 1 must mean nothing changed, not that half of it did.
    /// </summary>
    [Fact]
    public async Task TenantsAndKeysUpdate_WithOneBadValue_ChangeNothing_AndListEveryProblem()
    {
        await AddTenantAsync("acme");
        await _cli.RunAsync("keys", "issue", "--tenant", "acme", "--expires", "30d");
        var key = Assert.Single(await ListKeysAsync());

        var badTier = await _cli.RunAsync("tenants", "update", "acme", "--rpm", "700", "--tier", "gold");
        var badBoth = await _cli.RunAsync("tenants", "update", "acme", "--rpm", "0", "--tier", "gold", "--country", "XYZ");
        var badRpm = await _cli.RunAsync("tenants", "update", "acme", "--tier", "basic", "--rpm", "0");
        var badKeyRpm = await _cli.RunAsync("keys", "update", key.Id, "--expires", "never", "--rpm", "0");
        var pastExpiry = await _cli.RunAsync("keys", "update", key.Id, "--expires", "2020-01-01", "--rpm", "60");

        Assert.Equal(1, badTier.ExitCode);
        Assert.Contains("tier 'gold' is not one of", badTier.Error, StringComparison.Ordinal);
        Assert.Equal(1, badBoth.ExitCode);
        Assert.Contains("rpm '0' is not a whole number", badBoth.Error, StringComparison.Ordinal);
        Assert.Contains("tier 'gold' is not one of", badBoth.Error, StringComparison.Ordinal);
        Assert.Contains("'XYZ' is not an ISO 3166-1 alpha-2 country code", badBoth.Error, StringComparison.Ordinal);
        Assert.Equal(1, badRpm.ExitCode);
        Assert.Equal(1, badKeyRpm.ExitCode);
        Assert.Contains("rpm '0' is not a whole number", badKeyRpm.Error, StringComparison.Ordinal);
        Assert.Equal(1, pastExpiry.ExitCode);
        Assert.Contains("--expires must be later than now", pastExpiry.Error, StringComparison.Ordinal);
        Assert.All([badTier, badBoth, badRpm, badKeyRpm, pastExpiry], r => Assert.Equal(string.Empty, r.Out));
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout();
        Assert.Empty(await store.ListLimitsAsync(CancellationToken.None).WithTimeout());
        Assert.Equal(VettingTier.Unverified, (await store.GetTenantAsync("acme", CancellationToken.None).WithTimeout())!.Tier);
        Assert.NotNull((await store.GetKeyAsync(key.Id, CancellationToken.None).WithTimeout())!.ExpiresAt);
        Assert.Empty(await store.SearchAuditAsync(new AuditQuery(Action: "limits.update"), CancellationToken.None).WithTimeout());
        Assert.Empty(await store.SearchAuditAsync(new AuditQuery(Action: "tenant.update"), CancellationToken.None).WithTimeout());
        Assert.Empty(await store.SearchAuditAsync(new AuditQuery(Action: "key.expiry"), CancellationToken.None).WithTimeout());
    }

    private async Task AddTenantAsync(string id)
    {
        var result = await _cli.RunAsync("tenants", "add", "--id", id, "--name", id + " Ltd.", "--country", "SG");
        Assert.Equal(0, result.ExitCode);
    }

    private async Task<IReadOnlyList<ApiKey>> ListKeysAsync()
    {
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout();
        return await store.ListKeysAsync(null, CancellationToken.None).WithTimeout();
    }

    private async Task AppendLedgerAsync(params LedgerEntry[] entries)
    {
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout();
        await store.AppendLedgerAsync(entries, CancellationToken.None).WithTimeout();
    }

    private static async Task<List<string>> ReadLinesAsync(string path)
    {
        await using var file = File.OpenRead(path);
        Stream input = path.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(input);
        var text = await reader.ReadToEndAsync().WithTimeout();
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static void AssertNoStackTrace(CliResult result)
    {
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", result.Error, StringComparison.Ordinal);
    }

    [GeneratedRegex("sk-cor-[0-9A-Za-z]{40}")]
    private static partial Regex SecretPattern();
}
