using System.Text.Json;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Metering;

/// <summary>
/// The prompt tokens of an OpenAI chat request, counted with Corridor's tokenizer (<see cref="TokenCounter"/>) as OpenAI
/// counts them: each message costs three tokens plus its text (role, content, name, a tool call's name and arguments), and
/// the answer's priming three more; each tool, the tokens of its definition. For a deployment that cannot count tokens itself
/// (OpenAI-kind upstreams have no such endpoint). Exact for plain text on GPT-4o and GPT-4.1 (one user message "Hello" is
/// 8, as OpenAI reports it); an estimate otherwise: tool definitions are counted as their JSON, and an image, a file (a
/// document), audio or a video as the media it is (<see cref="MediaTokens"/>), not as its base64.
/// </summary>
internal static class PromptTokens
{
    private const int PerMessage = 3;
    private const int Priming = 3;

    /// <summary>The prompt tokens of <paramref name="chatRequest"/>, a chat completions body (as the translation writes it).</summary>
    public static long CountChat(ReadOnlySpan<byte> chatRequest)
    {
        var reader = new Utf8JsonReader(chatRequest, new JsonReaderOptions { MaxDepth = RequestParser.MaxDepth });
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
            if (isMessages)
            {
                var counter = new Counter();
                MessageParts.Walk(ref reader, ref counter);
                tokens += counter.Tokens + Priming;
                continue;
            }
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                tokens += TokenCounter.CountUtf8(chatRequest[start..(int)reader.BytesConsumed]);
            }
        }
        return tokens;
    }

    /// <summary>
    /// The tokens of messages: three each, their text (<see cref="MessageParts"/>: every string but a part's type, an
    /// address, an image's detail, a part's media), and each part's media as <see cref="MediaTokens.Of"/> counts it.
    /// </summary>
    private struct Counter : IMessagePartVisitor
    {
        public static bool ReadsText => true;

        public long Tokens { get; private set; }

        public void Message() => Tokens += PerMessage;

        public void Text(ref Utf8JsonReader text) => Tokens += TokenCounter.Count(text.GetString()!);

        public void Part(ref MessagePart part) => Tokens += MediaTokens.Of(in part, out _) ?? 0;
    }
}
