using System.Globalization;
using Corridor.Core.Metering;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// The billable totals per UTC day, tenant and model (<c>usage_daily</c>, migration 12; the cache tokens since migration
/// 14), kept in the ledger's own transactions as PostgreSQL keeps its own (its migration 6): the rows a transaction
/// inserted that are billable and have a tenant are summed here, in memory, and each group is added to its day's row once
/// per transaction, not once per row.
/// Cost is exact decimal text, as in the ledger: SQLite would add text as floating point, so each group's row is read,
/// added to in C# decimal and written back, inside the transaction that holds the write lock.
/// </summary>
internal sealed class UsageDaily
{
    /// <summary>The text of a day in <c>usage_daily.day</c>: ISO 8601, so days sort and compare as text.</summary>
    internal static string DayText(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>The schema version (<see cref="SqliteMigrations"/>) from which <c>usage_daily</c> has <c>cache_read_tokens</c> and <c>cache_write_tokens</c>.</summary>
    internal const int CacheTokensVersion = 14;

    private readonly Dictionary<(string Tenant, DateOnly Day, string Model), Totals> _groups = [];

    public int Groups => _groups.Count;

    /// <summary>Counts a row the ledger took; rows that are not billable, or have no tenant, are not usage (as on PostgreSQL).</summary>
    public void Add(LedgerEntry entry)
    {
        if (entry.Billable && entry.TenantId is { } tenant)
        {
            Add(tenant, UsageDays.DayOf(entry.Time), entry.Model,
                new Totals(1, entry.InputTokens, entry.OutputTokens, entry.Cost, entry.CacheReadTokens, entry.CacheWriteTokens));
        }
    }

    private void Add(string tenant, DateOnly day, string model, Totals request)
    {
        var key = (tenant, day, model);
        _groups.TryGetValue(key, out var totals);
        _groups[key] = totals + request;
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
    /// It runs against the schema of migration 12, whatever came after: neither the ledger nor the totals had cache tokens.
    /// </summary>
    internal static void Backfill(SqliteConnection connection, SqliteTransaction transaction)
    {
        const int GroupsPerWrite = 10_000;
        var totals = new UsageDaily();
        using var statements = new Statements(connection.Handle!, schemaVersion: 12);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT time, tenant_id, model, input_tokens, output_tokens, cost FROM ledger WHERE billable = 1 AND tenant_id IS NOT NULL";
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                totals.Add(reader.GetString(1), UsageDays.DayOf(SqliteValues.FromUnixMs(reader.GetInt64(0))), reader.GetString(2),
                    new Totals(1, reader.GetInt64(3), reader.GetInt64(4), SqliteValues.ParseDecimal(reader.GetString(5))));
                if (totals.Groups >= GroupsPerWrite)
                {
                    totals.AddTo(statements);
                }
            }
        }

        totals.AddTo(statements);
    }

    /// <summary>A group's sums; of its input tokens, <see cref="CacheReadTokens"/> and <see cref="CacheWriteTokens"/> were the vendor's prompt cache's.</summary>
    internal readonly record struct Totals(long Requests, long InputTokens, long OutputTokens, decimal Cost, long CacheReadTokens = 0, long CacheWriteTokens = 0)
    {
        public static Totals operator +(Totals a, Totals b) => new(a.Requests + b.Requests, a.InputTokens + b.InputTokens, a.OutputTokens + b.OutputTokens,
            a.Cost + b.Cost, a.CacheReadTokens + b.CacheReadTokens, a.CacheWriteTokens + b.CacheWriteTokens);
    }

    /// <summary>
    /// The two statements that add a group to its row, prepared once on a connection (the ledger's own keeps them as long as
    /// it lives), for the columns <c>usage_daily</c> has at <c>schemaVersion</c>: the ledger's writer runs against the
    /// latest schema, migration 12's backfill against the table as that step made it (before the cache tokens).
    /// </summary>
    internal sealed class Statements : IDisposable
    {
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _read;
        private readonly sqlite3_stmt _write;
        private readonly bool _cacheTokens;
        private byte[] _buffer = new byte[256];

        public Statements(sqlite3 db, int schemaVersion)
        {
            _db = db;
            _cacheTokens = schemaVersion >= CacheTokensVersion;
            var (columns, values, set) = _cacheTokens
                ? (", cache_read_tokens, cache_write_tokens", ", ?8, ?9", ", cache_read_tokens = excluded.cache_read_tokens, cache_write_tokens = excluded.cache_write_tokens")
                : ("", "", "");
            _read = Prepare($"SELECT requests, input_tokens, output_tokens, cost{columns} FROM usage_daily WHERE tenant_id = ?1 AND day = ?2 AND model = ?3");
            try
            {
                _write = Prepare($"""
                    INSERT INTO usage_daily (tenant_id, day, model, requests, input_tokens, output_tokens, cost{columns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7{values})
                    ON CONFLICT (tenant_id, day, model) DO UPDATE SET requests = excluded.requests, input_tokens = excluded.input_tokens,
                        output_tokens = excluded.output_tokens, cost = excluded.cost{set}
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
                    totals += new Totals(
                        raw.sqlite3_column_int64(_read, 0),
                        raw.sqlite3_column_int64(_read, 1),
                        raw.sqlite3_column_int64(_read, 2),
                        SqliteValues.ParseDecimal(raw.sqlite3_column_text(_read, 3).utf8_to_string()),
                        _cacheTokens ? raw.sqlite3_column_int64(_read, 4) : 0,
                        _cacheTokens ? raw.sqlite3_column_int64(_read, 5) : 0);
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
            if (_cacheTokens)
            {
                write.Integer(8, totals.CacheReadTokens);
                write.Integer(9, totals.CacheWriteTokens);
            }
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
