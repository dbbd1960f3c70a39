namespace Corridor.Simulator.Generation;

/// <summary>
/// Deterministic, obviously simulated prose, as a sequence of token-sized pieces. Pieces are shared
/// strings, so generating an answer allocates only the array that holds them.
/// </summary>
internal static class TextGenerator
{
    public const int MinTokens = 20;
    public const int MaxTokens = 300;

    private static readonly string[] Opening = ["Simulated", " response", " from", " the", " Corridor", " upstream", " simulator", "."];

    private static readonly string[] Starters =
    [
        " The", " This", " Every", " Each", " A", " Our", " Some", " Simulated", " No", " One",
    ];

    private static readonly string[] Words =
    [
        " simulated", " token", " gateway", " upstream", " request", " response", " model", " region", " tenant",
        " policy", " stream", " latency", " deployment", " vendor", " answer", " sample", " text", " placeholder",
        " corridor", " route", " budget", " ledger", " audit", " record", " key", " usage", " metric", " signal",
        " the", " a", " of", " and", " to", " is", " with", " for", " in", " on", " by", " from", " as", " not",
        " deterministic", " synthetic", " generated", " predictable", " quick", " steady", " careful", " plain",
        " returns", " carries", " measures", " follows", " repeats", " mirrors", " counts", " checks", " holds",
    ];

    /// <summary>The length of an answer for <paramref name="key"/>: tens to a few hundred tokens.</summary>
    public static int LengthFor(ulong key) => MinTokens + (int)(Hashing.Mix(key) % (MaxTokens - MinTokens + 1));

    public static string[] Generate(ulong key) => Generate(key, LengthFor(key));

    public static string[] Generate(ulong key, int length)
    {
        var pieces = new string[length];
        var count = Math.Min(Opening.Length, length);
        Opening.AsSpan(0, count).CopyTo(pieces);
        var random = new SplitMix64(key);
        var sentenceLeft = 0;
        while (count < length)
        {
            string piece;
            if (count == length - 1)
            {
                piece = ".";
            }
            else if (sentenceLeft == 0)
            {
                piece = Starters[random.Next(Starters.Length)];
                sentenceLeft = 5 + random.Next(14);
            }
            else if (sentenceLeft == 1)
            {
                piece = ".";
            }
            else if (sentenceLeft > 3 && pieces[count - 1] != "," && random.Next(12) == 0)
            {
                piece = ",";
            }
            else
            {
                piece = Words[random.Next(Words.Length)];
            }

            if (sentenceLeft > 0)
            {
                sentenceLeft--;
            }

            pieces[count++] = piece;
        }

        return pieces;
    }

    /// <summary>Another plausible token for logprob alternatives.</summary>
    public static string Alternative(ulong key) => Words[(int)(key % (ulong)Words.Length)];

    /// <summary>Splits generated JSON (tool arguments, JSON answers) into token-sized pieces of up to four characters.</summary>
    public static string[] SplitIntoPieces(string text)
    {
        const int PieceLength = 4;
        var pieces = new List<string>(text.Length / PieceLength + 1);
        var start = 0;
        while (start < text.Length)
        {
            var length = Math.Min(PieceLength, text.Length - start);
            // Never split a surrogate pair.
            if (start + length < text.Length && char.IsHighSurrogate(text[start + length - 1]))
            {
                length++;
            }

            pieces.Add(text.Substring(start, length));
            start += length;
        }

        return [.. pieces];
    }
}
