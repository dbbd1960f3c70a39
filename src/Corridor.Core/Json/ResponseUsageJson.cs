using System.Text.Json;

namespace Corridor.Core.Json;

/// <summary>
/// OpenAI's <c>usage</c> object of the Responses API, which its Batch API uses too: input tokens (of which cached), output
/// tokens (of which reasoning) and their total.
/// </summary>
public static class ResponseUsageJson
{
    public static void Write(Utf8JsonWriter writer, long input, long cached, long output, long reasoning)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject("usage");
        writer.WriteNumber("input_tokens", input);
        writer.WriteStartObject("input_tokens_details");
        writer.WriteNumber("cached_tokens", cached);
        writer.WriteEndObject();
        writer.WriteNumber("output_tokens", output);
        writer.WriteStartObject("output_tokens_details");
        writer.WriteNumber("reasoning_tokens", reasoning);
        writer.WriteEndObject();
        writer.WriteNumber("total_tokens", input + output);
        writer.WriteEndObject();
    }
}
