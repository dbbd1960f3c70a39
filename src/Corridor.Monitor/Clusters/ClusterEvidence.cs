namespace Corridor.Monitor.Clusters;

/// <summary>Two keys (of different tenants), ordered, as a dictionary key.</summary>
internal readonly record struct KeyPair
{
    public KeyPair(string a, string b)
    {
        if (string.CompareOrdinal(a, b) <= 0)
        {
            A = a;
            B = b;
        }
        else
        {
            A = b;
            B = a;
        }
    }

    public string A { get; }

    public string B { get; }
}

/// <summary>What links two keys: prompt frames both use, sources both send from, moments both send at.</summary>
internal sealed class PairEvidence(KeyPair pair)
{
    public KeyPair Pair { get; } = pair;

    /// <summary>Distinct recurrent prompt frames (heads, tails, system prompt skeletons) both keys use.</summary>
    public int SharedFrames { get; set; }

    /// <summary>Distinct (network, user agent) sources both keys sent from.</summary>
    public int SharedSources { get; set; }

    /// <summary>Client fingerprints (user agent, model, sampling settings) both keys used.</summary>
    public int SharedFingerprints { get; set; }

    /// <summary>Cadence bins in which both keys sent (while both looked suspect).</summary>
    public int CoFired { get; set; }

    public long LastCoFireBin { get; set; } = long.MinValue;

    public long LastMs { get; set; }

    public const long SizeBytes = 96;
}

/// <summary>The keys that use one prompt frame, or send from one source. Past a limit the item is common, not evidence.</summary>
internal sealed class IndexEntry
{
    public List<(string Key, string Tenant)> Members { get; } = new(2);

    /// <summary>Used by too many keys to say anything about any two of them (a greeting, a cloud NAT).</summary>
    public bool Common { get; set; }

    public long SizeBytes => 48 + (Members.Capacity * 16);
}

/// <summary>Disjoint sets over small integer ids.</summary>
internal sealed class UnionFind
{
    private readonly List<int> _parent = [];

    public int Add()
    {
        _parent.Add(_parent.Count);
        return _parent.Count - 1;
    }

    public int Find(int x)
    {
        while (_parent[x] != x)
        {
            _parent[x] = _parent[_parent[x]];
            x = _parent[x];
        }

        return x;
    }

    public void Union(int a, int b)
    {
        var ra = Find(a);
        var rb = Find(b);
        if (ra != rb)
        {
            _parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
        }
    }
}
