using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>Conversions between .NET values and the columns: times are UTC Unix milliseconds, money is invariant decimal text.</summary>
internal static class SqliteValues
{
    internal static long ToUnixMs(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    internal static DateTimeOffset FromUnixMs(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    internal static object OrNull(string? value) => value is null ? DBNull.Value : value;

    internal static object OrNull(DateTimeOffset? value) => value is { } time ? ToUnixMs(time) : DBNull.Value;

    internal static string? GetStringOrNull(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    internal static DateTimeOffset? GetTimeOrNull(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : FromUnixMs(reader.GetInt64(ordinal));

    internal static decimal ParseDecimal(string text) =>
        decimal.Parse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
}
