using Corridor.Core.Audit;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Corridor.Storage.Sqlite;

/// <summary>Appends to and reads the audit log inside a caller's transaction.</summary>
internal static class SqliteAudit
{
    internal const string Columns = StoreRows.AuditColumns;

    private const string InsertSql = $"INSERT INTO audit_log ({Columns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

    /// <summary>
    /// Chains <paramref name="entries"/> after the last stored record. The caller's transaction is <c>BEGIN IMMEDIATE</c>, so it
    /// holds the write lock from its start: no other writer, in this process or another, can append between this read and the inserts.
    /// With <paramref name="again"/> (a retry of a batch whose earlier append's outcome is unknown), a batch the log already
    /// holds is not appended; its records are returned (<see cref="StoreRows.FindAuditRunAsync"/>).
    /// </summary>
    internal static async Task<IReadOnlyList<AuditRecord>> AppendAsync(
        SqliteConnection connection,
        SqliteTransaction transaction,
        IReadOnlyList<AuditEntry> entries,
        CancellationToken cancellationToken,
        bool again = false)
    {
        if (entries.Count == 0)
        {
            return [];
        }

        if (again)
        {
            using var find = connection.CreateCommand();
            find.Transaction = transaction;
            if (await SqliteValues.Rows.FindAuditRunAsync(find, entries, cancellationToken) is { } stored)
            {
                return stored;
            }
        }

        (long Sequence, string Hash) head;
        using (var last = connection.CreateCommand())
        {
            last.Transaction = transaction;
            head = await StoreRows.ReadAuditHeadAsync(last, cancellationToken);
        }

        var records = AuditChain.SealAll(entries, head.Sequence, head.Hash);
        cancellationToken.ThrowIfCancellationRequested();
        // Through SQLite's own API, bound by position, as the ledger's rows are (LedgerRows), rather than a command binding
        // eight named parameters a row: with a policy every request adds one of these (bench/README.md, "Ninth round").
        var db = connection.Handle!;
        StatementBinder.Check(db, raw.sqlite3_prepare_v2(db, InsertSql, out var insert));
        using (insert)
        {
            var p = new StatementBinder(insert.DangerousGetHandle(), db, new byte[1024]);
            foreach (var record in records)
            {
                p.Integer(1, record.Sequence);
                p.Integer(2, SqliteValues.ToUnixMs(record.Time));
                p.Text(3, record.Actor);
                p.Text(4, record.Action);
                p.Text(5, record.Subject);
                p.Text(6, record.Details);
                p.Text(7, record.PreviousHash);
                p.Text(8, record.Hash);
                StatementBinder.Run(db, insert);
            }
        }

        return records;
    }
}
