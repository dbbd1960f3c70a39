using System.Buffers;
using System.Text;
using System.Text.Json;
using Corridor.Gateway.Translation;
using Corridor.Storage.Responses;

namespace Corridor.Gateway.StoredResponses;

/// <summary>
/// The input items of stored responses, as JSON: what a kept response lists (<c>…/input_items</c>), and what a request that
/// continues it (<c>previous_response_id</c>) is served with before its own <c>input</c>.
/// </summary>
internal static class ResponseItems
{
    /// <summary>Items nest as deeply as the front door accepted them.</summary>
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = Json.MaxDepth };

    /// <summary>The items a response continuing <paramref name="previous"/> is served with first: its input, then its output.</summary>
    public static string Earlier(StoredResponse previous) => Join([previous.InputItems, previous.OutputItems]);

    /// <summary>
    /// The Responses request <paramref name="body"/> as it is served when it continues a stored response: its <c>input</c> is
    /// <paramref name="earlier"/>'s items, then its own (a string as one user message), and <c>previous_response_id</c> is left
    /// out; every other property as sent (its <c>instructions</c> are its own: the continued response's are not carried).
    /// </summary>
    public static byte[] Continued(ReadOnlySpan<byte> body, string earlier)
    {
        using var request = JsonDocument.Parse(body.ToArray(), Options);
        var buffer = new ArrayBufferWriter<byte>(body.Length + earlier.Length + 64);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var property in request.RootElement.EnumerateObject())
            {
                if (property.NameEquals("previous_response_id"))
                {
                    continue;
                }
                if (!property.NameEquals("input"))
                {
                    property.WriteTo(writer);
                    continue;
                }
                writer.WriteStartArray("input");
                WriteElements(writer, earlier);
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    writer.WriteStartObject();
                    writer.WriteString("role", "user");
                    writer.WritePropertyName("content");
                    property.Value.WriteTo(writer);
                    writer.WriteEndObject();
                }
                else
                {
                    foreach (var item in property.Value.EnumerateArray())
                    {
                        item.WriteTo(writer);
                    }
                }
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The input items a kept response lists, a JSON array: the continued response's (<see cref="ResponsesContext.Earlier"/>),
    /// then the request's own <c>input</c> as items OpenAI lists: each with an <c>id</c> (one made of the response's when it
    /// came without), a <c>type</c>, and a message's text as content parts.
    /// </summary>
    public static string Stored(ResponsesContext responses)
    {
        using var input = JsonDocument.Parse(responses.Input, Options);
        var buffer = new ArrayBufferWriter<byte>(responses.Input.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartArray();
            if (responses.Earlier is { } earlier)
            {
                WriteElements(writer, earlier);
            }
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
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
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

    /// <summary>JSON arrays joined into one, in order.</summary>
    private static string Join(IEnumerable<string> arrays)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartArray();
            foreach (var array in arrays)
            {
                WriteElements(writer, array);
            }
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes the elements of the JSON array <paramref name="array"/>, in order.</summary>
    private static void WriteElements(Utf8JsonWriter writer, string array)
    {
        using var items = JsonDocument.Parse(array, Options);
        foreach (var item in items.RootElement.EnumerateArray())
        {
            item.WriteTo(writer);
        }
    }
}
