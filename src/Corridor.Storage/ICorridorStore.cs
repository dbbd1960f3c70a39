using Corridor.Core.Metering;
using Corridor.Core.Tenants;

namespace Corridor.Storage;

/// <summary>
/// Everything Corridor persists. The embedded default is one SQLite file; PostgreSQL comes later
/// behind the same interface. Implementations create and migrate their schema in <see cref="MigrateAsync"/>.
/// </summary>
public interface ICorridorStore : IAsyncDisposable
{
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A number that changes whenever tenants or keys change, from this process or another one
    /// (the CLI writing to the same file). Caches poll it and reload when it moves.
    /// </summary>
    ValueTask<long> GetRevisionAsync(CancellationToken cancellationToken);

    Task AddTenantAsync(Tenant tenant, CancellationToken cancellationToken);
    Task<Tenant?> GetTenantAsync(string tenantId, CancellationToken cancellationToken);
    Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken);

    Task AddKeyAsync(ApiKey key, CancellationToken cancellationToken);
    Task<IReadOnlyList<ApiKey>> ListKeysAsync(string? tenantId, CancellationToken cancellationToken);
    /// <summary>Returns false when no such key exists; revoking a revoked key keeps its first revocation time.</summary>
    Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken);
    /// <summary>Records last use, coalesced by the caller (at most one write per key per interval).</summary>
    Task TouchKeysAsync(IReadOnlyCollection<KeyValuePair<string, DateTimeOffset>> lastUsed, CancellationToken cancellationToken);

    /// <summary>Appends a batch in one transaction. Rows whose request id is already stored are ignored, so a retried batch never doubles.</summary>
    Task AppendLedgerAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken);
    IAsyncEnumerable<LedgerEntry> ReadLedgerAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken);
    Task<IReadOnlyList<UsageTotal>> GetUsageTotalsAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken);
}

/// <summary>Billable totals for one tenant and model.</summary>
public sealed record UsageTotal(string TenantId, string Model, long Requests, long InputTokens, long OutputTokens, decimal Cost);
