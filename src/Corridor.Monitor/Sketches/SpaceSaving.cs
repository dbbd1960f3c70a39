using System.Runtime.CompilerServices;

namespace Corridor.Monitor.Sketches;

/// <summary>
/// Space-Saving top-k (Metwally et al.): the most frequent items of a stream in <c>capacity</c> slots. Any item more
/// frequent than <c>N/capacity</c> is guaranteed to hold a slot; a slot's count overestimates the item's true count by
/// at most its recorded error. <see cref="Halve"/> ages the counts so the top-k follows the recent stream.
/// </summary>
internal sealed class SpaceSaving
{
    private readonly ulong[] _items;
    private readonly uint[] _counts;
    private readonly uint[] _errors;
    private int _used;

    public SpaceSaving(int capacity)
    {
        if (capacity is < 2 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "capacity must be 2..4096");
        }

        _items = new ulong[capacity];
        _counts = new uint[capacity];
        _errors = new uint[capacity];
    }

    public int Capacity => _items.Length;

    public int Count => _used;

    /// <summary>The total of all counts added since the last <see cref="Clear"/> (halved with the counts).</summary>
    public long Total { get; private set; }

    public long SizeBytes => (long)_items.Length * (sizeof(ulong) + sizeof(uint) + sizeof(uint));

    /// <summary>
    /// Adds one occurrence; returns the item's guaranteed count afterwards (its estimate less the count it inherited
    /// when it took a slot), so an item seen for the first time never looks frequent.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public uint Add(ulong item)
    {
        Total++;
        var min = 0;
        for (var i = 0; i < _used; i++)
        {
            if (_items[i] == item)
            {
                return ++_counts[i] - _errors[i];
            }

            if (_counts[i] < _counts[min])
            {
                min = i;
            }
        }

        if (_used < _items.Length)
        {
            _items[_used] = item;
            _counts[_used] = 1;
            _errors[_used] = 0;
            _used++;
            return 1;
        }

        // Replace the least counted item; the newcomer inherits its count as the possible overestimate.
        _items[min] = item;
        _errors[min] = _counts[min];
        return ++_counts[min] - _errors[min];
    }

    /// <summary>The item's estimated count, or 0 when it holds no slot.</summary>
    public uint Estimate(ulong item)
    {
        for (var i = 0; i < _used; i++)
        {
            if (_items[i] == item)
            {
                return _counts[i];
            }
        }

        return 0;
    }

    /// <summary>The item's guaranteed count (estimate less the possible overestimate), or 0 when it holds no slot.</summary>
    public uint GuaranteedCount(ulong item)
    {
        for (var i = 0; i < _used; i++)
        {
            if (_items[i] == item)
            {
                return _counts[i] - _errors[i];
            }
        }

        return 0;
    }

    /// <summary>Items with their estimated counts, most frequent first.</summary>
    public IReadOnlyList<(ulong Item, uint Count)> Top(int max)
    {
        var list = new List<(ulong, uint)>(_used);
        for (var i = 0; i < _used; i++)
        {
            list.Add((_items[i], _counts[i]));
        }

        list.Sort((a, b) => b.Item2.CompareTo(a.Item2));
        return list.Count > max ? list.GetRange(0, max) : list;
    }

    public void Halve()
    {
        Total /= 2;
        var write = 0;
        for (var i = 0; i < _used; i++)
        {
            var count = _counts[i] / 2;
            if (count == 0)
            {
                continue;
            }

            _items[write] = _items[i];
            _counts[write] = count;
            _errors[write] = _errors[i] / 2;
            write++;
        }

        _used = write;
    }

    public void Clear()
    {
        _used = 0;
        Total = 0;
    }
}
