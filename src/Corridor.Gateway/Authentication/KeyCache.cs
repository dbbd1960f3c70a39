using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Corridor.Core.Admission;
using Corridor.Core.Tenants;
using Corridor.Gateway.Configuration;
using Corridor.Storage;

namespace Corridor.Gateway.Authentication;

/// <summary>A key that authenticated, with its tenant, and the limits each has of its own.</summary>
internal sealed record AuthenticatedKey(ApiKey Key, Tenant Tenant)
{
    private EffectiveLimits? _effective;

    public Limits TenantLimits { get; init; } = Limits.None;

    public Limits KeyLimits { get; init; } = Limits.None;

    /// <summary>
    /// The tenant's and the key's limits with the configured defaults filled in. Worked out once per key and set of
    /// defaults (a reload brings new ones), not per request.
    /// </summary>
    public EffectiveLimits Effective(AdmissionOptions options)
    {
        var effective = _effective;
        if (effective is null || !ReferenceEquals(effective.Options, options))
        {
            _effective = effective = new EffectiveLimits(options, TenantLimits.Or(options.TenantDefaults), KeyLimits.Or(options.KeyDefaults));
        }
        return effective;
    }
}

/// <summary>The limits that apply to a tenant and a key under one configuration.</summary>
internal sealed record EffectiveLimits(AdmissionOptions Options, Limits Tenant, Limits Key)
{
    public bool HasBudgets => Tenant.HasBudgets || Key.HasBudgets;

    public bool HasTokenLimit => Tenant.TokensPerMinute is not null || Key.TokensPerMinute is not null;

    public bool HasRateLimits => Tenant.HasRateLimits || Key.HasRateLimits;
}

internal enum AuthenticationResult
{
    Authenticated,
    Missing,
    Unknown,
    Revoked,

    /// <summary>The key was issued to stop working at a time (<see cref="Corridor.Core.Tenants.ApiKey.ExpiresAt"/>), now past.</summary>
    Expired,
}

/// <summary>
/// Every key by hash, in memory, so authentication never touches the store. The snapshot is swapped
/// whole: at once after an admin-API change in this process, and within one refresh interval after
/// a change made elsewhere (the CLI on the same file), detected by the store's revision.
/// </summary>
internal sealed class KeyCache(ICorridorStore store, TimeProvider time, StorageOptions? storage = null) : IDisposable
{
    private readonly TimeSpan _grace = storage?.UnavailableGrace ?? new StorageOptions().UnavailableGrace;
    private long _reachedAtTicks = time.GetUtcNow().UtcTicks;
    private const int HashChars = 64;
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromSeconds(1);
    private Snapshot _snapshot = Snapshot.Empty;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastUsed = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _reloadGate = new(1, 1);

    public int Count => _snapshot.Keys.Count;

    /// <summary>The store's revision the cache last loaded at: what else follows the store's changes compares against it (StoreSync).</summary>
    public long Revision => _snapshot.Revision;

    /// <summary>
    /// Raised after a reload that found a key refused (revoked, or expired) that the cache held usable before, or did not
    /// hold: work done later on its behalf (a batch) can stop at once rather than at its next look. Handlers must be quick.
    /// </summary>
    public event Action? KeysRefused;

    /// <summary>
    /// True once the store has not answered a refresh for longer than the grace period (<see cref="StorageOptions.UnavailableGrace"/>):
    /// the cached keys may then be stale (a revocation unseen), so the gateway refuses requests instead of serving from them.
    /// </summary>
    public bool IsPastGrace => time.GetUtcNow().UtcTicks - Interlocked.Read(ref _reachedAtTicks) > _grace.Ticks;

    public TimeSpan Grace => _grace;

    public AuthenticationResult Authenticate(ReadOnlySpan<char> secret, out AuthenticatedKey? key) => Authenticate(secret, null, out key);

    /// <summary>
    /// As <see cref="Authenticate(ReadOnlySpan{char}, out AuthenticatedKey?)"/>, remembering on <paramref name="memo"/> (one a
    /// connection) the key the secret was found to be, so that the connection's next request with the same secret is
    /// matched by comparing the secret (in constant time) instead of hashing it. The memo holds only while the cache holds
    /// the same keys: any change to keys or tenants (a revocation among them) makes it stale, and the secret is hashed again.
    /// </summary>
    public AuthenticationResult Authenticate(ReadOnlySpan<char> secret, ConnectionKeyMemo? memo, out AuthenticatedKey? key)
    {
        key = null;
        if (secret.IsEmpty)
        {
            return AuthenticationResult.Missing;
        }
        var snapshot = _snapshot;
        if (memo is null || !memo.TryMatch(snapshot, secret, out var found))
        {
            Span<char> hash = stackalloc char[HashChars];
            if (!ApiKeys.TryHash(secret, hash) || !snapshot.ByHash.TryGetValue(hash, out found))
            {
                return AuthenticationResult.Unknown;
            }
            memo?.Remember(snapshot, secret, found);
        }
        if (found.Key.IsRevoked)
        {
            return AuthenticationResult.Revoked;
        }
        var now = time.GetUtcNow();
        if (found.Key.HasExpired(now))
        {
            return AuthenticationResult.Expired;
        }
        key = found;
        // Stamped at most once a second per key: the store keeps last use to the second's worth of interest, and
        // overwriting on every request allocated a dictionary node and took the key's bucket lock each time, the
        // same lock for every concurrent request of one busy key.
        if (!_lastUsed.TryGetValue(found.Key.Id, out var stamped) || now - stamped >= LastUsedResolution)
        {
            _lastUsed[found.Key.Id] = now;
        }
        return AuthenticationResult.Authenticated;
    }

