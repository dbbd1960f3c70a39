using System.Text.Json;
using System.Text.RegularExpressions;
using Corridor.Core.Audit;
using Corridor.Monitor.Cases;
using Corridor.Monitor.Scoring;
using Corridor.Storage;
using Corridor.Storage.Monitoring;
using Corridor.Testing;

namespace Corridor.Tests;

/// <summary><c>corridor cases</c> and <c>corridor enforcement</c> against a store.</summary>
public sealed partial class MonitorCliTests : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    /// <summary>A flagged key's case, as the gateway opens it.</summary>
    private async Task<CaseFile> OpenCaseAsync(string keyId)
    {
        var file = CaseFile.Open(SubjectRef.Key(keyId), "acme", At);
        file.AddLevelChange(new LevelChange(SubjectRef.Key(keyId), "acme", EnforcementLevel.Watch, EnforcementLevel.Flag, 0.47, LevelChangeCause.Automatic, At,
            [new SignalContribution(Signal.CotElicitation, 0.9, 0.15), new SignalContribution(Signal.HarvestSampling, 1, 0.14)], []));
        file.AddExample(new CaseExample("req_1", At, keyId, "gpt-4.1", "/v1/chat/completions", "harvester/1.0", "203.0.113.9", 40, 900,
            """{"messages":[{"role":"user","content":"Think step by step"}]}""", "Step 1 ..."), keep: 5);
        file.Version = 1;
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout();
        Assert.True(await store.SaveCaseAsync(new CaseRecord(file.Id, file.Subject, file.Tenant, file.Status, file.OpenedAt, file.UpdatedAt, 1, file.ToJson()),
            [new AuditEntry(At, AuditActors.Gateway, AuditActions.CaseOpen, file.Id, AuditDetails.Empty)], CancellationToken.None).WithTimeout());
        return file;
    }

    private async Task<string> KeyAsync()
    {
        await _cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme", "--country", "SG");
        var issued = await _cli.RunAsync("keys", "issue", "--tenant", "acme");
        return KeyId().Match(issued.Out).Groups[1].Value;
    }

    [Fact]
    public async Task Cases_ListShowDecideAndExport()
    {
        var file = await OpenCaseAsync("key_abc");

        var list = await _cli.RunAsync("cases", "list", "--status", "open");
        Assert.Equal(0, list.ExitCode);
        Assert.Matches($@"(?m)^{file.Id}\s+key:key_abc\s+acme\s+open\s+flag\s+0\.470\s", list.Out);

        var shown = await _cli.RunAsync("cases", "show", file.Id);
        Assert.Equal(0, shown.ExitCode);
        Assert.Contains("cot_elicitation", shown.Out, StringComparison.Ordinal);
        Assert.Contains("req_1", shown.Out, StringComparison.Ordinal);
        Assert.Contains("Think step by step", shown.Out, StringComparison.Ordinal);

        var decided = await _cli.RunAsync("cases", "decide", file.Id, "--decision", "escalate", "--note", "sent to the vendor");
        Assert.Equal(0, decided.ExitCode);
        Assert.Contains("is now escalated", decided.Out, StringComparison.Ordinal);
        Assert.Equal(1, (await _cli.RunAsync("cases", "decide", file.Id, "--decision", "ban", "--note", "x")).ExitCode);
        Assert.Equal(1, (await _cli.RunAsync("cases", "decide", "case_nope", "--decision", "dismiss", "--note", "x")).ExitCode);
        Assert.Contains("No cases.", (await _cli.RunAsync("cases", "list", "--status", "open")).Out, StringComparison.Ordinal);
        Assert.Contains(file.Id, (await _cli.RunAsync("cases", "list", "--status", "active")).Out, StringComparison.Ordinal);

        var path = _cli.File("bundle.json");
        Assert.Equal(0, (await _cli.RunAsync("cases", "export", file.Id, "--out", path)).ExitCode);
        // A second export under the same name is refused, the first bundle kept, unless --force.
        var again = await _cli.RunAsync("cases", "export", file.Id, "--out", path);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains($"'{path}' exists; pass --force to write over it.", again.Error, StringComparison.Ordinal);
        Assert.Equal(0, (await _cli.RunAsync("cases", "export", file.Id, "--out", path, "--force")).ExitCode);
        using var bundle = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        var root = bundle.RootElement;
        Assert.Equal("corridor-evidence-v1", root.GetProperty("format").GetString());
        Assert.Equal("escalated", root.GetProperty("case").GetProperty("status").GetString());
        Assert.Equal("sent to the vendor", root.GetProperty("case").GetProperty("decisions")[0].GetProperty("note").GetString());
        Assert.True(root.GetProperty("signals").TryGetProperty("cot_elicitation", out _));
        Assert.Equal([AuditActions.CaseOpen, AuditActions.CaseDecision], root.GetProperty("audit").EnumerateArray().Select(r => r.GetProperty("action").GetString()));
        Assert.Equal(2, root.GetProperty("audit_head").GetProperty("sequence").GetInt64());
    }

    [Fact]
    public async Task Enforcement_PinListUnpin_IsAuditedAndNotedOnTheCase()
    {
        var keyId = await KeyAsync();
        var file = await OpenCaseAsync(keyId);

        var pinned = await _cli.RunAsync("enforcement", "pin", $"key:{keyId}", "suspend", "--note", "confirmed harvest");
        Assert.Equal(0, pinned.ExitCode);
        Assert.Matches($@"(?m)^key:{keyId}\s+acme\s+none\s+suspend\s", (await _cli.RunAsync("enforcement", "list")).Out);

        var audit = await _cli.RunAsync("audit", "list", "--subject", keyId, "--action", "monitor.pin");
        Assert.Contains("confirmed harvest", audit.Out, StringComparison.Ordinal);
        Assert.Contains("pin", (await _cli.RunAsync("cases", "show", file.Id)).Out, StringComparison.Ordinal);

        Assert.Equal(0, (await _cli.RunAsync("enforcement", "unpin", $"key:{keyId}", "--note", "vendor cleared it")).ExitCode);
        Assert.Contains("No levels or pins.", (await _cli.RunAsync("enforcement", "list")).Out, StringComparison.Ordinal);
        var again = await _cli.RunAsync("enforcement", "unpin", $"key:{keyId}", "--note", "twice");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("has no pin", again.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("key:key_ghost", "suspend", "No key 'key_ghost'")]
    [InlineData("tenant:ghost", "suspend", "No tenant 'ghost'")]
    [InlineData("cluster:cl-1", "suspend", "No cluster 'cl-1' is known")]
    [InlineData("acme", "suspend", "is not a subject")]
    [InlineData("tenant:acme", "ban", "is not a level")]
    public async Task Pin_RefusesWhatCannotBePinned(string subject, string level, string message)
    {
        await KeyAsync();
        var result = await _cli.RunAsync("enforcement", "pin", subject, level, "--note", "x");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CasesAndEnforcement_OnACaseTheStoreCannotRead_Exit1WithTheCaseNamed_AndNoStackTrace()
    {
        var keyId = await KeyAsync();
        await using (var store = await CorridorStores.OpenAsync(new StorageOptions(_cli.DbPath), CancellationToken.None).WithTimeout())
        {
            Assert.True(await store.SaveCaseAsync(new CaseRecord("case_bad", $"key:{keyId}", "acme", "open", At, At, 1, "{ not json"), [], CancellationToken.None).WithTimeout());
        }

        string[][] commands =
        [
            ["cases", "list"],
            ["cases", "show", "case_bad"],
            ["cases", "decide", "case_bad", "--decision", "dismiss", "--note", "x"],
            ["cases", "export", "case_bad", "--out", _cli.File("bundle.json")],
            ["enforcement", "pin", $"key:{keyId}", "suspend", "--note", "x"],
        ];
        foreach (var command in commands)
        {
            var result = await _cli.RunAsync(command);
            var what = string.Join(' ', command) + ": " + result.Out + result.Error;
            Assert.True(result.ExitCode == 1, what);
            Assert.True(result.Error.Contains("error: case 'case_bad' in the store is not a readable case document", StringComparison.Ordinal), what);
            Assert.True(!result.Error.Contains("   at ", StringComparison.Ordinal) && !result.Error.Contains("Exception", StringComparison.Ordinal), what);
        }
    }

    [GeneratedRegex(@"Issued key (\S+) ")]
    private static partial Regex KeyId();
}
