using System.Text.Json;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// Whether a conversation gives the model an image or a document to read, which only a model with the <c>vision</c>
/// capability can (docs/configuration.md). Read from the structure, not from the text: a content part of a message whose
/// <c>type</c> is an image or a document — OpenAI's <c>image_url</c> and <c>file</c>, vLLM's <c>video_url</c>, Anthropic's
/// <c>image</c> and <c>document</c> — or one inside an Anthropic <c>tool_result</c>'s content; an Anthropic document of
/// text alone is not visual. A tool's input, a text that talks about
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
            found |= InPart(ref reader, nested);
        }
        return found;
    }

    /// <summary>
    /// One content part, read to its end: visual when it is an image (or a video), or a document that is not text alone. A
    /// document of text — Anthropic's <c>text</c> source, a <c>content</c> source without images — reaches an OpenAI-kind
    /// model as text (docs/translation.md), which a model that cannot see reads. An OpenAI <c>file</c> part is visual
    /// whatever its data: toward an OpenAI-kind model it is sent as the part it is, which a text-only API refuses.
    /// </summary>
    private static bool InPart(ref Utf8JsonReader reader, bool nested)
    {
        var image = false;
        var document = false;
        var textOnly = false;
        var found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (Is(ref reader, "type"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    image |= Is(ref reader, "image_url"u8) || Is(ref reader, "image"u8) || Is(ref reader, "video_url"u8);
                    document |= Is(ref reader, "file"u8) || Is(ref reader, "document"u8);
                }
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
            else if (Is(ref reader, "source"u8))
            {
                reader.Read();
                (textOnly, var seen) = reader.TokenType == JsonTokenType.StartObject ? InDocumentSource(ref reader) : (false, false);
                found |= seen;
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        return found || image || (document && !textOnly);
    }

    /// <summary>An Anthropic document's <c>source</c>: whether it is text alone, and whether a <c>content</c> source holds an image.</summary>
    private static (bool TextOnly, bool Visual) InDocumentSource(ref Utf8JsonReader reader)
    {
        var textOnly = false;
        var visual = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (Is(ref reader, "type"u8))
            {
                reader.Read();
                textOnly = reader.TokenType == JsonTokenType.String && (Is(ref reader, "text"u8) || Is(ref reader, "content"u8));
                reader.Skip();
            }
            else if (Is(ref reader, "content"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    visual |= InParts(ref reader, nested: true);
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
        return (textOnly, visual);
    }

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
