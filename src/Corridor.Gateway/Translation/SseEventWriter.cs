using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// Writes server-sent events whose data is one JSON value, for both dialects: Anthropic names its events
/// ("event: …" line), OpenAI does not. One reusable <see cref="Utf8JsonWriter"/> per stream.
/// </summary>
[SuppressMessage("Design", "CA1001", Justification = "A Utf8JsonWriter over an IBufferWriter holds no pooled or unmanaged resource; Dispose would only flush, which End does.")]
internal sealed class SseEventWriter
{
    private readonly Utf8JsonWriter _json = new(new ArrayBufferWriter<byte>(1), Json.WriterOptions);
    private IBufferWriter<byte>? _output;

    /// <summary>Writes the event header and returns the JSON writer for its data; finish with <see cref="End"/>.</summary>
    public Utf8JsonWriter Begin(IBufferWriter<byte> output, ReadOnlySpan<byte> eventName)
    {
        if (!eventName.IsEmpty)
        {
            output.Write("event: "u8);
            output.Write(eventName);
            output.Write("\n"u8);
        }
        output.Write("data: "u8);
        _json.Reset(output);
        _output = output;
        return _json;
    }

    /// <summary>Commits the JSON data and the blank line ending the event.</summary>
    public void End()
    {
        _json.Flush();
        _output?.Write("\n\n"u8);
        _output = null;
    }

    /// <summary>The OpenAI stream terminator.</summary>
    public static void WriteDone(IBufferWriter<byte> output) => output.Write("data: [DONE]\n\n"u8);
}
