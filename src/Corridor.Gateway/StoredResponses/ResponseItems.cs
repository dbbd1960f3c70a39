using System.Buffers;
using System.Text;
using System.Text.Json;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.StoredResponses;

/// <summary>
/// The input items of stored responses, as JSON: what a kept response lists (<c>…/input_items</c>), those of the response
/// it continued (<c>previous_response_id</c>) first.
/// </summary>
internal static class ResponseItems
{
    /// <summary>Items nest as deeply as the front door accepted them.</summary>
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = Json.MaxDepth };

    /// <summary>
    /// The input items a kept response lists, a JSON array: the continued response's (<see cref="ResponsesContext.Earlier"/>,
    /// joined as they were read, not parsed again), then the request's own <c>input</c> as items OpenAI lists: each with an
    /// <c>id</c> (one made of the response's when it came without), a <c>type</c>, and a message's text as content parts.
    /// </summary>
    public static string Stored(ResponsesContext responses)
    {
        using var input = JsonDocument.Parse(responses.Input, Options);
        var buffer = new ArrayBufferWriter<byte>(responses.Input.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartArray();
            var digits = responses.ResponseId["resp_".Length..];
            if (input.RootElement.ValueKind == JsonValueKind.String)
            {
                WriteMessage(writer, $"msg_{digits}_in0", "user", input.RootElement);
            }
            else
            {
                var index = 0;
                foreach (var item in input.RootElement.EnumerateArray())
                {
                    WriteItem(writer, item, digits, index++);
                }
            }
            writer.WriteEndArray();
        }
        var own = Encoding.UTF8.GetString(buffer.WrittenSpan);
        return responses.Earlier is { Length: > 0 } earlier ? Join([.. earlier, own]) : own;
    }

    /// <summary>
    /// JSON arrays joined into one, in order, as text: their elements between their brackets, comma-separated. Each is an
    /// array as written or as the store gave it back (the translation of the request parsed the earlier ones once).
    /// </summary>
    internal static string Join(ReadOnlySpan<string> arrays)
    {
        var joined = new StringBuilder("[");
        foreach (var array in arrays)
        {
            var elements = array.AsSpan().Trim()[1..^1].Trim();
            if (elements.IsEmpty)
            {
                continue;
            }
            if (joined.Length > 1)
            {
                joined.Append(',');
            }
            joined.Append(elements);
        }
        return joined.Append(']').ToString();
    }

    /// <summary>One input item as listed: its properties as sent, an id and type added where it had none, a message's text as a part.</summary>
    private static void WriteItem(Utf8JsonWriter writer, JsonElement item, string digits, int index)
    {
        var type = item.StringOrNull("type") ?? "message";
        var id = item.StringOrNull("id") ?? $"{Prefix(type)}_{digits}_in{index}";
        if (type == "message" && item.TryGet("content", out var content) && content.ValueKind == JsonValueKind.String)
        {
            WriteMessage(writer, id, item.StringOrNull("role") ?? "user", content);
            return;
        }
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("type", type);
        foreach (var property in item.EnumerateObject())
        {
            if (!property.NameEquals("id") && !property.NameEquals("type"))
            {
                property.WriteTo(writer);
            }
        }
        writer.WriteEndObject();
    }

    /// <summary>A message whose content was a string: one text part, an assistant's <c>output_text</c>, any other's <c>input_text</c>.</summary>
    private static void WriteMessage(Utf8JsonWriter writer, string id, string role, JsonElement text)
    {
        writer.WriteStartObject();
        writer.WriteString("id", id);
        writer.WriteString("type", "message");
        writer.WriteString("status", "completed");
        writer.WriteString("role", role);
        writer.WriteStartArray("content");
        writer.WriteStartObject();
        var assistant = role == "assistant";
        writer.WriteString("type", assistant ? "output_text" : "input_text");
        writer.WritePropertyName("text");
        text.WriteTo(writer);
        if (assistant)
        {
            writer.WriteStartArray("annotations");
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>The prefix of an item id OpenAI's ids of that type carry.</summary>
    private static string Prefix(string type) => type switch
    {
        "message" => "msg",
        "function_call" => "fc",
        "function_call_output" => "fco",
        "reasoning" => "rs",
        _ => "item",
    };
}
