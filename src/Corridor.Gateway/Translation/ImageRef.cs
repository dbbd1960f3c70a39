using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// An image either as inline base64 data with its media type or as a URL: Anthropic's <c>base64</c>/<c>url</c>
/// image sources and OpenAI's <c>image_url</c> (a data URL for inline data) are the two spellings of it.
/// </summary>
internal readonly record struct ImageRef(string? MediaType, string DataOrUrl)
{
    public bool IsInline => MediaType is not null;

    /// <summary>Reads an OpenAI image URL: a base64 data URL or an http(s) URL.</summary>
    public static Problem? FromUrl(string url, string param, out ImageRef image)
    {
        image = default;
        if (DataUrl.IsDataUrl(url))
        {
            if (!DataUrl.TryRead(url, out var mediaType, out var data))
            {
                return new Problem($"'{param}' must be a base64 data URL (data:<media type>;base64,<data>) or an http(s) URL.", param);
            }
            if (mediaType.Length == 0)
            {
                return new Problem($"'{param}' must name the image's media type.", param);
            }
            image = new ImageRef(mediaType, data);
            return null;
        }
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
        {
            image = new ImageRef(null, url);
            return null;
        }
        return new Problem($"'{param}' must be a base64 data URL or an http(s) URL.", param);
    }

    /// <summary>Reads an Anthropic image <c>source</c> object.</summary>
    public static Problem? FromAnthropicSource(JsonElement source, string param, out ImageRef image)
    {
        image = default;
        if (source.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType(param, "an object");
        }
        if (source.RequiredString("type", $"{param}.type", out var type) is { } typeProblem)
        {
            return typeProblem;
        }
        switch (type)
        {
            case "base64":
                if (source.RequiredString("media_type", $"{param}.media_type", out var mediaType) is { } p1)
                {
                    return p1;
                }
                if (source.RequiredString("data", $"{param}.data", out var data) is { } p2)
                {
                    return p2;
                }
                image = new ImageRef(mediaType, data);
                return null;
            case "url":
                if (source.RequiredString("url", $"{param}.url", out var url) is { } p3)
                {
                    return p3;
                }
                image = new ImageRef(null, url);
                return null;
            default:
                return Problem.Unsupported($"{param}.type", $"Image source type '{type}'");
        }
    }

    /// <summary>The OpenAI spelling: a data URL for inline data.</summary>
    public string ToUrl() => IsInline ? DataUrl.Write(MediaType!, DataOrUrl) : DataOrUrl;

    /// <summary>Writes an Anthropic image block.</summary>
    public void WriteAnthropicBlock(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "image");
        writer.WriteStartObject("source");
        if (IsInline)
        {
            writer.WriteString("type", "base64");
            writer.WriteString("media_type", MediaType);
            writer.WriteString("data", DataOrUrl);
        }
        else
        {
            writer.WriteString("type", "url");
            writer.WriteString("url", DataOrUrl);
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    /// <summary>Writes an OpenAI <c>image_url</c> content part.</summary>
    public void WriteOpenAIPart(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "image_url");
        writer.WriteStartObject("image_url");
        writer.WriteString("url", ToUrl());
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}
