// Placeholder for the translation work in progress on another branch; deleted on merge.
using System.Buffers;

namespace Corridor.Gateway.Translation;

internal readonly record struct TranslationResult(byte[]? Body, string? Error, string? ErrorParam = null);

internal readonly record struct TokenUsage(long InputTokens, long OutputTokens);

internal interface IStreamTranslator
{
    void OnEvent(string? eventName, ReadOnlySpan<byte> data, IBufferWriter<byte> output);

    void OnEnd(IBufferWriter<byte> output);

    TokenUsage Usage { get; }

    bool Completed { get; }
}

internal static class ChatToMessages
{
    public static TranslationResult TranslateRequest(ReadOnlySpan<byte> chatRequest, string upstreamModel, int defaultMaxTokens) => new(null, "pending");

    public static TranslationResult TranslateResponse(ReadOnlySpan<byte> messagesResponse, string clientModel, string responseId) => new(null, "pending");

    public static IStreamTranslator CreateStreamTranslator(string clientModel, string responseId, bool includeUsage) => throw new NotSupportedException();
}

internal static class MessagesToChat
{
    public static TranslationResult TranslateRequest(ReadOnlySpan<byte> messagesRequest, string upstreamModel) => new(null, "pending");

    public static TranslationResult TranslateResponse(ReadOnlySpan<byte> chatResponse, string clientModel, string responseId) => new(null, "pending");

    public static IStreamTranslator CreateStreamTranslator(string clientModel, string responseId) => throw new NotSupportedException();
}
