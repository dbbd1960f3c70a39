using System.Buffers;
using System.Text;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

/// <summary>Odd input is an error value or an error event, never an exception out of the translators.</summary>
public sealed class RobustnessTests
{
    // A lone surrogate escape is well-formed JSON that System.Text.Json refuses to decode as a string.
    private const string LoneSurrogate = "a\\ud800b";

    [Fact]
    public void UndecodableString_InChatRequest_IsAnError()
    {
        var result = ChatToMessages.TranslateRequest(Encoding.UTF8.GetBytes($$$"""{"messages":[{"role":"user","content":"{{{LoneSurrogate}}}"}]}"""), "m", 10);

        TranslationAssert.Error(result, null, "not valid Unicode text");
    }

    [Fact]
    public void UndecodableString_InMessagesRequest_IsAnError()
    {
        var result = MessagesToChat.TranslateRequest(Encoding.UTF8.GetBytes($$$"""{"max_tokens":1,"messages":[{"role":"user","content":"{{{LoneSurrogate}}}"}]}"""), "m");

        TranslationAssert.Error(result, null, "not valid Unicode text");
    }

    [Fact]
    public void UndecodableString_InUpstreamResponses_IsAnError()
    {
        var anthropic = ChatToMessages.TranslateResponse(Encoding.UTF8.GetBytes($$$"""{"type":"message","content":[{"type":"text","text":"{{{LoneSurrogate}}}"}]}"""), "m", "chatcmpl-1");
        var openAI = MessagesToChat.TranslateResponse(Encoding.UTF8.GetBytes($$$"""{"choices":[{"index":0,"message":{"content":"{{{LoneSurrogate}}}"}}]}"""), "m", "msg_1");

        TranslationAssert.Error(anthropic, null, "not valid Unicode text");
        TranslationAssert.Error(openAI, null, "not valid Unicode text");
    }

    [Fact]
    public void UndecodableString_InStreams_BecomesErrorEvent()
    {
        var chat = ChatToMessages.CreateStreamTranslator("m", "chatcmpl-1", includeUsage: false);
        var messages = MessagesToChat.CreateStreamTranslator("m", "msg_1");

        var chatOutput = TranslationAssert.Feed(chat, $$$"""
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"{{{LoneSurrogate}}}"}}

            """);
        var messagesOutput = TranslationAssert.Feed(messages, $$$"""
            data: {"choices":[{"index":0,"delta":{"content":"{{{LoneSurrogate}}}"}}]}

            """);

        Assert.Equal("{\"error\":{\"message\":\"The upstream sent an event that could not be read.\",\"type\":\"api_error\",\"param\":null,\"code\":null}}",
            TranslationAssert.ParseSse(chatOutput).Single().Data);
        Assert.Equal(("error", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"The upstream sent an event that could not be read.\"}}"),
            TranslationAssert.ParseSse(messagesOutput).Last());
    }

    [Fact]
    public void WrongTypesAndNegativeCountsInUpstreamEvents_AreIgnored_NotThrown()
    {
        var chat = ChatToMessages.CreateStreamTranslator("m", "chatcmpl-1", includeUsage: true);
        var messages = MessagesToChat.CreateStreamTranslator("m", "msg_1");
        var output = new ArrayBufferWriter<byte>();

        chat.OnEvent(null, """{"type":"message_start","message":{"usage":{"input_tokens":"12","output_tokens":true}}}"""u8, output);
        chat.OnEvent(null, """{"type":"content_block_start","index":"0","content_block":{"type":"tool_use"}}"""u8, output);
        chat.OnEvent(null, """{"type":"content_block_delta","index":[0],"delta":"x"}"""u8, output);
        messages.OnEvent(null, """{"choices":[{"index":"0","delta":{"tool_calls":[{"index":"1","function":"f"}]}}],"usage":{"prompt_tokens":-5,"prompt_tokens_details":{"cached_tokens":3}}}"""u8, output);
        messages.OnEvent(null, """{"choices":"none","usage":[1]}"""u8, output);

        Assert.Equal(new TokenUsage(0, 0), chat.Usage);
        Assert.Equal(new TokenUsage(0, 0), messages.Usage);
    }

    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}{}")]
    [InlineData("{\"messages\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}")]
    public void NonObjectOrTooDeepBodies_AreErrors_InBothDirections(string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);

        Assert.NotNull(ChatToMessages.TranslateRequest(bytes, "m", 10).Error);
        Assert.NotNull(MessagesToChat.TranslateRequest(bytes, "m").Error);
        Assert.NotNull(ChatToMessages.TranslateResponse(bytes, "m", "chatcmpl-1").Error);
        Assert.NotNull(MessagesToChat.TranslateResponse(bytes, "m", "msg_1").Error);
    }
}
