using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Corridor.Simulator.Generation;

namespace Corridor.Simulator.Hosting;

/// <summary>What one running simulator shares between requests.</summary>
internal sealed class SimulatorState(SimulatorOptions options, TimeProvider timeProvider)
{
    private long _sequence;

    public SimulatorOptions Options { get; } = options;

    public TimeProvider Time { get; } = timeProvider;

    public RequestCounter Requests { get; } = new();

    public PromptCache PromptCache { get; } = new();

    private long _reasoningPassedBack;

    /// <summary>Chat requests whose history passed a model's reasoning back (an assistant message's <c>reasoning_content</c> or <c>reasoning</c>).</summary>
    public long ReasoningPassedBack => Interlocked.Read(ref _reasoningPassedBack);

    public void CountReasoningPassedBack() => Interlocked.Increment(ref _reasoningPassedBack);

    public void ResetReasoningPassedBack() => Interlocked.Exchange(ref _reasoningPassedBack, 0);

    /// <summary>A number per upstream request: ids and fault draws derive from it.</summary>
    public long NextSequence() => Interlocked.Increment(ref _sequence);
}

/// <summary>Requests received per path, so tests can tell whether (and how often) an upstream was called.</summary>
internal sealed class RequestCounter
{
    // Bounds memory when something sprays random paths at the simulator.
    private const int MaxDistinctPaths = 4096;
    private const string OtherPaths = "(other)";

    private readonly ConcurrentDictionary<string, StrongBox<long>> _counts = new(StringComparer.Ordinal);
    private long _total;

    public void Count(string path)
    {
        Interlocked.Increment(ref _total);
        if (!_counts.TryGetValue(path, out var box))
        {
            var key = _counts.Count < MaxDistinctPaths ? path : OtherPaths;
            box = _counts.GetOrAdd(key, static _ => new StrongBox<long>());
        }

        Interlocked.Increment(ref box.Value);
    }

    public long Total => Interlocked.Read(ref _total);

    public IEnumerable<KeyValuePair<string, long>> Snapshot() =>
        _counts.Select(static pair => KeyValuePair.Create(pair.Key, Interlocked.Read(ref pair.Value.Value)))
            .OrderBy(static pair => pair.Key, StringComparer.Ordinal);

    public void Reset()
    {
        _counts.Clear();
        Interlocked.Exchange(ref _total, 0);
    }
}
