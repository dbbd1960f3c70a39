using Corridor.Gateway.Monitoring;
using Corridor.Monitor;
using Corridor.Monitor.Scoring;
using Corridor.Storage;
using Corridor.Storage.Monitoring;
using Corridor.Testing;
using Corridor.Testing.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Monitoring;

/// <summary>
/// A replica of a fleet that does not lead its monitor (its background loops not started): what it enforces follows the
/// enforcement rows the leader writes to the shared PostgreSQL, read at each tick.
/// </summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class FleetFollowerTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task AFollower_TakesAClustersNewMembersFromTheStore_AtTheSameLevelOrAnother()
    {
        await using var database = await TestPostgres.CreateDatabaseAsync();
        await using var store = await CorridorStores.OpenAsync(new StorageOptions(PostgresConnectionString: database.ConnectionString), None).WithTimeout();
        using var follower = new MonitorService(store, MonitorServiceTests.State(), TimeProvider.System, NullLogger<MonitorService>.Instance);
        Assert.True(follower.Fleet);
        Assert.False(follower.Scores);
        var cluster = SubjectRef.Cluster("cl-3");

        // What the leader stores: the cluster at throttle over two keys.
        await Leader(store, "throttle", "key:k1 key:k2");
        await follower.TickAsync(None).WithTimeout();
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Throttle, cluster), follower.Monitor.GetEnforcement("t1", "k1"));
        Assert.Equal(EnforcementLevel.None, follower.Monitor.GetEnforcement("t2", "k9").Level);

        // A tenant is now wholly in the cluster, at the same level: its other keys are throttled too.
        await Leader(store, "throttle", "key:k1 key:k2 tenant:t2");
        await follower.TickAsync(None).WithTimeout();
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Throttle, cluster), follower.Monitor.GetEnforcement("t2", "k9"));

        // Another level with other members: the key that left is released, the one that came is held.
        await Leader(store, "suspend", "key:k1 key:k3");
        await follower.TickAsync(None).WithTimeout();
        Assert.Equal(new EnforcementDecision(EnforcementLevel.Suspend, cluster), follower.Monitor.GetEnforcement("t3", "k3"));
        Assert.Equal(EnforcementLevel.None, follower.Monitor.GetEnforcement("t2", "k2").Level);
        Assert.Equal(EnforcementLevel.None, follower.Monitor.GetEnforcement("t2", "k9").Level);
    }

    private static Task Leader(ICorridorStore store, string level, string members) =>
        store.SetEnforcementAsync(new EnforcementUpdate("cluster:cl-3", null, Pin: false, level, DateTimeOffset.UtcNow, "gateway", null, members), [], None).WithTimeout();
}
