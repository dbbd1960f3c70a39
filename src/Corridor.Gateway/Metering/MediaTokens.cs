using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;

namespace Corridor.Gateway.Metering;

/// <summary>
/// Estimates of what the inline media of a prompt (images and documents, as base64) cost a model, whose base64 is not
/// text it reads: an image 85 tokens, OpenAI's base cost for one, whatever its size; a PDF 1,500 tokens a page (vendors
/// read each page as its text and an image of it: Anthropic says 1,500 to 3,000 a page), its pages the page objects in its
/// uncompressed bytes, or, when it has none there (its objects packed in compressed streams), one page per 50 KiB of file,
/// at least one; plain text its text; anything else a token per four bytes of file.
/// </summary>
internal static class MediaTokens
{
    public const int PerImage = 85;
    public const int PerPdfPage = 1500;
    private const int BytesPerUnseenPage = 50 * 1024;

    /// <summary>The tokens of base64 <paramref name="base64"/> of <paramref name="mediaType"/>.</summary>
    public static long OfBase64(ReadOnlySpan<byte> base64, ReadOnlySpan<char> mediaType)
    {
        if (mediaType.StartsWith("image/", StringComparison.OrdinalIgnoreCase))
        {
            return PerImage;
        }
        var isPdf = mediaType.Equals("application/pdf", StringComparison.OrdinalIgnoreCase);
        var isText = mediaType.StartsWith("text/", StringComparison.OrdinalIgnoreCase);
        var rented = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(base64.Length) + 1);
        try
        {
            var decoded = Base64.DecodeFromUtf8(base64, rented, out _, out var written) == OperationStatus.Done
                ? rented.AsSpan(0, written)
                : default;
            var size = decoded.IsEmpty ? base64.Length / 4 * 3 : decoded.Length;
            return (isPdf, isText) switch
            {
                (true, _) => (long)PerPdfPage * (PdfPages(decoded) is > 0 and var pages ? pages : Math.Max(1, (size + BytesPerUnseenPage - 1) / BytesPerUnseenPage)),
                (_, true) when !decoded.IsEmpty => TokenCounter.CountUtf8(decoded),
                _ => (size + 3) / 4,
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The tokens of a base64 data URL's content; null when <paramref name="url"/> is not one.</summary>
    public static long? OfDataUrl(ReadOnlySpan<byte> url) =>
        Translation.DataUrl.TryRead(url, out var mediaType, out var data) ? OfBase64(data, mediaType) : null;

    /// <summary>
    /// The page objects of a PDF: each <c>/Type /Page</c> (not <c>/Pages</c>, the page tree's nodes) in its bytes; those in
    /// compressed object streams cannot be seen, and 0 means none were.
    /// </summary>
    internal static int PdfPages(ReadOnlySpan<byte> pdf)
    {
        var pages = 0;
        while (pdf.IndexOf("/Type"u8) is var at && at >= 0)
        {
            pdf = pdf[(at + 5)..];
            var value = pdf.TrimStart(" \t\r\n\f\0"u8);
            if (value.StartsWith("/Page"u8) && (value.Length == 5 || !IsNameCharacter(value[5])))
            {
                pages++;
            }
        }
        return pages;
    }

    /// <summary>Whether a byte continues a PDF name (anything but whitespace and delimiters).</summary>
    private static bool IsNameCharacter(byte b) => b > 0x20 && b < 0x7F && "()<>[]{}/%"u8.IndexOf(b) < 0;

    /// <summary>
    /// An estimate of the prompt tokens of a request body of either dialect: its JSON tokenized as text (as
    /// <see cref="TokenCounter.CountUtf8"/> counts it), but each inline image or document, a base64 data URL (OpenAI's) or
    /// the <c>data</c> of a <c>base64</c> source (Anthropic's), counted as the media it is (<see cref="OfBase64"/>) instead
    /// of as its base64. A body that is not JSON is counted as text.
    /// </summary>
    public static long EstimatePrompt(ReadOnlySpan<byte> body)
    {
        List<(int Start, int End, long Tokens)>? media;
        try
        {
            media = FindMedia(body);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            media = null;
        }
        if (media is null)
        {
            return TokenCounter.CountUtf8(body);
        }
        var rest = new ArrayBufferWriter<byte>(body.Length);
        long tokens = 0;
        var position = 0;
        foreach (var (start, end, count) in media)
        {
            rest.Write(body[position..start]);
            rest.Write("\"\""u8);
            position = end;
            tokens += count;
        }
        rest.Write(body[position..]);
        return tokens + TokenCounter.CountUtf8(rest.WrittenSpan);
    }

    /// <summary>The inline media of a JSON body, in order: each string's bytes (quotes included) and its tokens; null when it has none.</summary>
    private static List<(int Start, int End, long Tokens)>? FindMedia(ReadOnlySpan<byte> body)
    {
        List<(int Start, int End, long Tokens)>? media = null;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = FrontDoor.RequestParser.MaxDepth });
        // Per open object: whether it is a base64 source ("type": "base64"), its media type, and where its "data" is.
        var sources = new List<(bool Base64, string? MediaType, int Start, int End)>();
        var property = Property.Other;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    sources.Add((false, null, -1, -1));
                    property = Property.Other;
                    break;
                case JsonTokenType.EndObject:
                    var source = sources[^1];
                    sources.RemoveAt(sources.Count - 1);
                    if (source is { Base64: true, MediaType: { } type, Start: >= 0 })
                    {
                        (media ??= []).Add((source.Start, source.End, OfBase64(Unescaped(body[source.Start..source.End]), type)));
                    }
                    break;
                case JsonTokenType.PropertyName:
                    property = reader.ValueTextEquals("type"u8) ? Property.Type
                        : reader.ValueTextEquals("media_type"u8) ? Property.MediaType
                        : reader.ValueTextEquals("data"u8) ? Property.Data
                        : Property.Other;
                    break;
                case JsonTokenType.String:
                    var start = (int)reader.TokenStartIndex;
                    var end = (int)reader.BytesConsumed;
                    if (sources.Count > 0 && property != Property.Other)
                    {
                        var current = sources[^1];
                        sources[^1] = property switch
                        {
                            Property.Type => current with { Base64 = reader.ValueTextEquals("base64"u8) },
                            Property.MediaType => current with { MediaType = reader.GetString() },
                            _ => current with { Start = start, End = end },
                        };
                    }
                    else if (reader.ValueSpan.Length >= 5 && System.Text.Ascii.EqualsIgnoreCase(reader.ValueSpan[..5], "data:"u8) && OfDataUrl(Unescaped(body[start..end])) is { } tokens)
                    {
                        (media ??= []).Add((start, end, tokens));
                    }
                    property = Property.Other;
                    break;
                default:
                    property = Property.Other;
                    break;
            }
        }
        if (media is not null)
        {
            media.Sort((a, b) => a.Start.CompareTo(b.Start));
        }
        return media;
    }

    /// <summary>
    /// The value of one JSON string token (quotes included): its bytes as they are, or unescaped when it has escapes (JSON
    /// writers may write base64's <c>/</c> as <c>\/</c>).
    /// </summary>
    private static ReadOnlySpan<byte> Unescaped(ReadOnlySpan<byte> token)
    {
        var reader = new Utf8JsonReader(token);
        reader.Read();
        if (!reader.ValueIsEscaped)
        {
            return token[1..^1];
        }
        var value = new byte[reader.ValueSpan.Length];
        return value.AsSpan(0, reader.CopyString(value));
    }

    private enum Property
    {
        Other,
        Type,
        MediaType,
        Data,
    }
}
