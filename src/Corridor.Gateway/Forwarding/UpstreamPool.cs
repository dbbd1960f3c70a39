using System.Collections.Concurrent;

namespace Corridor.Gateway.Forwarding;

/// <summary>
/// The idle keep-alive connections to one upstream endpoint, kept by their home: the thread their answers' reads complete
/// on. With socket completions inline (<c>corridor serve</c>'s default), that is the socket event thread the runtime gave
/// the connection, the same thread that reads and answers the clients it gave the same event loop; so a request rents a
/// connection at home on its own thread first, and is read, forwarded, answered and recorded on one thread and one core,
/// as nginx and Envoy keep an upstream pool per worker. Before, about half of all answers came back on the other event
/// thread, which woke it and carried the request's state to the other core (bench/README.md, thirteenth round).
/// When the calling thread has no idle connection at home, any other idle connection is taken before a new one is made, so
/// the number of connections is what one shared pool would need; a connection's home is only a preference.
/// </summary>
internal sealed class UpstreamPool
{
    // Event threads are one a core; thread-pool threads (completions not inline, shadow requests) come and go, so their
    // homes are capped and the rest share the first, the home of connections whose reads never waited.
    private static readonly int MaxHomes = 2 * Environment.ProcessorCount + 1;

    private readonly Lock _lock = new();
    private volatile Home[] _homes = [new Home(0)];

    /// <summary>Each home's idle connections, most recently used on top.</summary>
    public IEnumerable<ConcurrentStack<UpstreamConnection>> Stacks => _homes.Select(home => home.Idle);

    public int Count => _homes.Sum(home => home.Idle.Count);

    public void Push(UpstreamConnection connection) => HomeOf(connection.HomeThread).Idle.Push(connection);

    /// <summary>An idle connection at home on the calling thread if there is one, else any idle connection.</summary>
    public bool TryPop(out UpstreamConnection connection)
    {
        var homes = _homes;
        var thread = Environment.CurrentManagedThreadId;
        foreach (var home in homes)
        {
            if (home.Thread == thread && home.Idle.TryPop(out connection!))
            {
                return true;
            }
        }
        foreach (var home in homes)
        {
            if (home.Idle.TryPop(out connection!))
            {
                return true;
            }
        }
        connection = null!;
        return false;
    }

    private Home HomeOf(int thread)
    {
        var homes = _homes;
        foreach (var home in homes)
        {
            if (home.Thread == thread)
            {
                return home;
            }
        }
        lock (_lock)
        {
            homes = _homes;
            foreach (var home in homes)
            {
                if (home.Thread == thread)
                {
                    return home;
                }
            }
            if (homes.Length >= MaxHomes)
            {
                return homes[0];
            }
            var added = new Home(thread);
            _homes = [.. homes, added];
            return added;
        }
    }

    private sealed class Home(int thread)
    {
        public int Thread { get; } = thread;

        public ConcurrentStack<UpstreamConnection> Idle { get; } = new();
    }
}
