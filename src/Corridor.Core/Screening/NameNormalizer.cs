using System.Collections.Frozen;
using System.Text;

namespace Corridor.Core.Screening;

/// <summary>
/// Turns an organisation's name into the tokens screening compares:
/// <list type="number">
/// <item>lower case, and Latin letters without diacritics (<c>Société</c> → <c>societe</c>, <c>ß</c> → <c>ss</c>, <c>Ł</c> → <c>l</c>,
/// <c>Ḥ</c> → <c>h</c>), full-width forms as ASCII (<c>Ｈｕａｗｅｉ</c> → <c>huawei</c>) and ligatures spelled out (<c>ﬂ</c> → <c>fl</c>);</item>
/// <item>apostrophes and full stops are dropped (<c>S.A.</c> → <c>sa</c>, <c>O'Neil</c> → <c>oneil</c>), <c>&amp;</c> reads <c>and</c>,
/// any other character that is not a letter or digit separates tokens;</item>
/// <item>runs of single letters join (<c>S A</c> → <c>sa</c>, <c>P L C</c> → <c>plc</c>);</item>
/// <item>legal forms are dropped at the end (<c>Co. Ltd.</c>, <c>GmbH</c>, <c>Pte. Ltd.</c>, <c>LLC</c>, <c>S.A.</c>, ...)
/// and at the start where they stand first (<c>OOO</c>, <c>PT</c>, <c>JSC</c>), and so is a leading <c>the</c>,
/// but never the last remaining token.</item>
/// </list>
/// The bundled runtime runs without ICU (invariant globalization), so diacritics are folded from a table here
/// rather than through Unicode decomposition; letters outside it are kept as they are.
/// </summary>
public static class NameNormalizer
{
    /// <summary>Legal forms and their spellings once full stops are dropped and letters joined.</summary>
    private static readonly FrozenSet<string> TrailingLegalForms = FrozenSet.Create(StringComparer.Ordinal,
    [
        "co", "company", "corp", "corporation", "inc", "incorporated", "ltd", "limited", "coltd", "llc", "llp", "lp", "lc",
        "plc", "pte", "pty", "pvt", "private", "gmbh", "mbh", "ag", "kg", "gmbhcokg", "ohg", "ug", "sa", "sas", "sarl", "sau",
        "spa", "srl", "sl", "slu", "bv", "nv", "ab", "as", "asa", "aps", "oy", "oyj", "kk", "se", "sdn", "bhd", "tbk",
        "jsc", "ojsc", "pjsc", "cjsc", "ooo", "oao", "zao", "pao", "ltda", "cia", "sab", "cv",
    ]);

    /// <summary>Legal forms written before the name in some countries (Russia, Indonesia, Kazakhstan).</summary>
    private static readonly FrozenSet<string> LeadingLegalForms = FrozenSet.Create(StringComparer.Ordinal,
    [
        "ooo", "oao", "zao", "pao", "jsc", "ojsc", "pjsc", "cjsc", "pt", "cv", "the",
    ]);

    private static readonly FrozenDictionary<char, string> Folds = BuildFolds();

    /// <summary>The comparable tokens of <paramref name="name"/>, in their original order; empty when nothing is left.</summary>
    public static IReadOnlyList<string> Tokens(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var raw = SplitTokens(Fold(name));
        var joined = JoinSingleLetters(raw);
        return StripLegalForms(joined);
    }

    /// <summary>The tokens joined by single spaces: what two names look like to screening.</summary>
    public static string Normalize(string name) => string.Join(' ', Tokens(name));

