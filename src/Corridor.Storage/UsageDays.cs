namespace Corridor.Storage;

/// <summary>
/// How both stores answer a usage query (<see cref="ICorridorStore.GetUsageTotalsAsync"/>) at a cost that does not grow
/// with the traffic in the range: its whole UTC days come from the daily totals (<c>usage_daily</c>), and only the part
/// days at either end are summed from the ledger. Times are taken to the millisecond, as both stores keep them.
/// </summary>
internal readonly struct UsageDays
{
    // Day numbers (DateOnly.DayNumber): the first whole day may be the one after DateOnly.MaxValue, which has no date.
    private readonly int? _firstDay;
    private readonly int? _endDay;
    private readonly DateTimeOffset? _from;
    private readonly DateTimeOffset? _to;

    private UsageDays(DateTimeOffset? from, DateTimeOffset? to)
    {
        _from = from is { } f ? DateTimeOffset.FromUnixTimeMilliseconds(f.ToUnixTimeMilliseconds()) : null;
        _to = to is { } t ? DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds()) : null;
        _firstDay = _from is { } start ? DayNumber(start) + (start == StartOf(DayNumber(start)) ? 0 : 1) : null;
        _endDay = _to is { } end ? DayNumber(end) : null;
    }

    /// <summary>Splits <c>from &lt;= time &lt; to</c> (either bound optional).</summary>
    public static UsageDays Of(DateTimeOffset? from, DateTimeOffset? to) => new(from, to);

    /// <summary>
    /// Whether the range holds whole days, <see cref="FirstDay"/> &lt;= day &lt; <see cref="EndDay"/>; false within one
    /// day or across one midnight without a whole day, when the ledger alone answers.
    /// </summary>
    public bool HasWholeDays =>
        _firstDay is not { } first || (first <= DateOnly.MaxValue.DayNumber && (_endDay is not { } end || first < end));

    /// <summary>The first whole day (inclusive); null when the range has no start. Only with <see cref="HasWholeDays"/>.</summary>
    public DateOnly? FirstDay => _firstDay is { } n ? DateOnly.FromDayNumber(n) : null;

    /// <summary>The day the whole days end before (exclusive); null when the range has no end.</summary>
    public DateOnly? EndDay => _endDay is { } n ? DateOnly.FromDayNumber(n) : null;

    /// <summary>
    /// The spans summed from the ledger, <c>From &lt;= time &lt; To</c> (To null: no end): the part days before and after
    /// the whole days, or the whole range when it has none.
    /// </summary>
    public IReadOnlyList<(DateTimeOffset From, DateTimeOffset? To)> LedgerSpans()
    {
        if (!HasWholeDays)
        {
            return [(_from!.Value, _to)];
        }

        var spans = new List<(DateTimeOffset, DateTimeOffset?)>(2);
        if (_from is { } from && StartOf(_firstDay!.Value) != from)
        {
            spans.Add((from, StartOf(_firstDay.Value)));
        }

        if (_to is { } to && StartOf(_endDay!.Value) != to)
        {
            spans.Add((StartOf(_endDay.Value), to));
        }

        return spans;
    }

    /// <summary>The UTC day a ledger row of <paramref name="time"/> counts to.</summary>
    public static DateOnly DayOf(DateTimeOffset time) => DateOnly.FromDayNumber(DayNumber(time));

    private static int DayNumber(DateTimeOffset time) => (int)(time.UtcTicks / TimeSpan.TicksPerDay);

    private static DateTimeOffset StartOf(int dayNumber) => new(DateOnly.FromDayNumber(dayNumber), TimeOnly.MinValue, TimeSpan.Zero);
}
