using Corridor.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Corridor.Storage.Tests.Sqlite;

/// <summary>Binding by position (<see cref="StatementBinder"/>), with and without the bindings a statement keeps.</summary>
public sealed class StatementBinderTests : IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public StatementBinderTests()
    {
        _connection.Open();
        using var create = _connection.CreateCommand();
        create.CommandText = "CREATE TABLE t (n INTEGER NOT NULL, a TEXT, b INTEGER)";
        create.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();

    [Fact]
    public void Dimensions_WithoutBindings_AreBoundEveryRow()
    {
        Insert(bindings: null, (1, "x", 5), (2, "x", 5), (3, null, 6), (4, "y", 6));

        Assert.Equal([(1, "x", 5L), (2, "x", 5L), (3, null, 6L), (4, "y", 6L)], Rows());
    }

    [Fact]
    public void Dimensions_WithBindings_AreBoundOnlyWhenTheyChange()
    {
        var db = _connection.Handle!;
        StatementBinder.Check(db, raw.sqlite3_prepare_v2(db, "INSERT INTO t (n, a, b) VALUES (?1, ?2, ?3)", out var insert));
        using (insert)
        {
            var bindings = new StatementBindings(3);
            var binder = new StatementBinder(insert.DangerousGetHandle(), db, new byte[8], bindings);
            Row(ref binder, db, insert, 1, "x", 5);
            Row(ref binder, db, insert, 2, "x", 5);
            Row(ref binder, db, insert, 3, null, 6);
            Row(ref binder, db, insert, 4, "a longer value than the buffer", 6);

            // What the binder does not bind again is what the statement still holds: cleared behind its back, a value
            // equal to the last one stays unbound (NULL), and a different one is bound.
            raw.sqlite3_clear_bindings(insert);
            Row(ref binder, db, insert, 5, "a longer value than the buffer", 7);
        }

        Assert.Equal([(1, "x", 5L), (2, "x", 5L), (3, null, 6L), (4, "a longer value than the buffer", 6L), (5, null, 7L)], Rows());
    }

    private void Insert(StatementBindings? bindings, params (long N, string? A, long B)[] rows)
    {
        var db = _connection.Handle!;
        StatementBinder.Check(db, raw.sqlite3_prepare_v2(db, "INSERT INTO t (n, a, b) VALUES (?1, ?2, ?3)", out var insert));
        using (insert)
        {
            var binder = new StatementBinder(insert.DangerousGetHandle(), db, new byte[8], bindings);
            foreach (var (n, a, b) in rows)
            {
                Row(ref binder, db, insert, n, a, b);
            }
        }
    }

    private static void Row(ref StatementBinder binder, sqlite3 db, sqlite3_stmt insert, long n, string? a, long b)
    {
        binder.Integer(1, n);
        binder.Dimension(2, a);
        binder.Dimension(3, b);
        StatementBinder.Run(db, insert);
    }

    private List<(long, string?, long)> Rows()
    {
        using var select = _connection.CreateCommand();
        select.CommandText = "SELECT n, a, b FROM t ORDER BY n";
        using var reader = select.ExecuteReader();
        var rows = new List<(long, string?, long)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2)));
        }
        return rows;
    }
}
