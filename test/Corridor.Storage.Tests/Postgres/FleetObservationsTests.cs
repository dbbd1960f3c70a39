using Corridor.Storage.Monitoring;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Postgres;

/// <summary>The fleet's observation log (migration 11): replicas ship, exactly one leads at a time, and the leader takes each row once.</summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class FleetObservationsTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;
    private TestDatabase _database = null!;
    private ICorridorStore _a = null!;
    private ICorridorStore _b = null!;

    public async Task InitializeAsync()
    {
        _database = await TestPostgres.CreateDatabaseAsync();
        _a = await CorridorStores.OpenAsync(new StorageOptions(PostgresConnectionString: _database.ConnectionString), None).WithTimeout();
        _b = await CorridorStores.OpenAsync(new StorageOptions(PostgresConnectionString: _database.ConnectionString), None).WithTimeout();
    }

    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task TwoReplicasShip_OneLeadsAtATime_AndTheLeaderTakesEveryObservationOnce()
    {
        var fleetA = FleetObservations.For(_a)!;
        var fleetB = FleetObservations.For(_b)!;
        var t0 = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);
        await Task.WhenAll(
            fleetA.ShipAsync([.. Enumerable.Range(0, 300).Select(i => new FleetObservation(t0.AddMilliseconds(2 * i), [1, (byte)i]))], None),
            fleetB.ShipAsync([.. Enumerable.Range(0, 300).Select(i => new FleetObservation(t0.AddMilliseconds((2 * i) + 1), [2, (byte)i]))], None)).WithTimeout();

        await using var leader = await fleetA.TryLeadAsync(None).WithTimeout();
        Assert.NotNull(leader);
        Assert.Null(await fleetB.TryLeadAsync(None).WithTimeout());

        var first = await leader.TakeAsync(500, None).WithTimeout();
        var rest = await leader.TakeAsync(500, None).WithTimeout();
        Assert.Equal(500, first.Count);
        Assert.Equal(100, rest.Count);
        Assert.Empty(await leader.TakeAsync(500, None).WithTimeout());
        var taken = first.Concat(rest).ToList();
        Assert.Equal(300, taken.Count(o => o.Features[0] == 1));
        Assert.Equal(300, taken.Count(o => o.Features[0] == 2));
        Assert.Equal(600, taken.Select(o => o.At).Distinct().Count());

        // Given up, the leadership goes to the other replica.
        await leader.DisposeAsync();
        await using var next = await fleetB.TryLeadAsync(None).WithTimeout();
        Assert.NotNull(next);
    }

    [Fact]
    public void ASingleProcessStore_HasNoFleetLog()
    {
        using var folder = new TempDirectory();
        Assert.Null(FleetObservations.For(new Corridor.Storage.Sqlite.SqliteStore(folder.File("c.db"))));
    }
}