    /// <summary>Lower case without diacritics; every other character unchanged.</summary>
    internal static string Fold(string text)
    {
        var lower = text.ToLowerInvariant();
        var builder = new StringBuilder(lower.Length);
        foreach (var character in lower)
        {
            var c = character;
            if (c is >= '\uFF01' and <= '\uFF5E')
            {
                // Full-width forms (as CJK keyboards type Latin letters, digits and punctuation) are the ASCII ones.
                c = char.ToLowerInvariant((char)(c - 0xFEE0));
            }
            else if (c == '\u3000')
            {
                c = ' ';
            }

            if (c < 0x80)
            {
                builder.Append(c);
            }
            else if (Folds.TryGetValue(c, out var folded))
            {
                builder.Append(folded);
            }
            else if (c is (>= '\u0300' and <= '\u036F') or (>= '\u1AB0' and <= '\u1AFF') or (>= '\u1DC0' and <= '\u1DFF') or (>= '\u20D0' and <= '\u20FF') or (>= '\uFE20' and <= '\uFE2F'))
            {
                // A combining mark (text already decomposed elsewhere): the letter before it stays, the mark goes.
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static List<string> SplitTokens(string folded)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        foreach (var c in folded)
        {
            if (char.IsLetterOrDigit(c))
            {
                current.Append(c);
            }
            else if (c is '.' or '\'' or '\u2019' or '\u02BC')
            {
                // Dropped without a break: "S.A." is "sa", "O'Neil" is "oneil".
            }
            else
            {
                Flush(tokens, current);
                if (c == '&')
                {
                    tokens.Add("and");
                }
            }
        }

        Flush(tokens, current);
        return tokens;

        static void Flush(List<string> tokens, StringBuilder current)
        {
            if (current.Length > 0)
            {
                tokens.Add(current.ToString());
                current.Clear();
            }
        }
    }

    private static List<string> JoinSingleLetters(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var run = new StringBuilder();
        foreach (var token in tokens)
        {
            if (token.Length == 1 && char.IsLetter(token[0]))
            {
                run.Append(token);
                continue;
            }

            if (run.Length > 0)
            {
                result.Add(run.ToString());
                run.Clear();
            }

            result.Add(token);
        }

        if (run.Length > 0)
        {
            result.Add(run.ToString());
        }

        return result;
    }

    private static List<string> StripLegalForms(List<string> tokens)
    {
        var start = 0;
        var end = tokens.Count;
        while (end - start > 1 && IsTrailingLegalForm(tokens, start, end))
        {
            end--;
        }

        while (end - start > 1 && LeadingLegalForms.Contains(tokens[start]))
        {
            start++;
        }

        return tokens.GetRange(start, end - start);
    }

    /// <summary>Whether the last token before <paramref name="end"/> is a legal form to drop.</summary>
    private static bool IsTrailingLegalForm(List<string> tokens, int start, int end)
    {
        var token = tokens[end - 1];
        if (TrailingLegalForms.Contains(token))
        {
            return true;
        }

        // Words that belong to a legal form only next to one: "Private Limited", "Public Company Limited", "GmbH & Co. KG",
        // "S.A. de C.V."; "Banco de", "Public" or "Smith and" at the very end of a name stay.
        var dropped = end < tokens.Count;
        return token switch
        {
            "public" or "private" or "and" => dropped,
            "de" => dropped && end - 2 >= start && TrailingLegalForms.Contains(tokens[end - 2]),
            _ => false,
        };
    }

    private static FrozenDictionary<char, string> BuildFolds()
    {
        var folds = new Dictionary<char, string>();
        void Add(string letters, string to)
        {
            foreach (var c in letters)
            {
                folds[c] = to;
            }
        }

        Add("àáâãäåāăąǎǟǡǻȁȃȧḁạảấầẩẫậắằẳẵặ", "a");
        Add("ḃḅḇ", "b");
        Add("çćĉċčḉ", "c");
        Add("ďđḋḍḏḑḓ", "d");
        Add("èéêëēĕėęěȅȇȩḕḗḙḛḝẹẻẽếềểễệ", "e");
        Add("ḟ", "f");
        Add("ĝğġģǧǵḡ", "g");
        Add("ĥħȟḣḥḧḩḫẖ", "h");
        Add("ìíîïĩīĭįıǐȉȋḭḯỉịİ", "i");
        Add("ĵǰ", "j");
        Add("ķǩḱḳḵ", "k");
        Add("ĺļľŀłḷḹḻḽ", "l");
        Add("ḿṁṃ", "m");
        Add("ñńņňŉǹṅṇṉṋ", "n");
        Add("òóôõöøōŏőơǒǫǭȍȏȫȭȯȱṍṏṑṓọỏốồổỗộớờởỡợ", "o");
        Add("ṕṗ", "p");
        Add("ŕŗřȑȓṙṛṝṟ", "r");
        Add("śŝşšſșṡṣṥṧṩẛ", "s");
        Add("ţťŧțṫṭṯṱẗ", "t");
        Add("ùúûüũūŭůűųưǔǖǘǚǜȕȗṳṵṷṹṻụủứừửữự", "u");
        Add("ṽṿ", "v");
        Add("ŵẁẃẅẇẉẘ", "w");
        Add("ẋẍ", "x");
        Add("ýÿŷȳẏẙỳỵỷỹ", "y");
        Add("źżžẑẓẕ", "z");
        Add("ßẞ", "ss");
        Add("æǽ", "ae");
        Add("œ", "oe");
        Add("þ", "th");
        Add("ð", "d");
        Add("ĳ", "ij");
        Add("ǆǳ", "dz");
        Add("ǉ", "lj");
        Add("ǌ", "nj");
        Add("ﬀ", "ff");
        Add("ﬁ", "fi");
        Add("ﬂ", "fl");
        Add("ﬃ", "ffi");
        Add("ﬄ", "ffl");
        Add("ﬅﬆ", "st");
        return folds.ToFrozenDictionary();
    }
}
