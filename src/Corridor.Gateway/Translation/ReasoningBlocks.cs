using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// How an OpenAI-kind model's reasoning reaches an Anthropic client (docs/translation.md): a <c>thinking</c> block with
/// its text and Corridor's signature when the client asked for thinking (<paramref name="Shown"/>), else a
/// <c>redacted_thinking</c> block whose <c>data</c> is the reasoning sealed, which the client cannot read but sends back
/// as it does Anthropic's. Either way the client returns it in the assistant turn of a tool loop, and
/// <see cref="Read"/> turns it back into the reasoning DeepSeek wants.
/// </summary>
internal readonly record struct ReasoningBlocks(ReasoningSeal Seal, bool Shown)
{
    /// <summary>The content block that carries <paramref name="reasoning"/>, whole.</summary>
    public void WriteBlock(Utf8JsonWriter writer, string reasoning)
    {
        writer.WriteStartObject();
        if (Shown)
        {
            writer.WriteString("type", "thinking");
            writer.WriteString("thinking", reasoning);
            writer.WriteString("signature", Seal.Sign(reasoning));
        }
        else
        {
            WriteRedacted(writer, reasoning);
        }
        writer.WriteEndObject();
    }

    /// <summary>A <c>redacted_thinking</c> block's fields: its type and the sealed reasoning.</summary>
    public void WriteRedacted(Utf8JsonWriter writer, string reasoning)
    {
        writer.WriteString("type", "redacted_thinking");
        writer.WriteString("data", Seal.Seal(reasoning));
    }

    /// <summary>
    /// The reasoning a client's <paramref name="block"/> (of <paramref name="type"/> <c>thinking</c> or
    /// <c>redacted_thinking</c>) carries when Corridor made it with <paramref name="seal"/>'s key; null for any other
    /// (Anthropic's, another key's, or altered).
    /// </summary>
    public static string? Read(JsonElement block, string type, ReasoningSeal seal) => type switch
    {
        "thinking" when block.StringOrNull("thinking") is { } text && seal.Verifies(text, block.StringOrNull("signature")) => text,
        "redacted_thinking" => seal.Open(block.StringOrNull("data")),
        _ => null,
    };

    /// <summary>Whether <paramref name="block"/> says it is Corridor's (its signature or data begins with <see cref="ReasoningSeal.Prefix"/>).</summary>
    public static bool IsCorridors(JsonElement block) => block.StringOrNull("type") switch
    {
        "thinking" => ReasoningSeal.IsCorridors(block.StringOrNull("signature")),
        "redacted_thinking" => ReasoningSeal.IsCorridors(block.StringOrNull("data")),
        _ => false,
    };

    /// <summary>
    /// Whether an Anthropic request may hold a block Corridor made: a cheap look before <see cref="WithoutCorridors"/> (a
    /// signature or data begins with the prefix, right after its opening quote).
    /// </summary>
    public static bool MayCarry(ReadOnlySpan<byte> messagesRequest) => messagesRequest.IndexOf("\"corridor.v1."u8) >= 0;

    /// <summary>
    /// The Anthropic request without the blocks Corridor made, for an Anthropic upstream (an alias's fallback, or a client
    /// that took its history from a DeepSeek model to a Claude one), which refuses a signature it did not make. Claude
    /// thinking with tools wants the assistant turn a request continues (a tool loop: every assistant message since the
    /// last user message that returns no tool result) to begin with its own signed thinking block, and in one thinking mode
    /// throughout: when that turn held one of Corridor's, the request goes without <c>thinking</c>, as a chat client's tool
    /// loop does, at every step of the loop (the next question begins a turn of its own and thinks again). A message that
    /// held nothing but Corridor's blocks is left out whole. Every other property as it was.
    /// </summary>
    public static TranslationResult WithoutCorridors(ReadOnlySpan<byte> messagesRequest)
    {
        var sizeHint = messagesRequest.Length;
        return Json.Translate(messagesRequest, "request body", root =>
        {
            var messages = root.TryGet("messages", out var m) && m.ValueKind == JsonValueKind.Array ? m.EnumerateArray().ToList() : [];
            var turnLosesThinking = false;
            for (var i = messages.Count - 1; i >= 0; i--)
            {
                var role = messages[i].ValueKind == JsonValueKind.Object ? messages[i].StringOrNull("role") : null;
                if (role == "user" && !Blocks(messages[i]).Any(block => block.StringOrNull("type") == "tool_result"))
                {
                    // The question the turn answers: what comes before it is turns of their own.
                    break;
                }
                turnLosesThinking |= role == "assistant" && Blocks(messages[i]).Any(IsCorridors);
            }
            var writer = Json.StartBody(out var buffer, sizeHint);
            using (writer)
            {
                if (root.ValueKind != JsonValueKind.Object)
                {
                    // The front door took only an object; nothing to leave out of anything else.
                    root.WriteTo(writer);
                    return Json.Finish(writer, buffer);
                }
                writer.WriteStartObject();
                foreach (var property in root.EnumerateObject())
                {
                    if (property.NameEquals("thinking") && turnLosesThinking)
                    {
                        continue;
                    }
                    if (!property.NameEquals("messages") || property.Value.ValueKind != JsonValueKind.Array)
                    {
                        property.WriteTo(writer);
                        continue;
                    }
                    writer.WriteStartArray("messages");
                    foreach (var message in property.Value.EnumerateArray())
                    {
                        if (!Blocks(message).Any(IsCorridors))
                        {
                            message.WriteTo(writer);
                            continue;
                        }
                        if (OnlyCorridors(message))
                        {
                            // A turn that was reasoning alone (an answer cut while it reasoned) would be sent empty, which
                            // Anthropic refuses; left out, the turns around it are joined as Anthropic joins consecutive ones.
                            continue;
                        }
                        writer.WriteStartObject();
                        foreach (var field in message.EnumerateObject())
                        {
                            if (!field.NameEquals("content"))
                            {
                                field.WriteTo(writer);
                                continue;
                            }
                            writer.WriteStartArray("content");
                            foreach (var block in field.Value.EnumerateArray())
                            {
                                if (!IsCorridors(block))
                                {
                                    block.WriteTo(writer);
                                }
                            }
                            writer.WriteEndArray();
                        }
                        writer.WriteEndObject();
                    }
                    writer.WriteEndArray();
                }
                writer.WriteEndObject();
                return Json.Finish(writer, buffer);
            }
        });
    }

    /// <summary>Whether every element of a message's content array is a block Corridor made.</summary>
    private static bool OnlyCorridors(JsonElement message) =>
        message.TryGet("content", out var content) && content.EnumerateArray().All(block => block.ValueKind == JsonValueKind.Object && IsCorridors(block));

    /// <summary>A message's content blocks (none for string content or a message that is not an object).</summary>
    private static IEnumerable<JsonElement> Blocks(JsonElement message) =>
        message.ValueKind == JsonValueKind.Object && message.TryGet("content", out var content) && content.ValueKind == JsonValueKind.Array
            ? content.EnumerateArray().Where(block => block.ValueKind == JsonValueKind.Object)
            : [];
}
