using System.Text.Json;
using System.Text.Json.Nodes;

namespace Corridor.Core.Shadow;

/// <summary>What a model answered, as far as shadow evaluation compares it: its text and the tools it called.</summary>
public sealed record ModelOutput(string Text, IReadOnlyList<string> ToolNames, string ToolArguments)
{
    public static readonly ModelOutput Empty = new("", [], "");

    public bool HasToolCalls => ToolNames.Count > 0;
}

/// <summary>
/// How alike two outputs are. <see cref="Jaccard"/>: the words both texts use over the words either uses
/// (lowercased runs of letters and digits, each counted once); 1 when both are empty. <see cref="ExactMatch"/>: the texts
/// are equal once leading and trailing white space is trimmed. <see cref="LengthRatio"/>: the shorter text's length over
/// the longer's, in characters (1 when both are empty). When either output called tools, <see cref="ToolNamesMatch"/>
/// says whether both called the same tools in the same order and <see cref="ToolArgumentsMatch"/> whether the arguments
/// are the same JSON (key order and white space aside); both are null when neither called a tool.
/// </summary>
public readonly record struct Similarity(double Jaccard, bool ExactMatch, double LengthRatio, bool? ToolNamesMatch, bool? ToolArgumentsMatch)
{
    public static Similarity Compare(ModelOutput primary, ModelOutput candidate)
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(candidate);
        var a = primary.Text.AsSpan().Trim();
        var b = candidate.Text.AsSpan().Trim();
        var longer = Math.Max(a.Length, b.Length);
        var lengthRatio = longer == 0 ? 1.0 : (double)Math.Min(a.Length, b.Length) / longer;
        bool? namesMatch = null;
        bool? argumentsMatch = null;
        if (primary.HasToolCalls || candidate.HasToolCalls)
        {
            namesMatch = primary.ToolNames.SequenceEqual(candidate.ToolNames, StringComparer.Ordinal);
            argumentsMatch = SameJson(primary.ToolArguments, candidate.ToolArguments);
        }
        return new Similarity(WordJaccard(primary.Text, candidate.Text), a.SequenceEqual(b), lengthRatio, namesMatch, argumentsMatch);
    }

    /// <summary>Token-set Jaccard similarity of two texts' words.</summary>
    public static double WordJaccard(string a, string b)
    {
        var left = Words(a);
        var right = Words(b);
        if (left.Count == 0 && right.Count == 0)
        {
            return 1.0;
        }
        var shared = left.Count(right.Contains);
        return (double)shared / (left.Count + right.Count - shared);
    }

    /// <summary>Lowercased runs of letters and digits.</summary>
    public static HashSet<string> Words(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var words = new HashSet<string>(StringComparer.Ordinal);
        var start = -1;
        for (var i = 0; i <= text.Length; i++)
        {
            var inWord = i < text.Length && char.IsLetterOrDigit(text[i]);
            if (inWord && start < 0)
            {
                start = i;
            }
            else if (!inWord && start >= 0)
            {
                words.Add(text[start..i].ToLowerInvariant());
                start = -1;
            }
        }
        return words;
    }

    private static bool SameJson(string a, string b)
    {
        if (string.Equals(a, b, StringComparison.Ordinal))
        {
            return true;
        }
        try
        {
            return JsonNode.DeepEquals(JsonNode.Parse(a), JsonNode.Parse(b));
        }
        catch (JsonException)
        {
            return string.Concat(a.Where(c => !char.IsWhiteSpace(c))) == string.Concat(b.Where(c => !char.IsWhiteSpace(c)));
        }
    }
}
