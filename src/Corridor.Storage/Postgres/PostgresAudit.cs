using Corridor.Core.Audit;
using Npgsql;
using NpgsqlTypes;

namespace Corridor.Storage.Postgres;

/// <summary>Appends to and reads the audit log inside a caller's transaction.</summary>
internal static class PostgresAudit
{
    internal const string Columns = StoreRows.AuditColumns;

    /// <summary>
    /// Chains <paramref name="entries"/> after the last stored record. The transaction first takes an advisory lock held until it
    /// ends, so writers in every replica and the command line queue here one at a time: each reads the head that the previous
    /// one committed (read committed sees it), and the log stays one chain. With <paramref name="again"/> (a retry of a batch
    /// whose earlier append's outcome is unknown), a batch the log already holds is not appended; its records are returned
    /// (<see cref="StoreRows.FindAuditRunAsync"/>). The lock makes that check sound: an earlier append the server still
    /// runs holds it until it commits or rolls back.
    /// </summary>
    internal static async Task<IReadOnlyList<AuditRecord>> AppendAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        IReadOnlyList<AuditEntry> entries,
        CancellationToken cancellationToken,
        bool again = false)
    {
        if (entries.Count == 0)
        {
            return [];
        }

        await using (var lockAudit = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({PostgresMigrations.AuditLock})", connection, transaction))
        {
            await lockAudit.ExecuteNonQueryAsync(cancellationToken);
        }

        if (again)
        {
            await using var find = new NpgsqlCommand(null, connection, transaction);
            if (await PostgresValues.Rows.FindAuditRunAsync(find, entries, cancellationToken) is { } stored)
            {
                return stored;
            }
        }
        (long Sequence, string Hash) head;
        await using (var last = new NpgsqlCommand(null, connection, transaction))
        {
            head = await StoreRows.ReadAuditHeadAsync(last, cancellationToken);
        }

        var records = AuditChain.SealAll(entries, head.Sequence, head.Hash);
        await using var insert = new NpgsqlCommand($"""
            INSERT INTO audit_log ({Columns})
            SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
            """, connection, transaction);
        insert.Parameters.AddWithValue(records.Select(r => r.Sequence).ToArray());
        insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = records.Select(r => PostgresValues.ToUtc(r.Time)).ToArray() });
        insert.Parameters.AddWithValue(records.Select(r => r.Actor).ToArray());
        insert.Parameters.AddWithValue(records.Select(r => r.Action).ToArray());
        insert.Parameters.AddWithValue(records.Select(r => r.Subject).ToArray());
        insert.Parameters.AddWithValue(records.Select(r => r.Details).ToArray());
        insert.Parameters.AddWithValue(records.Select(r => r.PreviousHash).ToArray());
        insert.Parameters.AddWithValue(records.Select(r => r.Hash).ToArray());
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return records;
    }
}
