using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Corridor.Core.Metering;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// Binds by position; text goes in as UTF-8 through one buffer that grows to the longest value written so far.
/// <paramref name="statement"/> is a prepared statement's handle, kept open by its owner while this is used;
/// <paramref name="bindings"/>, for the values bound only when they change, lives as long as that statement.
/// </summary>
internal struct StatementBinder(nint statement, sqlite3 db, byte[] buffer, StatementBindings? bindings = null)
{
    private byte[] _buffer = buffer;

    public readonly byte[] Buffer => _buffer;

    public readonly void Integer(int index, long value) => Check(db, SqliteNative.BindInt64(statement, index, value));

    /// <summary>
    /// A value that says who, where or what (tenant, key, model, region, status, client): consecutive rows mostly share
    /// them. A statement keeps its bindings from one row to the next (<c>sqlite3_reset</c> leaves them), so a value
    /// equal to the one already bound at <paramref name="index"/> is not bound again. Per-request values (ids, times,
    /// tokens, money, bodies) always are. Without <see cref="StatementBindings"/> it binds every time.
    /// </summary>
    public void Dimension(int index, string? value)
    {
        if (bindings?.Holds(index, value) == true)
        {
            return;
        }
        Text(index, value);
        bindings?.Set(index, value);
    }

    /// <inheritdoc cref="Dimension(int, string?)"/>
    public readonly void Dimension(int index, long value)
    {
        if (bindings?.Holds(index, value) == true)
        {
            return;
        }
        Integer(index, value);
        bindings?.Set(index, value);
    }

    public void Text(int index, string? value)
    {
        if (value is null)
        {
            Check(db, SqliteNative.BindNull(statement, index));
            return;
        }
        Text(index, value.AsSpan());
    }

    /// <summary>Text that is UTF-8 already: bound from its own bytes, which SQLite copies (nothing encoded).</summary>
    public void Text(int index, Utf8Text? value)
    {
        if (value is null)
        {
            Check(db, SqliteNative.BindNull(statement, index));
            return;
        }
        if (value.Length == 0)
        {
            // Through the buffer, which is never empty: no bytes could make a null pointer, which would bind NULL.
            Text(index, ReadOnlySpan<char>.Empty);
            return;
        }
        Check(db, SqliteNative.BindText(statement, index, ref MemoryMarshal.GetReference(value.Span), value.Length, SqliteNative.Transient));
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
        Check(db, SqliteNative.BindText(statement, index, ref _buffer[0], length, SqliteNative.Transient));
    }

    /// <summary>Throws SQLite's error for <paramref name="rc"/> unless it is SQLITE_OK.</summary>
    public static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>Runs a statement that returns no rows and resets it, so it holds no lock and is ready again.</summary>
    public static void Run(sqlite3 db, sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }
}

/// <summary>
/// What the insert statement holds bound, by parameter index, for the values bound only when they change
/// (<see cref="StatementBinder.Dimension(int, string?)"/>). It lives as long as the statement: a ledger writer whose batch
/// failed is disposed with its statement and this.
/// </summary>
internal sealed class StatementBindings(int parameters)
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
/// The three bind calls of SQLite's C API, and the count of rows an insert changed, called directly on the library
/// SQLitePCLRaw loaded (the same name resolves to the same loaded library). Through <see cref="raw"/> every call went
/// through the provider's interface, took and released a reference on the statement's <see cref="SafeHandle"/> and
/// switched the thread's GC mode: about a third of a journal pass's managed time (bench/README.md, "Eighth round"). These
/// calls only store the value (or a copy of the text) in the statement, or read a counter, and return, so they skip the
/// GC mode switch too (<see cref="SuppressGCTransitionAttribute"/>).
/// </summary>
internal static class SqliteNative
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

    /// <summary>The rows the connection's last finished INSERT, UPDATE or DELETE changed (0 for an insert that did nothing on a conflict).</summary>
    [DllImport(Library, EntryPoint = "sqlite3_changes", ExactSpelling = true)]
    [SuppressGCTransition]
    public static extern int Changes(nint db);
}
