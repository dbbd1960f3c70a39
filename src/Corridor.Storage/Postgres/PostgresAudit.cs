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
    /// one committed (read committed sees it), and the log stays one chain.
    /// </summary>
    internal static async Task<IReadOnlyList<AuditRecord>> AppendAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        IReadOnlyList<AuditEntry> entries,
        CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return [];
        }

        long lastSequence = 0;
        var lastHash = AuditChain.GenesisHash;
        await using (var last = new NpgsqlCommand(
            $"SELECT pg_advisory_xact_lock({PostgresMigrations.AuditLock}); SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1",
            connection,
            transaction))
        await using (var reader = await last.ExecuteReaderAsync(cancellationToken))
        {
            await reader.NextResultAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                lastSequence = reader.GetInt64(0);
                lastHash = reader.GetString(1);
            }
        }

        var records = AuditChain.SealAll(entries, lastSequence, lastHash);
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
