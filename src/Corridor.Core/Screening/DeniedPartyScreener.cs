using Corridor.Core.Tenants;

namespace Corridor.Core.Screening;

/// <summary>How the countries of the tenant and of the listed party bore on a match.</summary>
public enum CountryEffect
{
    /// <summary>The list gives no country for the party, or no country was screened: the name score stands.</summary>
    None,

    /// <summary>The party's country is the tenant's country or controlling country: <see cref="DeniedPartyScreener.SameCountryBonus"/> is added.</summary>
    Same,

    /// <summary>The party's country is neither: <see cref="DeniedPartyScreener.OtherCountryPenalty"/> is taken off.</summary>
    Different,
}

/// <summary>A listed party a name matched: which of its names, how alike (<see cref="NameScore"/>), and the score after the country rule.</summary>
public sealed record ScreeningMatch(DeniedPartyEntry Entry, string MatchedName, double NameScore, CountryEffect Country, double Score);

/// <summary>
/// Screens names against the denied-party list. Each listed name and alias is normalized once; a name is scored against every one
/// (<see cref="NameSimilarity"/>), the best per party counts, and the country rule adjusts it:
/// the same country adds <see cref="SameCountryBonus"/> (up to 1), another country takes off <see cref="OtherCountryPenalty"/>,
/// and a party without a country is left as scored. A party matches when its adjusted score reaches <see cref="Threshold"/>.
/// An identical name therefore matches in any country (1.0 − 0.10 = 0.90), while a near one in another country may not.
/// </summary>
public sealed class DeniedPartyScreener
{
    public const double DefaultThreshold = 0.85;
    public const double SameCountryBonus = 0.05;
    public const double OtherCountryPenalty = 0.10;

    private readonly List<(DeniedPartyEntry Entry, PreparedName[] Names)> _entries;

    public DeniedPartyScreener(IReadOnlyList<DeniedPartyEntry> entries, double threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (!IsValidThreshold(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be above 0 and at most 1.");
        }

        Threshold = threshold;
        _entries = [.. entries.Select(e => (e, e.Names.Select(n => new PreparedName(n)).ToArray()))];
    }

    public static DeniedPartyScreener Empty { get; } = new([]);

    public double Threshold { get; }

    public int Count => _entries.Count;

    public static bool IsValidThreshold(double threshold) => threshold is > 0 and <= 1;

    /// <summary>The parties <paramref name="name"/> matches, best first; <paramref name="countries"/> are the tenant's (none: no country rule).</summary>
    public IReadOnlyList<ScreeningMatch> Screen(string name, IReadOnlyCollection<string> countries, double? threshold = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(countries);
        var limit = threshold ?? Threshold;
        var prepared = new PreparedName(name);
        var matches = new List<ScreeningMatch>();
        if (prepared.IsEmpty)
        {
            return matches;
        }

        foreach (var (entry, names) in _entries)
        {
            var best = 0.0;
            var bestName = entry.Name;
            foreach (var listed in names)
            {
                var score = NameSimilarity.Score(prepared, listed);
                if (score > best)
                {
                    best = score;
                    bestName = listed.Original;
                }
            }

            if (best <= 0)
            {
                continue;
            }

            var effect = entry.Country is null || countries.Count == 0
                ? CountryEffect.None
                : countries.Contains(entry.Country, StringComparer.Ordinal) ? CountryEffect.Same : CountryEffect.Different;
            var adjusted = effect switch
            {
                CountryEffect.Same => Math.Min(1, best + SameCountryBonus),
                CountryEffect.Different => best - OtherCountryPenalty,
                _ => best,
            };
            adjusted = Math.Round(adjusted, 3);
            if (adjusted >= limit)
            {
                matches.Add(new ScreeningMatch(entry, bestName, Math.Round(best, 3), effect, adjusted));
            }
        }

        return [.. matches.OrderByDescending(m => m.Score).ThenBy(m => m.Entry.Name, StringComparer.Ordinal)];
    }

    /// <summary>Screens a tenant's legal name with its country and controlling country.</summary>
    public IReadOnlyList<ScreeningMatch> Screen(Tenant tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        string[] countries = tenant.ControllingCountry is { } controlling && controlling != tenant.Country
            ? [tenant.Country, controlling]
            : [tenant.Country];
        return Screen(tenant.LegalName, countries);
    }
}
