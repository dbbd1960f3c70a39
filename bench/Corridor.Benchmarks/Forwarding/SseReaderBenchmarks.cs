using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Corridor.Gateway.Forwarding;

namespace Corridor.Benchmarks.Forwarding;

/// <summary>
/// Splitting an upstream's text/event-stream into events (<see cref="SseReader.Consume"/>), per event:
/// a read that holds 100 OpenAI chunk events and <c>[DONE]</c>, as one segment and as the 4 KB
/// segments a pipe hands over (events then straddle segments).
/// </summary>
[MemoryDiagnoser]
public class SseReaderBenchmarks
{
    private const int Events = 101;
    private static readonly SseReader.EventHandler _countEvent = OnEvent;
    private static long _dataBytes;
    private ReadOnlySequence<byte> _single;
    private ReadOnlySequence<byte> _segmented;
    private SseReader _reader = new();

    [GlobalSetup]
    public void Setup()
    {
        var text = new StringBuilder();
        for (var i = 0; i < Events - 1; i++)
        {
            text.Append("data: ").Append(Payloads.StreamChunk).Append("\n\n");
        }
        text.Append("data: [DONE]\n\n");
        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        _single = new ReadOnlySequence<byte>(bytes);
        _segmented = Segment.Split(bytes, 4096);
        _reader = new SseReader();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Events)]
    public long SingleSegment()
    {
        var buffer = _single;
        _reader.Consume(ref buffer, _countEvent);
        return buffer.Length;
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public long FourKilobyteSegments()
    {
        var buffer = _segmented;
        _reader.Consume(ref buffer, _countEvent);
        return buffer.Length;
    }

    private static void OnEvent(in SseEvent sse) => _dataBytes += sse.Data.Length;

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        private Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public static ReadOnlySequence<byte> Split(byte[] bytes, int size)
        {
            var first = new Segment(bytes.AsMemory(0, Math.Min(size, bytes.Length)), 0);
            var last = first;
            for (var offset = size; offset < bytes.Length; offset += size)
            {
                var next = new Segment(bytes.AsMemory(offset, Math.Min(size, bytes.Length - offset)), offset);
                last.Next = next;
                last = next;
            }
            return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }
    }
}
