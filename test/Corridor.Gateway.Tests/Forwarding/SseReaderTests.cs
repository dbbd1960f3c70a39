using System.Buffers;
using System.Text;
using Corridor.Gateway.Forwarding;
using Corridor.Testing;

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

    [Fact]
    public async Task TimeSpentHandingEventsToASlowClient_IsNotTheUpstreamsIdleTime()
    {
        var pipe = new System.IO.Pipelines.Pipe();
        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("data: one\n\n"));
        var events = new List<string>();
        var batches = 0;

        // Each batch takes three idle timeouts to reach the client; the upstream's next event is already there.
        var result = await SseReader.ReadAllAsync(pipe.Reader, (in SseEvent e) => events.Add(Encoding.UTF8.GetString(e.Data)), async () =>
        {
            if (batches++ == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(300));
                await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("data: two\n\n"));
                await pipe.Writer.CompleteAsync();
            }
        }, TimeSpan.FromMilliseconds(100), CancellationToken.None).WaitAsync(TestTimeouts.Default);

        Assert.Equal(SseReadResult.Ended, result);
        Assert.Equal(["one", "two"], events);
    }

    [Fact]
    public async Task AnUpstreamSilentForTheIdleTimeout_EndsTheRead()
    {
        var pipe = new System.IO.Pipelines.Pipe();
        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("data: one\n\n"));

        var result = await SseReader.ReadAllAsync(pipe.Reader, (in SseEvent _) => { }, () => ValueTask.CompletedTask,
            TimeSpan.FromMilliseconds(100), CancellationToken.None).WaitAsync(TestTimeouts.Default);

        Assert.Equal(SseReadResult.IdleTimeout, result);
    }
}
