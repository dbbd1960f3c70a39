using System.Collections.Frozen;
using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Features;

/// <summary>The families of phrases a prompt can use to ask for more than an answer.</summary>
internal enum MarkerFamily : byte
{
    /// <summary>Asks for the reasoning itself: step by step, chain of thought, show your work, narrate your thinking.</summary>
    Reasoning,

    /// <summary>Asks for length and completeness: in detail, exhaustive, fully commented, production quality.</summary>
    Verbosity,

    /// <summary>Instruction-dataset layouts: Alpaca's preamble, ### Instruction / ### Response sections.</summary>
    DatasetFormat,
}

/// <summary>
/// Phrase lexicons, matched on lower-cased words (hyphens and punctuation split words, so "step-by-step" and
/// "step by step" are one phrase). Weights: 2 for a phrase that asks for the behaviour on its own, 1 for a word that
/// only hints at it. These describe how people ask for reasoning and length in general, in many phrasings; they are
/// not the prompts of any corpus.
/// </summary>
internal static class Lexicon
{
    public const int MaxPhraseWords = 4;

    /// <summary>The token a run of two or more '#' becomes (markdown section marks).</summary>
    public static readonly ulong SectionMark = Hashing.OfString("###");

    private static readonly (string Phrase, MarkerFamily Family, byte Weight)[] Entries =
    [
        // Reasoning: phrases.
        ("step by step", MarkerFamily.Reasoning, 2), ("chain of thought", MarkerFamily.Reasoning, 2),
        ("thought process", MarkerFamily.Reasoning, 2), ("thinking process", MarkerFamily.Reasoning, 2),
        ("think aloud", MarkerFamily.Reasoning, 2), ("think out loud", MarkerFamily.Reasoning, 2),
        ("show your work", MarkerFamily.Reasoning, 2), ("show all work", MarkerFamily.Reasoning, 2),
        ("show your working", MarkerFamily.Reasoning, 2), ("show all your work", MarkerFamily.Reasoning, 2),
        ("show your reasoning", MarkerFamily.Reasoning, 2), ("show all reasoning", MarkerFamily.Reasoning, 2),
        ("show all your reasoning", MarkerFamily.Reasoning, 2), ("show the reasoning", MarkerFamily.Reasoning, 2),
        ("show every step", MarkerFamily.Reasoning, 2), ("show each step", MarkerFamily.Reasoning, 2),
        ("show all steps", MarkerFamily.Reasoning, 2), ("show all the steps", MarkerFamily.Reasoning, 2),
        ("show the steps", MarkerFamily.Reasoning, 2), ("show your steps", MarkerFamily.Reasoning, 2),
        ("explain your reasoning", MarkerFamily.Reasoning, 2), ("explain the reasoning", MarkerFamily.Reasoning, 2),
        ("explain your thinking", MarkerFamily.Reasoning, 2), ("reasoning behind", MarkerFamily.Reasoning, 2),
        ("internal reasoning", MarkerFamily.Reasoning, 2), ("your reasoning", MarkerFamily.Reasoning, 2),
        ("full reasoning", MarkerFamily.Reasoning, 2), ("complete reasoning", MarkerFamily.Reasoning, 2),
        ("reasoning process", MarkerFamily.Reasoning, 2), ("reasoning steps", MarkerFamily.Reasoning, 2),
        ("reasoning trace", MarkerFamily.Reasoning, 2), ("reasoning chain", MarkerFamily.Reasoning, 2),
        ("intermediate steps", MarkerFamily.Reasoning, 2), ("intermediate calculations", MarkerFamily.Reasoning, 2),
        ("intermediate calculation", MarkerFamily.Reasoning, 2), ("intermediate results", MarkerFamily.Reasoning, 2),
        ("derivation", MarkerFamily.Reasoning, 2), ("scratchpad", MarkerFamily.Reasoning, 2),
        ("reason through", MarkerFamily.Reasoning, 2), ("think through", MarkerFamily.Reasoning, 2),
        ("walk through", MarkerFamily.Reasoning, 2), ("walk me through", MarkerFamily.Reasoning, 2),
        ("let's think", MarkerFamily.Reasoning, 2), ("lets think", MarkerFamily.Reasoning, 2),
        ("think carefully", MarkerFamily.Reasoning, 2), ("narrate", MarkerFamily.Reasoning, 2),
        ("narrating", MarkerFamily.Reasoning, 2), ("every step", MarkerFamily.Reasoning, 1),
        ("each step", MarkerFamily.Reasoning, 1), ("step at a time", MarkerFamily.Reasoning, 2),
        ("stepwise", MarkerFamily.Reasoning, 2), ("explain why", MarkerFamily.Reasoning, 1),

        // Reasoning: hint words.
        ("reasoning", MarkerFamily.Reasoning, 1), ("reason", MarkerFamily.Reasoning, 1),
        ("steps", MarkerFamily.Reasoning, 1), ("intermediate", MarkerFamily.Reasoning, 1),
        ("justify", MarkerFamily.Reasoning, 1), ("justification", MarkerFamily.Reasoning, 1),
        ("rationale", MarkerFamily.Reasoning, 1), ("derive", MarkerFamily.Reasoning, 1),
        ("verify", MarkerFamily.Reasoning, 1), ("hypotheses", MarkerFamily.Reasoning, 1),
        ("thoughts", MarkerFamily.Reasoning, 1),

        // Verbosity: phrases.
        ("in detail", MarkerFamily.Verbosity, 2), ("in depth", MarkerFamily.Verbosity, 2),
        ("detailed", MarkerFamily.Verbosity, 2), ("thorough", MarkerFamily.Verbosity, 2),
        ("thoroughly", MarkerFamily.Verbosity, 2), ("comprehensive", MarkerFamily.Verbosity, 2),
        ("comprehensively", MarkerFamily.Verbosity, 2), ("exhaustive", MarkerFamily.Verbosity, 2),
        ("exhaustively", MarkerFamily.Verbosity, 2), ("long form", MarkerFamily.Verbosity, 2),
        ("elaborate", MarkerFamily.Verbosity, 2), ("at length", MarkerFamily.Verbosity, 2),
        ("do not skip", MarkerFamily.Verbosity, 2), ("don't skip", MarkerFamily.Verbosity, 2),
        ("dont skip", MarkerFamily.Verbosity, 2), ("without skipping", MarkerFamily.Verbosity, 2),
        ("every detail", MarkerFamily.Verbosity, 2), ("fully commented", MarkerFamily.Verbosity, 2),
        ("inline comments", MarkerFamily.Verbosity, 2), ("production quality", MarkerFamily.Verbosity, 2),
        ("well documented", MarkerFamily.Verbosity, 2), ("as much detail", MarkerFamily.Verbosity, 2),
        ("high quality", MarkerFamily.Verbosity, 2), ("extensive", MarkerFamily.Verbosity, 2),
        ("extensively", MarkerFamily.Verbosity, 2), ("complete solution", MarkerFamily.Verbosity, 2),
        ("complete implementation", MarkerFamily.Verbosity, 2), ("full code", MarkerFamily.Verbosity, 2),
        ("complete code", MarkerFamily.Verbosity, 2), ("full implementation", MarkerFamily.Verbosity, 2),
        ("full solution", MarkerFamily.Verbosity, 2), ("at least three", MarkerFamily.Verbosity, 2),
        ("at least five", MarkerFamily.Verbosity, 2), ("supporting points", MarkerFamily.Verbosity, 2),
        ("well structured", MarkerFamily.Verbosity, 2), ("leave nothing out", MarkerFamily.Verbosity, 2),
        ("verbose", MarkerFamily.Verbosity, 2), ("in full", MarkerFamily.Verbosity, 2),

        // Verbosity: hint words.
        ("complete", MarkerFamily.Verbosity, 1), ("completely", MarkerFamily.Verbosity, 1),
        ("fully", MarkerFamily.Verbosity, 1), ("full", MarkerFamily.Verbosity, 1),
        ("detail", MarkerFamily.Verbosity, 1), ("details", MarkerFamily.Verbosity, 1),
        ("docstrings", MarkerFamily.Verbosity, 1), ("commented", MarkerFamily.Verbosity, 1),
        ("explanation", MarkerFamily.Verbosity, 1), ("examples", MarkerFamily.Verbosity, 1),

        // Instruction-dataset layouts.
        ("### instruction", MarkerFamily.DatasetFormat, 2), ("### response", MarkerFamily.DatasetFormat, 2),
        ("### input", MarkerFamily.DatasetFormat, 2), ("### request", MarkerFamily.DatasetFormat, 2),
        ("### task", MarkerFamily.DatasetFormat, 2), ("### answer", MarkerFamily.DatasetFormat, 2),
        ("### output", MarkerFamily.DatasetFormat, 2), ("### question", MarkerFamily.DatasetFormat, 2),
        ("### requirements", MarkerFamily.DatasetFormat, 2), ("### context", MarkerFamily.DatasetFormat, 1),
        ("below is an instruction", MarkerFamily.DatasetFormat, 2), ("describes a task", MarkerFamily.DatasetFormat, 2),
        ("appropriately completes", MarkerFamily.DatasetFormat, 2), ("instruction input", MarkerFamily.DatasetFormat, 1),
    ];

