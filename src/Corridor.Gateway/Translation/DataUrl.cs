namespace Corridor.Gateway.Translation;

/// <summary>
/// A base64 data URL, <c>data:&lt;media type&gt;[;parameters];base64,&lt;data&gt;</c>: how OpenAI's dialects carry an image
/// (<c>image_url.url</c>) or a file (<c>file.file_data</c>) inline.
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
        if (!IsDataUrl(url))
        {
            return false;
        }
        var comma = url.IndexOf(',', StringComparison.Ordinal);
        var meta = comma < 0 ? string.Empty : url[Prefix.Length..comma];
        if (!meta.EndsWith(Base64Marker, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        // Parameters such as ";charset=…" may sit between the media type and ";base64".
        mediaType = meta[..^Base64Marker.Length].Split(';')[0];
        data = url[(comma + 1)..];
        return true;
    }

    public static string Write(string mediaType, string data) => $"{Prefix}{mediaType}{Base64Marker},{data}";
}
