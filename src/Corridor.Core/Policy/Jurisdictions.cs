using System.Collections.Frozen;
using Corridor.Core.Tenants;

namespace Corridor.Core.Policy;

/// <summary>
/// The assigned ISO 3166-1 alpha-2 codes numbered 0..<see cref="Count"/>-1, with an allocation-free lookup
/// from a code in any case to its number.
/// </summary>
internal static class Countries
{
    private static readonly short[] IndexByLetters = new short[26 * 26];
    private static readonly string[] Codes;

    static Countries()
    {
        // TenantRules owns the list of assigned codes; ask it about every pair of letters once.
        var codes = new List<string>();
        for (var i = 0; i < IndexByLetters.Length; i++)
        {
            var code = string.Create(2, i, static (span, n) =>
            {
                span[0] = (char)('A' + (n / 26));
                span[1] = (char)('A' + (n % 26));
            });
            if (TenantRules.TryNormalizeCountry(code, out _))
            {
                IndexByLetters[i] = (short)codes.Count;
                codes.Add(code);
            }
            else
            {
                IndexByLetters[i] = -1;
            }
        }
        Codes = [.. codes];
    }

    public static int Count => Codes.Length;

    public static string CodeAt(int index) => Codes[index];

    /// <summary>The number of an assigned code in any case, or -1.</summary>
    public static int IndexOf(string? code)
    {
        if (code is not { Length: 2 })
        {
            return -1;
        }
        var a = (code[0] | 0x20) - 'a';
        var b = (code[1] | 0x20) - 'a';
        if ((uint)a >= 26 || (uint)b >= 26)
        {
            return -1;
        }
        return IndexByLetters[(a * 26) + b];
    }
}

/// <summary>A set of countries as a 256-bit mask (there are 249 assigned codes).</summary>
internal readonly record struct CountrySet(ulong A, ulong B, ulong C, ulong D)
{
    public static CountrySet Empty => default;

    public static CountrySet All { get; } = Build(Enumerable.Range(0, Countries.Count));

    public bool IsEmpty => (A | B | C | D) == 0;

    public bool Contains(int index) => index switch
    {
        < 0 => false,
        < 64 => (A & (1UL << index)) != 0,
        < 128 => (B & (1UL << (index - 64))) != 0,
        < 192 => (C & (1UL << (index - 128))) != 0,
        < 256 => (D & (1UL << (index - 192))) != 0,
        _ => false,
    };

    public CountrySet Union(CountrySet other) => new(A | other.A, B | other.B, C | other.C, D | other.D);

    public CountrySet Intersect(CountrySet other) => new(A & other.A, B & other.B, C & other.C, D & other.D);

    public CountrySet Except(CountrySet other) => new(A & ~other.A, B & ~other.B, C & ~other.C, D & ~other.D);

    public static CountrySet Of(int index) => Build([index]);

    public static CountrySet Build(IEnumerable<int> indices)
    {
        Span<ulong> words = stackalloc ulong[4];
        foreach (var index in indices)
        {
            words[index >> 6] |= 1UL << (index & 63);
        }
        return new CountrySet(words[0], words[1], words[2], words[3]);
    }
}

/// <summary>
/// Resolves a jurisdiction as written in a policy — a country code (any case), a group name (any case) or
/// <c>*</c> — to a set of countries. The built-in groups <c>EU</c> and <c>EEA</c> are always known.
/// </summary>
internal sealed class JurisdictionResolver
{
    public const string Everyone = "*";

    /// <summary>The 27 member states of the European Union.</summary>
    public static readonly IReadOnlyList<string> EuropeanUnion =
    [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    ];

    /// <summary>The European Economic Area: the EU, Iceland, Liechtenstein and Norway.</summary>
    public static readonly IReadOnlyList<string> EuropeanEconomicArea = [.. EuropeanUnion, "IS", "LI", "NO"];

    public static readonly FrozenDictionary<string, IReadOnlyList<string>> BuiltInGroups =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase)
        {
            ["EU"] = EuropeanUnion,
            ["EEA"] = EuropeanEconomicArea,
        }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private readonly Dictionary<string, CountrySet> _groups;

    private JurisdictionResolver(Dictionary<string, CountrySet> groups) => _groups = groups;

    /// <summary>Resolves the built-in groups and <paramref name="groups"/>; members that do not resolve, and cycles, are left out.</summary>
    public static JurisdictionResolver Create(IReadOnlyList<PolicyGroup> groups)
    {
        var members = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, list) in BuiltInGroups)
        {
            members[name] = list;
        }
        foreach (var group in groups)
        {
            if (!string.IsNullOrEmpty(group.Name) && !BuiltInGroups.ContainsKey(group.Name))
            {
                members.TryAdd(group.Name, group.Members ?? []);
            }
        }
        var resolved = new Dictionary<string, CountrySet>(StringComparer.OrdinalIgnoreCase);
        var visiting = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in members.Keys)
        {
            Resolve(name);
        }
        return new JurisdictionResolver(resolved);

        CountrySet Resolve(string name)
        {
            if (resolved.TryGetValue(name, out var done))
            {
                return done;
            }
            if (!visiting.Add(name))
            {
                return CountrySet.Empty;
            }
            var set = CountrySet.Empty;
            foreach (var member in members[name])
            {
                if (Countries.IndexOf(member) is >= 0 and var index)
                {
                    set = set.Union(CountrySet.Of(index));
                }
                else if (member is not null && members.ContainsKey(member))
                {
                    set = set.Union(Resolve(member));
                }
            }
            visiting.Remove(name);
            resolved[name] = set;
            return set;
        }
    }

    public bool IsGroup(string name) => _groups.ContainsKey(name);

    /// <summary>Resolves one jurisdiction; false when it is neither an assigned code, a known group nor <c>*</c>.</summary>
    public bool TryResolve(string? jurisdiction, out CountrySet set)
    {
        if (jurisdiction == Everyone)
        {
            set = CountrySet.All;
            return true;
        }
        if (Countries.IndexOf(jurisdiction) is >= 0 and var index)
        {
            set = CountrySet.Of(index);
            return true;
        }
        if (jurisdiction is not null && _groups.TryGetValue(jurisdiction, out set))
        {
            return true;
        }
        set = CountrySet.Empty;
        return false;
    }

    /// <summary>The union of every jurisdiction in <paramref name="jurisdictions"/> that resolves.</summary>
    public CountrySet Resolve(IEnumerable<string> jurisdictions)
    {
        var set = CountrySet.Empty;
        foreach (var jurisdiction in jurisdictions)
        {
            if (TryResolve(jurisdiction, out var one))
            {
                set = set.Union(one);
            }
        }
        return set;
    }
}
