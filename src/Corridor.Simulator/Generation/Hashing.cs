using System.Runtime.InteropServices;

namespace Corridor.Simulator.Generation;

/// <summary>Stable, platform-independent hashing: generated answers must not change between runs.</summary>
internal static class Hashing
{
    public const ulong Seed = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    /// <summary>FNV-1a, continuing from <paramref name="hash"/> so parts can be fed in order.</summary>
    public static ulong Fnv1a(ReadOnlySpan<byte> data, ulong hash = Seed)
    {
        foreach (var b in data)
        {
            hash = (hash ^ b) * Prime;
        }

        return hash;
    }

    public static ulong Fnv1a(string text, ulong hash = Seed) => Fnv1a(MemoryMarshal.AsBytes(text.AsSpan()), hash);

    /// <summary>The SplitMix64 finaliser: spreads close inputs far apart.</summary>
    public static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
        return x ^ (x >> 31);
    }

    public static ulong Combine(ulong a, ulong b) => Mix(a ^ Mix(b));
}

/// <summary>A tiny deterministic generator (SplitMix64).</summary>
internal struct SplitMix64(ulong state)
{
    private ulong _state = state;

    public ulong Next()
    {
        var current = _state;
        _state += 0x9E3779B97F4A7C15;
        return Hashing.Mix(current);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    public int Next(int maxExclusive) => (int)(Next() % (ulong)maxExclusive);
}
