namespace Corridor.Core.Tenants;

/// <summary>What kind of organisation a tenant is.</summary>
public enum EntityType
{
    Enterprise,
    Startup,
    Individual,
    Research,
    Government,
}

/// <summary>How well the operator has vetted a tenant, weakest first; policy compares tiers by order.</summary>
public enum VettingTier
{
    Unverified,
    Basic,
    Verified,
    Established,
    Strategic,
}

/// <summary>Where a tenant stands against the denied-party list.</summary>
public enum DeniedPartyStatus
{
    /// <summary>Never matched.</summary>
    Clear,

    /// <summary>Screening matched; refused until an operator reviews it.</summary>
    Pending,

    /// <summary>An operator confirmed the match; refused.</summary>
    Confirmed,

    /// <summary>An operator reviewed the match and cleared it.</summary>
    Cleared,
}

/// <summary>
/// A customer account. <see cref="Country"/> is the country of incorporation; <see cref="ControllingCountry"/>
/// that of the ultimate parent (the same when not set).
/// </summary>
public sealed record Tenant(string Id, string LegalName, string Country, DateTimeOffset CreatedAt)
{
    public string? ControllingCountry { get; init; }

    public EntityType EntityType { get; init; } = EntityType.Enterprise;

    public VettingTier Tier { get; init; } = VettingTier.Unverified;

    public DateTimeOffset? VerificationExpiresAt { get; init; }

    public string? UseCase { get; init; }

    public DeniedPartyStatus DeniedParty { get; init; } = DeniedPartyStatus.Clear;

    public string EffectiveControllingCountry => ControllingCountry ?? Country;

    /// <summary>The tier policy sees at <paramref name="now"/>: an expired verification counts as unverified.</summary>
    public VettingTier EffectiveTier(DateTimeOffset now) =>
        VerificationExpiresAt is { } expires && expires <= now ? VettingTier.Unverified : Tier;

    /// <summary>Refused while a denied-party match is pending review or confirmed.</summary>
    public bool IsDeniedParty => DeniedParty is DeniedPartyStatus.Pending or DeniedPartyStatus.Confirmed;
}

/// <summary>An API key of a tenant. Only <see cref="Hash"/> identifies the secret; <see cref="Prefix"/> is shown to support staff.</summary>
public sealed record ApiKey(
    string Id,
    string TenantId,
    string Prefix,
    string Hash,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt = null,
    DateTimeOffset? RevokedAt = null,
    string? Name = null,
    DateTimeOffset? ExpiresAt = null)
{
    public bool IsRevoked => RevokedAt is not null;

    /// <summary>Whether the key has stopped working by itself at <paramref name="now"/>: it was issued to expire, and it has.</summary>
    public bool HasExpired(DateTimeOffset now) => ExpiresAt is { } expires && now >= expires;
}
