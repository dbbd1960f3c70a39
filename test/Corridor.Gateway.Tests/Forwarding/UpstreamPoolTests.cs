using System.Net.Sockets;
using Corridor.Gateway.Forwarding;

namespace Corridor.Gateway.Tests.Forwarding;

public sealed class UpstreamPoolTests : IDisposable
{
    private static readonly int Me = Environment.CurrentManagedThreadId;
    private readonly List<UpstreamConnection> _made = [];

    [Fact]
    public void AConnectionAtHomeOnTheCallingThread_IsTakenFirst()
    {
        var pool = new UpstreamPool();
        var mine = Connection(home: Me);
        pool.Push(mine);
        pool.Push(Connection(home: Me + 1000));
        pool.Push(Connection(home: 0));

        Assert.True(pool.TryPop(out var taken));

        Assert.Same(mine, taken);
        Assert.Equal(2, pool.Count);
    }

    [Fact]
    public void WithNoneAtHome_AnotherThreadsIdleConnectionIsTaken_RatherThanNone()
    {
        var pool = new UpstreamPool();
        var other = Connection(home: Me + 1000);
        pool.Push(other);

        Assert.True(pool.TryPop(out var taken));

        Assert.Same(other, taken);
        Assert.False(pool.TryPop(out _));
        Assert.Equal(0, pool.Count);
    }

    [Fact]
    public void AtOneHome_TheMostRecentlyUsedIsTakenFirst()
    {
        var pool = new UpstreamPool();
        var older = Connection(home: Me);
        var newer = Connection(home: Me);
        pool.Push(older);
        pool.Push(newer);

        Assert.True(pool.TryPop(out var first));
        Assert.True(pool.TryPop(out var second));

        Assert.Same(newer, first);
        Assert.Same(older, second);
    }

    [Fact]
    public void ConnectionsOfManyThreads_AreAllKept_BeyondTheCapOnHomes()
    {
        var pool = new UpstreamPool();
        var connections = Enumerable.Range(1, 4 * Environment.ProcessorCount + 10).Select(i => Connection(home: Me + 1000 + i)).ToList();
        foreach (var connection in connections)
        {
            pool.Push(connection);
        }

        Assert.Equal(connections.Count, pool.Count);
        Assert.True(pool.Stacks.Count() <= 2 * Environment.ProcessorCount + 1);
        var taken = new List<UpstreamConnection>();
        while (pool.TryPop(out var connection))
        {
            taken.Add(connection);
        }
        Assert.Equal(connections.ToHashSet(), taken.ToHashSet());
    }

    private UpstreamConnection Connection(int home)
    {
        var connection = new UpstreamConnection(new Socket(SocketType.Stream, ProtocolType.Tcp), Stream.Null, _ => { }) { HomeThread = home };
        _made.Add(connection);
        return connection;
    }

    public void Dispose()
    {
        foreach (var connection in _made)
        {
            connection.Dispose();
        }
    }
}
