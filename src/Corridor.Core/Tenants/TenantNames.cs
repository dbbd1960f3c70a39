using System.Diagnostics.CodeAnalysis;

namespace Corridor.Core.Tenants;

/// <summary>
/// The lowercase names of the tenant profile's enums, as the command line, the admin API, the store and the audit log
/// write them (<c>enterprise</c>, <c>verified</c>, <c>pending</c>). Parsing ignores case.
/// </summary>
public static class TenantNames
{
    public const string EntityTypeChoices = "enterprise|startup|individual|research|government";
    public const string TierChoices = "unverified|basic|verified|established|strategic";

    public static string Name(EntityType value) => value switch
    {
        EntityType.Enterprise => "enterprise",
        EntityType.Startup => "startup",
        EntityType.Individual => "individual",
        EntityType.Research => "research",
        EntityType.Government => "government",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    public static string Name(VettingTier value) => value switch
    {
        VettingTier.Unverified => "unverified",
        VettingTier.Basic => "basic",
        VettingTier.Verified => "verified",
        VettingTier.Established => "established",
        VettingTier.Strategic => "strategic",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    public static string Name(DeniedPartyStatus value) => value switch
    {
        DeniedPartyStatus.Clear => "clear",
        DeniedPartyStatus.Pending => "pending",
        DeniedPartyStatus.Confirmed => "confirmed",
        DeniedPartyStatus.Cleared => "cleared",
        _ => throw new ArgumentOutOfRangeException(nameof(value), value, null),
    };

    public static bool TryParseEntityType([NotNullWhen(true)] string? text, out EntityType value) => TryParse(text, Name, out value);

    public static bool TryParseTier([NotNullWhen(true)] string? text, out VettingTier value) => TryParse(text, Name, out value);

    public static bool TryParseDeniedParty([NotNullWhen(true)] string? text, out DeniedPartyStatus value) => TryParse(text, Name, out value);

    private static bool TryParse<T>(string? text, Func<T, string> name, out T value)
        where T : struct, Enum
    {
        value = default;
        if (text is null)
        {
            return false;
        }

        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(name(candidate), text.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }

        return false;
    }
}
