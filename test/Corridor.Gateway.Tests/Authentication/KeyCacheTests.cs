using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Tests.Recording;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Authentication;

/// <summary>The key cache with a connection's memo: the memo saves the hashing, never a check.</summary>
public sealed class KeyCacheTests : SqliteStoreTestBase
{
    private async Task<(KeyCache Cache, IssuedApiKey First, IssuedApiKey Second)> LoadAsync()
    {
        var now = DateTimeOffset.UtcNow;
        await Store.AddTenantAsync(new Tenant("acme", "Acme Pte. Ltd.", "SG", now), CancellationToken.None).WithTimeout();
        var first = ApiKeys.Create("acme", now);
        var second = ApiKeys.Create("acme", now);
        await Store.AddKeyAsync(first.Key, CancellationToken.None).WithTimeout();
        await Store.AddKeyAsync(second.Key, CancellationToken.None).WithTimeout();
        var cache = new KeyCache(Store, TimeProvider.System);
        await cache.RefreshAsync(force: true, CancellationToken.None).WithTimeout();
        return (cache, first, second);
    }

    [Fact]
    public async Task OnOneConnection_TheSameSecretIsTheSameKey_AndAnotherSecretIsCheckedAfresh()
    {
        var (cache, first, second) = await LoadAsync();
        using var disposeCache = cache;
        var memo = new ConnectionKeyMemo();

        Assert.Equal(AuthenticationResult.Authenticated, cache.Authenticate(first.Secret, memo, out var a));
        Assert.Equal(AuthenticationResult.Authenticated, cache.Authenticate(first.Secret, memo, out var again));
        Assert.Equal(first.Key.Id, a!.Key.Id);
        Assert.Same(a, again);

        // A different secret on the same connection is never taken for the remembered key.
        Assert.Equal(AuthenticationResult.Authenticated, cache.Authenticate(second.Secret, memo, out var b));
        Assert.Equal(second.Key.Id, b!.Key.Id);
        var wrong = first.Secret[..^1] + (first.Secret[^1] == 'a' ? 'b' : 'a');
        Assert.Equal(AuthenticationResult.Unknown, cache.Authenticate(wrong, memo, out var none));
        Assert.Null(none);
        Assert.Equal(AuthenticationResult.Unknown, cache.Authenticate(first.Secret + "x", memo, out _));
        Assert.Equal(AuthenticationResult.Authenticated, cache.Authenticate(second.Secret, memo, out var b2));
        Assert.Same(b, b2);
    }

    [Fact]
    public async Task ARevokedKey_StopsWorkingOnAConnectionThatUsedIt_AsSoonAsTheCacheHasTheChange()
    {
        var (cache, first, _) = await LoadAsync();
        using var disposeCache = cache;
        var memo = new ConnectionKeyMemo();
        Assert.Equal(AuthenticationResult.Authenticated, cache.Authenticate(first.Secret, memo, out _));

        Assert.True(await Store.RevokeKeyAsync(first.Key.Id, DateTimeOffset.UtcNow, CancellationToken.None).WithTimeout());
        await cache.RefreshAsync(force: false, CancellationToken.None).WithTimeout();

        Assert.Equal(AuthenticationResult.Revoked, cache.Authenticate(first.Secret, memo, out var key));
        Assert.Null(key);
    }
}
