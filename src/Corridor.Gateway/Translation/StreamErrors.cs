using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// Error events inside a stream. Both vendors nest <c>{"type", "message"}</c> under <c>"error"</c>;
/// OpenAI sends it as an unnamed data event, Anthropic as <c>event: error</c>.
/// </summary>
internal static class StreamErrors
{
    public const string MalformedEvent = "The upstream sent an event that could not be read.";

    /// <summary>The ledger's code for a stream that carried an event Corridor could not read (not JSON, or text that decodes to none).</summary>
    public const string InvalidResponseCode = "upstream_invalid_response";

    /// <summary>The ledger's code for a stream the upstream ended with an error event of its own.</summary>
    public const string UpstreamErrorCode = "upstream_stream_error";

    /// <summary>The ledger's code for a stream the upstream ended with <c>overloaded_error</c> (Anthropic's word for no capacity).</summary>
    public const string UpstreamOverloadedCode = "upstream_overloaded";

    /// <summary>The ledger's code for an upstream error event of <paramref name="type"/>.</summary>
    public static string CodeFor(string type) => type == "overloaded_error" ? UpstreamOverloadedCode : UpstreamErrorCode;

    /// <summary>An OpenAI-kind server's error mid-stream: a data event whose object has an <c>error</c> member.</summary>
    public static bool IsOpenAIError(JsonElement root) => root.TryGet("error", out _);

    /// <summary>Anthropic's error mid-stream: <c>event: error</c>, its data's <c>type</c> <c>error</c> (the data's type is authoritative, the name backs it up).</summary>
    public static bool IsAnthropicError(string? eventName, JsonElement root) => (root.StringOrNull("type") ?? eventName) == "error";

    /// <summary>
    /// Whether an upstream event is the upstream's own error, read as the stream translators read it, and the code for the
    /// ledger. Only an event named <c>error</c> or whose data holds <c>"error"</c> is parsed: the others cost one search of their bytes.
    /// </summary>
    public static bool TryReadUpstreamError(bool openAI, ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data, [NotNullWhen(true)] out string? code)
    {
        code = null;
        var namedError = !openAI && eventName.SequenceEqual("error"u8);
        if ((!namedError && data.IndexOf("\"error\""u8) < 0) || !Json.TryParse(data, out var document))
        {
            return false;
        }
        using (document)
        {
            try
            {
                var root = document.RootElement;
                if (openAI ? !IsOpenAIError(root) : !IsAnthropicError(namedError ? "error" : null, root))
                {
                    return false;
                }
                code = CodeFor(Read(root).Type);
                return true;
            }
            catch (InvalidOperationException)
            {
                // A string that cannot be decoded (see Json.Translate): not an error event Corridor can read.
                return false;
            }
        }
    }

    /// <summary>Reads the <c>error</c> object of an upstream error payload (either vendor).</summary>
    public static (string Type, string Message) Read(JsonElement root)
    {
        var error = root.TryGet("error", out var e) && e.ValueKind == JsonValueKind.Object ? e : default;
        return (error.StringOrNull("type") ?? "api_error", error.StringOrNull("message") ?? "The upstream reported an error.");
    }

    public static void WriteOpenAI(SseEventWriter sse, IBufferWriter<byte> output, string type, string message)
    {
        var writer = sse.Begin(output, default);
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        writer.WriteNull("param");
        writer.WriteNull("code");
        writer.WriteEndObject();
        writer.WriteEndObject();
        sse.End();
    }

    public static void WriteAnthropic(SseEventWriter sse, IBufferWriter<byte> output, string type, string message)
    {
        var writer = sse.Begin(output, "error"u8);
        writer.WriteStartObject();
        writer.WriteString("type", "error");
        writer.WriteStartObject("error");
        writer.WriteString("type", ToAnthropicType(type));
        writer.WriteString("message", message);
        writer.WriteEndObject();
        writer.WriteEndObject();
        sse.End();
    }

    /// <summary>Anthropic SDKs switch on a closed set of error types; anything else reads as <c>api_error</c>.</summary>
    private static string ToAnthropicType(string type) => type switch
    {
        "invalid_request_error" or "authentication_error" or "permission_error" or "not_found_error"
            or "rate_limit_error" or "api_error" or "overloaded_error" => type,
        "rate_limit_exceeded" or "insufficient_quota" => "rate_limit_error",
        _ => "api_error",
    };
}
