using BenchmarkDotNet.Attributes;
using Corridor.Core.Metering;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Storage;

namespace Corridor.Benchmarks.Authentication;

/// <summary>
/// Authenticating a secret against the in-memory key cache (<see cref="KeyCache.Authenticate"/>): SHA-256 of
/// the secret, a frozen-dictionary lookup by hash, and the last-used stamp. The cache is loaded, as at
/// start-up, from a store holding <see cref="KeyCount"/> keys of 500 tenants.
/// </summary>
[MemoryDiagnoser]
public class KeyCacheBenchmarks : IDisposable
{
    private KeyCache _cache = null!;
    private string _valid = "";
    private string _unknown = "";

    [Params(5_000)]
    public int KeyCount { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        var tenants = Enumerable.Range(0, 500).Select(i => new Tenant($"tenant-{i:D3}", $"Tenant {i} Pte. Ltd.", "SG", now)).ToList();
        var keys = new List<ApiKey>(KeyCount);
        for (var i = 0; i < KeyCount; i++)
        {
            var issued = ApiKeys.Create(tenants[i % tenants.Count].Id, now);
            keys.Add(issued.Key);
            if (i == KeyCount / 2)
            {
                _valid = issued.Secret;
            }
        }
        _unknown = ApiKeys.NewSecret();
        _cache = new KeyCache(new ListStore(tenants, keys), TimeProvider.System);
        _cache.RefreshAsync(force: true, CancellationToken.None).GetAwaiter().GetResult();
        if (_cache.Authenticate(_valid, out _) != AuthenticationResult.Authenticated || _cache.Count != KeyCount)
        {
            throw new InvalidOperationException("The key cache did not load the keys.");
        }
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _cache.Dispose();
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public int ValidKey() => (int)_cache.Authenticate(_valid, out _);

    [Benchmark]
    public int UnknownKey() => (int)_cache.Authenticate(_unknown, out _);

    /// <summary>Only what the key cache needs of a store: its tenants and keys.</summary>
    private sealed class ListStore(IReadOnlyList<Tenant> tenants, IReadOnlyList<ApiKey> keys) : ICorridorStore
    {
        public Task MigrateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask<long> GetRevisionAsync(CancellationToken cancellationToken) => ValueTask.FromResult(1L);

        public Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken) => Task.FromResult(tenants);

        public Task<IReadOnlyList<ApiKey>> ListKeysAsync(string? tenantId, CancellationToken cancellationToken) => Task.FromResult(keys);

        public Task TouchKeysAsync(IReadOnlyCollection<KeyValuePair<string, DateTimeOffset>> lastUsed, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task AddTenantAsync(Tenant tenant, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<Tenant?> GetTenantAsync(string tenantId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task AddKeyAsync(ApiKey key, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<ApiKey?> GetKeyAsync(string keyId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task AppendLedgerAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken) => throw new NotSupportedException();

        public IAsyncEnumerable<LedgerEntry> ReadLedgerAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<UsageTotal>> GetUsageTotalsAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
