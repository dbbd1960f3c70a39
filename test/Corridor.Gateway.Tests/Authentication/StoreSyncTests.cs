using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Recording;
using Corridor.Gateway.Tests.Recording;
using Corridor.Gateway.Translation;
using Corridor.Storage;
using Corridor.Testing;
using Corridor.Testing.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Authentication;

/// <summary>
/// The key cache kept in step with the store: changes made by another writer (the command line, another replica) arrive at
/// the next poll or at once on a shared store's notification, and a store that stops answering (a hung database) rather
/// than refusing. On a fake clock: how soon a change arrives is shown by when the clock is moved, not by how fast this machine is.
/// </summary>
public sealed class StoreSyncTests : SqliteStoreTestBase
{
    /// <summary>What docs/operations.md promises for a store without notifications (SQLite): a change from the command line within half a second.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task AKeyIssuedThroughTheStore_IsTakenAtTheNextPoll_HalfASecondLater()
    {
        await Store.AddTenantAsync(new Tenant("acme", "Acme Pte. Ltd.", "SG", DateTimeOffset.UtcNow), CancellationToken.None).WithTimeout();
        var clock = new FakeClock();
        using var keys = new KeyCache(Store, clock);
        await keys.RefreshAsync(force: true, CancellationToken.None).WithTimeout();
        using var sync = new StoreSync(keys, Store, clock, NullLogger<StoreSync>.Instance);
        await sync.StartAsync(CancellationToken.None).WithTimeout();
        // ExecuteAsync runs on its own (.NET 10's BackgroundService): its first poll is timed once its delay exists.
        await TestTimeouts.UntilAsync(() => Task.FromResult(clock.ActiveTimers > 0));

        var issued = ApiKeys.Create("acme", clock.GetUtcNow());
        await Store.AddKeyAsync(issued.Key, CancellationToken.None).WithTimeout();
        clock.Advance(Poll - TimeSpan.FromMilliseconds(1));
        Assert.Equal(AuthenticationResult.Unknown, keys.Authenticate(issued.Secret, out _));

        clock.Advance(TimeSpan.FromMilliseconds(1));
        await TestTimeouts.UntilAsync(() => Task.FromResult(keys.Authenticate(issued.Secret, out _) == AuthenticationResult.Authenticated));
        await sync.StopAsync(CancellationToken.None).WithTimeout();
    }

    /// <summary>
    /// With PostgreSQL, a key issued and then revoked through another store (another replica, the command line) is taken on
    /// the store's notification: the clock never moves here, so the poll never runs and only the notification can bring it.
    /// </summary>
    [Fact]
    [Trait(TestPostgres.Trait, TestPostgres.Value)]
    public async Task AKeyIssuedAndRevokedThroughAnotherReplica_IsTakenOnTheNotification_WithoutWaitingForThePoll()
    {
        await using var database = await TestPostgres.CreateDatabaseAsync().WithTimeout();
        var shared = new StorageOptions(PostgresConnectionString: database.ConnectionString);
        await using var replica = await CorridorStores.OpenAsync(shared, CancellationToken.None).WithTimeout();
        await using var other = await CorridorStores.OpenAsync(shared, CancellationToken.None).WithTimeout();
        var clock = new FakeClock();
        using var keys = new KeyCache(replica, clock);
        await keys.RefreshAsync(force: true, CancellationToken.None).WithTimeout();
        using var sync = new StoreSync(keys, replica, clock, NullLogger<StoreSync>.Instance);
        await sync.StartAsync(CancellationToken.None).WithTimeout();

        await other.AddTenantAsync(new Tenant("acme", "Acme Pte. Ltd.", "SG", clock.GetUtcNow()), CancellationToken.None).WithTimeout();
        var issued = ApiKeys.Create("acme", clock.GetUtcNow());
        await other.AddKeyAsync(issued.Key, CancellationToken.None).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(keys.Authenticate(issued.Secret, out _) == AuthenticationResult.Authenticated));

        await other.RevokeKeyAsync(issued.Key.Id, clock.GetUtcNow(), CancellationToken.None).WithTimeout();
        await TestTimeouts.UntilAsync(() => Task.FromResult(keys.Authenticate(issued.Secret, out _) == AuthenticationResult.Revoked));
        await sync.StopAsync(CancellationToken.None).WithTimeout();
    }

    /// <summary>
    /// With PostgreSQL, a rotation through another replica (or the command line) is taken up on the store's notification:
    /// the clock never moves here, so the poll never runs and only the notification can bring it.
    /// </summary>
    [Fact]
    [Trait(TestPostgres.Trait, TestPostgres.Value)]
    public async Task AReasoningKeyRotatedThroughAnotherReplica_IsTakenUpOnTheNotification_WithoutWaitingForThePoll()
    {
        await using var database = await TestPostgres.CreateDatabaseAsync().WithTimeout();
        var shared = new StorageOptions(PostgresConnectionString: database.ConnectionString);
        await using var replica = await CorridorStores.OpenAsync(shared, CancellationToken.None).WithTimeout();
        await using var other = await CorridorStores.OpenAsync(shared, CancellationToken.None).WithTimeout();
        var clock = new FakeClock();
        // As a gateway starts: the revision, then the key (made here, by the first to ask, beforehand).
        await replica.GetSecretAsync(GatewaySecrets.ReasoningKey, CancellationToken.None).WithTimeout();
        var revision = await replica.GetRevisionAsync(CancellationToken.None).WithTimeout();
        var seal = ReasoningSeal.FromStoredKey(await replica.GetSecretAsync(GatewaySecrets.ReasoningKey, CancellationToken.None).WithTimeout(), clock, revision)!;
        using var keys = new KeyCache(replica, clock);
        await keys.RefreshAsync(force: true, CancellationToken.None).WithTimeout();
        using var sync = new StoreSync(keys, replica, clock, NullLogger<StoreSync>.Instance, seal: seal);
        await sync.StartAsync(CancellationToken.None).WithTimeout();

        Assert.True(await other.RotateSecretAsync(GatewaySecrets.ReasoningKey, clock.GetUtcNow(), [], CancellationToken.None).WithTimeout());
        var sealedWithTheNewKey = NewKeySeal(await other.GetSecretAsync(GatewaySecrets.ReasoningKey, CancellationToken.None).WithTimeout()).Seal("reasoning");

        await TestTimeouts.UntilAsync(() => Task.FromResult(seal.Open(sealedWithTheNewKey) is not null));
        await sync.StopAsync(CancellationToken.None).WithTimeout();
    }

    /// <summary>A seal of the secret's current key alone.</summary>
    private static ReasoningSeal NewKeySeal(GatewaySecret secret) => ReasoningSeal.FromStoredKey(new GatewaySecret(secret.Value), TimeProvider.System)!;

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
