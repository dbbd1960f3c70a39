using System.Buffers;
using System.Threading.Channels;
using Corridor.Monitor.Features;

namespace Corridor.Monitor;

/// <summary>
/// Hands finished requests from the request path to the monitor on a background loop: <see cref="TryEnqueue"/> copies
/// the request body into a pooled buffer and never blocks (when the queue is full the observation is dropped and
/// counted), so the monitor can never delay a response. One consumer extracts each request's features
/// (<see cref="FeatureExtractor"/>) and calls <see cref="DistillationMonitor.Observe(in RequestFeatures)"/> in arrival
/// order: the JSON pass and the text scan cost the background loop's CPU, not the request's thread.
/// The loop lets observations gather for <see cref="DefaultGatherInterval"/> after it wakes, so it wakes a few dozen
/// times a second under load instead of once per request: waking a sleeping thread-pool worker for every observation
/// cost more CPU than observing it (bench/README.md).
/// </summary>
public sealed class ObservationPump
{
    /// <summary>How long the loop waits, once woken, for more observations before it works through the queue.</summary>
    public static readonly TimeSpan DefaultGatherInterval = TimeSpan.FromMilliseconds(20);

    private readonly Channel<Observation> _channel;
    private readonly FeaturesHandler _observe;
    private readonly TimeProvider _time;
    private readonly TimeSpan _gather;
    private readonly int _batch;
    private long _dropped;

    /// <param name="monitor">What observes the requests.</param>
    /// <param name="capacity">Observations queued at most; more are dropped and counted.</param>
    /// <param name="time">The clock of the gather interval.</param>
    /// <param name="gatherInterval">How long to let observations gather once woken (<see cref="DefaultGatherInterval"/>); zero observes each at once.</param>
    public ObservationPump(DistillationMonitor monitor, int capacity = 65_536, TimeProvider? time = null, TimeSpan? gatherInterval = null)
        : this(monitor is null ? throw new ArgumentNullException(nameof(monitor)) : monitor.Observe, capacity, time, gatherInterval)
    {
    }

    /// <summary>A pump that hands each request's features to <paramref name="observe"/> (which must not throw) instead of a local monitor.</summary>
    public ObservationPump(FeaturesHandler observe, int capacity = 65_536, TimeProvider? time = null, TimeSpan? gatherInterval = null)
    {
        ArgumentNullException.ThrowIfNull(observe);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _observe = observe;
        _time = time ?? TimeProvider.System;
        _gather = gatherInterval ?? DefaultGatherInterval;
        // A queue a quarter full is worked through at once rather than left to gather (and overflow).
        _batch = Math.Max(1, capacity / 4);
        _channel = Channel.CreateBounded<Observation>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Observations dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Pending => _channel.Reader.Count;

    /// <summary>
    /// Queues one request (its metadata and a copy of its JSON body, which the caller may reuse at once); false (and
    /// counted) when the queue is full or completed.
    /// </summary>
    public bool TryEnqueue(in RequestMetadata metadata, ReadOnlySpan<byte> requestJson)
    {
        var body = Bodies.Rent(requestJson.Length);
        requestJson.CopyTo(body);
        if (_channel.Writer.TryWrite(new Observation(metadata, body, requestJson.Length)))
        {
            return true;
        }

        Bodies.Return(body);
        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Stops accepting observations; <see cref="RunAsync"/> ends once the queue is drained.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>The consumer loop: extracts the features of, and observes, every queued request until completed or cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                if (_gather > TimeSpan.Zero && reader.Count < _batch)
                {
                    await Task.Delay(_gather, _time, cancellationToken);
                }
                while (reader.TryRead(out var observation))
                {
                    try
                    {
                        FeatureExtractor.Extract(observation.Metadata, observation.Body.AsSpan(0, observation.Length), out var features);
                        _observe(features);
                    }
                    finally
                    {
                        Bodies.Return(observation.Body);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: what is still queued is not observed.
        }
    }

    private readonly record struct Observation(RequestMetadata Metadata, byte[] Body, int Length);

    /// <summary>
    /// The bodies' buffers: rented by the request threads, returned by the loop, hundreds at a time after each gather.
    /// The shared pool keeps a few buffers per thread and per core, so those returns overflowed it and dropped the
    /// buffers, and rents everywhere else (the forwarder's among them) found it empty and allocated: about an eighth of
    /// the gateway's allocation at saturation (bench/README.md, "Ninth round"). This pool is shared by all threads alike
    /// (one lock a bucket) and keeps up to a gather's worth of buffers a size; bodies over 8 KiB get a fresh buffer, which
    /// is dropped on return.
    /// </summary>
    private static readonly ArrayPool<byte> Bodies = ArrayPool<byte>.Create(maxArrayLength: 8 * 1024, maxArraysPerBucket: 1024);
}

/// <summary>Takes one request's features (the monitor, or the shipper to the fleet's monitor).</summary>
public delegate void FeaturesHandler(in RequestFeatures features);
