using System.Globalization;
using System.Text.Json;

namespace Corridor.Core.Reports;

/// <summary>How every report writes its values: CSV fields, UTC times, exact money, rounded ratios.</summary>
public static class ReportText
{
    /// <summary>Ratios (growth, shares, rates) are rounded to this many decimal places; money never is.</summary>
    public const int RatioDecimals = 6;

    /// <summary>
    /// A text field: quoted when it holds a comma, quote or line break; and when it begins as a formula would
    /// (<c>=</c>, <c>+</c>, <c>-</c>, <c>@</c>, tab, carriage return), behind an apostrophe, so a spreadsheet opening the
    /// file shows the text instead of evaluating it (<c>@cf/meta/llama-3</c> is a model id, not a function call). Numbers
    /// are written by the other overloads and keep their sign.
    /// </summary>
    public static string Csv(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }
        var text = value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;
        return text.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;
    }

    public static string Csv(decimal? value) => value is { } v ? Money(v) : "";

    public static string Csv(double? value) => value is { } v ? v.ToString("0.######", CultureInfo.InvariantCulture) : "";

    public static string Money(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary><paramref name="part"/> / <paramref name="whole"/>, rounded; null when the whole is zero.</summary>
    public static decimal? Ratio(decimal part, decimal whole) =>
        whole == 0m ? null : Math.Round(part / whole, RatioDecimals, MidpointRounding.ToEven);

    /// <summary>
    /// Each part's share of their sum, rounded to <see cref="RatioDecimals"/> places so that the shares add up to exactly 1:
    /// each is rounded down, and the units still missing go to the parts that lost the most to it (the largest remainders;
    /// between equal ones, the earlier part). Rounded one by one, three equal parts would have made 0.999999. Each share is
    /// within one unit of the last place of its exact value. Null for every part when the sum is zero; rounded one by one
    /// when a part is negative (no sum of shares to keep then).
    /// </summary>
    public static decimal?[] Shares(IReadOnlyList<decimal> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var whole = parts.Sum();
        var shares = new decimal?[parts.Count];
        if (whole == 0m || parts.Any(p => p < 0m))
        {
            for (var i = 0; i < parts.Count; i++)
            {
                shares[i] = Ratio(parts[i], whole);
            }
            return shares;
        }

        var units = new decimal[parts.Count];
        var remainders = new decimal[parts.Count];
        var missing = Scale;
        for (var i = 0; i < parts.Count; i++)
        {
            var exact = parts[i] / whole * Scale;
            units[i] = Math.Floor(exact);
            remainders[i] = exact - units[i];
            missing -= units[i];
        }

        foreach (var i in Enumerable.Range(0, parts.Count).OrderByDescending(i => remainders[i]).ThenBy(i => i).Take((int)missing))
        {
            units[i]++;
        }

        for (var i = 0; i < parts.Count; i++)
        {
            shares[i] = units[i] / Scale;
        }
        return shares;
    }

    private const decimal Scale = 1_000_000m;

    /// <summary>Growth from <paramref name="previous"/> to <paramref name="current"/> (0.25 is +25 %); null without a previous figure.</summary>
    public static decimal? Growth(decimal current, decimal? previous) =>
        previous is { } p && p != 0m ? Ratio(current - p, p) : null;

    public static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (time is { } value)
        {
            json.WriteString(name, Time(value));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    /// <summary>Money as a JSON string, so no reader turns it into floating point.</summary>
    public static void WriteMoney(Utf8JsonWriter json, string name, decimal? value)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (value is { } v)
        {
            json.WriteString(name, Money(v));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    public static void WriteNumber(Utf8JsonWriter json, string name, double? value)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (value is { } v)
        {
            json.WriteNumber(name, Math.Round(v, RatioDecimals));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
