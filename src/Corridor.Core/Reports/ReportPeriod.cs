using System.Globalization;

namespace Corridor.Core.Reports;

/// <summary>Calendar periods in UTC that reports group by.</summary>
public enum ReportPeriod
{
    Day,
    Month,
    Quarter,
}

public static class ReportPeriods
{
    public static bool TryParse(string? text, out ReportPeriod period)
    {
        switch (text)
        {
            case "day": period = ReportPeriod.Day; return true;
            case "month": period = ReportPeriod.Month; return true;
            case "quarter": period = ReportPeriod.Quarter; return true;
            default: period = default; return false;
        }
    }

    public static string Name(ReportPeriod period) => period switch
    {
        ReportPeriod.Day => "day",
        ReportPeriod.Month => "month",
        _ => "quarter",
    };

    /// <summary>The start of the period holding <paramref name="time"/>.</summary>
    public static DateTimeOffset Start(DateTimeOffset time, ReportPeriod period)
    {
        var utc = time.UtcDateTime;
        return period switch
        {
            ReportPeriod.Day => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
            ReportPeriod.Month => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
            _ => new DateTimeOffset(utc.Year, ((utc.Month - 1) / 3 * 3) + 1, 1, 0, 0, 0, TimeSpan.Zero),
        };
    }

    public static DateTimeOffset Next(DateTimeOffset start, ReportPeriod period) => period switch
    {
        ReportPeriod.Day => start.AddDays(1),
        ReportPeriod.Month => start.AddMonths(1),
        _ => start.AddMonths(3),
    };

    public static DateTimeOffset Previous(DateTimeOffset start, ReportPeriod period) => period switch
    {
        ReportPeriod.Day => start.AddDays(-1),
        ReportPeriod.Month => start.AddMonths(-1),
        _ => start.AddMonths(-3),
    };

    /// <summary><c>2026-06-01</c>, <c>2026-06</c>, <c>2026-Q2</c>.</summary>
    public static string Label(DateTimeOffset start, ReportPeriod period) => period switch
    {
        ReportPeriod.Day => start.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ReportPeriod.Month => start.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture),
        _ => string.Create(CultureInfo.InvariantCulture, $"{start.Year}-Q{((start.Month - 1) / 3) + 1}"),
    };

    /// <summary>Widens [<paramref name="from"/>, <paramref name="to"/>) to whole periods.</summary>
    public static (DateTimeOffset? From, DateTimeOffset? To) Whole(DateTimeOffset? from, DateTimeOffset? to, ReportPeriod period)
    {
        DateTimeOffset? end = null;
        if (to is { } t)
        {
            var start = Start(t, period);
            end = start == t ? t : Next(start, period);
        }
        return (from is { } f ? Start(f, period) : null, end);
    }
}
