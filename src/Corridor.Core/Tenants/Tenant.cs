namespace Corridor.Core.Tenants;

/// <summary>A customer account.</summary>
public sealed record Tenant(string Id, string LegalName, string Country, DateTimeOffset CreatedAt);

/// <summary>An API key of a tenant. Only <see cref="Hash"/> identifies the secret; <see cref="Prefix"/> is shown to support staff.</summary>
public sealed record ApiKey(
    string Id,
    string TenantId,
    string Prefix,
    string Hash,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt = null,
    DateTimeOffset? RevokedAt = null,
    string? Name = null)
{
    public bool IsRevoked => RevokedAt is not null;
}
