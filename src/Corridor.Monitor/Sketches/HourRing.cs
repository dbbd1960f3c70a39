using System.Numerics;
using System.Runtime.CompilerServices;

namespace Corridor.Monitor.Sketches;

/// <summary>
/// Which of the last 168 event-time hours (7 days) had activity, as a ring of bits: how long a subject has been at
/// it, whether it rests at night, and, OR-ed across accounts, how long a group has been at it.
/// </summary>
internal sealed class HourRing
{
    public const int Hours = 168;
    private const long HourMs = 3_600_000;
    private readonly ulong[] _bits = new ulong[3];
    private long _lastHour = long.MinValue;

    public long LastHour => _lastHour;

    public static long HourOf(long ms) => ms >= 0 ? ms / HourMs : ((ms + 1) / HourMs) - 1;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Mark(long nowMs)
    {
        var hour = HourOf(nowMs);
        AdvanceTo(hour);
        if (_lastHour - hour < Hours)
        {
            Set(hour);
        }
    }

    /// <summary>Active hours among the last <paramref name="window"/> hours before <paramref name="nowMs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int ActiveHours(long nowMs, int window = Hours)
    {
        if (_lastHour == long.MinValue)
        {
            return 0;
        }

        var now = HourOf(nowMs);
        if (window >= Hours && now >= _lastHour && now - _lastHour < Hours)
        {
            // The ring holds exactly the last 168 hours up to its last hour: count them all, less those now too old.
            var count = BitOperations.PopCount(_bits[0]) + BitOperations.PopCount(_bits[1]) + BitOperations.PopCount(_bits[2]);
            for (var h = _lastHour - Hours + 1; h <= now - Hours; h++)
            {
                if (IsSet(h))
                {
                    count--;
                }
            }

            return count;
        }

        var active = 0;
        var from = Math.Max(now - window + 1, _lastHour - Hours + 1);
        for (var h = from; h <= Math.Min(now, _lastHour); h++)
        {
            if (IsSet(h))
            {
                active++;
            }
        }

        return active;
    }

    /// <summary>How many distinct hours of the day (0-23, UTC) were active in the last <paramref name="window"/> hours.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int HoursOfDayCovered(long nowMs, int window = 72)
    {
        if (_lastHour == long.MinValue)
        {
            return 0;
        }

        var now = HourOf(nowMs);
        var seen = 0u;
        var from = Math.Max(now - window + 1, _lastHour - Hours + 1);
        for (var h = from; h <= Math.Min(now, _lastHour); h++)
        {
            if (IsSet(h))
            {
                seen |= 1u << (int)(((h % 24) + 24) % 24);
            }
        }

        return BitOperations.PopCount(seen);
    }

    /// <summary>Ors another ring into this one (both aligned to the later of the two last hours).</summary>
    public void Or(HourRing other)
    {
        if (other._lastHour == long.MinValue)
        {
            return;
        }

        AdvanceTo(other._lastHour);
        for (var h = other._lastHour - Hours + 1; h <= other._lastHour; h++)
        {
            if (_lastHour - h < Hours && other.IsSet(h))
            {
                Set(h);
            }
        }
    }

    public void Reset()
    {
        Array.Clear(_bits);
        _lastHour = long.MinValue;
    }

    public void CopyFrom(HourRing other)
    {
        other._bits.CopyTo(_bits, 0);
        _lastHour = other._lastHour;
    }

    private void AdvanceTo(long hour)
    {
        if (_lastHour == long.MinValue)
        {
            _lastHour = hour;
            return;
        }

        // The hours the ring moves over had no activity (yet): clear their bits.
        var steps = Math.Min(hour - _lastHour, Hours);
        for (var i = 0; i < steps; i++)
        {
            Clear(hour - i);
        }

        if (hour > _lastHour)
        {
            _lastHour = hour;
        }
    }

    private static int Slot(long hour) => (int)(((hour % Hours) + Hours) % Hours);

    private bool IsSet(long hour) => (_bits[Slot(hour) >> 6] & (1UL << (Slot(hour) & 63))) != 0;

    private void Set(long hour) => _bits[Slot(hour) >> 6] |= 1UL << (Slot(hour) & 63);

    private void Clear(long hour) => _bits[Slot(hour) >> 6] &= ~(1UL << (Slot(hour) & 63));
}
