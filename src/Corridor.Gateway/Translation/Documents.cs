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
