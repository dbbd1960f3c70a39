using Corridor.Gateway.Metering;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Forwarding;

/// <summary>What one upstream stream event means for the request's ledger row.</summary>
internal enum UpstreamStreamEventKind
{
    /// <summary>An event of the answer (metered).</summary>
    Content,

    /// <summary>The upstream's end marker: OpenAI's <c>[DONE]</c>, Anthropic's <c>message_stop</c>.</summary>
    End,

    /// <summary>An event that is not JSON (or holds text that decodes to none): it ends the stream, code <c>upstream_invalid_response</c>.</summary>
    Malformed,

    /// <summary>The upstream's own error event: it ends the stream, with the code <see cref="StreamErrors.TryReadUpstreamError"/> gives.</summary>
    UpstreamError,
}

/// <summary>Reads upstream stream events one way for tenants' requests and shadow mirrors, so their rows say the same.</summary>
internal static class UpstreamStreamEvent
{
    /// <summary>Meters <paramref name="sse"/> into <paramref name="usage"/> and says what it is; <paramref name="errorCode"/> is the ledger's code when it ends the stream.</summary>
    public static UpstreamStreamEventKind Read(in SseEvent sse, UsageMeter usage, bool openAI, out string? errorCode)
    {
        errorCode = null;
        if (sse.IsDone)
        {
            return UpstreamStreamEventKind.End;
        }
        if (!usage.TryScan(sse.Data))
        {
            errorCode = StreamErrors.InvalidResponseCode;
            return UpstreamStreamEventKind.Malformed;
        }
        if (sse.Name.SequenceEqual("message_stop"u8))
        {
            return UpstreamStreamEventKind.End;
        }
        return StreamErrors.TryReadUpstreamError(openAI, sse.Name, sse.Data, out errorCode) ? UpstreamStreamEventKind.UpstreamError : UpstreamStreamEventKind.Content;
    }
}
