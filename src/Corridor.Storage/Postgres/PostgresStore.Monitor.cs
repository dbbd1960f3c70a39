using Corridor.Core.Audit;
using Corridor.Storage.Monitoring;
using Npgsql;
using NpgsqlTypes;

namespace Corridor.Storage.Postgres;

/// <summary>The distillation monitor's enforcement and cases (PostgreSQL migration 9), as <see cref="Sqlite.SqliteStore"/> keeps them.</summary>
internal sealed partial class PostgresStore
{
    private const string EnforcementColumns = "subject, tenant_id, automatic_level, pinned_level, updated_at, actor, note, members";
    private const string CaseColumns = "id, subject, tenant_id, status, opened_at, updated_at, version, document";

    public Task<IReadOnlyList<EnforcementRecord>> ListEnforcementAsync(CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {EnforcementColumns} FROM enforcement ORDER BY subject COLLATE \"C\"", null, ReadEnforcement, cancellationToken);

    public Task SetEnforcementAsync(EnforcementUpdate update, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            // Only the part being changed is written: the gateway's automatic levels and an operator's pin never overwrite each other.
            // The actor and note are the pin's while there is one (who pinned it, and why), not those of a later automatic change;
            // so are a cluster's members (those the pin holds, as audited with it).
            var column = update.Pin ? "pinned_level" : "automatic_level";
            var byline = update.Pin
                ? "actor = EXCLUDED.actor, note = EXCLUDED.note, members = coalesce(EXCLUDED.members, enforcement.members)"
                : """
                  actor = CASE WHEN enforcement.pinned_level IS NULL THEN EXCLUDED.actor ELSE enforcement.actor END,
                  note = CASE WHEN enforcement.pinned_level IS NULL THEN EXCLUDED.note ELSE enforcement.note END,
                  members = CASE WHEN enforcement.pinned_level IS NULL THEN coalesce(EXCLUDED.members, enforcement.members) ELSE enforcement.members END
                  """;
            await using (var upsert = new NpgsqlCommand(
                $"""
                INSERT INTO enforcement (subject, tenant_id, {column}, updated_at, actor, note, members) VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (subject) DO UPDATE SET
                    tenant_id = coalesce(EXCLUDED.tenant_id, enforcement.tenant_id),
                    {column} = EXCLUDED.{column},
                    updated_at = EXCLUDED.updated_at, {byline}
                """,
                connection,
                transaction))
            {
                upsert.Parameters.AddWithValue(update.Subject);
                upsert.Parameters.Add(Text(update.TenantId));
                upsert.Parameters.Add(Text(update.Pin ? update.Level : update.Level ?? "none"));
                upsert.Parameters.AddWithValue(PostgresValues.ToUtc(update.At));
                upsert.Parameters.AddWithValue(update.Actor);
                upsert.Parameters.Add(Text(update.Note));
                upsert.Parameters.Add(Text(update.Members));
                await upsert.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var empty = new NpgsqlCommand(
                "DELETE FROM enforcement WHERE subject = $1 AND automatic_level = 'none' AND pinned_level IS NULL", connection, transaction))
            {
                empty.Parameters.AddWithValue(update.Subject);
                await empty.ExecuteNonQueryAsync(cancellationToken);
            }

            return true;
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<CaseRecord>> ListCasesAsync(string? status, string? subject, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT {CaseColumns} FROM cases
            WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR subject = $2)
            ORDER BY opened_at DESC, id COLLATE "C"
            """);
        command.Parameters.Add(Text(status));
        command.Parameters.Add(Text(subject));
        var cases = new List<CaseRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            cases.Add(ReadCase(reader));
        }

        return cases;
    }

    public Task<CaseRecord?> GetCaseAsync(string caseId, CancellationToken cancellationToken) =>
        FirstOrDefaultAsync($"SELECT {CaseColumns} FROM cases WHERE id = $1", caseId, ReadCase, cancellationToken);

    public Task<bool> SaveCaseAsync(CaseRecord record, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            // Version 1 is a new case; any other version replaces the one before it. Either way, a concurrent writer who got
            // there first makes this write change no row, and the caller reads again (CaseBook).
            await using (var command = new NpgsqlCommand { Connection = connection, Transaction = transaction })
            {
                // Positions $1..$6 for both: id, tenant_id, status, updated_at, version, document; a new case adds subject and opened_at.
                command.CommandText = record.Version == 1
                    ? $"INSERT INTO cases ({CaseColumns}) VALUES ($1, $7, $2, $3, $8, $4, $5, $6) ON CONFLICT (id) DO NOTHING"
                    : "UPDATE cases SET tenant_id = $2, status = $3, updated_at = $4, version = $5, document = $6 WHERE id = $1 AND version = $5 - 1";
                command.Parameters.AddWithValue(record.Id);
                command.Parameters.Add(Text(record.TenantId));
                command.Parameters.AddWithValue(record.Status);
                command.Parameters.AddWithValue(PostgresValues.ToUtc(record.UpdatedAt));
                command.Parameters.AddWithValue(record.Version);
                command.Parameters.AddWithValue(record.Document);
                if (record.Version == 1)
                {
                    command.Parameters.AddWithValue(record.Subject);
                    command.Parameters.AddWithValue(PostgresValues.ToUtc(record.OpenedAt));
                }

                if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return false;
                }
            }

            return true;
        }, cancellationToken);
    }

    private static NpgsqlParameter Text(string? value) => new() { NpgsqlDbType = NpgsqlDbType.Text, Value = PostgresValues.OrNull(value) };

    private static EnforcementRecord ReadEnforcement(NpgsqlDataReader r) => new(
        r.GetString(0),
        r.IsDBNull(1) ? null : r.GetString(1),
        r.GetString(2),
        r.IsDBNull(3) ? null : r.GetString(3),
        r.GetFieldValue<DateTimeOffset>(4),
        r.IsDBNull(5) ? null : r.GetString(5),
        r.IsDBNull(6) ? null : r.GetString(6),
        r.IsDBNull(7) ? null : r.GetString(7));

    private static CaseRecord ReadCase(NpgsqlDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.IsDBNull(2) ? null : r.GetString(2),
        r.GetString(3),
        r.GetFieldValue<DateTimeOffset>(4),
        r.GetFieldValue<DateTimeOffset>(5),
        r.GetInt64(6),
        r.GetString(7));
}
