using System.Text.Json;

namespace Corridor.Gateway.Metering;

/// <summary>
/// The prompt tokens of an OpenAI chat request, counted with Corridor's tokenizer (<see cref="TokenCounter"/>) as OpenAI
/// counts them: each message costs three tokens plus its text (role, content, name, a tool call's name and arguments), and
/// the answer's priming three more; each tool, the tokens of its definition. For a deployment that cannot count tokens itself
/// (OpenAI-kind upstreams have no such endpoint). Exact for plain text on GPT-4o and GPT-4.1 (one user message "Hello" is
/// 8, as OpenAI reports it); an estimate otherwise: tool definitions are counted as their JSON, and an image or a file (a
/// document) as the media it is (<see cref="MediaTokens"/>), not as its base64.
/// </summary>
internal static class PromptTokens
{
    private const int PerMessage = 3;
    private const int Priming = 3;

    /// <summary>The prompt tokens of <paramref name="chatRequest"/>, a chat completions body (as the translation writes it).</summary>
    public static long CountChat(ReadOnlySpan<byte> chatRequest)
    {
        var reader = new Utf8JsonReader(chatRequest, new JsonReaderOptions { MaxDepth = FrontDoor.RequestParser.MaxDepth });
        reader.Read();
        long tokens = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isMessages = reader.ValueTextEquals("messages"u8);
            var isTools = reader.ValueTextEquals("tools"u8);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartArray || !(isMessages || isTools))
            {
                reader.Skip();
                continue;
            }
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (isMessages)
                {
                    tokens += PerMessage + CountText(ref reader);
                }
                else
                {
                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    tokens += TokenCounter.CountUtf8(chatRequest[start..(int)reader.BytesConsumed]);
                }
            }
            if (isMessages)
            {
                tokens += Priming;
            }
        }
        return tokens;
    }

    /// <summary>The tokens of the text of one message, walked to its end: every string but a part's type and an image's address; a
    /// file's data as the document it is.</summary>
    private static long CountText(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return 0;
        }
        var depth = reader.CurrentDepth;
        long tokens = 0;
        var counts = true;
        var isFile = false;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    counts = !(reader.ValueTextEquals("type"u8) || reader.ValueTextEquals("url"u8) || reader.ValueTextEquals("detail"u8));
                    isFile = reader.ValueTextEquals("file_data"u8);
                    if (reader.ValueTextEquals("image_url"u8))
                    {
                        tokens += MediaTokens.PerImage;
                    }
                    break;
                case JsonTokenType.String when isFile && !reader.ValueIsEscaped && MediaTokens.OfDataUrl(reader.ValueSpan) is { } fileTokens:
                    tokens += fileTokens;
                    break;
                case JsonTokenType.String when counts:
                    tokens += TokenCounter.Count(reader.GetString()!);
                    break;
            }
        }
        return tokens;
    }
}
