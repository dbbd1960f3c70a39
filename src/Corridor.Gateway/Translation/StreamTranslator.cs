using System.Buffers;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// What both stream directions share: each upstream event is one JSON value (or OpenAI's <c>[DONE]</c>); an
/// unreadable event or an upstream error becomes an error event in the client's dialect, after which nothing more is
/// written. A stream cut before its final event is left for the caller to end (<see cref="OnEndedEarly"/>).
/// </summary>
internal abstract class StreamTranslator : IStreamTranslator
{
    protected SseEventWriter Sse { get; } = new();

    /// <summary>The upstream's usage so far.</summary>
    protected UsageCounts Counts { get; set; }

    public TokenUsage Usage => Counts.ToTokenUsage();

    public bool Completed { get; protected set; }

    public string? Anomaly { get; protected set; }

    public string? FailureCode { get; private set; }

    public bool Failed { get; private set; }

    /// <summary>
    /// An event with a string that cannot be decoded is found out only while it is translated, once the caller has chosen
    /// where the event's output goes; its error event is written by <see cref="OnEnd"/>, which the caller gives the sink
    /// it holds a stream's last event in.
    /// </summary>
    private bool _undecodableEvent;

    public void OnEvent(string? eventName, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        if (Failed || Completed)
        {
            return;
        }
        if (data.Trim(" \r\n"u8).SequenceEqual("[DONE]"u8))
        {
            OnDone(output);
            return;
        }
        if (!Json.TryParse(data, out var document))
        {
            Fail(output, "api_error", StreamErrors.MalformedEvent, StreamErrors.InvalidResponseCode);
            return;
        }
        using (document)
        {
            try
            {
                OnEvent(eventName, document.RootElement, output);
            }
            catch (InvalidOperationException)
            {
                // A string that cannot be decoded (see Json.Translate). Values are read before an event is begun, so no half
                // event was written; the error event is OnEnd's.
                Failed = true;
                FailureCode = StreamErrors.InvalidResponseCode;
                _undecodableEvent = true;
            }
        }
    }

    public void OnEnd(IBufferWriter<byte> output)
    {
        if (_undecodableEvent)
        {
            _undecodableEvent = false;
            WriteError(output, "api_error", StreamErrors.MalformedEvent);
        }
        else if (!Failed && !Completed)
        {
            OnEndedEarly(output);
        }
    }

    /// <summary>Translates one upstream event.</summary>
    protected abstract void OnEvent(string? eventName, JsonElement root, IBufferWriter<byte> output);

    /// <summary>OpenAI's terminator; Anthropic streams never send it.</summary>
    protected virtual void OnDone(IBufferWriter<byte> output)
    {
    }

    /// <summary>
    /// The stream ended before its final event. A translator that can still close the answer (its finish came, its end
    /// marker did not) does; otherwise it writes nothing, and the caller ends the client's stream with the error it writes
    /// for any stream cut short, translated or not (<c>upstream_stream_broken</c>, the same in each dialect).
    /// </summary>
    protected virtual void OnEndedEarly(IBufferWriter<byte> output)
    {
    }

    /// <summary>
    /// The upstream's own error event ends the stream: it reaches the client in its dialect, with the upstream's type and
    /// message, and the ledger row says the upstream sent it. The caller holds it as the stream's last event.
    /// </summary>
    protected void FailWithUpstreamError(JsonElement root, IBufferWriter<byte> output)
    {
        var (type, message) = StreamErrors.Read(root);
        Fail(output, type, message, StreamErrors.CodeFor(type));
    }

    /// <summary>Writes an error event in the client's dialect and stops translating; <paramref name="code"/> says why, for the ledger.</summary>
    public void Fail(IBufferWriter<byte> output, string type, string message, string? code = null)
    {
        Failed = true;
        FailureCode = code;
        WriteError(output, type, message);
    }

    protected abstract void WriteError(IBufferWriter<byte> output, string type, string message);
}
