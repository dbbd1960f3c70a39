namespace Corridor.Core.Admission;

/// <summary>Where a rate limit stands after a request: its limit, what is left now, and when it is whole again.</summary>
public readonly record struct RateStatus(long Limit, long Remaining, TimeSpan ResetAfter)
{
    public bool IsSet => Limit > 0;
}

/// <summary>
/// A per-minute rate limit as a generic cell rate algorithm (GCRA): one timestamp, the theoretical arrival time,
/// instead of a bucket refilled by a timer. Each unit (a request, a weighted token) moves it on by one emission
/// interval (a minute divided by the limit); a take is allowed while it stays within one minute of now, so a full
/// minute's allowance may be spent in a burst and comes back evenly. Not thread-safe: its owner locks.
/// Times are <see cref="TimeProvider.GetTimestamp"/> ticks.
/// </summary>
public struct RateWindow
{
    private long _theoreticalArrival;

    /// <summary>
    /// Whether <paramref name="units"/> could be taken now from a window of <paramref name="limit"/> per <paramref name="period"/>
    /// ticks. When not, <paramref name="retryAfter"/> is how long until they could.
    /// </summary>
    public readonly bool CanTake(long units, long limit, long period, long now, out long retryAfter) =>
        CanTake(units, limit, period, period, now, out retryAfter);

    /// <summary>
    /// Whether <paramref name="units"/> could be taken now while the window, with them, stays within
    /// <paramref name="horizon"/> ticks of its <paramref name="period"/> (a share of the limit: half the period allows
    /// half of it, what others took counted). When not, <paramref name="retryAfter"/> is how long until they could.
    /// </summary>
    public readonly bool CanTake(long units, long limit, long period, long horizon, long now, out long retryAfter)
    {
        var next = Math.Max(_theoreticalArrival, now) + Interval(units, limit, period);
        retryAfter = Math.Max(0, next - now - horizon);
        return next - now <= horizon;
    }

    /// <summary>Takes <paramref name="units"/>; call after <see cref="CanTake(long, long, long, long, long, out long)"/> said yes, under the same lock.</summary>
    public void Take(long units, long limit, long period, long now) =>
        _theoreticalArrival = Math.Max(_theoreticalArrival, now) + Interval(units, limit, period);

    /// <summary>Takes <paramref name="units"/> when allowed (<see cref="CanTake(long, long, long, long, out long)"/> then <see cref="Take"/>).</summary>
    public bool TryTake(long units, long limit, long period, long now, out long retryAfter)
    {
        if (!CanTake(units, limit, period, now, out retryAfter))
        {
            return false;
        }
        Take(units, limit, period, now);
        return true;
    }

    /// <summary>
    /// Corrects an earlier take by <paramref name="units"/> (negative: give back). A give-back never credits beyond a
    /// whole window; an extra charge may push the window into debt, which later takes wait out.
    /// </summary>
    public void Adjust(long units, long limit, long period, long now)
    {
        if (units == 0)
        {
            return;
        }
        if (units > 0)
        {
            _theoreticalArrival = Math.Max(_theoreticalArrival, now) + Interval(units, limit, period);
            return;
        }
        _theoreticalArrival = Math.Max(now, _theoreticalArrival - Interval(-units, limit, period));
    }

    /// <summary>The limit, the units that could be taken now, and the time until the window is whole.</summary>
    public readonly RateStatus Status(long limit, long period, long now, long frequency)
    {
        var used = Math.Max(0, _theoreticalArrival - now);
        // In floating point: what is left is shown to clients, never decided on, and 128-bit division costs ten times more.
        var remaining = used >= period ? 0 : (long)((double)(period - used) * limit / period);
        return new RateStatus(limit, remaining, Ticks(used, frequency));
    }

    /// <summary>Whether <paramref name="units"/> could ever be taken within <paramref name="horizon"/>: from an empty window.</summary>
    public static bool Fits(long units, long limit, long period, long horizon) => Interval(units, limit, period) <= horizon;

    public static TimeSpan Ticks(long ticks, long frequency) =>
        TimeSpan.FromTicks((long)(ticks * ((double)TimeSpan.TicksPerSecond / frequency)));

    /// <summary>
    /// The time <paramref name="units"/> stand for, exactly in 64 bits while the product fits (a minute of nanosecond
    /// ticks times up to 150 million units), else in floating point.
    /// </summary>
    private static long Interval(long units, long limit, long period) =>
        units <= long.MaxValue / period ? units * period / limit : (long)((double)units / limit * period);
}
