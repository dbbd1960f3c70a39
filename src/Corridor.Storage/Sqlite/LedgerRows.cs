using System.Globalization;
using Corridor.Core.Metering;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Corridor.Storage.Sqlite;

/// <summary>How a <see cref="LedgerEntry"/> is bound to an insert into <c>ledger</c> (rows are read by <see cref="StoreRows.Ledger"/>).</summary>
internal static class LedgerRows
{
    private static IReadOnlyList<string> Columns => StoreRows.LedgerColumns;

    // Only a repeated request id is skipped (a retried batch); unlike INSERT OR IGNORE, a row breaking any other
    // constraint fails the batch loudly instead of vanishing. Parameters are numbered (?1 = Columns[0], ...).
    internal static readonly string InsertSql =
        $"INSERT INTO ledger ({StoreRows.LedgerColumnList}) VALUES ({string.Join(", ", Columns.Select((_, i) => "?" + (i + 1)))}) ON CONFLICT (request_id) DO NOTHING";

    internal static readonly string SelectSql = $"SELECT {StoreRows.LedgerColumnList} FROM ledger";

    /// <summary>
    /// Inserts the rows with one prepared statement, inside the caller's transaction. This goes to SQLite's own API rather
    /// than through <see cref="SqliteCommand"/>: the command binds every parameter by name on every row (24 name lookups,
    /// each a UTF-8 copy of the name) and copies every string into a fresh UTF-8 array: in a profile at saturation that
    /// was about 40% of the ledger writer's CPU (bench/README.md). Here parameters are bound by position and strings
    /// are encoded into one reused buffer.
    /// </summary>
    internal static void Insert(sqlite3 db, IReadOnlyList<LedgerEntry> entries)
    {
        Check(db, raw.sqlite3_prepare_v2(db, InsertSql, out var statement));
        using (statement)
        {
            var text = new TextBinder(statement, db);
            foreach (var e in entries)
            {
                Bind(ref text, e);
                var rc = raw.sqlite3_step(statement);
                if (rc != raw.SQLITE_DONE)
                {
                    SqliteException.ThrowExceptionForRC(rc, db);
                }
                Check(db, raw.sqlite3_reset(statement));
            }
        }
    }

    private static void Bind(ref TextBinder p, LedgerEntry e)
    {
        p.Text(1, e.RequestId);
        p.Integer(2, SqliteValues.ToUnixMs(e.Time));
        p.Text(3, e.TenantId);
        p.Text(4, e.KeyId);
        p.Text(5, e.Model);
        p.Text(6, e.Endpoint);
        p.Text(7, e.DeploymentId);
        p.Text(8, e.Region);
        p.Integer(9, e.Status);
        p.Text(10, e.Outcome.ToString());
        p.Integer(11, e.InputTokens);
        p.Integer(12, e.OutputTokens);
        p.Money(13, e.Cost);
        p.Integer(14, e.Estimated ? 1 : 0);
        p.Integer(15, e.LatencyMs);
        p.Integer(16, e.Billable ? 1 : 0);
        p.Text(17, e.ErrorCode);
        p.Text(18, e.ClientIp);
        p.Text(19, e.UserAgent);
        p.Text(20, e.RequestBody);
        p.Text(21, e.ResponseText);
        p.Text(22, e.FinishReason);
        p.Text(23, e.Vendor);
        p.Text(24, e.DecisionId);
        p.Money(25, e.Revenue);
        p.Text(26, e.ShadowOf);
    }

    private static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>Binds by position; text goes in as UTF-8 through one buffer that grows to the longest value of the batch.</summary>
    private struct TextBinder(sqlite3_stmt statement, sqlite3 db)
    {
        private byte[] _buffer = new byte[1024];

        public readonly void Integer(int index, long value) => Check(db, raw.sqlite3_bind_int64(statement, index, value));

        public void Text(int index, string? value)
        {
            if (value is null)
            {
                Check(db, raw.sqlite3_bind_null(statement, index));
                return;
            }
            Text(index, value.AsSpan());
        }

        /// <summary>An exact decimal as invariant text, formatted on the stack (a decimal never needs more than 31 characters).</summary>
        public void Money(int index, decimal value)
        {
            Span<char> text = stackalloc char[32];
            Text(index, value.TryFormat(text, out var written, provider: CultureInfo.InvariantCulture) ? text[..written] : value.ToString(CultureInfo.InvariantCulture));
        }

        public void Text(int index, ReadOnlySpan<char> value)
        {
            var most = Encoding.UTF8.GetMaxByteCount(value.Length);
            if (_buffer.Length < most)
            {
                _buffer = new byte[Math.Max(most, _buffer.Length * 2)];
            }
            var length = Encoding.UTF8.GetBytes(value, _buffer);
            // SQLite copies the value (SQLITE_TRANSIENT), so the buffer is free again for the next parameter.
            Check(db, raw.sqlite3_bind_text(statement, index, _buffer.AsSpan(0, length)));
        }
    }
}
