using Corridor.Core.Buffers;

namespace Corridor.Core.Tests.Buffers;

public sealed class PooledBufferWriterTests
{
    [Fact]
    public void Writes_KeepEveryByteInOrder_AsTheBufferGrowsPastItsInitialCapacity()
    {
        using var writer = new PooledBufferWriter(16);
        var expected = new List<byte>();
        for (var i = 0; i < 300; i++)
        {
            var chunk = Enumerable.Range(i, i % 7 + 1).Select(b => (byte)b).ToArray();
            if (i % 2 == 0)
            {
                writer.Write(chunk);
            }
            else
            {
                chunk.CopyTo(writer.GetSpan(chunk.Length));
                writer.Advance(chunk.Length);
            }
            expected.AddRange(chunk);
        }

        Assert.Equal(expected.Count, writer.WrittenCount);
        Assert.Equal(expected, writer.WrittenSpan.ToArray());
        Assert.Equal(expected, writer.WrittenMemory.ToArray());
    }

    [Fact]
    public void WithoutASizeHint_ThereIsRoomToWrite()
    {
        using var writer = new PooledBufferWriter(1);

        Assert.NotEqual(0, writer.GetSpan().Length);
        writer.Advance(writer.GetMemory().Length);
        Assert.NotEqual(0, writer.GetSpan().Length);
    }

    [Fact]
    public void Dispose_LeavesItEmpty_AndItCanBeWrittenAgain()
    {
        var writer = new PooledBufferWriter();
        Assert.Equal(0, writer.WrittenCount);
        Assert.True(writer.WrittenSpan.IsEmpty);
        writer.Write("first"u8);

        writer.Dispose();
        writer.Dispose();

        Assert.Equal(0, writer.WrittenCount);
        Assert.True(writer.WrittenMemory.IsEmpty);
        writer.Write("second"u8);
        Assert.Equal("second"u8.ToArray(), writer.WrittenSpan.ToArray());
        writer.Dispose();
    }
}
