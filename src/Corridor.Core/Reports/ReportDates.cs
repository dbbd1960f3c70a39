using System.Globalization;

namespace Corridor.Core.Reports;

/// <summary>How the command line and the admin API read the dates of a report's range.</summary>
public static class ReportDates
{
    /// <summary>
    /// An ISO 8601 date or time, year first (<c>2026-06-01</c>, <c>2026-06-01T08:00:00+08:00</c>), UTC unless an offset is
    /// given; nothing else, so <c>06/01/2026</c> never means two different days.
    /// </summary>
    public static bool TryParse(string? text, out DateTimeOffset date)
    {
        date = default;
        return text is { Length: >= 10 } && char.IsAsciiDigit(text[0]) && text[4] == '-' && text[7] == '-'
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out date);
    }
}
