using System.Buffers;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// Error events inside a stream. Both vendors nest <c>{"type", "message"}</c> under <c>"error"</c>;
/// OpenAI sends it as an unnamed data event, Anthropic as <c>event: error</c>.
/// </summary>
internal static class StreamErrors
{
    public const string MalformedEvent = "The upstream sent an event that could not be read.";
    public const string EndedEarly = "The upstream stream ended before the response was complete.";

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
