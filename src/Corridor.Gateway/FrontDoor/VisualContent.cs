using System.Text.Json;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// Whether a conversation gives the model an image or a document to read, which only a model with the <c>vision</c>
/// capability can (docs/forwarding.md). Read from the structure, not from the text: a content part of a message whose
/// <c>type</c> is an image or a document — OpenAI's <c>image_url</c> and <c>file</c>, Anthropic's <c>image</c> and
/// <c>document</c> — or one inside an Anthropic <c>tool_result</c>'s content. A tool's input, a text that talks about
/// images, or any other field is not looked into. The Responses API's parts are read after their translation to chat.
/// </summary>
internal static class VisualContent
{
    /// <summary>Reads the <c>messages</c> array the reader is at to its end; true when a part in it is visual.</summary>
    public static bool Find(ref Utf8JsonReader reader)
    {
        var found = false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                found |= InMessage(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }
        return found;
    }

    /// <summary>The message object the reader is at, read to its end.</summary>
    private static bool InMessage(ref Utf8JsonReader reader)
    {
        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isContent = Is(ref reader, "content"u8);
            reader.Read();
            if (isContent && reader.TokenType == JsonTokenType.StartArray)
            {
                found |= InParts(ref reader, nested: false);
            }
            else
            {
                reader.Skip();
            }
        }
        return found;
    }

    private static bool InParts(ref Utf8JsonReader reader, bool nested)
    {
        var found = false;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (Is(ref reader, "type"u8))
                {
                    reader.Read();
                    found |= reader.TokenType == JsonTokenType.String && IsVisual(ref reader);
                    reader.Skip();
                }
                else if (!nested && Is(ref reader, "content"u8))
                {
                    // A tool result's own content (Anthropic), one level down and no further.
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        found |= InParts(ref reader, nested: true);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        return found;
    }

    private static bool IsVisual(ref Utf8JsonReader reader) =>
        Is(ref reader, "image_url"u8) || Is(ref reader, "image"u8) || Is(ref reader, "file"u8) || Is(ref reader, "document"u8);

    /// <summary>
    /// Whether the name or string the reader is at is <paramref name="text"/>, escapes decoded; false for escapes that
    /// decode to no text (a lone surrogate), which cannot be any of the names looked for.
    /// </summary>
    private static bool Is(ref Utf8JsonReader reader, ReadOnlySpan<byte> text)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan.SequenceEqual(text);
        }
        try
        {
            return reader.ValueTextEquals(text);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
