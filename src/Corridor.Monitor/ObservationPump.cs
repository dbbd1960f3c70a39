using System.Threading.Channels;
using Corridor.Monitor.Features;

namespace Corridor.Monitor;

/// <summary>
/// Hands requests' features from the request path to the monitor on a background loop: <see cref="TryEnqueue"/>
/// never blocks (when the queue is full the observation is dropped and counted), so the monitor can never delay a
/// response. One consumer calls <see cref="DistillationMonitor.Observe(in RequestFeatures)"/> in arrival order.
/// </summary>
public sealed class ObservationPump
{
    private readonly Channel<RequestFeatures> _channel;
    private readonly DistillationMonitor _monitor;
    private long _dropped;

    public ObservationPump(DistillationMonitor monitor, int capacity = 65_536)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _monitor = monitor;
        _channel = Channel.CreateBounded<RequestFeatures>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
            SingleWriter = false,
        });
    }

    /// <summary>Observations dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Pending => _channel.Reader.Count;

    /// <summary>Queues one request's features; false (and counted) when the queue is full or completed.</summary>
    public bool TryEnqueue(in RequestFeatures features)
    {
        if (_channel.Writer.TryWrite(features))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Stops accepting observations; <see cref="RunAsync"/> ends once the queue is drained.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>The consumer loop: observes every queued request until completed or cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                while (reader.TryRead(out var features))
                {
                    _monitor.Observe(features);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: what is still queued is not observed.
        }
    }
}
