using Corridor.Core.Metering;
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
    /// The ledger's own connection, kept open from one batch to the next with its statements prepared once: a batch on a
    /// pooled connection ran the connection's pragmas again and parsed and prepared BEGIN, the insert and COMMIT again, which
    /// at 1,000 requests/s (one row a batch) was a good part of the gateway's CPU (bench/README.md). One batch at a time:
    /// the store serialises its callers. A batch that fails is rolled back; the caller then disposes this writer, and the
    /// next batch opens a fresh one.
    /// Rows go in through SQLite's own API rather than through <see cref="SqliteCommand"/>: the command binds every
    /// parameter by name on every row (a name lookup and a UTF-8 copy of the name each) and copies every string into a
    /// fresh UTF-8 array, about 40% of the ledger's CPU in a profile at saturation. Here parameters are bound by position
    /// and strings are encoded into one reused buffer. The binds, 29 a row, call SQLite directly (<see cref="SqliteNative"/>).
    /// The same transaction adds the rows it inserted to the daily usage totals (<see cref="UsageDaily"/>): summed in memory
    /// as the rows go in, then one read and one write per day, tenant and model before the commit.
    /// </summary>
    internal sealed class Writer : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _begin;
        private readonly sqlite3_stmt _insert;
        private readonly sqlite3_stmt _commit;
        private readonly sqlite3_stmt _rollback;
        private readonly UsageDaily.Statements _daily;
        private readonly UsageDaily _usage = new();
        private byte[] _buffer = new byte[1024];
        private readonly StatementBindings _bindings = new(Columns.Count);

        public Writer(SqliteConnection connection)
        {
            _connection = connection;
            _db = connection.Handle!;
            _begin = Prepare("BEGIN IMMEDIATE");
            _insert = Prepare(InsertSql);
            _commit = Prepare("COMMIT");
            _rollback = Prepare("ROLLBACK");
            _daily = new UsageDaily.Statements(_db, SqliteMigrations.LatestVersion);
        }

        /// <summary>Inserts the rows in one transaction: they land together or not at all.</summary>
        public void Append(IReadOnlyList<LedgerEntry> entries)
        {
            Step(_begin);
            try
            {
                _usage.Clear();
                var db = _db.DangerousGetHandle();
                var text = new StatementBinder(_insert.DangerousGetHandle(), _db, _buffer, _bindings);
                foreach (var e in entries)
                {
                    Bind(ref text, e);
                    Step(_insert);
                    // Only a row the insert took counts: a request id already stored (a retried batch) changed nothing.
                    if (e.Billable && e.TenantId is not null && SqliteNative.Changes(db) == 1)
                    {
                        _usage.Add(e);
                    }
                }
                _buffer = text.Buffer;
                _usage.AddTo(_daily);
                Step(_commit);
            }
            catch
            {
                if (raw.sqlite3_get_autocommit(_db) == 0)
                {
                    raw.sqlite3_step(_rollback);
                    raw.sqlite3_reset(_rollback);
                }
                throw;
            }
        }

        public void Dispose()
        {
            _daily.Dispose();
            _begin.Dispose();
            _insert.Dispose();
            _commit.Dispose();
            _rollback.Dispose();
            _connection.Dispose();
        }

        private sqlite3_stmt Prepare(string sql)
        {
            StatementBinder.Check(_db, raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out var statement, out _));
            return statement;
        }

        private void Step(sqlite3_stmt statement) => StatementBinder.Run(_db, statement);
    }

    private static void Bind(ref StatementBinder p, LedgerEntry e)
    {
        p.Text(1, e.RequestId);
        p.Integer(2, SqliteValues.ToUnixMs(e.Time));
        p.Dimension(3, e.TenantId);
        p.Dimension(4, e.KeyId);
        p.Dimension(5, e.Model);
        p.Dimension(6, e.Endpoint);
        p.Dimension(7, e.DeploymentId);
        p.Dimension(8, e.Region);
        p.Dimension(9, e.Status);
        p.Dimension(10, RequestOutcomes.Name(e.Outcome));
        p.Integer(11, e.InputTokens);
        p.Integer(12, e.OutputTokens);
        p.Money(13, e.Cost);
        p.Dimension(14, e.Estimated ? 1 : 0);
        p.Integer(15, e.LatencyMs);
        p.Dimension(16, e.Billable ? 1 : 0);
        p.Dimension(17, e.ErrorCode);
        p.Dimension(18, e.ClientIp);
        p.Dimension(19, e.UserAgent);
        p.Text(20, e.RequestBody);
        p.Text(21, e.ResponseText);
        p.Dimension(22, e.FinishReason);
        p.Dimension(23, e.Vendor);
        p.Text(24, e.DecisionId);
        p.Money(25, e.Revenue);
        p.Dimension(26, e.ShadowOf);
        p.Integer(27, e.CacheReadTokens);
        p.Integer(28, e.CacheWriteTokens);
        p.Text(29, e.BatchId);
    }
}
