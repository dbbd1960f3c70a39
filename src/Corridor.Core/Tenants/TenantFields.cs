using System.Globalization;

namespace Corridor.Core.Tenants;

/// <summary>One profile field of a tenant as text: its snake_case name and value (null when not set).</summary>
public readonly record struct TenantField(string Name, string? Value);

/// <summary>A field that an update changed.</summary>
public readonly record struct TenantFieldChange(string Name, string? From, string? To);

/// <summary>The profile fields in one fixed order, as text, for the audit log and for people.</summary>
public static class TenantFields
{
    public static IReadOnlyList<TenantField> Of(Tenant tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return
        [
            new("legal_name", tenant.LegalName),
            new("country", tenant.Country),
            new("controlling_country", tenant.ControllingCountry),
            new("entity_type", TenantNames.Name(tenant.EntityType)),
            new("tier", TenantNames.Name(tenant.Tier)),
            new("verification_expires_at", tenant.VerificationExpiresAt is { } expires ? Time(expires) : null),
            new("use_case", tenant.UseCase),
            new("denied_party", TenantNames.Name(tenant.DeniedParty)),
        ];
    }

    /// <summary>The fields whose text differs between <paramref name="before"/> and <paramref name="after"/>, in field order.</summary>
    public static IReadOnlyList<TenantFieldChange> Changes(Tenant before, Tenant after) => Changes(Of(before), Of(after));

    /// <summary>The fields whose text differs between two lists of the same fields in the same order.</summary>
    public static IReadOnlyList<TenantFieldChange> Changes(IReadOnlyList<TenantField> from, IReadOnlyList<TenantField> to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var changes = new List<TenantFieldChange>();
        for (var i = 0; i < from.Count; i++)
        {
            if (!string.Equals(from[i].Value, to[i].Value, StringComparison.Ordinal))
            {
                changes.Add(new TenantFieldChange(from[i].Name, from[i].Value, to[i].Value));
            }
        }

        return changes;
    }

    /// <summary><c>2027-01-01T00:00:00.000Z</c>.</summary>
    public static string Time(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
