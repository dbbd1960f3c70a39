using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>OpenAI carries tool-call arguments as a JSON text in a string; Anthropic carries a JSON object.</summary>
internal static class ToolArguments
{
    /// <summary>
    /// Checks that OpenAI <c>arguments</c> hold a JSON object and returns that text for writing raw
    /// (empty arguments, as some servers send for parameterless tools, read as <c>{}</c>).
    /// </summary>
    public static bool TryGetObjectJson(string? arguments, out string objectJson)
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

    /// <summary>Writes <c>"input": {…}</c> from arguments already checked by <see cref="TryGetObjectJson"/>.</summary>
    public static void WriteInput(Utf8JsonWriter writer, string objectJson)
    {
        writer.WritePropertyName("input");
        writer.WriteRawValue(objectJson, skipInputValidation: true);
    }

    /// <summary>Anthropic <c>input</c> → OpenAI <c>arguments</c> text.</summary>
    public static string FromInput(JsonElement input) => Json.ToCompactString(input);
}
