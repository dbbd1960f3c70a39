using System.Buffers.Binary;
using System.Text.Json;
using Corridor.Simulator.Generation;
using Corridor.Simulator.Http;

namespace Corridor.Simulator.Protocol;

/// <summary>Anthropic messages: a <c>message</c> object, or the message_start … message_stop event sequence.</summary>
internal sealed class AnthropicMessageFormat : IChatFormat
{

    public IdPrefixes Ids { get; } = new("msg_corridorsim", "toolu_corridorsim");

    public static readonly AnthropicMessageFormat Instance = new();

    private AnthropicMessageFormat()
    {
    }

    // Anthropic has no `n`: the reader leaves it at one choice.
    private static ChoicePlan Only(CompletionPlan plan) => plan.Choices[0];

    public void WriteWhole(Utf8JsonWriter writer, CompletionPlan plan)
    {
        var choice = Only(plan);
        WriteMessageStart(writer, plan);
        writer.WriteStartArray("content"u8);
        if (choice.Reasoning > 0)
        {
            WriteThinkingBlock(writer, choice, whole: true);
        }

        // A cap that cut the thinking leaves no answer block.
        if (choice.Reasoning == 0 || choice.Count > choice.Reasoning)
        {
            WriteBlockStart(writer, plan, choice, whole: true);
        }

        writer.WriteEndArray();
        writer.WriteString("stop_reason"u8, StopReason(choice.Finish));
        writer.WriteNull("stop_sequence"u8);
        WriteUsage(writer, plan, plan.CompletionTokens, final: true);
        writer.WriteEndObject();
    }

    public void WriteOpening(SseSession session, CompletionPlan plan)
    {
        var writer = session.BeginEvent("message_start"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_start"u8);
        writer.WritePropertyName("message"u8);
        WriteMessageStart(writer, plan);
        writer.WriteStartArray("content"u8);
        writer.WriteEndArray();
        writer.WriteNull("stop_reason"u8);
        writer.WriteNull("stop_sequence"u8);
        // As the real API does: output so far is one token.
        WriteUsage(writer, plan, 1, final: false);
        writer.WriteEndObject();
        writer.WriteEndObject();
        session.EndEvent();

        WriteContentBlockStart(session, plan, Only(plan), thinking: Only(plan).Reasoning > 0);
        WriteTypedEvent(session, "ping"u8);
    }

    private static void WriteContentBlockStart(SseSession session, CompletionPlan plan, ChoicePlan choice, bool thinking)
    {
        var writer = session.BeginEvent("content_block_start"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_start"u8);
        writer.WriteNumber("index"u8, thinking ? 0 : AnswerIndex(choice));
        writer.WritePropertyName("content_block"u8);
        if (thinking)
        {
            WriteThinkingBlock(writer, choice, whole: false);
        }
        else
        {
            WriteBlockStart(writer, plan, choice, whole: false);
        }

        writer.WriteEndObject();
        session.EndEvent();
    }

    /// <summary>The answer's block follows the thinking block, when there is one.</summary>
    private static int AnswerIndex(ChoicePlan choice) => choice.Reasoning > 0 ? 1 : 0;

    /// <summary>
    /// A thinking block: whole, with its text and signature, or as content_block_start announces it (both empty; the text
    /// comes in thinking_delta events, the signature in one signature_delta just before the block's stop).
    /// </summary>
    private static void WriteThinkingBlock(Utf8JsonWriter writer, ChoicePlan choice, bool whole)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "thinking"u8);
        writer.WritePropertyName("thinking"u8);
        ChatStreamer.WritePieces(writer, choice.Pieces.AsSpan(0, whole ? choice.Reasoning : 0));
        writer.WriteString("signature"u8, whole ? Signature(choice) : "");
        writer.WriteEndObject();
    }

