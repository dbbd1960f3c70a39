using System.Numerics;
using System.Runtime.CompilerServices;

namespace Corridor.Monitor.Sketches;

/// <summary>
/// HyperLogLog (Flajolet et al.) with linear counting for small cardinalities: the number of distinct items seen,
/// in <c>2^precision</c> bytes, with a standard error of about <c>1.04/sqrt(2^precision)</c>.
/// </summary>
internal sealed class HyperLogLog
{
    private static readonly double[] InversePowers = BuildInversePowers();
    private readonly byte[] _registers;
    private readonly int _precision;

    public HyperLogLog(int precision)
    {
        if (precision is < 4 or > 16)
        {
            throw new ArgumentOutOfRangeException(nameof(precision), "precision must be 4..16");
        }

        _precision = precision;
        _registers = new byte[1 << precision];
    }

    public int Precision => _precision;

    public long SizeBytes => _registers.Length;

    /// <summary>Adds an item by its 64-bit hash (which must be well mixed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(ulong hash)
    {
        var index = (int)(hash >> (64 - _precision));
        var rest = (hash << _precision) | (1UL << (_precision - 1));
        var rank = (byte)(BitOperations.LeadingZeroCount(rest) + 1);
        if (rank > _registers[index])
        {
            _registers[index] = rank;
        }
    }

    public double Estimate() => Estimate(this, null);

    /// <summary>The estimated size of the union of two sketches of the same precision, without building it.</summary>
    public static double EstimateUnion(HyperLogLog a, HyperLogLog b)
    {
        if (a._precision != b._precision)
        {
            throw new ArgumentException("sketches of different precision", nameof(b));
        }

        return Estimate(a, b);
    }

    public void Merge(HyperLogLog other)
    {
        if (other._precision != _precision)
        {
            throw new ArgumentException("sketches of different precision", nameof(other));
        }

        for (var i = 0; i < _registers.Length; i++)
        {
            if (other._registers[i] > _registers[i])
            {
                _registers[i] = other._registers[i];
            }
        }
    }

    public void Clear() => Array.Clear(_registers);

    public void CopyTo(HyperLogLog target)
    {
        if (target._precision != _precision)
        {
            throw new ArgumentException("sketches of different precision", nameof(target));
        }

        _registers.CopyTo(target._registers, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double Estimate(HyperLogLog a, HyperLogLog? b)
    {
        var m = a._registers.Length;
        double sum = 0;
        var zeros = 0;
        for (var i = 0; i < m; i++)
        {
            var r = a._registers[i];
            if (b is not null && b._registers[i] > r)
            {
                r = b._registers[i];
            }

            if (r == 0)
            {
                zeros++;
            }

            sum += InversePowers[r];
        }

        var alpha = m switch
        {
            16 => 0.673,
            32 => 0.697,
            64 => 0.709,
            _ => 0.7213 / (1 + (1.079 / m)),
        };
        var raw = alpha * m * m / sum;
        if (raw <= 2.5 * m && zeros > 0)
        {
            return m * Math.Log((double)m / zeros);
        }

        return raw;
    }

    private static double[] BuildInversePowers()
    {
        var table = new double[66];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = Math.Pow(2, -i);
        }

        return table;
    }
}
