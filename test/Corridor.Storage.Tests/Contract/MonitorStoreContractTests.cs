using Corridor.Core.Audit;
using Corridor.Storage.Monitoring;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Contract;

/// <summary>The monitor's enforcement and cases, for every store (SQLite migration 7, PostgreSQL migration 9; see <see cref="StoreContractTests"/>).</summary>
public abstract class MonitorStoreContractTests : StoreContract
{
    private static readonly DateTimeOffset T0 = LedgerSamples.Start;
    private static readonly CancellationToken None = CancellationToken.None;

    private static AuditEntry Entry(string action, string subject) => new(T0, "test", action, subject, AuditDetails.Empty);

    [Fact]
    public async Task AutomaticLevelsAndPins_AreKeptApart_AndARowGoesWhenItHoldsNeither()
    {
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", "acme", Pin: false, "flag", T0, "gateway", null), [Entry(AuditActions.MonitorLevel, "k1")], None).WithTimeout();
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, "suspend", T0.AddSeconds(1), "cli:ana", "abuse"), [Entry(AuditActions.MonitorPin, "k1")], None).WithTimeout();
        // A later automatic change leaves the pin alone (and the tenant it already knows).
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: false, "throttle", T0.AddSeconds(2), "gateway", null), [], None).WithTimeout();

        var row = Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout());
        Assert.Equal(("key:k1", "acme", "throttle", "suspend"), (row.Subject, row.TenantId, row.AutomaticLevel, row.PinnedLevel));
        Assert.Equal(T0.AddSeconds(2), row.UpdatedAt);

        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, null, T0.AddSeconds(3), "cli:ana", "cleared"), [Entry(AuditActions.MonitorUnpin, "k1")], None).WithTimeout();
        Assert.Null(Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout()).PinnedLevel);
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: false, "none", T0.AddSeconds(4), "gateway", null), [], None).WithTimeout();
        Assert.Empty(await Store.ListEnforcementAsync(None).WithTimeout());

        var audit = await Store.SearchAuditAsync(new AuditQuery("k1"), None).WithTimeout();
        Assert.Equal([AuditActions.MonitorLevel, AuditActions.MonitorPin, AuditActions.MonitorUnpin], audit.Select(a => a.Action));
    }

    [Fact]
    public async Task APinsActorAndNote_SurviveALaterAutomaticChange()
    {
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", "acme", Pin: true, "suspend", T0, "cli:ana", "harvest confirmed, ticket 4411"), [], None).WithTimeout();
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: false, "throttle", T0.AddSeconds(1), "gateway", null), [], None).WithTimeout();

        var row = Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout());
        Assert.Equal(("throttle", "suspend"), (row.AutomaticLevel, row.PinnedLevel));
        Assert.Equal(("cli:ana", "harvest confirmed, ticket 4411"), (row.Actor, row.Note));

        // Without a pin the row says who set its level last: the gateway.
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, null, T0.AddSeconds(2), "cli:ana", "cleared"), [], None).WithTimeout();
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: false, "flag", T0.AddSeconds(3), "gateway", null), [], None).WithTimeout();
        row = Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout());
        Assert.Equal(("gateway", (string?)null), (row.Actor, row.Note));
    }

    [Fact]
    public async Task Pins_MoveTheRevision_AutomaticLevelsOnlyWhereAFleetSharesThem()
    {
        var start = await Store.GetRevisionAsync(None).WithTimeout();
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", "acme", Pin: false, "flag", T0, "gateway", null), [], None).WithTimeout();
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: false, "throttle", T0, "gateway", null), [], None).WithTimeout();
        if (FleetObservations.For(Store) is null)
        {
            // One process: its automatic levels are its own.
            Assert.Equal(start, await Store.GetRevisionAsync(None).WithTimeout());
        }
        else
        {
            // The fleet's leader sets them for every replica (PostgreSQL migration 11).
            Assert.True(await Store.GetRevisionAsync(None).WithTimeout() > start);
            start = await Store.GetRevisionAsync(None).WithTimeout();
        }

        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, "suspend", T0, "cli:ana", null), [], None).WithTimeout();
        var pinned = await Store.GetRevisionAsync(None).WithTimeout();
        Assert.True(pinned > start);
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k2", null, Pin: true, "none", T0, "cli:ana", null), [], None).WithTimeout();
        var second = await Store.GetRevisionAsync(None).WithTimeout();
        Assert.True(second > pinned);
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:k1", null, Pin: true, null, T0, "cli:ana", null), [], None).WithTimeout();
        Assert.True(await Store.GetRevisionAsync(None).WithTimeout() > second);
    }

    [Fact]
    public async Task AClustersRow_KeepsItsMembers_WhichALaterChangeWithoutThemLeavesAlone()
    {
        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: false, "throttle", T0, "gateway", null, "key:k1 key:k2 tenant:t2"), [], None).WithTimeout();
        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: true, "suspend", T0.AddSeconds(1), "cli:ana", "hydra"), [], None).WithTimeout();
        var row = Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout());
        Assert.Equal(("cluster:cl-3", "throttle", "suspend", "key:k1 key:k2 tenant:t2"), (row.Subject, row.AutomaticLevel, row.PinnedLevel, row.Members));
        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: false, "suspend", T0.AddSeconds(2), "gateway", null), [], None).WithTimeout();
        Assert.Equal("key:k1 key:k2 tenant:t2", Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout()).Members);

        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: true, null, T0.AddSeconds(3), "cli:ana", "cleared"), [], None).WithTimeout();
        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: false, "suspend", T0.AddSeconds(4), "gateway", null, "key:k1 key:k2 key:k3"), [], None).WithTimeout();
        Assert.Equal("key:k1 key:k2 key:k3", Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout()).Members);
    }

    [Fact]
    public async Task APinnedClustersMembers_AreThePins_UntilItIsRemoved()
    {
        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: false, "throttle", T0, "gateway", null, "key:k1 key:k2 tenant:t2"), [], None).WithTimeout();
        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: true, "suspend", T0.AddSeconds(1), "cli:ana", "hydra", "key:k1 key:k2 tenant:t2"), [], None).WithTimeout();

        // The monitor's later change of the cluster's members leaves those the pin holds (and was audited with) alone.
        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: false, "throttle", T0.AddSeconds(2), "gateway", null, "key:k1 key:k2"), [], None).WithTimeout();
        var row = Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout());
        Assert.Equal(("throttle", "suspend", "key:k1 key:k2 tenant:t2"), (row.AutomaticLevel, row.PinnedLevel, row.Members));

        // Unpinned, the cluster's members are the monitor's again.
        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: true, null, T0.AddSeconds(3), "cli:ana", "cleared", "key:k1 key:k2 tenant:t2"), [], None).WithTimeout();
        await Store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: false, "throttle", T0.AddSeconds(4), "gateway", null, "key:k1 key:k2"), [], None).WithTimeout();
        Assert.Equal("key:k1 key:k2", Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout()).Members);
    }

    [Fact]
    public async Task APinAtNone_IsAPin()
    {
        await Store.SetEnforcementAsync(new EnforcementUpdate("tenant:acme", "acme", Pin: true, "none", T0, "cli:ana", "evaluation run"), [], None).WithTimeout();
        var row = Assert.Single(await Store.ListEnforcementAsync(None).WithTimeout());
        Assert.Equal(("none", "none"), (row.AutomaticLevel, row.PinnedLevel));
    }

    [Fact]
    public async Task Cases_AreSavedWithTheirAudit_AndAStaleWriteIsRefused()
    {
        var opened = new CaseRecord("case_1", "key:k1", "acme", "open", T0, T0, 1, """{"id":"case_1"}""");
        Assert.True(await Store.SaveCaseAsync(opened, [Entry(AuditActions.CaseOpen, "case_1")], None).WithTimeout());
        Assert.False(await Store.SaveCaseAsync(opened, [Entry(AuditActions.CaseOpen, "case_1")], None).WithTimeout());

        var decided = opened with { Status = "confirmed", UpdatedAt = T0.AddMinutes(1), Version = 2, Document = """{"id":"case_1","status":"confirmed"}""" };
        Assert.True(await Store.SaveCaseAsync(decided, [Entry(AuditActions.CaseDecision, "case_1")], None).WithTimeout());
        // Written from the version-1 read: someone else saved version 2 meanwhile.
        Assert.False(await Store.SaveCaseAsync(decided with { Status = "dismissed" }, [Entry(AuditActions.CaseDecision, "case_1")], None).WithTimeout());

        Assert.Equal(decided, await Store.GetCaseAsync("case_1", None).WithTimeout());
        Assert.Equal([AuditActions.CaseOpen, AuditActions.CaseDecision], (await Store.SearchAuditAsync(new AuditQuery("case_1"), None).WithTimeout()).Select(a => a.Action));
        Assert.Null(await Store.GetCaseAsync("case_2", None).WithTimeout());
    }

    [Fact]
    public async Task Cases_AreListedNewestFirst_ByStatusAndSubject()
    {
        await Store.SaveCaseAsync(new CaseRecord("case_a", "key:k1", "acme", "dismissed", T0, T0, 1, "{}"), [], None).WithTimeout();
        await Store.SaveCaseAsync(new CaseRecord("case_b", "key:k1", "acme", "open", T0.AddHours(1), T0.AddHours(1), 1, "{}"), [], None).WithTimeout();
        await Store.SaveCaseAsync(new CaseRecord("case_c", "tenant:acme", "acme", "open", T0.AddHours(2), T0.AddHours(2), 1, "{}"), [], None).WithTimeout();

        Assert.Equal(["case_c", "case_b", "case_a"], (await Store.ListCasesAsync(null, null, None).WithTimeout()).Select(c => c.Id));
        Assert.Equal(["case_c", "case_b"], (await Store.ListCasesAsync("open", null, None).WithTimeout()).Select(c => c.Id));
        Assert.Equal(["case_b", "case_a"], (await Store.ListCasesAsync(null, "key:k1", None).WithTimeout()).Select(c => c.Id));
    }
}
