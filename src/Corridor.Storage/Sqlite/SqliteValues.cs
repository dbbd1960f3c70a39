using System.Globalization;
using System.Data.Common;

namespace Corridor.Storage.Sqlite;

/// <summary>Conversions between .NET values and the columns: times are UTC Unix milliseconds, money is invariant decimal text.</summary>
internal sealed class SqliteValues : StoreRows
{
    internal static readonly SqliteValues Rows = new();

    protected override string ParameterPrefix => "$";

    protected override object TimeValue(DateTimeOffset time) => ToUnixMs(time);

    protected override DateTimeOffset GetTime(DbDataReader reader, int ordinal) => FromUnixMs(reader.GetInt64(ordinal));

    protected override decimal GetMoney(DbDataReader reader, int ordinal) => ParseDecimal(reader.GetString(ordinal));

    internal static long ToUnixMs(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    internal static DateTimeOffset FromUnixMs(long milliseconds) => DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);

    internal static object OrNull(string? value) => value is null ? DBNull.Value : value;

    internal static object OrNull(DateTimeOffset? value) => value is { } time ? ToUnixMs(time) : DBNull.Value;

    internal static decimal ParseDecimal(string text) =>
        decimal.Parse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
}
