using System.Buffers;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>OpenAI carries tool-call arguments as a JSON text in a string; Anthropic carries a JSON object.</summary>
internal static class ToolArguments
{
    /// <summary>
    /// The key under which Anthropic's documentation has a client hand invalid tool input back to the model as an
    /// object: <c>{"INVALID_JSON": "&lt;the text&gt;"}</c>. Corridor uses it for arguments an upstream sent that are not a
    /// JSON object, so the client has the answer, the text intact, and input that is an object as Anthropic promises.
    /// </summary>
    public const string InvalidJsonKey = "INVALID_JSON";

    /// <summary>The ledger's code for an answer whose tool-call arguments were not a JSON object and reached the client wrapped.</summary>
    public const string NotJsonCode = "upstream_tool_arguments_not_json";

    /// <summary>
    /// Checks that OpenAI <c>arguments</c> hold a JSON object and returns that text for writing raw
    /// (empty arguments, as some servers send for parameterless tools, read as <c>{}</c>).
    /// </summary>
    private static bool TryGetObjectJson(string? arguments, out string objectJson)
    {
        objectJson = "{}";
        if (string.IsNullOrWhiteSpace(arguments))
        {
            return true;
        }
        if (!Json.TryParse(arguments, out var document))
        {
            return false;
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return false;
            }
        }
        objectJson = arguments;
        return true;
    }

    /// <summary>
    /// OpenAI <c>arguments</c> as the JSON text of an Anthropic <c>input</c> object: the arguments when they hold one
    /// (<c>{}</c> when empty), else <c>{"INVALID_JSON": "&lt;the arguments&gt;"}</c>. Returns false when it had to wrap them.
    /// A model may write arguments that are not JSON (OpenAI's own API passes them on as written and tells clients to
    /// validate them; a stream cut by <c>max_tokens</c> ends mid-object); refusing the answer would leave the client with
    /// nothing for work it is billed for.
    /// </summary>
    public static bool ToInputJson(string? arguments, out string objectJson)
    {
        if (TryGetObjectJson(arguments, out objectJson))
        {
            return true;
        }
        var buffer = new ArrayBufferWriter<byte>(arguments!.Length + 20);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString(InvalidJsonKey, arguments);
            writer.WriteEndObject();
        }
        objectJson = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        return false;
    }

    /// <summary>Writes <c>"input": {…}</c> from the object text <see cref="ToInputJson"/> gave.</summary>
    public static void WriteInput(Utf8JsonWriter writer, string objectJson)
    {
        writer.WritePropertyName("input");
        writer.WriteRawValue(objectJson, skipInputValidation: true);
    }

    /// <summary>Anthropic <c>input</c> → OpenAI <c>arguments</c> text.</summary>
    public static string FromInput(JsonElement input) => Json.ToCompactString(input);
}
