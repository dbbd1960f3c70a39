using System.Globalization;
using System.Runtime.InteropServices;
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
    /// The ledger's own connection, kept open from one batch to the next with its statements prepared once: a batch on a
    /// pooled connection ran the connection's pragmas again and parsed and prepared BEGIN, the insert and COMMIT again, which
    /// at 1,000 requests/s (one row a batch) was a good part of the gateway's CPU (bench/README.md). One batch at a time:
    /// the store serialises its callers. A batch that fails is rolled back; the caller then disposes this writer, and the
    /// next batch opens a fresh one.
    /// Rows go in through SQLite's own API rather than through <see cref="SqliteCommand"/>: the command binds every
    /// parameter by name on every row (a name lookup and a UTF-8 copy of the name each) and copies every string into a
    /// fresh UTF-8 array, about 40% of the ledger's CPU in a profile at saturation. Here parameters are bound by position
    /// and strings are encoded into one reused buffer. The binds, 26 a row, call SQLite directly (<see cref="Native"/>).
    /// </summary>
    internal sealed class Writer : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _begin;
        private readonly sqlite3_stmt _insert;
        private readonly sqlite3_stmt _commit;
        private readonly sqlite3_stmt _rollback;
        private byte[] _buffer = new byte[1024];
        private readonly Bindings _bindings = new(Columns.Count);

        public Writer(SqliteConnection connection)
        {
            _connection = connection;
            _db = connection.Handle!;
            _begin = Prepare("BEGIN IMMEDIATE");
            _insert = Prepare(InsertSql);
            _commit = Prepare("COMMIT");
            _rollback = Prepare("ROLLBACK");
        }

        /// <summary>Inserts the rows in one transaction: they land together or not at all.</summary>
        public void Append(IReadOnlyList<LedgerEntry> entries)
        {
            Step(_begin);
            try
            {
                var text = new TextBinder(_insert.DangerousGetHandle(), _db, _buffer, _bindings);
                foreach (var e in entries)
                {
                    Bind(ref text, e);
                    Step(_insert);
                }
                _buffer = text.Buffer;
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
            _begin.Dispose();
            _insert.Dispose();
            _commit.Dispose();
            _rollback.Dispose();
            _connection.Dispose();
        }

        private sqlite3_stmt Prepare(string sql)
        {
            Check(_db, raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out var statement, out _));
            return statement;
        }

        /// <summary>Runs a statement that returns no rows and resets it, so it holds no lock and is ready again.</summary>
        private void Step(sqlite3_stmt statement)
        {
            var rc = raw.sqlite3_step(statement);
            raw.sqlite3_reset(statement);
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
        }
    }

    private static void Bind(ref TextBinder p, LedgerEntry e)
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
        p.Dimension(10, e.Outcome.ToString());
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
    }


    private static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>
    /// Binds by position; text goes in as UTF-8 through one buffer that grows to the longest value written so far.
    /// <paramref name="statement"/> is the insert's handle, which the <see cref="Writer"/> owning it keeps open.
    /// </summary>
    private struct TextBinder(nint statement, sqlite3 db, byte[] buffer, Bindings bindings)
    {
        private byte[] _buffer = buffer;

        public readonly byte[] Buffer => _buffer;

        public readonly void Integer(int index, long value) => Check(db, Native.BindInt64(statement, index, value));

        /// <summary>
        /// A value that says who, where or what (tenant, key, model, region, status, client): consecutive rows mostly share
        /// them. A statement keeps its bindings from one row to the next (<c>sqlite3_reset</c> leaves them), so a value
        /// equal to the one already bound at <paramref name="index"/> is not bound again. Per-request values (ids, times,
        /// tokens, money, bodies) always are.
        /// </summary>
        public void Dimension(int index, string? value)
        {
            if (bindings.Holds(index, value))
            {
                return;
            }
            Text(index, value);
            bindings.Set(index, value);
        }

        /// <inheritdoc cref="Dimension(int, string?)"/>
        public readonly void Dimension(int index, long value)
        {
            if (bindings.Holds(index, value))
            {
                return;
            }
            Integer(index, value);
            bindings.Set(index, value);
        }

        public void Text(int index, string? value)
        {
            if (value is null)
            {
                Check(db, Native.BindNull(statement, index));
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
            // SQLite copies the value (SQLITE_TRANSIENT), so the buffer is free again for the next parameter. The buffer is
            // never empty, so an empty string is bound as one (a null pointer would bind NULL).
            Check(db, Native.BindText(statement, index, ref _buffer[0], length, Native.Transient));
        }
    }

    /// <summary>
    /// What the insert statement holds bound, by parameter index, for the values bound only when they change
    /// (<see cref="TextBinder.Dimension(int, string?)"/>). It lives as long as the statement: a writer whose batch failed is
    /// disposed with its statement and this.
    /// </summary>
    private sealed class Bindings(int parameters)
    {
        private readonly string?[] _texts = new string?[parameters + 1];
        private readonly long[] _numbers = new long[parameters + 1];
        private readonly Held[] _held = new Held[parameters + 1];

        public bool Holds(int index, string? value) =>
            value is null ? _held[index] == Held.Null : _held[index] == Held.Text && string.Equals(_texts[index], value, StringComparison.Ordinal);

        public bool Holds(int index, long value) => _held[index] == Held.Number && _numbers[index] == value;

        public void Set(int index, string? value)
        {
            _texts[index] = value;
            _held[index] = value is null ? Held.Null : Held.Text;
        }

        public void Set(int index, long value)
        {
            _numbers[index] = value;
            _held[index] = Held.Number;
        }

        private enum Held : byte
        {
            Unknown,
            Null,
            Text,
            Number,
        }
    }

    /// <summary>
    /// The three bind calls of SQLite's C API, called directly on the library SQLitePCLRaw loaded (the same name resolves to
    /// the same loaded library). Through <see cref="raw"/> every call went through the provider's interface, took and
    /// released a reference on the statement's <see cref="SafeHandle"/> and switched the thread's GC mode: about a third of
    /// a journal pass's managed time (bench/README.md, "Eighth round"). These calls only store the value (or a copy of the
    /// text) in the statement and return, so they skip the GC mode switch too (<see cref="SuppressGCTransitionAttribute"/>).
    /// </summary>
    private static class Native
    {
        private const string Library = "e_sqlite3";

        /// <summary>SQLITE_TRANSIENT: SQLite copies the text before the call returns.</summary>
        public static readonly nint Transient = -1;

        [DllImport(Library, EntryPoint = "sqlite3_bind_int64", ExactSpelling = true)]
        [SuppressGCTransition]
        public static extern int BindInt64(nint statement, int index, long value);

        [DllImport(Library, EntryPoint = "sqlite3_bind_null", ExactSpelling = true)]
        [SuppressGCTransition]
        public static extern int BindNull(nint statement, int index);

        [DllImport(Library, EntryPoint = "sqlite3_bind_text", ExactSpelling = true)]
        [SuppressGCTransition]
        public static extern int BindText(nint statement, int index, ref byte text, int length, nint destructor);
    }
}
