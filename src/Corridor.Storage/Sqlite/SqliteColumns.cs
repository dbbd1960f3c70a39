using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>The statements of a table mapped column by column (ledger rows, shadow results): one column list for insert and select.</summary>
internal static class SqliteColumns
{
    /// <summary>
    /// An insert that skips only a repeated <paramref name="key"/> (a retried batch); unlike INSERT OR IGNORE, a row breaking
    /// any other constraint fails the batch loudly instead of vanishing.
    /// </summary>
    internal static string Insert(string table, string[] columns, string key) =>
        $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select(c => "$" + c))}) ON CONFLICT ({key}) DO NOTHING";

    internal static string Select(string table, string[] columns) => $"SELECT {string.Join(", ", columns)} FROM {table}";

    /// <summary>Adds one parameter per column, to be bound row after row on the same prepared command.</summary>
    internal static void AddParameters(SqliteCommand command, string[] columns)
    {
        foreach (var column in columns)
        {
            command.Parameters.Add(new SqliteParameter("$" + column, DBNull.Value));
        }
    }
}
