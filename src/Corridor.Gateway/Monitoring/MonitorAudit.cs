using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Monitor.Scoring;

namespace Corridor.Gateway.Monitoring;

/// <summary>The audit entries of the monitor's level changes, operators' pins and cases (docs/audit.md).</summary>
internal static class MonitorAudit
{
    /// <summary><c>monitor.level</c>: an automatic level change, with the score and the signals behind it.</summary>
    public static AuditEntry Level(LevelChange change, DateTimeOffset now) =>
        new(now, AuditActors.Gateway, AuditActions.MonitorLevel, change.Subject.Id, AuditDetails.Write(json =>
        {
            json.WriteString("subject", change.Subject.ToString());
            WriteTenant(json, change.TenantId);
            json.WriteString("from", change.From.Name());
            json.WriteString("to", change.To.Name());
            json.WriteNumber("score", change.Score);
            json.WriteString("at", change.At.ToUniversalTime().ToString("O"));
            json.WriteStartArray("reasons");
            foreach (var reason in change.Reasons)
            {
                json.WriteStartObject();
                json.WriteString("signal", reason.Name);
                json.WriteNumber("value", reason.Value);
                json.WriteNumber("contribution", reason.Contribution);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (change.Members.Count > 0)
            {
                json.WriteStartArray("members");
                foreach (var member in change.Members)
                {
                    json.WriteStringValue(member.ToString());
                }

                json.WriteEndArray();
            }
        }));

    /// <summary><c>monitor.pin</c> (a level) or <c>monitor.unpin</c> (null): an operator's pin (for a cluster, with the members it applies to).</summary>
    public static AuditEntry Pin(SubjectRef subject, string? tenantId, EnforcementLevel? level, string actor, string? note, DateTimeOffset now, string? members = null) =>
        new(now, actor, level is null ? AuditActions.MonitorUnpin : AuditActions.MonitorPin, subject.Id, AuditDetails.Write(json =>
        {
            json.WriteString("subject", subject.ToString());
            WriteTenant(json, tenantId);
            if (level is { } pinned)
            {
                json.WriteString("level", pinned.Name());
            }

            json.WriteString("note", note);
            if (members is not null)
            {
                json.WriteStartArray("members");
                foreach (var member in members.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    json.WriteStringValue(member);
                }

                json.WriteEndArray();
            }
        }));

    /// <summary><c>case.open</c>: a subject reached <c>flag</c> (or above) and has no active case.</summary>
    public static AuditEntry CaseOpened(string caseId, SubjectRef subject, string? tenantId, LevelChange change, DateTimeOffset now) =>
        new(now, AuditActors.Gateway, AuditActions.CaseOpen, caseId, AuditDetails.Write(json =>
        {
            json.WriteString("subject", subject.ToString());
            WriteTenant(json, tenantId);
            json.WriteString("level", change.To.Name());
            json.WriteNumber("score", change.Score);
        }));

    /// <summary><c>case.decision</c>: an analyst's decision, with the status before and after.</summary>
    public static AuditEntry CaseDecided(string caseId, string subject, string decision, string from, string to, string actor, string? note, DateTimeOffset now) =>
        new(now, actor, AuditActions.CaseDecision, caseId, AuditDetails.Write(json =>
        {
            json.WriteString("subject", subject);
            json.WriteString("decision", decision);
            json.WriteString("from", from);
            json.WriteString("to", to);
            json.WriteString("note", note);
        }));

    private static void WriteTenant(Utf8JsonWriter json, string? tenantId)
    {
        if (tenantId is not null)
        {
            json.WriteString("tenant", tenantId);
        }
    }
}
