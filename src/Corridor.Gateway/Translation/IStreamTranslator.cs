using System.Buffers;

namespace Corridor.Gateway.Translation;

/// <summary>Turns one upstream SSE stream into the client's dialect, event by event.</summary>
internal interface IStreamTranslator
{
    /// <summary>
    /// Called for each upstream SSE event (<paramref name="eventName"/> may be null; <paramref name="data"/> is the
    /// event's data payload without the "data: " prefix, e.g. a JSON object or "[DONE]"). Writes zero or more
    /// complete SSE events for the client, each ending in "\n\n".
    /// </summary>
    void OnEvent(string? eventName, ReadOnlySpan<byte> data, IBufferWriter<byte> output);

    /// <summary>
    /// Called once when the upstream stream ended; writes any closing events the client's dialect needs (that were not written
    /// yet). A stream that ended before its answer was complete is left neither <see cref="Completed"/> nor
    /// <see cref="Failed"/>: the caller ends it with its error event, as it ends an untranslated one.
    /// </summary>
    void OnEnd(IBufferWriter<byte> output);

    /// <summary>Usage reported by the upstream so far (zeros until seen).</summary>
    TokenUsage Usage { get; }

    /// <summary>Whether the upstream stream completed properly (final event seen).</summary>
    bool Completed { get; }

    /// <summary>Set when the translation had to change what the upstream said to be valid in the client's dialect: a code for the ledger row.</summary>
    string? Anomaly { get; }

    /// <summary>
    /// Whether the translator has ended the client's stream with an error: nothing after it is translated, so the caller
    /// stops reading. An error found only by translating an event (a string that cannot be decoded) is written by
    /// <see cref="OnEnd"/>, so that the caller can hold it like any stream's last event.
    /// </summary>
    bool Failed { get; }

    /// <summary>
    /// Ends the client's stream with an error event in its dialect, for a reason found outside the translator (the
    /// upstream's error event withheld because it quotes a credential); nothing more is translated. <paramref name="code"/>
    /// says why, for the ledger.
    /// </summary>
    void Fail(IBufferWriter<byte> output, string type, string message, string? code = null);

    /// <summary>Set when the translator ended the stream with an error event for a reason the upstream gave (its own error, an event that could not be read): a code for the ledger row.</summary>
    string? FailureCode { get; }
}
