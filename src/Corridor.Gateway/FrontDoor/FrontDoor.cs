using System.Buffers;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.FrontDoor;

/// <summary>Reads the client's body into a pooled buffer, within the size limit, and parses it.</summary>
internal sealed class FrontDoor(ServerOptions server)
{
    public async ValueTask<GatewayError?> ReadAsync(HttpContext context, CorridorRequestFeature call)
    {
        var limit = server.MaxRequestBodyBytes;
        var declared = context.Request.ContentLength;
        if (declared > limit)
        {
            return TooLarge(limit);
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(declared ?? 4096, limit) + 1);
        var length = 0;
        try
        {
            var body = context.Request.Body;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > limit)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        return TooLarge(limit);
                    }
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, limit + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = await body.ReadAsync(buffer.AsMemory(length), context.RequestAborted);
                if (read == 0)
                {
                    break;
                }
                length += read;
            }
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException or OperationCanceledException)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return e switch
            {
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TooLarge(limit),
                // Kestrel's minimum body data rate: the client sent its body too slowly.
                BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } =>
                    GatewayError.Invalid("The request body arrived too slowly.") with { Code = "request_timeout", StatusOverride = StatusCodes.Status408RequestTimeout },
                _ => GatewayError.Invalid("The request body could not be read."),
            };
        }
        if (length > limit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return TooLarge(limit);
        }
        call.Request = new ClientRequest(buffer, length);
        return RequestParser.Parse(call.Request, call.Operation);
    }

    private static GatewayError TooLarge(long limit) =>
        new(ErrorKind.RequestTooLarge, $"The request body is larger than the limit of {limit} bytes.", "request_too_large");
}
