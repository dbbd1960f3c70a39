using System.Buffers;
using System.Text;

namespace Corridor.Gateway.Translation;

/// <summary>
/// Two translations one after the other: <paramref name="first"/> turns the upstream's events into an intermediate
/// dialect's, which <paramref name="second"/> turns into the client's (an Anthropic upstream's events into chat chunks,
/// into Responses events). The usage is the upstream's, read by the first; the stream is complete when the client's is.
/// </summary>
internal sealed class ChainedStreamTranslator(IStreamTranslator first, IStreamTranslator second) : IStreamTranslator
{
    private readonly ArrayBufferWriter<byte> _between = new(1024);

    public TokenUsage Usage => first.Usage;

    public bool Completed => second.Completed;

    public string? Anomaly => first.Anomaly ?? second.Anomaly;

    public bool Failed => first.Failed || second.Failed;

    public string? FailureCode => first.FailureCode ?? second.FailureCode;

    public void OnEvent(string? eventName, ReadOnlySpan<byte> data, IBufferWriter<byte> output)
    {
        first.OnEvent(eventName, data, _between);
        Pass(output);
    }

    public void OnEnd(IBufferWriter<byte> output)
    {
        first.OnEnd(_between);
        Pass(output);
        second.OnEnd(output);
    }

    public void Fail(IBufferWriter<byte> output, string type, string message, string? code = null) => second.Fail(output, type, message, code);

    /// <summary>Hands the events the first wrote (<c>event: name</c> lines optional, one <c>data:</c> line each) to the second.</summary>
    private void Pass(IBufferWriter<byte> output)
    {
        var events = _between.WrittenSpan;
        while (events.IndexOf("\n\n"u8) is var end and >= 0)
        {
            var sse = events[..end];
            events = events[(end + 2)..];
            string? name = null;
            if (sse.StartsWith("event: "u8))
            {
                var line = sse.IndexOf((byte)'\n');
                name = Encoding.UTF8.GetString(sse[7..line]);
                sse = sse[(line + 1)..];
            }
            second.OnEvent(name, sse.StartsWith("data: "u8) ? sse[6..] : sse, output);
        }
        _between.ResetWrittenCount();
    }
}
