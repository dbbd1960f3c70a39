using System.Buffers;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// A response's final bytes, held back until the request's ledger row is durable (docs/durability.md): a whole answer's
/// body, an error, or the last event(s) of a stream. Steps write here instead of to the response; the pipeline releases
/// it last. The buffer is rented from the shared pool on first write and returned on release.
/// </summary>
internal sealed class HeldResponse : IBufferWriter<byte>
{
    private byte[]? _buffer;
    private int _length;

    public bool IsEmpty => _length == 0;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Advance(bytes.Length);
    }

    public void Advance(int count) => _length += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_length);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_length);
    }

    /// <summary>Writes what is held to the response and flushes it; a client that left only loses its own answer.</summary>
    public async Task ReleaseAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        if (_buffer is null)
        {
            return;
        }
        try
        {
            if (_length > 0 && !cancellationToken.IsCancellationRequested)
            {
                await response.BodyWriter.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
            _length = 0;
        }
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(sizeHint, 1024));
            return;
        }
        if (_buffer.Length - _length >= sizeHint)
        {
            return;
        }
        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + sizeHint));
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }
}
