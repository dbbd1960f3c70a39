using System.Globalization;

namespace Corridor.Core.Tenants;

/// <summary>
/// Profile fields as an operator typed them, on the command line or in the admin API. A null field is left as it is;
/// for the optional fields (controlling country, verification expiry, use case) an empty text or <c>none</c> clears it.
/// </summary>
public sealed record TenantEdit
{
    /// <summary>Typed to clear an optional field.</summary>
    public const string ClearKeyword = "none";

    public string? LegalName { get; init; }

    public string? Country { get; init; }

    public string? ControllingCountry { get; init; }

    public string? EntityType { get; init; }

    public string? Tier { get; init; }

    /// <summary>ISO 8601 (<c>2027-01-01</c> or <c>2027-01-01T00:00:00Z</c>, UTC unless an offset is given): the verification lapses then.</summary>
    public string? VerificationExpiresAt { get; init; }

    public string? UseCase { get; init; }

    public bool IsEmpty =>
        LegalName is null && Country is null && ControllingCountry is null && EntityType is null
        && Tier is null && VerificationExpiresAt is null && UseCase is null;

    /// <summary>A new tenant from these fields; a legal name and a country are required. Every problem goes to <paramref name="errors"/>.</summary>
    public Tenant? ToNewTenant(string? id, DateTimeOffset now, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var before = errors.Count;
        if (!TenantRules.IsValidId(id))
        {
            errors.Add($"tenant id '{id}' is not valid: use 1 to {TenantRules.MaxIdLength} lowercase letters, digits and inner hyphens (acme-logistics).");
        }

        if (LegalName is null)
        {
            errors.Add("a legal name is required.");
        }

        if (Country is null)
        {
            errors.Add("a country is required (ISO 3166-1 alpha-2: SG, DE, US, ...).");
        }

        var draft = new Tenant(id ?? string.Empty, string.Empty, string.Empty, now);
        var tenant = ApplyTo(draft, errors);
        return errors.Count > before ? null : tenant;
    }

    /// <summary><paramref name="current"/> with these fields applied; id, creation time and denied-party status never change here.</summary>
    public Tenant? ApplyTo(Tenant current, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(errors);
        var before = errors.Count;
        var tenant = current;

        if (LegalName is not null)
        {
            if (string.IsNullOrWhiteSpace(LegalName))
            {
                errors.Add("the legal name must not be empty.");
            }
            else
            {
                tenant = tenant with { LegalName = LegalName.Trim() };
            }
        }

        if (Country is not null)
        {
            if (TenantRules.TryNormalizeCountry(Country.Trim(), out var country))
            {
                tenant = tenant with { Country = country };
            }
            else
            {
                errors.Add($"'{Country}' is not an ISO 3166-1 alpha-2 country code (SG, DE, US, ...).");
            }
        }

        if (ControllingCountry is not null)
        {
            if (IsClear(ControllingCountry))
            {
                tenant = tenant with { ControllingCountry = null };
            }
            else if (TenantRules.TryNormalizeCountry(ControllingCountry.Trim(), out var controlling))
            {
                tenant = tenant with { ControllingCountry = controlling };
            }
            else
            {
                errors.Add($"controlling country '{ControllingCountry}' is not an ISO 3166-1 alpha-2 country code (CN, US, ...).");
            }
        }

        if (EntityType is not null)
        {
            if (TenantNames.TryParseEntityType(EntityType, out var entityType))
            {
                tenant = tenant with { EntityType = entityType };
            }
            else
            {
                errors.Add($"entity type '{EntityType}' is not one of {TenantNames.EntityTypeChoices}.");
            }
        }

        if (Tier is not null)
        {
            if (TenantNames.TryParseTier(Tier, out var tier))
            {
                tenant = tenant with { Tier = tier };
            }
            else
            {
                errors.Add($"tier '{Tier}' is not one of {TenantNames.TierChoices}.");
            }
        }

        if (VerificationExpiresAt is not null)
        {
            if (IsClear(VerificationExpiresAt))
            {
                tenant = tenant with { VerificationExpiresAt = null };
            }
            else if (TryParseTime(VerificationExpiresAt.Trim(), out var expires))
            {
                tenant = tenant with { VerificationExpiresAt = expires };
            }
            else
            {
                errors.Add($"'{VerificationExpiresAt}' is not a date: use 2027-01-01 or 2027-01-01T00:00:00Z.");
            }
        }

        if (UseCase is not null)
        {
            tenant = tenant with { UseCase = IsClear(UseCase) ? null : UseCase.Trim() };
        }

        return errors.Count > before ? null : tenant;
    }

    /// <summary>ISO 8601 with the year first, so <c>06/01</c> never means two different days; kept to the millisecond, in UTC.</summary>
    public static bool TryParseTime(string text, out DateTimeOffset time)
    {
        time = default;
        if (text.Length < 10 || !char.IsAsciiDigit(text[0]) || text[4] != '-' || text[7] != '-'
            || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
        {
            return false;
        }

        time = DateTimeOffset.FromUnixTimeMilliseconds(parsed.ToUnixTimeMilliseconds());
        return true;
    }

    private static bool IsClear(string text) =>
        string.IsNullOrWhiteSpace(text) || string.Equals(text.Trim(), ClearKeyword, StringComparison.OrdinalIgnoreCase);
}
