using System.Collections.Frozen;

namespace Corridor.Core.Screening;

/// <summary>A name normalized once, with what the comparisons need.</summary>
public sealed class PreparedName
{
    public PreparedName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Original = name;
        Tokens = NameNormalizer.Tokens(name);
        Joined = string.Concat(Tokens);
        SortedJoined = string.Concat(Tokens.Order(StringComparer.Ordinal));
        TokenSet = Tokens.ToFrozenSet(StringComparer.Ordinal);
    }

    public string Original { get; }

    public IReadOnlyList<string> Tokens { get; }

    /// <summary>The tokens without spaces, in order: "Hua Wei" and "Huawei" both give <c>huawei</c>.</summary>
    public string Joined { get; }

    /// <summary>The tokens without spaces, sorted: the same for any word order.</summary>
    public string SortedJoined { get; }

    public FrozenSet<string> TokenSet { get; }

    public bool IsEmpty => Tokens.Count == 0;
}

/// <summary>
/// How alike two organisation names are, from 0 to 1. The score is the best of four views of the normalized names
/// (<see cref="NameNormalizer"/>):
/// <list type="number">
/// <item><b>same</b> (1.0): the same letters once spaces or word order are ignored ("Hua Wei" = "Huawei", "Shen Zhen" = "Shenzhen");</item>
/// <item><b>words</b>: words are paired, each with its most alike partner (neighbouring words that together spell a word of the other
/// name count as one, and words of 5 or more letters may differ by one edit, of 9 or more by two), and the score is the share of
/// all letters that are paired (a Dice coefficient weighted by length);</item>
/// <item><b>spelling</b>: for names of 10 or more letters, the edit distance of the joined names, allowed to be 1 up to 17 letters
/// and one more for every 8 letters beyond, scores 1 − distance ÷ length;</item>
/// <item><b>contained</b> (<see cref="ContainedScore"/>, scaled by how alike the paired words are): every word of one name is in
/// the other, longer one, and the contained name has a distinctive word (5 or more letters, not a common business or place word such as <c>trading</c>, <c>china</c>, <c>mobile</c>).</item>
/// </list>
/// Short or common words alone therefore never make a match: "Star" is not in "Star Logistics", "China Mobile" is not "China Merchants".
/// </summary>
public static class NameSimilarity
{
    public const double ContainedScore = 0.90;

    private const int MinFuzzyTokenLength = 5;
    private const int MinDistinctiveLength = 5;
    private const int MinSpellingLength = 10;

    /// <summary>Words too common in organisation names to identify one on their own.</summary>
    private static readonly FrozenSet<string> CommonWords = FrozenSet.Create(StringComparer.Ordinal,
    [
        "and", "of", "for", "the", "technology", "technologies", "tech", "trading", "trade", "traders", "international", "intl",
        "group", "holding", "holdings", "industries", "industry", "industrial", "logistics", "bank", "banking", "china", "chinese",
        "global", "services", "service", "solutions", "systems", "system", "electronics", "electronic", "electric", "import",
        "export", "enterprise", "enterprises", "development", "investment", "investments", "engineering", "shipping", "energy",
        "resources", "capital", "mobile", "communications", "communication", "telecom", "telecommunications", "network", "networks",
        "software", "science", "sciences", "scientific", "research", "institute", "university", "national", "general", "united",
        "american", "america", "asia", "asian", "pacific", "europe", "european", "world", "worldwide", "eastern", "western",
        "northern", "southern", "central", "first", "power", "petroleum", "chemical", "chemicals", "metals", "metal", "mining",
        "machinery", "equipment", "manufacturing", "products", "consulting", "management", "partners", "associates", "ventures",
        "media", "digital", "cloud", "commercial", "finance", "financial", "securities", "insurance", "marine", "airlines",
        "aviation", "transport", "construction", "materials", "medical", "pharmaceutical", "pharma", "health", "foods",
        "agriculture", "textile", "textiles", "golden", "great", "royal", "union", "bureau", "ministry", "department", "office",
        "center", "centre", "academy", "merchants", "supply", "supplies", "precision", "instruments", "devices", "device",
        "components", "semiconductor", "semiconductors", "optical", "dynamics", "aerospace", "defense", "defence", "security",
        "russia", "russian", "iran", "iranian", "korea", "korean", "beijing", "shanghai", "shenzhen", "guangzhou", "hangzhou",
        "tianjin", "moscow", "tehran", "singapore", "dubai", "hongkong", "limited", "company", "corporation", "private", "public",
    ]);

    /// <summary>The score of two prepared names.</summary>
    public static double Score(PreparedName a, PreparedName b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.IsEmpty || b.IsEmpty)
        {
            return 0;
        }

        if (a.Joined == b.Joined || a.SortedJoined == b.SortedJoined)
        {
            return 1;
        }

