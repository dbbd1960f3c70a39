using Corridor.Core.Buffers;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// A response's final bytes, held back until the request's ledger row is durable (docs/durability.md): a whole answer's
/// body, an error, or the last event(s) of a stream. Steps write here instead of to the response; the pipeline releases
/// it last. The buffer is rented from the shared pool on first write and returned on release.
/// </summary>
internal sealed class HeldResponse : PooledBufferWriter
{
    public bool IsEmpty => WrittenCount == 0;

    /// <summary>Writes what is held to the response and flushes it; a client that left only loses its own answer.</summary>
    public async Task ReleaseAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        try
        {
            if (!IsEmpty && !cancellationToken.IsCancellationRequested)
            {
                await response.BodyWriter.WriteAsync(WrittenMemory, cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
        }
        finally
        {
            Dispose();
        }
    }
}
