namespace Corridor.Monitor.Sketches;

/// <summary>
/// Count-min sketch (Cormode and Muthukrishnan): counts of a stream's items in fixed memory. An estimate never
/// undercounts; it overcounts by at most <c>e·N/width</c> with probability <c>1 - e^-depth</c>. Conservative update
/// (only the smallest cells grow) tightens the overcount. <see cref="Halve"/> ages the counts, so old traffic fades.
/// </summary>
internal sealed class CountMinSketch
{
    private readonly uint[] _cells;
    private readonly int _depth;
    private readonly int _widthMask;

    public CountMinSketch(int depth, int width)
    {
        if (depth is < 1 or > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(depth), "depth must be 1..8");
        }

        if (width < 16 || (width & (width - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "width must be a power of two, at least 16");
        }

        _depth = depth;
        _widthMask = width - 1;
        _cells = new uint[depth * width];
    }

    public int Depth => _depth;

    public int Width => _widthMask + 1;

    public long SizeBytes => _cells.Length * sizeof(uint);

    /// <summary>Adds <paramref name="count"/> occurrences of the item with this hash; returns the new estimate.</summary>
    public uint Add(ulong hash, uint count = 1)
    {
        var estimate = Estimate(hash);
        var target = estimate + count < estimate ? uint.MaxValue : estimate + count;
        var width = _widthMask + 1;
        for (var row = 0; row < _depth; row++)
        {
            ref var cell = ref _cells[(row * width) + Index(hash, row)];
            if (cell < target)
            {
                cell = target;
            }
        }

        return target;
    }

    public uint Estimate(ulong hash)
    {
        var width = _widthMask + 1;
        var min = uint.MaxValue;
        for (var row = 0; row < _depth; row++)
        {
            var value = _cells[(row * width) + Index(hash, row)];
            if (value < min)
            {
                min = value;
            }
        }

        return min;
    }

    /// <summary>Halves every count: an exponential decay applied once per epoch.</summary>
    public void Halve()
    {
        for (var i = 0; i < _cells.Length; i++)
        {
            _cells[i] >>= 1;
        }
    }

    public void Clear() => Array.Clear(_cells);

    private int Index(ulong hash, int row)
    {
        // Two halves of one good hash give every row its own index (Kirsch and Mitzenmacher).
        var h1 = (uint)hash;
        var h2 = (uint)(hash >> 32) | 1u;
        return (int)((h1 + ((uint)row * h2)) & (uint)_widthMask);
    }
}
