using System.Text;
using System.Text.Json;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.FrontDoor;

/// <summary>What a part of a message's content is, by its <c>type</c>; a later kind in this order wins over an earlier one.</summary>
internal enum PartKind
{
    /// <summary>A part of a type not named here (a tool call, a thinking block, …): only its strings are read.</summary>
    Other,

    /// <summary>A <c>text</c> part.</summary>
    Text,

    /// <summary>Anthropic's <c>tool_result</c>, whose <c>content</c> holds parts of their own.</summary>
    ToolResult,

    /// <summary>OpenAI's <c>input_audio</c> (its base64 in <c>input_audio.data</c>, its <c>format</c> beside it).</summary>
    Audio,

    /// <summary>OpenAI's <c>file</c> (its data URL in <c>file.file_data</c>), Anthropic's <c>document</c> (its <c>source</c>).</summary>
    Document,

    /// <summary>vLLM's <c>video_url</c> (its address in <c>video_url.url</c>).</summary>
    Video,

    /// <summary>OpenAI's <c>image_url</c> (its address in <c>image_url.url</c>), Anthropic's <c>image</c> (its <c>source</c>).</summary>
    Image,
}

/// <summary>
/// One part of a message's content as <see cref="MessageParts"/> found it: its kind, and where its media lives (a data URL
/// or an address; the data of a <c>base64</c> source), still in the body, read only when asked for.
/// </summary>
internal ref struct MessagePart
{
    private JsonString _address;
    private JsonString _sourceData;
    private JsonString _sourceMediaType;
    private bool _audio;

    public PartKind Kind { get; private set; }

    /// <summary>
    /// A document of text alone: Anthropic's <c>text</c> source or <c>content</c> source (whose images are parts of their own),
    /// which reaches an OpenAI-kind model as text (docs/translation.md).
    /// </summary>
    public bool IsTextDocument { get; private set; }

    /// <summary>
    /// The part's inline media: the base64 and media type of a <c>base64</c> source (Anthropic's), of an audio part's data
    /// (<c>audio/</c> and its <c>format</c>), or of a base64 data URL where an address or a file's data is (OpenAI's,
    /// <see cref="DataUrl"/>), with the JSON string (quotes included) that holds it in the body; false when it has none (an
    /// http(s) address, a text document), <paramref name="token"/> then its address's string (an empty range when it has none).
    /// </summary>
    public readonly bool TryGetInline(out ReadOnlySpan<byte> base64, out string mediaType, out Range token)
    {
        if (_sourceData.IsPresent && _sourceData.TryGetValue(out base64) && _sourceMediaType.TryGetValue(out var type))
        {
            mediaType = _audio ? "audio/" + Encoding.UTF8.GetString(type) : Encoding.UTF8.GetString(type);
            token = _sourceData.Token;
            return true;
        }
        token = _address.Token;
        if (_address.IsPresent && _address.TryGetValue(out var address) && DataUrl.TryRead(address, out mediaType, out base64))
        {
            return true;
        }
        base64 = default;
        mediaType = string.Empty;
        return false;
    }

    internal void Saw(PartKind kind) => Kind = kind > Kind ? kind : Kind;

    internal void SawAddress(scoped in Utf8JsonReader reader) => _address = new JsonString(in reader);

    internal void SawSource(bool textOnly) => IsTextDocument = textOnly;

    internal void SawBase64(JsonString data, JsonString mediaType)
    {
        _sourceData = data;
        _sourceMediaType = mediaType;
    }

    internal void SawAudio(JsonString data, JsonString format)
    {
        SawBase64(data, format);
        _audio = true;
    }
}

