using System.Runtime.CompilerServices;

namespace Corridor.Monitor.Sketches;

/// <summary>
/// A dictionary with a fixed capacity that evicts its least recently used entry to make room: the monitor's memory
/// stays bounded whatever the traffic. Entries live in preallocated slots linked in recency order; a lookup that
/// finds an entry moves it to the front.
/// </summary>
internal sealed class LruMap<TKey, TValue>
    where TKey : notnull
{
    private readonly Dictionary<TKey, int> _index;
    private readonly TKey[] _keys;
    private readonly TValue[] _values;
    private readonly int[] _prev;
    private readonly int[] _next;
    private int _head = -1;
    private int _tail = -1;
    private int _count;
    private readonly IEqualityComparer<TKey>? _comparer;

    public LruMap(int capacity, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
        _comparer = comparer;
        _index = new Dictionary<TKey, int>(Math.Min(capacity, 1024), comparer);
        _keys = new TKey[capacity];
        _values = new TValue[capacity];
        _prev = new int[capacity];
        _next = new int[capacity];
    }

    public int Capacity { get; }

    public int Count => _count;

    public long Evictions { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryGetValue(TKey key, out TValue value)
    {
        if (_index.TryGetValue(key, out var slot))
        {
            MoveToFront(slot);
            value = _values[slot];
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>Looks an entry up without changing its recency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryPeek(TKey key, out TValue value)
    {
        if (_index.TryGetValue(key, out var slot))
        {
            value = _values[slot];
            return true;
        }

        value = default!;
        return false;
    }

    /// <summary>
    /// Adds an entry, evicting the least recently used one when full. The evicted entry's value is returned so that
    /// its storage can be reused.
    /// </summary>
    public void Add(TKey key, TValue value, out bool evicted, out TKey evictedKey, out TValue evictedValue)
    {
        evicted = false;
        evictedKey = default!;
        evictedValue = default!;
        int slot;
        if (_count < Capacity)
        {
            slot = _count++;
        }
        else
        {
            slot = _tail;
            evicted = true;
            evictedKey = _keys[slot];
            evictedValue = _values[slot];
            _index.Remove(evictedKey);
            Unlink(slot);
            Evictions++;
        }

        _keys[slot] = key;
        _values[slot] = value;
        _index[key] = slot;
        LinkFront(slot);
    }

    public void Add(TKey key, TValue value) => Add(key, value, out _, out _, out _);

    /// <summary>The least recently used entry, which the next <c>Add</c> would evict when full.</summary>
    public bool TryPeekOldest(out TKey key, out TValue value)
    {
        if (_tail < 0)
        {
            key = default!;
            value = default!;
            return false;
        }

        key = _keys[_tail];
        value = _values[_tail];
        return true;
    }

    public bool Remove(TKey key)
    {
        if (!_index.Remove(key, out var slot))
        {
            return false;
        }

        Unlink(slot);
        var last = _count - 1;
        if (slot != last)
        {
            // Keep slots dense: move the last slot into the freed one.
            var movedKey = _keys[last];
            var wasHead = _head == last;
            var wasTail = _tail == last;
            var prev = _prev[last];
            var next = _next[last];
            _keys[slot] = movedKey;
            _values[slot] = _values[last];
            _prev[slot] = prev;
            _next[slot] = next;
            if (prev >= 0)
            {
                _next[prev] = slot;
            }

            if (next >= 0)
            {
                _prev[next] = slot;
            }

            if (wasHead)
            {
                _head = slot;
            }

            if (wasTail)
            {
                _tail = slot;
            }

            _index[movedKey] = slot;
        }

        _keys[last] = default!;
        _values[last] = default!;
        _count--;
        return true;
    }

    /// <summary>
    /// A map of twice the capacity holding the same entries in the same recency order: for tables that must not drop an
    /// entry (a level in force) and so grow instead.
    /// </summary>
    public LruMap<TKey, TValue> Doubled()
    {
        var grown = new LruMap<TKey, TValue>(Capacity * 2, _comparer);
        foreach (var (key, value) in EntriesFromOldest())
        {
            grown.Add(key, value);
        }

        return grown;
    }

    /// <summary>Entries from most to least recently used.</summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> Entries()
    {
        for (var slot = _head; slot >= 0; slot = _next[slot])
        {
            yield return new KeyValuePair<TKey, TValue>(_keys[slot], _values[slot]);
        }
    }

    /// <summary>Entries from least to most recently used.</summary>
    public IEnumerable<KeyValuePair<TKey, TValue>> EntriesFromOldest()
    {
        for (var slot = _tail; slot >= 0; slot = _prev[slot])
        {
            yield return new KeyValuePair<TKey, TValue>(_keys[slot], _values[slot]);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MoveToFront(int slot)
    {
        if (slot == _head)
        {
            return;
        }

        Unlink(slot);
        LinkFront(slot);
    }

    private void LinkFront(int slot)
    {
        _prev[slot] = -1;
        _next[slot] = _head;
        if (_head >= 0)
        {
            _prev[_head] = slot;
        }

        _head = slot;
        if (_tail < 0)
        {
            _tail = slot;
        }
    }

    private void Unlink(int slot)
    {
        var prev = _prev[slot];
        var next = _next[slot];
        if (prev >= 0)
        {
            _next[prev] = next;
        }
        else
        {
            _head = next;
        }

        if (next >= 0)
        {
            _prev[next] = prev;
        }
        else
        {
            _tail = prev;
        }
    }
}
