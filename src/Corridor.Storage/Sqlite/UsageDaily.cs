using System.Globalization;
using Corridor.Core.Metering;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// The billable totals per UTC day, tenant and model (<c>usage_daily</c>, migration 12), kept in the ledger's own
/// transactions as PostgreSQL keeps its own (its migration 6): the rows a transaction inserted that are billable and have
/// a tenant are summed here, in memory, and each group is added to its day's row once per transaction, not once per row.
/// Cost is exact decimal text, as in the ledger: SQLite would add text as floating point, so each group's row is read,
/// added to in C# decimal and written back, inside the transaction that holds the write lock.
/// </summary>
internal sealed class UsageDaily
{
    /// <summary>The text of a day in <c>usage_daily.day</c>: ISO 8601, so days sort and compare as text.</summary>
    internal static string DayText(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private readonly Dictionary<(string Tenant, DateOnly Day, string Model), Totals> _groups = [];

    public int Groups => _groups.Count;

    /// <summary>Counts a row the ledger took; rows that are not billable, or have no tenant, are not usage (as on PostgreSQL).</summary>
    public void Add(LedgerEntry entry)
    {
        if (entry.Billable && entry.TenantId is { } tenant)
        {
            Add(tenant, UsageDays.DayOf(entry.Time), entry.Model, entry.InputTokens, entry.OutputTokens, entry.Cost);
        }
    }

    private void Add(string tenant, DateOnly day, string model, long inputTokens, long outputTokens, decimal cost)
    {
        var key = (tenant, day, model);
        _groups.TryGetValue(key, out var totals);
        _groups[key] = new Totals(totals.Requests + 1, totals.InputTokens + inputTokens, totals.OutputTokens + outputTokens, totals.Cost + cost);
    }

    /// <summary>Adds every group to its row of <c>usage_daily</c> through <paramref name="statements"/> (in the caller's transaction) and starts again empty.</summary>
    public void AddTo(Statements statements)
    {
        foreach (var ((tenant, day, model), totals) in _groups)
        {
            statements.Add(tenant, DayText(day), model, totals);
        }

        _groups.Clear();
    }

    public void Clear() => _groups.Clear();

    /// <summary>
    /// Fills <c>usage_daily</c> from the ledger's rows as they are (migration 12, in its transaction): what the ledger held
    /// before the daily totals were kept. Groups are written a batch at a time, so memory stays small however long the ledger.
    /// </summary>
    internal static void Backfill(SqliteConnection connection, SqliteTransaction transaction)
    {
        const int GroupsPerWrite = 10_000;
        var totals = new UsageDaily();
        using var statements = new Statements(connection.Handle!);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT time, tenant_id, model, input_tokens, output_tokens, cost FROM ledger WHERE billable = 1 AND tenant_id IS NOT NULL";
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                totals.Add(reader.GetString(1), UsageDays.DayOf(SqliteValues.FromUnixMs(reader.GetInt64(0))), reader.GetString(2),
                    reader.GetInt64(3), reader.GetInt64(4), SqliteValues.ParseDecimal(reader.GetString(5)));
                if (totals.Groups >= GroupsPerWrite)
                {
                    totals.AddTo(statements);
                }
            }
        }

        totals.AddTo(statements);
    }

    internal readonly record struct Totals(long Requests, long InputTokens, long OutputTokens, decimal Cost);

    /// <summary>The two statements that add a group to its row, prepared once on a connection (the ledger's own keeps them as long as it lives).</summary>
    internal sealed class Statements : IDisposable
    {
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _read;
        private readonly sqlite3_stmt _write;
        private byte[] _buffer = new byte[256];

        public Statements(sqlite3 db)
        {
            _db = db;
            _read = Prepare("SELECT requests, input_tokens, output_tokens, cost FROM usage_daily WHERE tenant_id = ?1 AND day = ?2 AND model = ?3");
            try
            {
                _write = Prepare("""
                    INSERT INTO usage_daily (tenant_id, day, model, requests, input_tokens, output_tokens, cost) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                    ON CONFLICT (tenant_id, day, model) DO UPDATE SET requests = excluded.requests, input_tokens = excluded.input_tokens,
                        output_tokens = excluded.output_tokens, cost = excluded.cost
                    """);
            }
            catch
            {
                _read.Dispose();
                throw;
            }
        }

        /// <summary>Adds <paramref name="totals"/> to the row of the group (made when new).</summary>
        public void Add(string tenant, string day, string model, Totals totals)
        {
            var read = new StatementBinder(_read.DangerousGetHandle(), _db, _buffer);
            read.Text(1, tenant);
            read.Text(2, day);
            read.Text(3, model);
            _buffer = read.Buffer;
            var rc = raw.sqlite3_step(_read);
            try
            {
                if (rc == raw.SQLITE_ROW)
                {
                    totals = new Totals(
                        totals.Requests + raw.sqlite3_column_int64(_read, 0),
                        totals.InputTokens + raw.sqlite3_column_int64(_read, 1),
                        totals.OutputTokens + raw.sqlite3_column_int64(_read, 2),
                        totals.Cost + SqliteValues.ParseDecimal(raw.sqlite3_column_text(_read, 3).utf8_to_string()));
                }
                else if (rc != raw.SQLITE_DONE)
                {
                    SqliteException.ThrowExceptionForRC(rc, _db);
                }
            }
            finally
            {
                raw.sqlite3_reset(_read);
            }

            var write = new StatementBinder(_write.DangerousGetHandle(), _db, _buffer);
            write.Text(1, tenant);
            write.Text(2, day);
            write.Text(3, model);
            write.Integer(4, totals.Requests);
            write.Integer(5, totals.InputTokens);
            write.Integer(6, totals.OutputTokens);
            write.Money(7, totals.Cost);
            _buffer = write.Buffer;
            StatementBinder.Run(_db, _write);
        }

        public void Dispose()
        {
            _read.Dispose();
            _write.Dispose();
        }

        private sqlite3_stmt Prepare(string sql)
        {
            StatementBinder.Check(_db, raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out var statement, out _));
            return statement;
        }
    }
}