    private static readonly FrozenDictionary<ulong, (MarkerFamily Family, byte Weight)> Phrases = BuildPhrases();

    // One bit per (hash mod 4096) of every phrase's last word: most words fail this test and cost nothing more.
    private static readonly ulong[] LastWordFilter = BuildFilter();

    public static ulong WordHash(ReadOnlySpan<byte> lowerWord) => Hashing.OfBytes(lowerWord);

    /// <summary>Whether any phrase ends with this word (false positives possible, no false negatives).</summary>
    public static bool MayEndPhrase(ulong wordHash) => (LastWordFilter[(int)(wordHash & 4095) >> 6] & (1UL << (int)(wordHash & 63))) != 0;

    public static bool TryMatch(ulong phraseHash, out MarkerFamily family, out byte weight)
    {
        if (Phrases.TryGetValue(phraseHash, out var entry))
        {
            family = entry.Family;
            weight = entry.Weight;
            return true;
        }

        family = default;
        weight = 0;
        return false;
    }

    /// <summary>The hash of a phrase of 1..4 words, built the same way the scanner builds it from its recent words.</summary>
    public static ulong PhraseHash(ReadOnlySpan<ulong> words)
    {
        var hash = (ulong)words.Length;
        foreach (var word in words)
        {
            hash = Hashing.Combine(hash, word);
        }

        return hash;
    }

    private static IEnumerable<ulong> Words(string phrase)
    {
        foreach (var part in phrase.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            yield return part == "###" ? SectionMark : WordHash(System.Text.Encoding.UTF8.GetBytes(part));
        }
    }

    private static FrozenDictionary<ulong, (MarkerFamily, byte)> BuildPhrases()
    {
        var map = new Dictionary<ulong, (MarkerFamily, byte)>();
        foreach (var (phrase, family, weight) in Entries)
        {
            var words = Words(phrase).ToArray();
            if (words.Length > MaxPhraseWords)
            {
                throw new InvalidOperationException($"phrase too long: {phrase}");
            }

            map[PhraseHash(words)] = (family, weight);
        }

        return map.ToFrozenDictionary();
    }

    private static ulong[] BuildFilter()
    {
        var filter = new ulong[64];
        foreach (var (phrase, _, _) in Entries)
        {
            var last = Words(phrase).Last();
            filter[(int)(last & 4095) >> 6] |= 1UL << (int)(last & 63);
        }

        return filter;
    }
}
