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
/// MinHash by one-permutation hashing with densification (Li, Owen and Zhang; Shrivastava): each shingle's hash
/// picks one of 16 bins by its top bits and competes for that bin's minimum, so a shingle costs one comparison instead
/// of sixteen; empty bins borrow from the next filled bin. The fraction of equal bins in two signatures estimates the
/// Jaccard similarity of the two shingle sets.
/// </summary>
public static class MinHash
{
    public const int Size = 16;

    /// <summary>Rows per LSH band: 8 bands of 2 rows; a band matches with probability about J^2.</summary>
    public const int BandRows = 2;

    public const int Bands = Size / BandRows;

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
        var bin = (int)(shingleHash >> 60);
        var value = shingleHash & 0x0FFFFFFFFFFFFFFFUL;
        if (value < signature[bin])
        {
            signature[bin] = value;
        }
    }

    /// <summary>Fills empty bins from the next filled bin (circularly), so short texts still compare bin by bin.</summary>
    internal static void Densify(ref MinHashSignature signature)
    {
        var filled = -1;
        for (var i = 0; i < Size; i++)
        {
            if (signature[i] != ulong.MaxValue)
            {
                filled = i;
                break;
            }
        }

        if (filled < 0)
        {
            return;
        }

        for (var i = 0; i < Size; i++)
        {
            if (signature[i] != ulong.MaxValue)
            {
                continue;
            }

            var j = (i + 1) % Size;
            while (signature[j] == ulong.MaxValue || signature[j] >> 63 != 0)
            {
                j = (j + 1) % Size;
            }

            // Borrowed values are marked (top bit) so they are never borrowed again, and salted by distance.
            signature[i] = (1UL << 63) | Hashing.Mix(signature[j] + (ulong)((j - i + Size) % Size)) >> 1;
        }
    }

    /// <summary>Estimated Jaccard similarity of the two shingle sets (0 when either is empty).</summary>
    public static double Similarity(in MinHashSignature a, in MinHashSignature b)
    {
        if (IsEmpty(a) || IsEmpty(b))
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
}