/// <summary>A string of a JSON body where the reader found it: its bytes as written (escapes and all) and its token's place.</summary>
internal readonly ref struct JsonString(scoped in Utf8JsonReader reader)
{
    private readonly ReadOnlySpan<byte> _raw = reader.ValueSpan;
    private readonly bool _escaped = reader.ValueIsEscaped;

    /// <summary>Where the string is in the body, its quotes included.</summary>
    public Range Token { get; } = new((int)reader.TokenStartIndex, (int)reader.BytesConsumed);

    public bool IsPresent => Token.End.Value > 0;

    /// <summary>
    /// Its value: its bytes in the body, or unescaped when it has escapes (JSON writers may write base64's <c>/</c> as
    /// <c>\/</c>); false when they decode to no text (a lone surrogate).
    /// </summary>
    public bool TryGetValue(out ReadOnlySpan<byte> value)
    {
        if (!_escaped)
        {
            value = _raw;
            return true;
        }
        var quoted = new byte[_raw.Length + 2];
        quoted[0] = quoted[^1] = (byte)'"';
        _raw.CopyTo(quoted.AsSpan(1));
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        var unescaped = new byte[_raw.Length];
        try
        {
            value = unescaped.AsSpan(0, reader.CopyString(unescaped));
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default;
            return false;
        }
    }
}

/// <summary>What reads a conversation's parts (<see cref="MessageParts.Walk"/>); a struct, so that the walk is made for it.</summary>
internal interface IMessagePartVisitor
{
    /// <summary>Whether it reads the text of messages (<see cref="Text"/>); when not, what is not a part is skipped unread.</summary>
    static abstract bool ReadsText { get; }

    /// <summary>An element of the <c>messages</c> array begins (whatever it holds).</summary>
    void Message();

    /// <summary>A string of a message that the model reads as text; the reader is at it.</summary>
    void Text(ref Utf8JsonReader text);

    /// <summary>A content part, at its end; the parts inside it (a tool result's, a content source's) came before it.</summary>
    void Part(ref MessagePart part);
}

/// <summary>
/// The one reader of what a conversation holds, in OpenAI chat's and Anthropic Messages' shapes (a Responses request is read
/// after its translation to chat): its messages, each message's text, and the parts of its content — text, an image
/// (<c>image_url</c>, <c>image</c>), a video (<c>video_url</c>), audio (<c>input_audio</c>), a document (<c>file</c>,
/// <c>document</c>: of base64, text or content), a tool result (<c>tool_result</c>) with the parts of its own content one
/// level down, and the parts of a document's <c>content</c> source. What is a part is read from the structure: a part's
/// <c>type</c>, its <c>content</c>, <c>source</c>, <c>image_url</c>, <c>video_url</c>, <c>file</c> and <c>input_audio</c>;
/// a tool's input, a text that talks of images, or any other field is only text. The text of a message is every string in
/// it but a <c>type</c>, an image's <c>detail</c>, an address (<c>url</c>) and a part's media (a file's data, a base64
/// source's data and media type, an audio's data and format). One forward pass of <see cref="Utf8JsonReader"/>, allocating
/// nothing for text.
/// </summary>
internal static class MessageParts
{
    private enum Field
    {
        Other,
        Type,
        Content,
        Source,
        Media,
        Audio,
        Address,
        Data,
        MediaType,
        Detail,
    }

