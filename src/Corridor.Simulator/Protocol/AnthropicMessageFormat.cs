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
        WriteBlockStart(writer, plan, choice, whole: true);
        writer.WriteEndArray();
        writer.WriteString("stop_reason"u8, StopReason(choice.Finish));
        writer.WriteNull("stop_sequence"u8);
        WriteUsage(writer, plan, plan.CompletionTokens);
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
        WriteUsage(writer, plan, 1);
        writer.WriteEndObject();
        writer.WriteEndObject();
        session.EndEvent();

        writer = session.BeginEvent("content_block_start"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_start"u8);
        writer.WriteNumber("index"u8, 0);
        writer.WritePropertyName("content_block"u8);
        WriteBlockStart(writer, plan, Only(plan), whole: false);
        writer.WriteEndObject();
        session.EndEvent();

        WriteTypedEvent(session, "ping"u8);
    }

    public void WriteDelta(SseSession session, CompletionPlan plan, ChoicePlan choice, int piece)
    {
        var writer = session.BeginEvent("content_block_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_delta"u8);
        writer.WriteNumber("index"u8, 0);
        writer.WriteStartObject("delta"u8);
        if (choice.IsToolCall)
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
        var writer = session.BeginEvent("content_block_stop"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_stop"u8);
        writer.WriteNumber("index"u8, 0);
        writer.WriteEndObject();
        session.EndEvent();

        writer = session.BeginEvent("message_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_delta"u8);
        writer.WriteStartObject("delta"u8);
        writer.WriteString("stop_reason"u8, StopReason(Only(plan).Finish));
        writer.WriteNull("stop_sequence"u8);
        writer.WriteEndObject();
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("output_tokens"u8, plan.CompletionTokens);
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
        var pieces = choice.Pieces.AsSpan(0, whole ? choice.Count : 0);
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
    private static void WriteUsage(Utf8JsonWriter writer, CompletionPlan plan, int outputTokens)
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
