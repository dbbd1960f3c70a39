using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Corridor.Core.Tenants;

/// <summary>What makes a tenant's id and country acceptable; shared by the command line and the admin API.</summary>
public static partial class TenantRules
{
    public const int MaxIdLength = 64;

    // ISO 3166-1 alpha-2, the 249 officially assigned codes.
    private const string AssignedCountryCodes =
        "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
        "BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
        "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
        "DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
        "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU " +
        "ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ " +
        "LA LB LC LI LK LR LS LT LU LV LY " +
        "MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
        "NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA " +
        "RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
        "TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

    private static readonly HashSet<string> Countries = [.. AssignedCountryCodes.Split(' ')];

    /// <summary>A slug: lowercase letters, digits and inner hyphens, 1 to 64 characters (<c>acme-logistics</c>).</summary>
    public static bool IsValidId([NotNullWhen(true)] string? id) => id is not null && id.Length <= MaxIdLength && IdPattern().IsMatch(id);

    /// <summary>Accepts an assigned ISO 3166-1 alpha-2 code in any case and returns it in upper case.</summary>
    public static bool TryNormalizeCountry(string? country, [NotNullWhen(true)] out string? normalized)
    {
        normalized = null;
        if (country is not { Length: 2 })
        {
            return false;
        }

        var upper = country.ToUpperInvariant();
        if (!Countries.Contains(upper))
        {
            return false;
        }

        normalized = upper;
        return true;
    }

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}
