using System.Buffers;
using System.Text.Json;

namespace Corridor.Gateway.FrontDoor;

/// <summary>Writes errors in the client's own dialect.</summary>
internal static class ErrorWriter
{
    public static void WriteBody(IBufferWriter<byte> output, Dialect dialect, GatewayError error, string? requestId)
    {
        using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        if (dialect == Dialect.Anthropic)
        {
            json.WriteString("type", "error");
            json.WriteStartObject("error");
            json.WriteString("type", error.AnthropicType);
            json.WriteString("message", error.Message);
            json.WriteEndObject();
            if (requestId is not null)
            {
                json.WriteString("request_id", requestId);
            }
        }
        else
        {
            json.WriteStartObject("error");
            json.WriteString("message", error.Message);
            json.WriteString("type", error.OpenAIType);
            WriteNullable(json, "param", error.Param);
            WriteNullable(json, "code", error.Code);
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>An error in the middle of a stream: the dialect's error event.</summary>
    public static void WriteStreamEvent(IBufferWriter<byte> output, Dialect dialect, GatewayError error, string? requestId)
    {
        output.Write(dialect == Dialect.Anthropic ? "event: error\ndata: "u8 : "data: "u8);
        WriteBody(output, dialect, error, requestId);
        output.Write("\n\n"u8);
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
