namespace Corridor.Testing;

/// <summary>Every await in a test has a timeout: a hung store or host fails the test instead of the run.</summary>
public static class TestTimeouts
{
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    /// <summary>
    /// For a new process (<c>corridor serve</c>) to start serving. A .NET process compiles its code as it starts, a few
    /// seconds of CPU: on a machine loaded many times over its cores (CI beside other work) two replicas starting at once
    /// took longer than <see cref="Default"/>, which bounds waits on a process that is already running.
    /// </summary>
    public static readonly TimeSpan ProcessStart = TimeSpan.FromMinutes(2);

    /// <summary>
    /// For a volume of work a test sets itself (thousands of commits, hundreds of requests through a gateway): seconds of
    /// CPU, which on a machine loaded many times over its cores took longer than <see cref="Default"/>. It bounds a hang;
    /// it times nothing.
    /// </summary>
    public static readonly TimeSpan Bulk = TimeSpan.FromMinutes(3);

    public static Task WithTimeout(this Task task) => task.WaitAsync(Default);

    public static Task<T> WithTimeout<T>(this Task<T> task) => task.WaitAsync(Default);

    public static Task<T> WithTimeout<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Default);

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds; cancelled after <see cref="Default"/>.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition)
    {
        using var timeout = new CancellationTokenSource(Default);
        while (!await condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    /// <summary>Reads a whole async stream, cancelling it after <see cref="Default"/>.</summary>
    public static async Task<List<T>> ToListWithTimeoutAsync<T>(this IAsyncEnumerable<T> source)
    {
        using var timeout = new CancellationTokenSource(Default);
        var items = new List<T>();
        await foreach (var item in source.WithCancellation(timeout.Token))
        {
            items.Add(item);
        }

        return items;
    }
}
