using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>One element of a content array, with its type and its parameter path for error messages.</summary>
internal readonly record struct ContentPart(JsonElement Element, string Type, string Param);

/// <summary>
/// Both dialects spell message content as a string or an array of objects tagged by <c>"type"</c>
/// (OpenAI calls them content parts, Anthropic content blocks).
/// </summary>
internal static class MessageContent
{
    /// <summary>Checks the shape: <paramref name="text"/> is set for string content, <paramref name="parts"/> lists the array's elements otherwise.</summary>
    public static Problem? Read(JsonElement content, string param, string noun, out string? text, out List<ContentPart> parts)
    {
        text = null;
        parts = [];
        if (content.ValueKind == JsonValueKind.String)
        {
            text = content.GetString();
            return null;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return Problem.WrongType(param, $"a string or an array of content {noun}s");
        }
        var index = 0;
        foreach (var element in content.EnumerateArray())
        {
            var partParam = $"{param}[{index++}]";
            if (element.ValueKind != JsonValueKind.Object || element.RequiredString("type", $"{partParam}.type", out var type) is not null)
            {
                return Problem.WrongType(partParam, $"a content {noun} object with a 'type'");
            }
            parts.Add(new ContentPart(element, type, partParam));
        }
        return null;
    }

    /// <summary>
    /// Reads content that may only hold text (system prompts, tool results, OpenAI assistant messages). A
    /// <c>refusal</c> part, whose text is in its <c>refusal</c> field, exists only in OpenAI assistant messages.
    /// </summary>
    public static Problem? ReadTexts(JsonElement content, string param, string noun, List<string> texts, bool acceptRefusal = false)
    {
        if (Read(content, param, noun, out var text, out var parts) is { } problem)
        {
            return problem;
        }
        if (text is not null)
        {
            texts.Add(text);
            return null;
        }
        foreach (var part in parts)
        {
            if (part.Type != "text" && !(acceptRefusal && part.Type == "refusal"))
            {
                return Problem.Unsupported($"{part.Param}.type", $"Content {noun} type '{part.Type}' here");
            }
            if (part.Element.RequiredString(part.Type, $"{part.Param}.{part.Type}", out var partText) is { } textProblem)
            {
                return textProblem;
            }
            texts.Add(partText);
        }
        return null;
    }

    /// <summary>
    /// The reasoning an OpenAI-kind answer's message or streamed delta gives as text: DeepSeek's <c>reasoning_content</c>
    /// (what the Claude translation writes too), else vLLM's <c>reasoning</c>. Null when there is none.
    /// </summary>
    public static string? ReasoningText(JsonElement message) =>
        message.StringOrNull("reasoning_content") is { Length: > 0 } reasoning ? reasoning
        : message.StringOrNull("reasoning") is { Length: > 0 } vllm ? vllm
        : null;

    /// <summary>
    /// The text of an OpenAI-kind answer's message or streamed delta, for an Anthropic client: its <c>content</c> as a
    /// string, or the text of its content parts (some OpenAI-compatible servers answer with an array of parts; parts of
    /// other types are left out), else its <c>refusal</c>. Null when there is none.
    /// </summary>
    public static string? AnswerText(JsonElement message)
    {
        if (!message.TryGet("content", out var content) || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return message.StringOrNull("refusal") is { Length: > 0 } refusal ? refusal : null;
        }
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString() is { Length: > 0 } text ? text : message.StringOrNull("refusal");
        }
        string? joined = null;
        foreach (var part in content.EnumerateArray())
        {
            var type = part.ValueKind == JsonValueKind.Object ? part.StringOrNull("type") : null;
            if (type is "text" or "refusal" && part.StringOrNull(type) is { Length: > 0 } partText)
            {
                joined = joined is null ? partText : string.Concat(joined, partText);
            }
        }
        return joined ?? message.StringOrNull("refusal");
    }
}
