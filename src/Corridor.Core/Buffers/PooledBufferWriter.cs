using System.Buffers;

namespace Corridor.Core.Buffers;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over arrays rented from the shared pool, so building a body costs no garbage.
/// Nothing is rented until the first write (a writer made for every request costs nothing when it stays empty);
/// <see cref="Dispose"/> returns the array and leaves the writer empty, ready to be written again.
/// The simulator builds bodies with it; the gateway's <c>HeldResponse</c> extends it.
/// </summary>
public class PooledBufferWriter(int initialCapacity = 1024) : IBufferWriter<byte>, IDisposable
{
    // What GetSpan() and GetMemory() without a size hint leave room for at least.
    private const int DefaultSizeHint = 256;

    private byte[]? _buffer;
    private int _written;

    public int WrittenCount => _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Advance(bytes.Length);
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            _written = 0;
            ArrayPool<byte>.Shared.Return(buffer);
        }
        GC.SuppressFinalize(this);
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = sizeHint > 0 ? sizeHint : DefaultSizeHint;
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(sizeHint, initialCapacity));
            return;
        }
        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
