using System.Buffers;
using System.Text;
using Corridor.Gateway.Forwarding;

namespace Corridor.Gateway.Tests.Forwarding;

public sealed class SseReaderTests
{
    [Fact]
    public void Events_AreSplitAcrossArbitraryChunks_WithNamesAndCrLf()
    {
        const string stream = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: comment\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
        var events = new List<(string Name, string Data)>();
        var reader = new SseReader();
        var pending = Array.Empty<byte>();
        // Feed one byte at a time: the worst case for boundaries.
        foreach (var b in Encoding.UTF8.GetBytes(stream))
        {
            var sequence = new ReadOnlySequence<byte>([.. pending, b]);
            Assert.True(reader.Consume(ref sequence, (in SseEvent e) => events.Add((Encoding.UTF8.GetString(e.Name), Encoding.UTF8.GetString(e.Data)))));
            pending = sequence.ToArray();
        }

        Assert.Equal(
            [("message_start", "{\"a\":1}"), ("", "line1\nline2"), ("", "[DONE]")],
            events);
    }

    [Fact]
    public void LastEvent_WithoutBlankLine_IsFlushedAtEnd()
    {
        var reader = new SseReader();
        var sequence = new ReadOnlySequence<byte>("data: tail\n"u8.ToArray());
        var seen = new List<string>();
        reader.Consume(ref sequence, (in SseEvent e) => seen.Add(Encoding.UTF8.GetString(e.Data)));
        Assert.Empty(seen);

        reader.Flush((in SseEvent e) => seen.Add(Encoding.UTF8.GetString(e.Data)));

        Assert.Equal(["tail"], seen);
    }
}
