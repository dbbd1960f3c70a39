using System.Text.Encodings.Web;
using System.Text.Json;
using Corridor.Core.Audit;
using Corridor.Monitor.Scoring;
using Corridor.Storage;

namespace Corridor.Gateway.Monitoring;

/// <summary>
/// A case's evidence bundle (<c>corridor-evidence-v1</c>, JSON), fit to send to a vendor: the case (timeline of levels
/// and scores, top signals, example requests, decisions), what each signal measures, and the audit records about the
/// case and its subject with their hashes and the log's head, so the records can be checked against the chain.
/// </summary>
public static class EvidenceBundle
{
    public const string Format = "corridor-evidence-v1";

    private const int MaxAuditRecords = 1000;

    private static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the bundle of <paramref name="caseId"/> to <paramref name="output"/>; false when there is no such case.</summary>
    public static async Task<bool> WriteAsync(ICorridorStore store, string caseId, string exportedBy, DateTimeOffset now, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(output);
        if (await store.GetCaseAsync(caseId, cancellationToken) is not { } record)
        {
            return false;
        }

        var file = CaseBook.Read(record);
        var audit = new List<AuditRecord>();
        audit.AddRange(await store.SearchAuditAsync(new AuditQuery(file.Id, null, MaxAuditRecords), cancellationToken));
        var subjects = new List<string> { file.Subject };
        subjects.AddRange(file.Members);
        foreach (var subject in subjects)
        {
            if (SubjectRef.TryParse(subject, out var parsed))
            {
                foreach (var action in (string[])[AuditActions.MonitorLevel, AuditActions.MonitorPin, AuditActions.MonitorUnpin])
                {
                    audit.AddRange(await store.SearchAuditAsync(new AuditQuery(parsed.Id, action, MaxAuditRecords), cancellationToken));
                }
            }
        }

        var records = audit.DistinctBy(r => r.Sequence).OrderBy(r => r.Sequence).ToList();
        var newest = await store.SearchAuditAsync(new AuditQuery(null, null, 1), cancellationToken);
        var head = newest.Count > 0 ? newest[^1] : null;

        await using var json = new Utf8JsonWriter(output, Options);
        json.WriteStartObject();
        json.WriteString("format", Format);
        json.WriteString("exported_at", now.ToUniversalTime().ToString("O"));
        json.WriteString("exported_by", exportedBy);
        json.WritePropertyName("case");
        json.WriteRawValue(record.Document);
        json.WriteStartObject("signals");
        foreach (var signal in file.TopSignals)
        {
            if (Signals.TryParse(signal.Signal, out var known))
            {
                json.WriteString(signal.Signal, known.Describe());
            }
        }

        json.WriteEndObject();
        json.WriteStartArray("audit");
        foreach (var r in records)
        {
            json.WriteStartObject();
            json.WriteNumber("sequence", r.Sequence);
            json.WriteString("time", r.Time.ToUniversalTime().ToString("O"));
            json.WriteString("actor", r.Actor);
            json.WriteString("action", r.Action);
            json.WriteString("subject", r.Subject);
            // The details exactly as hashed, so a recipient can recompute each record's hash (docs/audit.md).
            json.WriteString("details", r.Details);
            json.WriteString("previous_hash", r.PreviousHash);
            json.WriteString("hash", r.Hash);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (head is not null)
        {
            json.WriteStartObject("audit_head");
            json.WriteNumber("sequence", head.Sequence);
            json.WriteString("hash", head.Hash);
            json.WriteEndObject();
        }

        json.WriteEndObject();
        await json.FlushAsync(cancellationToken);
        return true;
    }
}
