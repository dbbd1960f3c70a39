using Corridor.Core.Metering;
using Corridor.Core.Tenants;

namespace Corridor.Storage;

/// <summary>
/// Everything Corridor persists. The embedded default is one SQLite file; PostgreSQL comes later
/// behind the same interface. Implementations create and migrate their schema in <see cref="MigrateAsync"/>.
/// Times are kept to the millisecond, in UTC.
/// </summary>
public interface ICorridorStore : IAsyncDisposable
{
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A number that changes whenever tenants or keys change, from this process or another one
    /// (the CLI writing to the same file). Caches poll it and reload when it moves.
    /// </summary>
    ValueTask<long> GetRevisionAsync(CancellationToken cancellationToken);

    /// <summary>Throws <see cref="CorridorStoreException"/> (<see cref="StoreError.Duplicate"/>) when the id is taken.</summary>
    Task AddTenantAsync(Tenant tenant, CancellationToken cancellationToken);
    Task<Tenant?> GetTenantAsync(string tenantId, CancellationToken cancellationToken);
    Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken);

    /// <summary>Throws <see cref="CorridorStoreException"/>: <see cref="StoreError.UnknownTenant"/>, or <see cref="StoreError.Duplicate"/> for a taken id or hash.</summary>
    Task AddKeyAsync(ApiKey key, CancellationToken cancellationToken);
    Task<ApiKey?> GetKeyAsync(string keyId, CancellationToken cancellationToken);
    Task<IReadOnlyList<ApiKey>> ListKeysAsync(string? tenantId, CancellationToken cancellationToken);
    /// <summary>Returns false when no such key exists; revoking a revoked key keeps its first revocation time.</summary>
    Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken);
    /// <summary>Records last use, coalesced by the caller (at most one write per key per interval).</summary>
    Task TouchKeysAsync(IReadOnlyCollection<KeyValuePair<string, DateTimeOffset>> lastUsed, CancellationToken cancellationToken);

    /// <summary>Appends a batch in one transaction. Rows whose request id is already stored are ignored, so a retried batch never doubles.</summary>
    Task AppendLedgerAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken);
    /// <summary>Streams rows with <paramref name="from"/> &lt;= time &lt; <paramref name="to"/> (either bound optional), oldest first.</summary>
    IAsyncEnumerable<LedgerEntry> ReadLedgerAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken);
    /// <summary>Totals of billable rows with <paramref name="from"/> &lt;= time &lt; <paramref name="to"/>, ordered by tenant and model.</summary>
    Task<IReadOnlyList<UsageTotal>> GetUsageTotalsAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken);
}

/// <summary>Billable totals for one tenant and model.</summary>
public sealed record UsageTotal(string TenantId, string Model, long Requests, long InputTokens, long OutputTokens, decimal Cost);