    /// <summary>Stands for Anthropic's opaque signature of the thinking: deterministic, base64 as Anthropic's are.</summary>
    private static string Signature(ChoicePlan choice)
    {
        Span<byte> bytes = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, Hashing.Combine(choice.Key, SignatureSalt));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes[8..], Hashing.Mix(choice.Key ^ SignatureSalt));
        return Convert.ToBase64String(bytes);
    }

    private const ulong SignatureSalt = 0x7369676e6174;

    /// <summary>The thinking block's end: its signature_delta and its content_block_stop.</summary>
    private static void WriteThinkingEnd(SseSession session, ChoicePlan choice)
    {
        var writer = session.BeginEvent("content_block_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_delta"u8);
        writer.WriteNumber("index"u8, 0);
        writer.WriteStartObject("delta"u8);
        writer.WriteString("type"u8, "signature_delta"u8);
        writer.WriteString("signature"u8, Signature(choice));
        writer.WriteEndObject();
        writer.WriteEndObject();
        session.EndEvent();
        WriteBlockStop(session, 0);
    }

    private static void WriteBlockStop(SseSession session, int index)
    {
        var writer = session.BeginEvent("content_block_stop"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_stop"u8);
        writer.WriteNumber("index"u8, index);
        writer.WriteEndObject();
        session.EndEvent();
    }

    public void WriteDelta(SseSession session, CompletionPlan plan, ChoicePlan choice, int piece)
    {
        if (piece == choice.Reasoning && piece > 0)
        {
            // The answer's first piece: the thinking block ends and the answer's begins.
            WriteThinkingEnd(session, choice);
            WriteContentBlockStart(session, plan, choice, thinking: false);
        }

        var writer = session.BeginEvent("content_block_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_delta"u8);
        writer.WriteNumber("index"u8, piece < choice.Reasoning ? 0 : AnswerIndex(choice));
        writer.WriteStartObject("delta"u8);
        if (piece < choice.Reasoning)
        {
            writer.WriteString("type"u8, "thinking_delta"u8);
            writer.WriteString("thinking"u8, choice.Pieces[piece]);
        }
        else if (choice.IsToolCall)
        {
            writer.WriteString("type"u8, "input_json_delta"u8);
            writer.WriteString("partial_json"u8, choice.Pieces[piece]);
        }
        else
        {
            writer.WriteString("type"u8, "text_delta"u8);
            writer.WriteString("text"u8, choice.Pieces[piece]);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
        session.EndEvent();
    }

    public void WriteClosing(SseSession session, CompletionPlan plan)
    {
        var choice = Only(plan);
        if (choice.Reasoning > 0 && choice.Count <= choice.Reasoning)
        {
            // The cap cut the thinking: its block is the only one.
            WriteThinkingEnd(session, choice);
        }
        else
        {
            WriteBlockStop(session, AnswerIndex(choice));
        }

        var writer = session.BeginEvent("message_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_delta"u8);
        writer.WriteStartObject("delta"u8);
        writer.WriteString("stop_reason"u8, StopReason(Only(plan).Finish));
        writer.WriteNull("stop_sequence"u8);
        writer.WriteEndObject();
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("output_tokens"u8, plan.CompletionTokens);
        WriteServerToolUse(writer, plan);
        writer.WriteEndObject();
        writer.WriteEndObject();
        session.EndEvent();

        WriteTypedEvent(session, "message_stop"u8);
    }

    /// <summary>Opens the message object and writes its identity; the caller writes the rest and closes it.</summary>
    private static void WriteMessageStart(Utf8JsonWriter writer, CompletionPlan plan)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, plan.Id);
        writer.WriteString("type"u8, "message"u8);
        writer.WriteString("role"u8, "assistant"u8);
        writer.WriteString("model"u8, plan.Model);
    }

    /// <summary>The content block: whole (with its text or input), or as content_block_start announces it (empty).</summary>
    private static void WriteBlockStart(Utf8JsonWriter writer, CompletionPlan plan, ChoicePlan choice, bool whole)
    {
        var pieces = choice.Pieces.AsSpan(choice.Reasoning, whole ? choice.Count - choice.Reasoning : 0);
        writer.WriteStartObject();
        if (choice.IsToolCall)
        {
            writer.WriteString("type"u8, "tool_use"u8);
            writer.WriteString("id"u8, choice.ToolCallId);
            writer.WriteString("name"u8, choice.ToolName);
            writer.WritePropertyName("input"u8);
            if (whole && choice.Finish != FinishReason.Length)
            {
                writer.WriteRawValue(string.Concat(pieces));
            }
            else
            {
                // Streams announce an empty input; a cut tool call has no complete input.
                writer.WriteStartObject();
                writer.WriteEndObject();
            }
        }
        else
        {
            writer.WriteString("type"u8, "text"u8);
            writer.WritePropertyName("text"u8);
            ChatStreamer.WritePieces(writer, pieces);
        }

        writer.WriteEndObject();
    }

    /// <summary>Anthropic's usage: <c>input_tokens</c> counts only the prompt neither read from nor written to the cache.</summary>
    private static void WriteUsage(Utf8JsonWriter writer, CompletionPlan plan, int outputTokens, bool final)
    {
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("input_tokens"u8, plan.PromptTokens - plan.Cache.Read - plan.Cache.Write);
        writer.WriteNumber("cache_creation_input_tokens"u8, plan.Cache.Write);
        writer.WriteNumber("cache_read_input_tokens"u8, plan.Cache.Read);
        writer.WriteStartObject("cache_creation"u8);
        writer.WriteNumber("ephemeral_5m_input_tokens"u8, plan.Cache.Write - plan.Cache.WriteOneHour);
        writer.WriteNumber("ephemeral_1h_input_tokens"u8, plan.Cache.WriteOneHour);
        writer.WriteEndObject();
        writer.WriteNumber("output_tokens"u8, outputTokens);
        writer.WriteString("service_tier"u8, "standard"u8);
        writer.WriteString("inference_geo"u8, plan.Request.InferenceGeo ?? "global");
        // A stream counts its server tools' uses in message_delta, once they have run.
        if (final)
        {
            WriteServerToolUse(writer, plan);
        }
        writer.WriteEndObject();
    }

    /// <summary>Anthropic's <c>server_tool_use</c>, when the request offered a server tool: the uses of each, billed per use.</summary>
    private static void WriteServerToolUse(Utf8JsonWriter writer, CompletionPlan plan)
    {
        if (plan.Request.WebSearches == 0 && plan.Request.WebFetches == 0)
        {
            return;
        }
        writer.WriteStartObject("server_tool_use"u8);
        writer.WriteNumber("web_search_requests"u8, plan.Request.WebSearches);
        writer.WriteNumber("web_fetch_requests"u8, plan.Request.WebFetches);
        writer.WriteEndObject();
    }

    private static void WriteTypedEvent(SseSession session, ReadOnlySpan<byte> type)
    {
        var writer = session.BeginEvent(type);
        writer.WriteStartObject();
        writer.WriteString("type"u8, type);
        writer.WriteEndObject();
        session.EndEvent();
    }

    private static ReadOnlySpan<byte> StopReason(FinishReason reason) => reason switch
    {
        FinishReason.Length => "max_tokens"u8,
        FinishReason.ToolCall => "tool_use"u8,
        _ => "end_turn"u8,
    };
}
