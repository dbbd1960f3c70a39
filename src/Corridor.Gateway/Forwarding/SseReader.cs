using System.Buffers;
using System.IO.Pipelines;

namespace Corridor.Gateway.Forwarding;

/// <summary>One server-sent event: its optional name and its data (several data lines joined by '\n').</summary>
internal readonly ref struct SseEvent(ReadOnlySpan<byte> name, ReadOnlySpan<byte> data)
{
    public ReadOnlySpan<byte> Name { get; } = name;

    public ReadOnlySpan<byte> Data { get; } = data;

    public bool IsDone => Data.SequenceEqual("[DONE]"u8);
}

/// <summary>
/// Splits an upstream's text/event-stream into events as bytes arrive. Lines end in LF or CRLF;
/// comments and fields other than <c>event</c> and <c>data</c> are ignored.
/// </summary>
internal sealed class SseReader
{
    private const int MaxEventBytes = 16 * 1024 * 1024;
    private readonly ArrayBufferWriter<byte> _name = new(32);
    private readonly ArrayBufferWriter<byte> _data = new(4096);
    private bool _hasData;

    public delegate void EventHandler(in SseEvent sseEvent);

    /// <summary>
    /// Consumes every complete line in <paramref name="buffer"/>, raising <paramref name="onEvent"/> per event,
    /// and returns where unread input starts. Returns false when an event grows beyond any sane size.
    /// </summary>
    public bool Consume(ref ReadOnlySequence<byte> buffer, EventHandler onEvent)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (reader.TryReadTo(out ReadOnlySequence<byte> line, (byte)'\n'))
        {
            var span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
            if (span.Length > 0 && span[^1] == (byte)'\r')
            {
                span = span[..^1];
            }
            if (span.Length == 0)
            {
                Dispatch(onEvent);
                continue;
            }
            if (span.StartsWith("data:"u8))
            {
                if (_hasData)
                {
                    _data.Write("\n"u8);
                }
                _data.Write(TrimOneSpace(span[5..]));
                _hasData = true;
                if (_data.WrittenCount > MaxEventBytes)
                {
                    return false;
                }
            }
            else if (span.StartsWith("event:"u8))
            {
                _name.Clear();
                _name.Write(TrimOneSpace(span[6..]));
            }
        }
        buffer = buffer.Slice(reader.Position);
        return buffer.Length <= MaxEventBytes;
    }

    /// <summary>Dispatches an event left without its closing blank line when the stream ends.</summary>
    public void Flush(EventHandler onEvent) => Dispatch(onEvent);

    private void Dispatch(EventHandler onEvent)
    {
        if (_hasData)
        {
            onEvent(new SseEvent(_name.WrittenSpan, _data.WrittenSpan));
        }
        _name.Clear();
        _data.Clear();
        _hasData = false;
    }

    private static ReadOnlySpan<byte> TrimOneSpace(ReadOnlySpan<byte> value) =>
        value.Length > 0 && value[0] == (byte)' ' ? value[1..] : value;

    /// <summary>
    /// How long a stream whose end marker came (<c>[DONE]</c>, <c>message_stop</c>) is waited for to end: its body's end,
    /// which normally follows at once, lets the connection be pooled; an upstream that leaves the body open after it has
    /// still given a whole answer, which is not held back for the idle timeout.
    /// </summary>
    internal static readonly TimeSpan EndGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Reads events from <paramref name="reader"/> until the stream ends (or <paramref name="stop"/> says the rest is not
    /// wanted), waiting at most <paramref name="idleTimeout"/> for each read; once <paramref name="ended"/> says the
    /// upstream's end marker came, at most <see cref="EndGrace"/>, after which the stream has ended. The time
    /// <paramref name="afterBatch"/> takes (writing the events to a client that reads slowly) is not the upstream's idle time.
    /// </summary>
    public static async Task<SseReadResult> ReadAllAsync(PipeReader reader, EventHandler onEvent, Func<ValueTask> afterBatch, TimeSpan idleTimeout, CancellationToken cancellationToken,
        Func<bool>? stop = null, Func<bool>? ended = null)
    {
        var sse = new SseReader();
        var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                var afterEnd = ended?.Invoke() == true;
                idle.CancelAfter(afterEnd && EndGrace < idleTimeout ? EndGrace : idleTimeout);
                ReadResult result;
                try
                {
                    result = await reader.ReadAsync(idle.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    return afterEnd ? SseReadResult.Ended : SseReadResult.IdleTimeout;
                }
                if (!idle.TryReset())
                {
                    // The timer ran out just as the read completed: the read counts, the next one gets a fresh timer.
                    idle.Dispose();
                    idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                }
                var buffer = result.Buffer;
                var ok = sse.Consume(ref buffer, onEvent);
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (!ok)
                {
                    return SseReadResult.EventTooLarge;
                }
                await afterBatch();
                if (stop?.Invoke() == true)
                {
                    return SseReadResult.Ended;
                }
                if (result.IsCompleted)
                {
                    sse.Flush(onEvent);
                    await afterBatch();
                    return SseReadResult.Ended;
                }
            }
        }
        finally
        {
            idle.Dispose();
        }
    }
}

internal enum SseReadResult
{
    Ended,
    IdleTimeout,
    EventTooLarge,
}
