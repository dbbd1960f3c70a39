using System.Text;

namespace Corridor.Gateway.Translation;

/// <summary>
/// A base64 data URL, <c>data:&lt;media type&gt;[;parameters];base64,&lt;data&gt;</c>: how OpenAI's dialects carry an image
/// (<c>image_url.url</c>) or a file (<c>file.file_data</c>) inline. <c>data:</c> and <c>;base64</c> are read in any case
/// (RFC 2397 media types and URL schemes are case-insensitive), by the translation and the metering alike.
/// </summary>
internal static class DataUrl
{
    private const string Prefix = "data:";
    private const string Base64Marker = ";base64";

    public static bool IsDataUrl(string url) => url.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The media type (empty when the URL names none; parameters such as <c>;charset=…</c> left out) and the base64 data of
    /// a data URL; false when <paramref name="url"/> is not a base64 data URL.
    /// </summary>
    public static bool TryRead(string url, out string mediaType, out string data)
    {
        mediaType = data = string.Empty;
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        if (comma < 0 || !TryReadHeader(url.AsSpan(0, comma), out var type))
        {
            return false;
        }
        mediaType = type.ToString();
        data = url[(comma + 1)..];
        return true;
    }

    /// <summary><see cref="TryRead(string, out string, out string)"/> of a data URL's UTF-8 bytes (a JSON string's value).</summary>
    public static bool TryRead(ReadOnlySpan<byte> url, out string mediaType, out ReadOnlySpan<byte> data)
    {
        mediaType = string.Empty;
        data = default;
        var comma = url.IndexOf((byte)',');
        // Only the header (before the comma), short, is decoded; the data after it, which can be megabytes, is not copied.
        if (comma < 0 || url.Length < Prefix.Length || !Ascii.EqualsIgnoreCase(url[..Prefix.Length], "data:"u8) || !TryReadHeader(Encoding.UTF8.GetString(url[..comma]), out var type))
        {
            return false;
        }
        mediaType = type.ToString();
        data = url[(comma + 1)..];
        return true;
    }

    /// <summary>The media type of a data URL's header (all before its comma); false when it is not that of a base64 data URL.</summary>
    private static bool TryReadHeader(ReadOnlySpan<char> header, out ReadOnlySpan<char> mediaType)
    {
        mediaType = default;
        if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var meta = header[Prefix.Length..];
        if (!meta.EndsWith(Base64Marker, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        // Parameters such as ";charset=…" may sit between the media type and ";base64".
        mediaType = meta[..^Base64Marker.Length];
        if (mediaType.IndexOf(';') is var semicolon && semicolon >= 0)
        {
            mediaType = mediaType[..semicolon];
        }
        return true;
    }

    public static string Write(string mediaType, string data) => $"{Prefix}{mediaType}{Base64Marker},{data}";
}