        var aTokens = MergeAdjacent(a.Tokens, b.TokenSet);
        var bTokens = MergeAdjacent(b.Tokens, a.TokenSet);
        var words = Words(aTokens, bTokens, out var aCovered, out var bCovered);
        var spelling = Math.Max(Spelling(a.Joined, b.Joined), Spelling(a.SortedJoined, b.SortedJoined));
        var contained = Math.Max(
            Contained(aTokens, bTokens, aCovered),
            Contained(bTokens, aTokens, bCovered));
        return Math.Max(words, Math.Max(spelling, contained));
    }

    public static double Score(string a, string b) => Score(new PreparedName(a), new PreparedName(b));

    /// <summary>
    /// Edit distance counting an insertion, a deletion, a substitution or a swap of two neighbouring letters as one edit
    /// (optimal string alignment), giving up above <paramref name="limit"/>.
    /// </summary>
    public static int EditDistance(string a, string b, int limit = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (Math.Abs(a.Length - b.Length) > limit)
        {
            return limit + 1;
        }

        var beforePrevious = new int[b.Length + 1];
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            var rowMin = current[0];
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var best = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    best = Math.Min(best, beforePrevious[j - 2] + 1);
                }

                current[j] = best;
                rowMin = Math.Min(rowMin, best);
            }

            if (rowMin > limit)
            {
                return limit + 1;
            }

            (beforePrevious, previous, current) = (previous, current, beforePrevious);
        }

        return previous[b.Length];
    }

    /// <summary>How alike two single words are: 1 when equal; for long words a near spelling scores 1 − distance ÷ length; else 0.</summary>
    internal static double TokenScore(string a, string b)
    {
        if (a == b)
        {
            return 1;
        }

        var shorter = Math.Min(a.Length, b.Length);
        if (shorter < MinFuzzyTokenLength)
        {
            return 0;
        }

        var longer = Math.Max(a.Length, b.Length);
        var allowed = longer >= 9 ? 2 : 1;
        var distance = EditDistance(a, b, allowed);
        return distance <= allowed ? 1 - ((double)distance / longer) : 0;
    }

    /// <summary>Joins runs of two or three neighbouring tokens that spell one token of the other name ("shen zhen" → "shenzhen").</summary>
    private static List<string> MergeAdjacent(IReadOnlyList<string> tokens, FrozenSet<string> other)
    {
        var merged = new List<string>(tokens.Count);
        var i = 0;
        while (i < tokens.Count)
        {
            if (i + 2 < tokens.Count && other.Contains(tokens[i] + tokens[i + 1] + tokens[i + 2]))
            {
                merged.Add(tokens[i] + tokens[i + 1] + tokens[i + 2]);
                i += 3;
            }
            else if (i + 1 < tokens.Count && other.Contains(tokens[i] + tokens[i + 1]))
            {
                merged.Add(tokens[i] + tokens[i + 1]);
                i += 2;
            }
            else
            {
                merged.Add(tokens[i]);
                i++;
            }
        }

        return merged;
    }

    /// <summary>
    /// Pairs words greedily, longest first, each with its best unpaired partner; the share of paired letters. Also gives, for
    /// each side whose every word found a partner, how well (1 when all are spelled alike), else 0.
    /// </summary>
    private static double Words(List<string> a, List<string> b, out double aCovered, out double bCovered)
    {
        var used = new bool[b.Count];
        var aPaired = 0;
        var sum = 0.0;
        var aSum = 0.0;
        var bSum = 0.0;
        foreach (var token in a.OrderByDescending(t => t.Length))
        {
            var best = 0.0;
            var bestIndex = -1;
            for (var j = 0; j < b.Count; j++)
            {
                if (used[j])
                {
                    continue;
                }

                var score = TokenScore(token, b[j]);
                if (score > best)
                {
                    best = score;
                    bestIndex = j;
                }
            }

            if (bestIndex >= 0)
            {
                used[bestIndex] = true;
                aPaired++;
                sum += best * (token.Length + b[bestIndex].Length);
                aSum += best * token.Length;
                bSum += best * b[bestIndex].Length;
            }
        }

        var aTotal = a.Sum(t => t.Length);
        var bTotal = b.Sum(t => t.Length);
        aCovered = aPaired == a.Count && aTotal > 0 ? aSum / aTotal : 0;
        bCovered = aPaired == b.Count && bTotal > 0 ? bSum / bTotal : 0;
        return aTotal + bTotal == 0 ? 0 : sum / (aTotal + bTotal);
    }

    private static double Spelling(string a, string b)
    {
        var longer = Math.Max(a.Length, b.Length);
        if (Math.Min(a.Length, b.Length) < MinSpellingLength)
        {
            return 0;
        }

        var allowed = 1 + Math.Max(0, (longer - MinSpellingLength) / 8);
        var distance = EditDistance(a, b, allowed);
        return distance <= allowed ? 1 - ((double)distance / longer) : 0;
    }

    /// <summary>
    /// <see cref="ContainedScore"/> (times how alike the paired words are) when every word of <paramref name="inner"/> is in the
    /// longer <paramref name="outer"/> and <paramref name="inner"/> has a distinctive word; else 0.
    /// </summary>
    private static double Contained(List<string> inner, List<string> outer, double covered) =>
        inner.Count < outer.Count && covered > 0 && IsDistinctive(inner) ? ContainedScore * covered : 0;

    private static bool IsDistinctive(List<string> tokens) =>
        tokens.Any(t => t.Length >= MinDistinctiveLength && !CommonWords.Contains(t) && !t.All(char.IsAsciiDigit));
}
