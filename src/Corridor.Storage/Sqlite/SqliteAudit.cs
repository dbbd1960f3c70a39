using Corridor.Core.Audit;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>Appends to and reads the audit log inside a caller's transaction.</summary>
internal static class SqliteAudit
{
    internal const string Columns = StoreRows.AuditColumns;

    /// <summary>
    /// Chains <paramref name="entries"/> after the last stored record. The caller's transaction is <c>BEGIN IMMEDIATE</c>, so it
    /// holds the write lock from its start: no other writer, in this process or another, can append between this read and the inserts.
    /// </summary>
    internal static async Task<IReadOnlyList<AuditRecord>> AppendAsync(
        SqliteConnection connection,
        SqliteTransaction transaction,
        IReadOnlyList<AuditEntry> entries,
        CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return [];
        }

        (long Sequence, string Hash) head;
        using (var last = connection.CreateCommand())
        {
            last.Transaction = transaction;
            head = await StoreRows.ReadAuditHeadAsync(last, cancellationToken);
        }

        var records = AuditChain.SealAll(entries, head.Sequence, head.Hash);
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = $"INSERT INTO audit_log ({Columns}) VALUES ($sequence, $time, $actor, $action, $subject, $details, $previous_hash, $hash)";
        var sequence = insert.Parameters.Add("$sequence", SqliteType.Integer);
        var time = insert.Parameters.Add("$time", SqliteType.Integer);
        var actor = insert.Parameters.Add("$actor", SqliteType.Text);
        var action = insert.Parameters.Add("$action", SqliteType.Text);
        var subject = insert.Parameters.Add("$subject", SqliteType.Text);
        var details = insert.Parameters.Add("$details", SqliteType.Text);
        var previousHash = insert.Parameters.Add("$previous_hash", SqliteType.Text);
        var hash = insert.Parameters.Add("$hash", SqliteType.Text);
        insert.Prepare();
        foreach (var record in records)
        {
            sequence.Value = record.Sequence;
            time.Value = SqliteValues.ToUnixMs(record.Time);
            actor.Value = record.Actor;
            action.Value = record.Action;
            subject.Value = record.Subject;
            details.Value = record.Details;
            previousHash.Value = record.PreviousHash;
            hash.Value = record.Hash;
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return records;
    }
}
