namespace Corridor.Core.Audit;

/// <summary>
/// Something that happened, before the store gives it a place in the chain. <see cref="Details"/> is a JSON object
/// (see <see cref="AuditDetails"/>); it is hashed exactly as given, byte for byte.
/// </summary>
/// <param name="Time">When it happened, by the writer's clock; kept to the millisecond.</param>
/// <param name="Actor">Who did it: <c>cli:USER</c>, <c>admin-api</c>, <c>gateway</c>.</param>
/// <param name="Action">What was done (<see cref="AuditActions"/>).</param>
/// <param name="Subject">What it was done to: a tenant id, a key id, a request id.</param>
/// <param name="Details">A JSON object with the particulars.</param>
public sealed record AuditEntry(DateTimeOffset Time, string Actor, string Action, string Subject, string Details);

/// <summary>
/// One record of the append-only audit log: an entry, its place (<see cref="Sequence"/>, from 1 without gaps),
/// the <see cref="Hash"/> of the record before it and its own hash over both (<see cref="AuditChain"/>).
/// </summary>
public sealed record AuditRecord(
    long Sequence,
    DateTimeOffset Time,
    string Actor,
    string Action,
    string Subject,
    string Details,
    string PreviousHash,
    string Hash)
{
    public AuditEntry Entry => new(Time, Actor, Action, Subject, Details);
}

/// <summary>The actions Corridor records. Names are stable: auditors search for them.</summary>
public static class AuditActions
{
    public const string TenantCreate = "tenant.create";
    public const string TenantUpdate = "tenant.update";
    public const string KeyIssue = "key.issue";
    public const string KeyRevoke = "key.revoke";
    public const string KeyExpiry = "key.expiry";
    public const string LimitsUpdate = "limits.update";
    public const string DeniedPartyFlag = "denied_party.flag";
    public const string DeniedPartyReview = "denied_party.review";
    public const string ScreeningImport = "screening.import";
    public const string ScreeningThreshold = "screening.threshold";
    public const string Decision = "decision";
    public const string MonitorLevel = "monitor.level";
    public const string MonitorPin = "monitor.pin";
    public const string MonitorUnpin = "monitor.unpin";
    public const string CaseOpen = "case.open";
    public const string CaseDecision = "case.decision";
    public const string StoreRestore = "store.restore";
    public const string ReasoningKeyRotate = "reasoning_key.rotate";
}

/// <summary>Who acted.</summary>
public static class AuditActors
{
    public const string AdminApi = "admin-api";
    public const string Gateway = "gateway";

    /// <summary><c>cli:</c> and the operating-system user running the command.</summary>
    public static string Cli(string userName) => "cli:" + (string.IsNullOrWhiteSpace(userName) ? "unknown" : userName);
}
