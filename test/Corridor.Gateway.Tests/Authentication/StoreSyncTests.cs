using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Recording;
using Corridor.Gateway.Tests.Recording;
using Corridor.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Authentication;

/// <summary>The key cache's refresh from a store that stops answering (a hung database) rather than refusing.</summary>
public sealed class StoreSyncTests : SqliteStoreTestBase
{
    /// <summary>
    /// Past the grace period requests are refused (fail closed); once the store answers again, the next refresh ends that
    /// within <see cref="StoreDeadline.Timeout"/>, not after a call that has not come back; and a stop while the store does
    /// not answer gives up the last-used times at that deadline instead of waiting for them.
    /// </summary>
    [Fact]
    public async Task WhileTheStoreDoesNotAnswer_RefreshesGiveUpAtTheStoreDeadline_SoTheStoreAnsweringEndsTheRefusals_AndAStopDoesNotWait()
    {
        var now = DateTimeOffset.UtcNow;
        await Store.AddTenantAsync(new Tenant("acme", "Acme Pte. Ltd.", "SG", now), CancellationToken.None).WithTimeout();
        var issued = ApiKeys.Create("acme", now);
        await Store.AddKeyAsync(issued.Key, CancellationToken.None).WithTimeout();
        var clock = new FakeClock();
        var hung = false;
        var store = InterceptedStore.Hanging(Store, _ => Volatile.Read(ref hung));
        using var keys = new KeyCache(store, clock);
        await keys.RefreshAsync(force: true, CancellationToken.None).WithTimeout();
        using var sync = new StoreSync(keys, store, clock, NullLogger<StoreSync>.Instance);
        await sync.StartAsync(CancellationToken.None).WithTimeout();

        Volatile.Write(ref hung, true);
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(keys.IsPastGrace);
        });
        Volatile.Write(ref hung, false);
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(500));
            return Task.FromResult(!keys.IsPastGrace);
        });

        // A key used since the last write of last-used times, then a stop while the store does not answer.
        Assert.Equal(AuthenticationResult.Authenticated, keys.Authenticate(issued.Secret, out _));
        Volatile.Write(ref hung, true);
        var stopping = sync.StopAsync(CancellationToken.None);
        await TestTimeouts.UntilAsync(() =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(stopping.IsCompleted);
        });
        await stopping.WithTimeout();
    }
}
