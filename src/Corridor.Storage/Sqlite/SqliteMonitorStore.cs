using Corridor.Core.Audit;
using Corridor.Storage.Monitoring;
using static Corridor.Storage.Sqlite.SqliteValues;

namespace Corridor.Storage.Sqlite;

/// <summary>The distillation monitor's enforcement and cases (migration 7).</summary>
internal sealed partial class SqliteStore
{
    private const string CaseColumns = "id, subject, tenant_id, status, opened_at, updated_at, version, document";

    public Task<IReadOnlyList<EnforcementRecord>> ListEnforcementAsync(CancellationToken cancellationToken) =>
        QueryAsync(
            "SELECT subject, tenant_id, automatic_level, pinned_level, updated_at, actor, note, members FROM enforcement ORDER BY subject",
            null,
            null,
            r => new EnforcementRecord(r.GetString(0), StoreRows.GetStringOrNull(r, 1), r.GetString(2), StoreRows.GetStringOrNull(r, 3), FromUnixMs(r.GetInt64(4)),
                StoreRows.GetStringOrNull(r, 5), StoreRows.GetStringOrNull(r, 6), StoreRows.GetStringOrNull(r, 7)),
            cancellationToken);

    public async Task SetEnforcementAsync(EnforcementUpdate update, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        await AuditedAsync(audit, async (connection, transaction) =>
        {
            // Only the part being changed is written: the gateway's automatic levels and an operator's pin never overwrite each other.
            // The actor and note are the pin's while there is one (who pinned it, and why), not those of a later automatic change;
            // so are a cluster's members (those the pin holds, as audited with it).
            var column = update.Pin ? "pinned_level" : "automatic_level";
            var byline = update.Pin
                ? "actor = excluded.actor, note = excluded.note, members = coalesce(excluded.members, members)"
                : """
                  actor = CASE WHEN pinned_level IS NULL THEN excluded.actor ELSE actor END,
                  note = CASE WHEN pinned_level IS NULL THEN excluded.note ELSE note END,
                  members = CASE WHEN pinned_level IS NULL THEN coalesce(excluded.members, members) ELSE members END
                  """;
            using var command = Command(connection, transaction, $"""
                INSERT INTO enforcement (subject, tenant_id, {column}, updated_at, actor, note, members)
                VALUES ($subject, $tenant_id, $level, $at, $actor, $note, $members)
                ON CONFLICT (subject) DO UPDATE SET
                    tenant_id = coalesce(excluded.tenant_id, tenant_id),
                    {column} = excluded.{column},
                    updated_at = excluded.updated_at, {byline};
                DELETE FROM enforcement WHERE subject = $subject AND automatic_level = 'none' AND pinned_level IS NULL;
                """);
            command.Parameters.AddWithValue("$subject", update.Subject);
            command.Parameters.AddWithValue("$tenant_id", OrNull(update.TenantId));
            command.Parameters.AddWithValue("$level", update.Pin ? OrNull(update.Level) : update.Level ?? "none");
            command.Parameters.AddWithValue("$at", ToUnixMs(update.At));
            command.Parameters.AddWithValue("$actor", update.Actor);
            command.Parameters.AddWithValue("$note", OrNull(update.Note));
            command.Parameters.AddWithValue("$members", OrNull(update.Members));
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<CaseRecord>> ListCasesAsync(string? status, string? subject, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {CaseColumns} FROM cases
            WHERE ($status IS NULL OR status = $status) AND ($subject IS NULL OR subject = $subject)
            ORDER BY opened_at DESC, id
            """;
        command.Parameters.AddWithValue("$status", OrNull(status));
        command.Parameters.AddWithValue("$subject", OrNull(subject));
        var cases = new List<CaseRecord>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            cases.Add(ReadCase(reader));
        }

        return cases;
    }

    public Task<CaseRecord?> GetCaseAsync(string caseId, CancellationToken cancellationToken) =>
        QueryByIdAsync($"SELECT {CaseColumns} FROM cases WHERE id = $id", caseId, ReadCase, cancellationToken);

    public Task<bool> SaveCaseAsync(CaseRecord record, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            using var command = Command(connection, transaction, record.Version == 1
                ? $"INSERT OR IGNORE INTO cases ({CaseColumns}) VALUES ($id, $subject, $tenant_id, $status, $opened_at, $updated_at, $version, $document)"
                : """
                  UPDATE cases SET status = $status, tenant_id = $tenant_id, updated_at = $updated_at, version = $version, document = $document
                  WHERE id = $id AND version = $version - 1
                  """);
            command.Parameters.AddWithValue("$id", record.Id);
            command.Parameters.AddWithValue("$subject", record.Subject);
            command.Parameters.AddWithValue("$tenant_id", OrNull(record.TenantId));
            command.Parameters.AddWithValue("$status", record.Status);
            command.Parameters.AddWithValue("$opened_at", ToUnixMs(record.OpenedAt));
            command.Parameters.AddWithValue("$updated_at", ToUnixMs(record.UpdatedAt));
            command.Parameters.AddWithValue("$version", record.Version);
            command.Parameters.AddWithValue("$document", record.Document);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);
    }

    private static CaseRecord ReadCase(System.Data.Common.DbDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        StoreRows.GetStringOrNull(r, 2),
        r.GetString(3),
        FromUnixMs(r.GetInt64(4)),
        FromUnixMs(r.GetInt64(5)),
        r.GetInt64(6),
        r.GetString(7));
}
