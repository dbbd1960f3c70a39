using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Metering;

/// <summary>
/// Estimates of what the media of a prompt cost a model, whose base64 or address is not text it reads: an image 85 tokens,
/// OpenAI's base cost for one, whatever its size or source (inline or by address); a PDF 1,500 tokens a page (vendors read
/// each page as its text and an image of it: Anthropic says 1,500 to 3,000 a page), its pages the page objects in its
/// uncompressed bytes, or, when it has none there (its objects packed in compressed streams), one page per 50 KiB of file,
/// at least one; plain text its text; audio by its duration (<see cref="AudioTokens"/>); a video nothing
/// (<see cref="PerVideo"/>); anything else a token per four bytes of file.
/// </summary>
internal static class MediaTokens
{
    public const int PerImage = 85;
    public const int PerPdfPage = 1500;

    /// <summary>
    /// A video (vLLM's <c>video_url</c>) is counted as nothing, on purpose: its cost is the frames the server samples of it (vLLM
    /// takes 32 by default, whatever its length, and its operator may set another number or a rate) times what the served
    /// model makes of a frame (a number of its own, by the frame's size), none of which Corridor knows, and no vendor of
    /// Corridor's kinds bills video. The upstream's usage (which vLLM reports) is what bills it.
    /// </summary>
    public const int PerVideo = 0;

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
        var isAudio = mediaType.StartsWith("audio/", StringComparison.OrdinalIgnoreCase);
        var rented = ArrayPool<byte>.Shared.Rent(Base64.GetMaxDecodedFromUtf8Length(base64.Length) + 1);
        try
        {
            var decoded = Base64.DecodeFromUtf8(base64, rented, out _, out var written) == OperationStatus.Done
                ? rented.AsSpan(0, written)
                : default;
            var size = decoded.IsEmpty ? base64.Length / 4 * 3 : decoded.Length;
            return (isPdf, isText, isAudio) switch
            {
                (true, _, _) => (long)PerPdfPage * (PdfPages(decoded) is > 0 and var pages ? pages : Math.Max(1, (size + BytesPerUnseenPage - 1) / BytesPerUnseenPage)),
                (_, true, _) when !decoded.IsEmpty => TokenCounter.CountUtf8(decoded),
                (_, _, true) => AudioTokens.Of(decoded, size),
                _ => (size + 3) / 4,
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// The tokens of a part's media, the one figure Corridor's count (<see cref="PromptTokens"/>) and the estimate of an
    /// unreported prompt (<see cref="EstimatePrompt"/>) both use: an image <see cref="PerImage"/> and a video
    /// <see cref="PerVideo"/> whatever their source, and any other part's inline media (<see cref="MessagePart.TryGetInline"/>:
    /// a base64 data URL, the data of a base64 source, an audio's data) as the media its type says; null when the part has
    /// no media (text, a text document, a file by address). <paramref name="media"/> is the JSON string that holds the media
    /// in the body, read as media rather than text (its data, or its address), an empty range when there is none.
    /// </summary>
    public static long? Of(scoped in MessagePart part, out Range media)
    {
        var inline = part.TryGetInline(out var base64, out var mediaType, out media);
        return part.Kind switch
        {
            PartKind.Image => PerImage,
            PartKind.Video => PerVideo,
            _ when inline => OfBase64(base64, mediaType),
            _ => null,
        };
    }

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
    /// <see cref="TokenCounter.CountUtf8"/> counts it), but the media of its messages' parts (<see cref="MessageParts"/>): an
    /// image or a video (inline or by address), a base64 data URL (OpenAI's), the <c>data</c> of a <c>base64</c> source
    /// (Anthropic's) or of an audio part, counted as the media it is (<see cref="Of"/>) instead of as the text of its base64
    /// or address. A data URL elsewhere (in a message's text, a tool's input) is text the model reads, and counted so. A body
    /// that is not JSON is counted as text.
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
            tokens += count;
            // Media with no string of its own (an image part without an address) leaves the text as it is.
            if (end > start)
            {
                rest.Write(body[position..start]);
                rest.Write("\"\""u8);
                position = end;
            }
        }
        rest.Write(body[position..]);
        return tokens + TokenCounter.CountUtf8(rest.WrittenSpan);
    }

    /// <summary>The media of a JSON body's messages, in order: each string's bytes (quotes included) and its tokens; null when it has none.</summary>
    private static List<(int Start, int End, long Tokens)>? FindMedia(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = RequestParser.MaxDepth });
        var finder = new Finder();
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isMessages = reader.ValueTextEquals("messages"u8);
                reader.Read();
                if (isMessages && reader.TokenType == JsonTokenType.StartArray)
                {
                    MessageParts.Walk(ref reader, ref finder);
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        else
        {
            reader.Skip();
        }
        // To its end: a body that is not JSON after all is counted as text.
        while (reader.Read())
        {
        }
        finder.Media?.Sort((a, b) => a.Start.CompareTo(b.Start));
        return finder.Media;
    }

    private struct Finder : IMessagePartVisitor
    {
        public static bool ReadsText => false;

        public List<(int Start, int End, long Tokens)>? Media { get; private set; }

        public readonly void Message()
        {
        }

        public readonly void Text(ref Utf8JsonReader text)
        {
        }

        public void Part(ref MessagePart part)
        {
            if (Of(in part, out var media) is { } tokens)
            {
                (Media ??= []).Add((media.Start.Value, media.End.Value, tokens));
            }
        }
    }
}
