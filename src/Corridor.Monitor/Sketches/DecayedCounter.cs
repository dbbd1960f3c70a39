using System.Runtime.CompilerServices;

namespace Corridor.Monitor.Sketches;

/// <summary>
/// A counter that decays exponentially in event time: every <c>halfLife</c> its value halves. Ratios of two decayed
/// counters with the same half-life are recency-weighted fractions. Time never runs backwards for it: an event older
/// than the last one is added without decay.
/// </summary>
internal struct DecayedCounter
{
    private double _value;
    private long _lastMs;

    public readonly long LastMs => _lastMs;

    public void Add(long nowMs, double amount, long halfLifeMs)
    {
        Advance(nowMs, halfLifeMs);
        _value += amount;
    }

    public readonly double ValueAt(long nowMs, long halfLifeMs) =>
        nowMs <= _lastMs ? _value : _value * DecayFactor(nowMs - _lastMs, halfLifeMs);

    public void Advance(long nowMs, long halfLifeMs)
    {
        if (nowMs > _lastMs)
        {
            _value *= DecayFactor(nowMs - _lastMs, halfLifeMs);
            _lastMs = nowMs;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double DecayFactor(long elapsedMs, long halfLifeMs) =>
        elapsedMs <= 0 ? 1.0 : Math.Exp(-0.6931471805599453 * elapsedMs / halfLifeMs);
}

/// <summary>
/// A fixed set of counters that decay together (one clock, one exponential per update), for a subject's
/// recency-weighted sums.
/// </summary>
internal sealed class DecayedVector
{
    private readonly double[] _values;
    private long _lastMs = long.MinValue;

    public DecayedVector(int length)
    {
        _values = new double[length];
    }

    public int Length => _values.Length;

    public long LastMs => _lastMs;

    public long SizeBytes => (_values.Length * sizeof(double)) + sizeof(long);

    /// <summary>Decays every counter to <paramref name="nowMs"/>; then <see cref="Add"/> adds at that time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Advance(long nowMs, long halfLifeMs)
    {
        if (_lastMs == long.MinValue)
        {
            _lastMs = nowMs;
            return;
        }

        if (nowMs > _lastMs)
        {
            var factor = DecayedCounter.DecayFactor(nowMs - _lastMs, halfLifeMs);
            for (var i = 0; i < _values.Length; i++)
            {
                _values[i] *= factor;
            }

            _lastMs = nowMs;
        }
    }

    public void Add(int index, double amount) => _values[index] += amount;

    public double this[int index] => _values[index];

    public void Clear()
    {
        Array.Clear(_values);
        _lastMs = long.MinValue;
    }
}