    /// <summary>
    /// <paramref name="key"/> as the cache holds it now, with its tenant as it is now (screened since, say) and its revocation,
    /// for work done later on a request's behalf (a shadow mirror); null once the key is gone.
    /// </summary>
    public AuthenticatedKey? Current(ApiKey key) => _snapshot.Keys.GetValueOrDefault(key.Hash);

    /// <summary>The key with id <paramref name="keyId"/> as the cache holds it now (<see cref="Current(ApiKey)"/>); null when it holds none.</summary>
    public AuthenticatedKey? Current(string keyId) => _snapshot.ById.GetValueOrDefault(keyId);

    /// <summary>Reloads when the store's revision moved since the last load (or always, when forced).</summary>
    public async Task RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        await _reloadGate.WaitAsync(cancellationToken);
        try
        {
            var revision = await store.GetRevisionAsync(cancellationToken);
            if (!force && revision == _snapshot.Revision)
            {
                Interlocked.Exchange(ref _reachedAtTicks, time.GetUtcNow().UtcTicks);
                return;
            }
            var tenants = (await store.ListTenantsAsync(cancellationToken)).ToDictionary(t => t.Id, StringComparer.Ordinal);
            var keys = await store.ListKeysAsync(null, cancellationToken);
            var limits = (await store.ListLimitsAsync(cancellationToken)).ToDictionary(l => (l.Scope, l.Id), l => l.Limits);
            var byHash = new Dictionary<string, AuthenticatedKey>(StringComparer.Ordinal);
            foreach (var key in keys)
            {
                if (tenants.TryGetValue(key.TenantId, out var tenant))
                {
                    byHash[key.Hash] = new AuthenticatedKey(key, tenant)
                    {
                        TenantLimits = limits.GetValueOrDefault((LimitScope.Tenant, tenant.Id)) ?? Limits.None,
                        KeyLimits = limits.GetValueOrDefault((LimitScope.Key, key.Id)) ?? Limits.None,
                    };
                }
            }
            var previous = _snapshot;
            _snapshot = new Snapshot(revision, byHash.ToFrozenDictionary(StringComparer.Ordinal));
            Interlocked.Exchange(ref _reachedAtTicks, time.GetUtcNow().UtcTicks);
            if (KeysRefused is { } refused && RefusesMore(previous, _snapshot, time.GetUtcNow()))
            {
                refused();
            }
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    /// <summary>Whether <paramref name="next"/> refuses a key that <paramref name="previous"/> did not (usable there, or not held).</summary>
    private static bool RefusesMore(Snapshot previous, Snapshot next, DateTimeOffset now)
    {
        foreach (var (id, key) in next.ById)
        {
            if (Authenticator.Refusal(key.Key, now) is not null
                && (!previous.ById.TryGetValue(id, out var before) || Authenticator.Refusal(before.Key, now) is null))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Writes last-used times gathered since the previous call.</summary>
    public async Task FlushLastUsedAsync(CancellationToken cancellationToken)
    {
        if (_lastUsed.IsEmpty)
        {
            return;
        }
        var batch = new List<KeyValuePair<string, DateTimeOffset>>();
        foreach (var id in _lastUsed.Keys)
        {
            if (_lastUsed.TryRemove(id, out var at))
            {
                batch.Add(new(id, at));
            }
        }
        await store.TouchKeysAsync(batch, cancellationToken);
    }

    public void Dispose() => _reloadGate.Dispose();

    internal sealed class Snapshot
    {
        public static readonly Snapshot Empty = new(-1, FrozenDictionary<string, AuthenticatedKey>.Empty);

        public Snapshot(long revision, FrozenDictionary<string, AuthenticatedKey> keys)
        {
            Revision = revision;
            Keys = keys;
            ByHash = keys.GetAlternateLookup<ReadOnlySpan<char>>();
            ById = keys.Values.ToFrozenDictionary(k => k.Key.Id, StringComparer.Ordinal);
        }

        public long Revision { get; }

        public FrozenDictionary<string, AuthenticatedKey> Keys { get; }

        public FrozenDictionary<string, AuthenticatedKey>.AlternateLookup<ReadOnlySpan<char>> ByHash { get; }

        /// <summary>The same keys by id, for work done on a key's behalf that names it by id (a batch).</summary>
        public FrozenDictionary<string, AuthenticatedKey> ById { get; }
    }
}

/// <summary>
/// The key a connection's last request was authenticated as, with its secret, for <see cref="KeyCache.Authenticate(ReadOnlySpan{char}, ConnectionKeyMemo?, out AuthenticatedKey?)"/>.
/// Kept on an HTTP/1.x connection, whose requests come one at a time. The secret is one the connection sent before, which
/// behind a proxy pooling connections may be another client's: hence the constant-time comparison (docs/security.md).
/// </summary>
internal sealed class ConnectionKeyMemo
{
    private KeyCache.Snapshot? _snapshot;
    private string? _secret;
    private AuthenticatedKey? _key;

    internal bool TryMatch(KeyCache.Snapshot snapshot, ReadOnlySpan<char> secret, [NotNullWhen(true)] out AuthenticatedKey? key)
    {
        key = _key;
        return key is not null && ReferenceEquals(_snapshot, snapshot) &&
            CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(_secret.AsSpan()), MemoryMarshal.AsBytes(secret));
    }

    internal void Remember(KeyCache.Snapshot snapshot, ReadOnlySpan<char> secret, AuthenticatedKey key)
    {
        _secret = secret.ToString();
        _key = key;
        _snapshot = snapshot;
    }
}
