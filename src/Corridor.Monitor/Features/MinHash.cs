using System.Runtime.CompilerServices;
using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Features;

/// <summary>A MinHash signature: 16 minima of independent hash permutations over a prompt's word 3-shingles.</summary>
[InlineArray(MinHash.Size)]
public struct MinHashSignature
{
    private ulong _element0;
}

/// <summary>
/// MinHash (Broder): the fraction of equal positions in two signatures estimates the Jaccard similarity of the two
/// shingle sets. Permutations are multiply-add hashes with odd multipliers over an already mixed shingle hash, so
/// each shingle costs 16 multiply-adds.
/// </summary>
public static class MinHash
{
    public const int Size = 16;

    /// <summary>Rows per LSH band: 8 bands of 2 rows; a band matches with probability J^2.</summary>
    public const int BandRows = 2;

    public const int Bands = Size / BandRows;

    private static readonly ulong[] Multipliers = BuildConstants(0xA0761D6478BD642FUL, odd: true);
    private static readonly ulong[] Addends = BuildConstants(0xE7037ED1A0B428DBUL, odd: false);

    internal static void Reset(ref MinHashSignature signature)
    {
        for (var i = 0; i < Size; i++)
        {
            signature[i] = ulong.MaxValue;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Add(ref MinHashSignature signature, ulong shingleHash)
    {
        for (var i = 0; i < Size; i++)
        {
            var value = (shingleHash * Multipliers[i]) + Addends[i];
            if (value < signature[i])
            {
                signature[i] = value;
            }
        }
    }

    /// <summary>Estimated Jaccard similarity of the two shingle sets (0 when either is empty).</summary>
    public static double Similarity(in MinHashSignature a, in MinHashSignature b)
    {
        if (a[0] == ulong.MaxValue || b[0] == ulong.MaxValue)
        {
            return 0;
        }

        var equal = 0;
        for (var i = 0; i < Size; i++)
        {
            if (a[i] == b[i])
            {
                equal++;
            }
        }

        return (double)equal / Size;
    }

    /// <summary>The hash of one LSH band: prompts sharing a band hash are likely near-duplicates.</summary>
    public static ulong BandHash(in MinHashSignature signature, int band)
    {
        var hash = (ulong)band + 1;
        for (var i = band * BandRows; i < (band + 1) * BandRows; i++)
        {
            hash = Hashing.Combine(hash, signature[i]);
        }

        return hash;
    }

    public static bool IsEmpty(in MinHashSignature signature) => signature[0] == ulong.MaxValue || signature[0] == 0;

    private static ulong[] BuildConstants(ulong seed, bool odd)
    {
        var values = new ulong[Size];
        var state = seed;
        for (var i = 0; i < Size; i++)
        {
            state = Hashing.Mix(state + 0x9E3779B97F4A7C15UL);
            values[i] = odd ? state | 1 : state;
        }

        return values;
    }
}
