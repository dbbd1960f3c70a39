using BenchmarkDotNet.Attributes;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Storage;

namespace Corridor.Benchmarks.Authentication;

/// <summary>
/// Authenticating a secret against the in-memory key cache (<see cref="KeyCache.Authenticate(ReadOnlySpan{char}, out AuthenticatedKey?)"/>): SHA-256 of
/// the secret, a frozen-dictionary lookup by hash, and the last-used stamp. The cache is loaded, as at
/// start-up, from a real SQLite store holding <see cref="KeyCount"/> keys of 500 tenants; and the same key again on a
/// connection that used it last (<see cref="ConnectionKeyMemo"/>).
/// </summary>
[MemoryDiagnoser]
public class KeyCacheBenchmarks : IDisposable
{
    private KeyCache _cache = null!;
    private ICorridorStore _store = null!;
    private string _directory = "";
    private string _valid = "";
    private string _unknown = "";
    private readonly ConnectionKeyMemo _memo = new();

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
        _directory = Path.Combine(Path.GetTempPath(), "corridor-bench-" + Guid.NewGuid().ToString("N"));
        _store = CorridorStores.OpenAsync(new StorageOptions(Path.Combine(_directory, "corridor.db")), CancellationToken.None).GetAwaiter().GetResult();
        foreach (var tenant in tenants)
        {
            _store.AddTenantAsync(tenant, CancellationToken.None).GetAwaiter().GetResult();
        }
        foreach (var key in keys)
        {
            _store.AddKeyAsync(key, CancellationToken.None).GetAwaiter().GetResult();
        }
        _cache = new KeyCache(_store, TimeProvider.System);
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
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
        GC.SuppressFinalize(this);
    }

    [Benchmark(Baseline = true)]
    public int ValidKey() => (int)_cache.Authenticate(_valid, out _);

    [Benchmark]
    public int UnknownKey() => (int)_cache.Authenticate(_unknown, out _);

    /// <summary>A valid key again on the connection that sent it last (its memo): compared, not hashed.</summary>
    [Benchmark]
    public int ValidKeyOnItsConnection() => (int)_cache.Authenticate(_valid, _memo, out _);
}
