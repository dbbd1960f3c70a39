using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Corridor.Gateway.Translation;

/// <summary>
/// A document sent with a prompt, as both dialects can say it: a PDF (its base64) or plain text, and a title. OpenAI chat
/// says it as a <c>file</c> part (a data URL in <c>file_data</c>, a <c>filename</c>), Anthropic as a <c>document</c> block
/// (a <c>base64</c> or <c>text</c> source, a <c>title</c>).
/// </summary>
internal sealed record Document(bool IsPdf, string Data, string? Title)
{
    public const string PdfMediaType = "application/pdf";
    public const string TextMediaType = "text/plain";

    /// <summary>Writes an Anthropic <c>document</c> block.</summary>
    public void WriteAnthropicBlock(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "document");
        writer.WriteStartObject("source");
        writer.WriteString("type", IsPdf ? "base64" : "text");
        writer.WriteString("media_type", IsPdf ? PdfMediaType : TextMediaType);
        writer.WriteString("data", Data);
        writer.WriteEndObject();
        if (Title is { Length: > 0 } title)
        {
            writer.WriteString("title", title);
        }
        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes an OpenAI chat <c>file</c> part (a PDF's): OpenAI requires a <c>filename</c> beside <c>file_data</c>, so it is
    /// the title (with <c>.pdf</c> added when it does not end so), else <c>document.pdf</c>.
    /// </summary>
    public void WriteOpenAIPart(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "file");
        writer.WriteStartObject("file");
        writer.WriteString("filename", Title is not { Length: > 0 } title ? "document.pdf"
            : title.EndsWith(".pdf", StringComparison.OrdinalIgnoreCase) ? title : title + ".pdf");
        writer.WriteString("file_data", DataUrl.Write(PdfMediaType, Data));
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}

/// <summary>One part of an OpenAI chat user message: text, an image, or a PDF file.</summary>
internal readonly record struct ChatPart(string? Text, ImageRef Image = default, Document? File = null)
{
    /// <summary>An Anthropic <c>text</c> or <c>image</c> block as the chat part that says the same.</summary>
    public static Problem? FromAnthropicBlock(ContentPart block, out ChatPart part)
    {
        if (block.Type == "text")
        {
            var textProblem = block.Element.RequiredString("text", $"{block.Param}.text", out var text);
            part = new ChatPart(text);
            return textProblem;
        }
        block.Element.TryGet("source", out var source);
        var imageProblem = ImageRef.FromAnthropicSource(source, $"{block.Param}.source", out var image);
        part = new ChatPart(null, image);
        return imageProblem;
    }

    public void Write(Utf8JsonWriter writer)
    {
        if (File is { } file)
        {
            file.WriteOpenAIPart(writer);
        }
        else if (Text is null)
        {
            Image.WriteOpenAIPart(writer);
        }
        else
        {
            writer.WriteStartObject();
            writer.WriteString("type", "text");
            writer.WriteString("text", Text);
            writer.WriteEndObject();
        }
    }
}

/// <summary>Reads documents from one dialect's content and writes them in the other's.</summary>
internal static class Documents
{
    /// <summary>
    /// Reads an OpenAI chat <c>file</c> part's <c>file</c> object (<paramref name="param"/> names it): a base64 data URL of a
    /// PDF or of UTF-8 plain text, its filename the document's title. A <c>file_id</c> names a file uploaded to one vendor
    /// (Corridor's own files hold batch input only), which no other vendor can read, and is refused.
    /// </summary>
    public static Problem? FromChatFile(JsonElement part, string param, out Document document)
    {
        document = null!;
        if (!part.TryGet("file", out var file) || file.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType(param, "an object");
        }
        if (file.TryGet("file_id", out _))
        {
            return new Problem($"'{param}.file_id' is not supported for this model: a file id names a file uploaded to one vendor, which its upstream cannot read. Send the file's content in 'file_data' instead.", $"{param}.file_id");
        }
        var dataParam = $"{param}.file_data";
        if (file.RequiredString("file_data", dataParam, out var fileData) is { } dataProblem)
        {
            return dataProblem;
        }
        if (file.OptionalString("filename", $"{param}.filename", out var filename) is { } nameProblem)
        {
            return nameProblem;
        }
        if (!DataUrl.TryRead(fileData, out var mediaType, out var data))
        {
            return new Problem($"'{dataParam}' must be a base64 data URL (data:<media type>;base64,<data>).", dataParam);
        }
        if (mediaType.Equals(Document.PdfMediaType, StringComparison.OrdinalIgnoreCase))
        {
            document = new Document(IsPdf: true, data, filename);
            return null;
        }
        if (!mediaType.Equals(Document.TextMediaType, StringComparison.OrdinalIgnoreCase))
        {
            return new Problem($"A file of media type '{mediaType}' is not supported for this model: its upstream reads PDF ({Document.PdfMediaType}) and plain-text ({Document.TextMediaType}) files.", dataParam);
        }
        if (DecodeText(data) is not { } text)
        {
            return new Problem($"'{dataParam}' must hold valid base64 of UTF-8 text for a {Document.TextMediaType} file.", dataParam);
        }
        document = new Document(IsPdf: false, text, filename);
        return null;
    }