    /// <summary>Reads the <c>messages</c> array the reader is at to its end, telling <paramref name="visitor"/> what it finds.</summary>
    public static void Walk<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor)
        where TVisitor : struct, IMessagePartVisitor
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            visitor.Message();
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                InMessage(ref reader, ref visitor);
            }
            else
            {
                reader.Skip();
            }
        }
    }

    /// <summary>The message object the reader is at, read to its end.</summary>
    private static void InMessage<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor)
        where TVisitor : struct, IMessagePartVisitor
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isContent = Is(ref reader, "content"u8);
            var isText = isContent || TVisitor.ReadsText && IsText(FieldOf(ref reader));
            reader.Read();
            if (isContent && reader.TokenType == JsonTokenType.StartArray)
            {
                InParts(ref reader, ref visitor, nested: false);
            }
            else
            {
                Strings(ref reader, ref visitor, isText);
            }
        }
    }

    /// <summary>An array of parts, read to its end; a string in it is text.</summary>
    private static void InParts<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor, bool nested)
        where TVisitor : struct, IMessagePartVisitor
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                InPart(ref reader, ref visitor, nested);
            }
            else
            {
                Strings(ref reader, ref visitor, text: true);
            }
        }
    }

    /// <summary>One part, read to its end: its fields come in any order, so what it is is known only there.</summary>
    private static void InPart<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor, bool nested)
        where TVisitor : struct, IMessagePartVisitor
    {
        var part = default(MessagePart);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = FieldOf(ref reader);
            reader.Read();
            var isString = reader.TokenType == JsonTokenType.String;
            switch (field)
            {
                case Field.Type when isString:
                    part.Saw(KindOf(ref reader));
                    break;
                // A tool result's own content (Anthropic), one level down and no further.
                case Field.Content when !nested:
                    InContent(ref reader, ref visitor);
                    break;
                case Field.Source when reader.TokenType == JsonTokenType.StartObject:
                    InSource(ref reader, ref visitor, ref part);
                    break;
                case Field.Source:
                    part.SawSource(textOnly: false);
                    Strings(ref reader, ref visitor, text: true);
                    break;
                case Field.Media when reader.TokenType == JsonTokenType.StartObject:
                    InMedia(ref reader, ref visitor, ref part);
                    break;
                case Field.Media when isString:
                    part.SawAddress(in reader);
                    break;
                case Field.Audio when reader.TokenType == JsonTokenType.StartObject:
                    InAudio(ref reader, ref visitor, ref part);
                    break;
                default:
                    Strings(ref reader, ref visitor, IsText(field));
                    break;
            }
        }
        visitor.Part(ref part);
    }

    /// <summary>A tool result's or a content source's <c>content</c>: parts of their own, or a string of text.</summary>
    private static void InContent<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor)
        where TVisitor : struct, IMessagePartVisitor
    {
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            InParts(ref reader, ref visitor, nested: true);
        }
        else
        {
            Strings(ref reader, ref visitor, text: true);
        }
    }

    /// <summary>An OpenAI part's <c>image_url</c>, <c>video_url</c> or <c>file</c> object: its address or data URL, and its text (a file's name).</summary>
    private static void InMedia<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor, ref MessagePart part)
        where TVisitor : struct, IMessagePartVisitor
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = FieldOf(ref reader);
            reader.Read();
            if (field == Field.Address && reader.TokenType == JsonTokenType.String)
            {
                part.SawAddress(in reader);
            }
            else
            {
                Strings(ref reader, ref visitor, IsText(field));
            }
        }
    }

    /// <summary>An OpenAI part's <c>input_audio</c> object: its base64 <c>data</c> and its <c>format</c> (<c>wav</c>, <c>mp3</c>), media, not text.</summary>
    private static void InAudio<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor, ref MessagePart part)
        where TVisitor : struct, IMessagePartVisitor
    {
        JsonString data = default;
        JsonString format = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = FieldOf(ref reader);
            var isFormat = field == Field.Other && Is(ref reader, "format"u8);
            reader.Read();
            if (field == Field.Data && reader.TokenType == JsonTokenType.String)
            {
                data = new JsonString(in reader);
            }
            else if (isFormat && reader.TokenType == JsonTokenType.String)
            {
                format = new JsonString(in reader);
            }
            else
            {
                Strings(ref reader, ref visitor, IsText(field));
            }
        }
        if (data.IsPresent)
        {
            part.SawAudio(data, format);
        }
    }

    /// <summary>
    /// An Anthropic part's <c>source</c>: a <c>base64</c> source's data and media type, a <c>url</c>, a <c>text</c> source's
    /// data (text, told once its type is known), or a <c>content</c> source's parts.
    /// </summary>
    private static void InSource<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor, ref MessagePart part)
        where TVisitor : struct, IMessagePartVisitor
    {
        var textOnly = false;
        var base64 = false;
        Utf8JsonReader data = default;
        JsonString mediaType = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = FieldOf(ref reader);
            reader.Read();
            var isString = reader.TokenType == JsonTokenType.String;
            switch (field)
            {
                case Field.Type:
                    textOnly = isString && (Is(ref reader, "text"u8) || Is(ref reader, "content"u8));
                    base64 = isString && Is(ref reader, "base64"u8);
                    Strings(ref reader, ref visitor, text: false);
                    break;
                case Field.Data when isString:
                    data = reader;
                    break;
                case Field.MediaType when isString:
                    mediaType = new JsonString(in reader);
                    break;
                case Field.Address when isString:
                    part.SawAddress(in reader);
                    break;
                case Field.Content:
                    InContent(ref reader, ref visitor);
                    break;
                default:
                    Strings(ref reader, ref visitor, IsText(field));
                    break;
            }
        }
        part.SawSource(textOnly);
        var hasData = data.TokenType == JsonTokenType.String;
        if (base64 && hasData && mediaType.IsPresent)
        {
            part.SawBase64(new JsonString(in data), mediaType);
        }
        else if (hasData && TVisitor.ReadsText)
        {
            visitor.Text(ref data);
        }
    }

    /// <summary>Any value outside the shapes above, read to its end: its strings are text when <paramref name="text"/> says so, and in its objects by their names (<see cref="IsText"/>).</summary>
    private static void Strings<TVisitor>(ref Utf8JsonReader reader, ref TVisitor visitor, bool text)
        where TVisitor : struct, IMessagePartVisitor
    {
        if (!TVisitor.ReadsText)
        {
            reader.Skip();
            return;
        }
        switch (reader.TokenType)
        {
            case JsonTokenType.String when text:
                visitor.Text(ref reader);
                break;
            case JsonTokenType.StartObject:
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isText = IsText(FieldOf(ref reader));
                    reader.Read();
                    Strings(ref reader, ref visitor, isText);
                }
                break;
            case JsonTokenType.StartArray:
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    Strings(ref reader, ref visitor, text);
                }
                break;
        }
    }

    private static PartKind KindOf(ref Utf8JsonReader reader) =>
        Is(ref reader, "text"u8) ? PartKind.Text
        : Is(ref reader, "image_url"u8) || Is(ref reader, "image"u8) ? PartKind.Image
        : Is(ref reader, "file"u8) || Is(ref reader, "document"u8) ? PartKind.Document
        : Is(ref reader, "video_url"u8) ? PartKind.Video
        : Is(ref reader, "tool_result"u8) ? PartKind.ToolResult
        : Is(ref reader, "input_audio"u8) ? PartKind.Audio
        : PartKind.Other;

    /// <summary>The field of a message, a part or a source whose name the reader is at, as far as the shapes tell them apart.</summary>
    private static Field FieldOf(ref Utf8JsonReader reader) =>
        Is(ref reader, "type"u8) ? Field.Type
        // A text part's text, the commonest name after its type, is known for what it is at once.
        : Is(ref reader, "text"u8) ? Field.Other
        : Is(ref reader, "content"u8) ? Field.Content
        : Is(ref reader, "source"u8) ? Field.Source
        : Is(ref reader, "image_url"u8) || Is(ref reader, "video_url"u8) || Is(ref reader, "file"u8) ? Field.Media
        : Is(ref reader, "input_audio"u8) ? Field.Audio
        : Is(ref reader, "url"u8) || Is(ref reader, "file_data"u8) ? Field.Address
        : Is(ref reader, "data"u8) ? Field.Data
        : Is(ref reader, "media_type"u8) ? Field.MediaType
        : Is(ref reader, "detail"u8) ? Field.Detail
        : Field.Other;

    /// <summary>
    /// Whether a field's strings, where nothing else says what they are, are text to the model: all but a <c>type</c>, an
    /// address (<c>url</c>; a file's data when it is not a data URL) and an image's <c>detail</c>.
    /// </summary>
    private static bool IsText(Field field) => field is not (Field.Type or Field.Address or Field.Detail);

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
