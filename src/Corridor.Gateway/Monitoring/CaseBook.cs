using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Monitor.Cases;
using Corridor.Monitor.Scoring;
using Corridor.Storage;
using Corridor.Storage.Compliance;
using Corridor.Storage.Monitoring;

namespace Corridor.Gateway.Monitoring;

/// <summary>
/// Cases and pins in the store, as the gateway, the command line and the admin API change them: every change is saved
/// together with its audit record, and a case written meanwhile by someone else is read again and the change reapplied.
/// </summary>
public static class CaseBook
{
    private const int SaveAttempts = 8;

    private static readonly string[] ActiveStatuses = [CaseNames.Open, CaseNames.Escalated, CaseNames.Confirmed];

    /// <summary>Cases, newest first: all, one status, or <c>active</c> (every status but dismissed).</summary>
    public static async Task<IReadOnlyList<CaseFile>> ListAsync(ICorridorStore store, string? status, string? subject, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (status is not null and not "active" && !CaseNames.IsStatus(status))
        {
            throw new AdminChangeException(AdminChangeError.Invalid, $"'{status}' is not a case status (open, dismissed, confirmed, escalated, active).");
        }

        var records = new List<CaseRecord>();
        var statuses = status == "active" ? ActiveStatuses : new[] { status };
        foreach (var one in statuses)
        {
            records.AddRange(await store.ListCasesAsync(one, subject, cancellationToken));
        }

        return [.. records.OrderByDescending(r => r.OpenedAt).ThenBy(r => r.Id, StringComparer.Ordinal).Select(Read)];
    }

    public static async Task<CaseFile?> GetAsync(ICorridorStore store, string caseId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return await store.GetCaseAsync(caseId, cancellationToken) is { } record ? Read(record) : null;
    }

    /// <summary>Records an analyst's decision (dismiss, confirm, escalate) with <c>case.decision</c>.</summary>
    public static async Task<CaseFile> DecideAsync(ICorridorStore store, string caseId, string decisionText, string actor, string? note, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!CaseNames.TryParseDecision(decisionText, out var decision))
        {
            throw new AdminChangeException(AdminChangeError.Invalid, $"'{decisionText}' is not a decision: dismiss, confirm or escalate.");
        }

