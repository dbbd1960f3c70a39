using Corridor.Core.Audit;
using Corridor.Storage.Monitoring;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Sqlite;

/// <summary>The monitor's enforcement and cases in the SQLite store (migration 7).</summary>
public sealed class MonitorStoreTests : IAsyncLifetime, IDisposable
{
    private static readonly DateTimeOffset T0 = LedgerSamples.Start;
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly TempDirectory _folder = new();
    private ICorridorStore _store = null!;

    public async Task InitializeAsync() => _store = await CorridorStores.OpenAsync(new StorageOptions(_folder.File("corridor.db")), None).WithTimeout();

    public async Task DisposeAsync() => await _store.DisposeAsync();

    public void Dispose() => _folder.Dispose();

    private static AuditEntry Entry(string action, string subject) => new(T0, "test", action, subject, AuditDetails.Empty);

    [Fact]
    public async Task AutomaticLevelsAndPins_AreKeptApart_AndARowGoesWhenItHoldsNeither()
    {
        await _store.SetEnforcementAsync(new EnforcementUpdate("key:k1", "acme", Pin: false, "flag", T0, "gateway", null), [Entry(AuditActions.MonitorLevel, "k1")], None).WithTimeout();
        await _store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, "suspend", T0.AddSeconds(1), "cli:ana", "abuse"), [Entry(AuditActions.MonitorPin, "k1")], None).WithTimeout();
        // A later automatic change leaves the pin alone (and the tenant it already knows).
        await _store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: false, "throttle", T0.AddSeconds(2), "gateway", null), [], None).WithTimeout();

        var row = Assert.Single(await _store.ListEnforcementAsync(None).WithTimeout());
        Assert.Equal(("key:k1", "acme", "throttle", "suspend"), (row.Subject, row.TenantId, row.AutomaticLevel, row.PinnedLevel));
        Assert.Equal(T0.AddSeconds(2), row.UpdatedAt);

        await _store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, null, T0.AddSeconds(3), "cli:ana", "cleared"), [Entry(AuditActions.MonitorUnpin, "k1")], None).WithTimeout();
        Assert.Null(Assert.Single(await _store.ListEnforcementAsync(None).WithTimeout()).PinnedLevel);
        await _store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: false, "none", T0.AddSeconds(4), "gateway", null), [], None).WithTimeout();
        Assert.Empty(await _store.ListEnforcementAsync(None).WithTimeout());

        var audit = await _store.SearchAuditAsync(new AuditQuery("k1"), None).WithTimeout();
        Assert.Equal([AuditActions.MonitorLevel, AuditActions.MonitorPin, AuditActions.MonitorUnpin], audit.Select(a => a.Action));
    }

    [Fact]
    public async Task APinAtNone_IsAPin()
    {
        await _store.SetEnforcementAsync(new EnforcementUpdate("tenant:acme", "acme", Pin: true, "none", T0, "cli:ana", "evaluation run"), [], None).WithTimeout();
        var row = Assert.Single(await _store.ListEnforcementAsync(None).WithTimeout());
        Assert.Equal(("none", "none"), (row.AutomaticLevel, row.PinnedLevel));
    }

    [Fact]
    public async Task Cases_AreSavedWithTheirAudit_AndAStaleWriteIsRefused()
    {
        var opened = new CaseRecord("case_1", "key:k1", "acme", "open", T0, T0, 1, """{"id":"case_1"}""");
        Assert.True(await _store.SaveCaseAsync(opened, [Entry(AuditActions.CaseOpen, "case_1")], None).WithTimeout());
        Assert.False(await _store.SaveCaseAsync(opened, [Entry(AuditActions.CaseOpen, "case_1")], None).WithTimeout());

        var decided = opened with { Status = "confirmed", UpdatedAt = T0.AddMinutes(1), Version = 2, Document = """{"id":"case_1","status":"confirmed"}""" };
        Assert.True(await _store.SaveCaseAsync(decided, [Entry(AuditActions.CaseDecision, "case_1")], None).WithTimeout());
        // Written from the version-1 read: someone else saved version 2 meanwhile.
        Assert.False(await _store.SaveCaseAsync(decided with { Status = "dismissed" }, [Entry(AuditActions.CaseDecision, "case_1")], None).WithTimeout());

        Assert.Equal(decided, await _store.GetCaseAsync("case_1", None).WithTimeout());
        Assert.Equal([AuditActions.CaseOpen, AuditActions.CaseDecision], (await _store.SearchAuditAsync(new AuditQuery("case_1"), None).WithTimeout()).Select(a => a.Action));
        Assert.Null(await _store.GetCaseAsync("case_2", None).WithTimeout());
    }

    [Fact]
    public async Task Cases_AreListedNewestFirst_ByStatusAndSubject()
    {
        await _store.SaveCaseAsync(new CaseRecord("case_a", "key:k1", "acme", "dismissed", T0, T0, 1, "{}"), [], None).WithTimeout();
        await _store.SaveCaseAsync(new CaseRecord("case_b", "key:k1", "acme", "open", T0.AddHours(1), T0.AddHours(1), 1, "{}"), [], None).WithTimeout();
        await _store.SaveCaseAsync(new CaseRecord("case_c", "tenant:acme", "acme", "open", T0.AddHours(2), T0.AddHours(2), 1, "{}"), [], None).WithTimeout();

        Assert.Equal(["case_c", "case_b", "case_a"], (await _store.ListCasesAsync(null, null, None).WithTimeout()).Select(c => c.Id));
        Assert.Equal(["case_c", "case_b"], (await _store.ListCasesAsync("open", null, None).WithTimeout()).Select(c => c.Id));
        Assert.Equal(["case_b", "case_a"], (await _store.ListCasesAsync(null, "key:k1", None).WithTimeout()).Select(c => c.Id));
    }
}