    /// <summary>
    /// Reads an Anthropic <c>document</c> block (<paramref name="param"/> names it) into the chat parts that say it: a
    /// <c>base64</c> PDF a <c>file</c> part (its <c>context</c> a text part before it), a <c>text</c> source a text part, a
    /// <c>content</c> source its text and image parts; the <c>title</c> and <c>context</c> of the last two head them
    /// (<see cref="Heading"/>). A <c>url</c> source would make Corridor fetch an address the client chose, and a <c>file</c>
    /// source names a file uploaded to Anthropic: both are refused, and so are <c>citations</c>, which an OpenAI-kind
    /// model cannot give.
    /// </summary>
    public static Problem? FromAnthropicBlock(JsonElement block, string param, List<ChatPart> parts)
    {
        if (block.TryGet("citations", out var citations) && citations.ValueKind == JsonValueKind.Object
            && citations.TryGet("enabled", out var enabled) && enabled.ValueKind == JsonValueKind.True)
        {
            return new Problem($"'{param}.citations' is not supported for this model: its upstream cannot cite passages of a document.", $"{param}.citations");
        }
        if (block.OptionalString("title", $"{param}.title", out var title) is { } titleProblem)
        {
            return titleProblem;
        }
        if (block.OptionalString("context", $"{param}.context", out var context) is { } contextProblem)
        {
            return contextProblem;
        }
        var sourceParam = $"{param}.source";
        if (!block.TryGet("source", out var source) || source.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType(sourceParam, "an object");
        }
        if (source.RequiredString("type", $"{sourceParam}.type", out var type) is { } typeProblem)
        {
            return typeProblem;
        }
        var heading = Heading(title, context);
        switch (type)
        {
            case "base64":
            {
                if (source.RequiredString("media_type", $"{sourceParam}.media_type", out var mediaType) is { } p1)
                {
                    return p1;
                }
                if (!mediaType.Equals(Document.PdfMediaType, StringComparison.OrdinalIgnoreCase))
                {
                    return new Problem($"A base64 document of media type '{mediaType}' is not supported: send a PDF ({Document.PdfMediaType}), or text in a 'text' source.", $"{sourceParam}.media_type");
                }
                if (source.RequiredString("data", $"{sourceParam}.data", out var data) is { } p2)
                {
                    return p2;
                }
                if (context is { Length: > 0 })
                {
                    parts.Add(new ChatPart(Heading(null, context)));
                }
                parts.Add(new ChatPart(null, File: new Document(IsPdf: true, data, title)));
                return null;
            }
            case "text":
            {
                if (source.RequiredString("data", $"{sourceParam}.data", out var text) is { } p3)
                {
                    return p3;
                }
                parts.Add(new ChatPart(heading is null ? text : $"{heading}\n\n{text}"));
                return null;
            }
            case "content":
                return FromContentSource(source, sourceParam, heading, parts);
            case "url":
                return new Problem("A document given by URL is not supported for this model: Corridor does not fetch addresses for clients. Send its content in a 'base64' or 'text' source.", $"{sourceParam}.type");
            case "file":
                return new Problem("A document given by file id is not supported for this model: the id names a file uploaded to Anthropic, which its upstream cannot read. Send its content in a 'base64' or 'text' source.", $"{sourceParam}.type");
            default:
                return Problem.Unsupported($"{sourceParam}.type", $"Document source type '{type}'");
        }
    }

    /// <summary>A <c>content</c> source: a string, or text and image blocks.</summary>
    private static Problem? FromContentSource(JsonElement source, string param, string? heading, List<ChatPart> parts)
    {
        if (!source.TryGet("content", out var content))
        {
            return Problem.Missing($"{param}.content");
        }
        if (MessageContent.Read(content, $"{param}.content", "block", out var text, out var blocks) is { } shapeProblem)
        {
            return shapeProblem;
        }
        if (heading is not null)
        {
            parts.Add(new ChatPart(heading));
        }
        if (text is not null)
        {
            parts.Add(new ChatPart(text));
            return null;
        }
        foreach (var block in blocks)
        {
            if (block.Type is not ("text" or "image"))
            {
                return Problem.Unsupported($"{block.Param}.type", $"Content block type '{block.Type}' here");
            }
            if (ChatPart.FromAnthropicBlock(block, out var part) is { } problem)
            {
                return problem;
            }
            parts.Add(part);
        }
        return null;
    }

    /// <summary>
    /// What a document's <c>title</c> and <c>context</c> become in a chat prompt, which has no place for them: a line
    /// <c>Document title: …</c> and a line <c>Document context: …</c> before its text; null when it has neither.
    /// </summary>
    private static string? Heading(string? title, string? context) => (title is { Length: > 0 }, context is { Length: > 0 }) switch
    {
        (true, true) => $"Document title: {title}\nDocument context: {context}",
        (true, false) => $"Document title: {title}",
        (false, true) => $"Document context: {context}",
        _ => null,
    };

    /// <summary>The UTF-8 text base64 <paramref name="data"/> holds (a leading byte order mark left out); null when it is not base64 of UTF-8.</summary>
    private static string? DecodeText(string data)
    {
        var bytes = new byte[(data.Length + 3) / 4 * 3];
        if (!Convert.TryFromBase64String(data, bytes, out var written) || !Utf8.IsValid(bytes.AsSpan(0, written)))
        {
            return null;
        }
        var text = bytes.AsSpan(0, written);
        return Encoding.UTF8.GetString(text.StartsWith("\uFEFF"u8) ? text[3..] : text);
    }
}