        return await UpdateAsync(store, caseId, file =>
        {
            var record = file.Decide(decision, actor, note, now);
            return [MonitorAudit.CaseDecided(file.Id, file.Subject, record.Decision, record.StatusBefore, record.StatusAfter, actor, note, now)];
        }, cancellationToken) ?? throw new AdminChangeException(AdminChangeError.NotFound, $"No case '{caseId}'.");
    }

    /// <summary>
    /// Pins a subject at <paramref name="level"/> (either way), or removes its pin (null): stored with <c>monitor.pin</c> or
    /// <c>monitor.unpin</c>, and noted on the subject's active case. A running gateway picks it up at its next tick
    /// (at once when made through its admin API). Returns false when there was no pin to remove.
    /// </summary>
    public static async Task<bool> PinAsync(ICorridorStore store, SubjectRef subject, EnforcementLevel? level, string actor, string? note, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var stored = (await store.ListEnforcementAsync(cancellationToken)).FirstOrDefault(e => e.Subject == subject.ToString());
        string? tenantId = null;
        string? members = null;
        switch (subject.Kind)
        {
            case SubjectKind.Cluster:
                // The pin holds the members the cluster had when it was stored (at its first level) or its case was opened,
                // whatever the cluster becomes later; they are kept with the pin and audited with it.
                members = stored?.Members;
                if (members is null && await ListAsync(store, null, subject.ToString(), cancellationToken) is [{ Members.Count: > 0 } file, ..])
                {
                    members = string.Join(' ', file.Members);
                }

                if (members is null && level is not null)
                {
                    throw new AdminChangeException(AdminChangeError.NotFound,
                        $"No cluster '{subject.Id}' is known: a cluster is kept once it reaches a level (see 'corridor enforcement list' or 'corridor cases list').");
                }

                break;
            case SubjectKind.Key:
                tenantId = (await store.GetKeyAsync(subject.Id, cancellationToken))?.TenantId
                    ?? throw new AdminChangeException(AdminChangeError.NotFound, $"No key '{subject.Id}'.");
                break;
            case SubjectKind.Tenant:
                tenantId = (await store.GetTenantAsync(subject.Id, cancellationToken))?.Id
                    ?? throw new AdminChangeException(AdminChangeError.NotFound, $"No tenant '{subject.Id}'.");
                break;
        }

        if (level is null && stored?.PinnedLevel is null)
        {
            return false;
        }

        await store.SetEnforcementAsync(new EnforcementUpdate(subject.ToString(), tenantId, Pin: true, level?.Name(), now, actor, note, members),
            [MonitorAudit.Pin(subject, tenantId, level, actor, note, now, members)], cancellationToken);
        if (await FindActiveAsync(store, subject.ToString(), cancellationToken) is { } open)
        {
            await UpdateAsync(store, open.Id, file =>
            {
                file.AddPin(now, level, actor, note);
                return [];
            }, cancellationToken);
        }

        return true;
    }

    /// <summary>
    /// Notes an automatic level change on the subject's active case, opening one (<c>case.open</c>) when the subject
    /// reached <c>flag</c> or above and has none. Returns the case, or null when there is none to note it on.
    /// </summary>
    internal static async Task<CaseFile?> RecordLevelChangeAsync(ICorridorStore store, LevelChange change, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var subject = change.Subject.ToString();
        if (await FindActiveAsync(store, subject, cancellationToken) is { } open)
        {
            return await UpdateAsync(store, open.Id, file =>
            {
                file.AddLevelChange(change);
                return [];
            }, cancellationToken);
        }

        if (change.To < EnforcementLevel.Flag)
        {
            return null;
        }

        var opened = CaseFile.Open(change.Subject, change.TenantId, change.At);
        opened.AddLevelChange(change);
        opened.Version = 1;
        return await store.SaveCaseAsync(ToRecord(opened), [MonitorAudit.CaseOpened(opened.Id, change.Subject, change.TenantId, change, now)], cancellationToken)
            ? opened
            : null;
    }

    internal static async Task<CaseFile?> FindActiveAsync(ICorridorStore store, string subject, CancellationToken cancellationToken)
    {
        foreach (var status in ActiveStatuses)
        {
            var found = await store.ListCasesAsync(status, subject, cancellationToken);
            if (found.Count > 0)
            {
                return Read(found[0]);
            }
        }

        return null;
    }

    /// <summary>
    /// Reads the case, applies <paramref name="change"/> (null: nothing to save) and saves it with the audit entries it
    /// returns; when another writer saved the case meanwhile, reads it again and reapplies. Null when there is no such case.
    /// </summary>
    internal static async Task<CaseFile?> UpdateAsync(ICorridorStore store, string caseId, Func<CaseFile, IReadOnlyList<AuditEntry>?> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        for (var attempt = 0; attempt < SaveAttempts; attempt++)
        {
            if (await store.GetCaseAsync(caseId, cancellationToken) is not { } record)
            {
                return null;
            }

            var file = Read(record);
            if (change(file) is not { } audit)
            {
                return file;
            }

            file.Version = record.Version + 1;
            if (await store.SaveCaseAsync(ToRecord(file), audit, cancellationToken))
            {
                return file;
            }
        }

        throw new AdminChangeException(AdminChangeError.Invalid, $"Case '{caseId}' kept changing while it was being saved; try again.");
    }

    internal static CaseRecord ToRecord(CaseFile file) =>
        new(file.Id, file.Subject, file.Tenant, file.Status, file.OpenedAt, file.UpdatedAt, file.Version, file.ToJson());

    // A document that no longer parses (edited by hand, or written by a newer Corridor) is reported by case, not as a JSON error.
    internal static CaseFile Read(CaseRecord record)
    {
        try
        {
            return CaseFile.FromJson(record.Document, record.Version);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"case '{record.Id}' in the store is not a readable case document: {e.Message}", e);
        }
    }
}
