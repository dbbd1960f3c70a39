using System.Text;
using System.Text.Json;
using Corridor.Simulator.Generation;
using Corridor.Simulator.Http;

namespace Corridor.Simulator.Protocol;

/// <summary>OpenAI (and Azure OpenAI) chat completions: <c>chat.completion</c> and <c>chat.completion.chunk</c>.</summary>
internal sealed class OpenAIChatFormat : IChatFormat
{
    public const string SystemFingerprint = "fp_corridor_simulator";

    public IdPrefixes Ids { get; } = new("chatcmpl-corridorsim", "call_corridorsim");

    public static readonly OpenAIChatFormat Instance = new();

    private OpenAIChatFormat()
    {
    }

    public void WriteWhole(Utf8JsonWriter writer, CompletionPlan plan)
    {
        WriteHeader(writer, plan, "chat.completion"u8);
        writer.WriteStartArray("choices"u8);
        foreach (var choice in plan.Choices)
        {
            var pieces = choice.Pieces.AsSpan(0, choice.Count);
            writer.WriteStartObject();
            writer.WriteNumber("index"u8, choice.Index);
            writer.WriteStartObject("message"u8);
            writer.WriteString("role"u8, "assistant"u8);
            if (choice.IsToolCall)
            {
                writer.WriteNull("content"u8);
                // A cap that cut the reasoning leaves no call.
                if (choice.Count > choice.Reasoning)
                {
                    writer.WriteStartArray("tool_calls"u8);
                    writer.WriteStartObject();
                    WriteCallHead(writer, choice);
                    writer.WritePropertyName("arguments"u8);
                    ChatStreamer.WritePieces(writer, pieces[choice.Reasoning..]);
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                    writer.WriteEndArray();
                }
            }
            else
            {
                writer.WritePropertyName("content"u8);
                ChatStreamer.WritePieces(writer, pieces[choice.Reasoning..]);
            }

            if (choice.Reasoning > 0)
            {
                writer.WritePropertyName(plan.ReasoningField);
                ChatStreamer.WritePieces(writer, pieces[..choice.Reasoning]);
            }

            writer.WriteNull("refusal"u8);
            writer.WriteStartArray("annotations"u8);
            writer.WriteEndArray();
            writer.WriteEndObject();
            WriteLogprobs(writer, plan, choice, choice.Reasoning, choice.Count - choice.Reasoning);
            writer.WriteString("finish_reason"u8, FinishReasonText(choice.Finish));
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        WriteUsage(writer, plan);
        writer.WriteEndObject();
    }

    public void WriteOpening(SseSession session, CompletionPlan plan)
    {
        foreach (var choice in plan.Choices)
        {
            var writer = BeginChunk(session, plan, choice);
            writer.WriteString("role"u8, "assistant"u8);
            if (choice.IsToolCall && choice.Reasoning > 0)
            {
                // The call is announced once its reasoning has been said.
                writer.WriteNull("content"u8);
            }
            else if (choice.IsToolCall)
            {
                writer.WriteNull("content"u8);
                writer.WriteStartArray("tool_calls"u8);
                writer.WriteStartObject();
                writer.WriteNumber("index"u8, 0);
                WriteCallHead(writer, choice);
                writer.WriteString("arguments"u8, ""u8);
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteEndArray();
            }
            else
            {
                writer.WriteString("content"u8, ""u8);
            }

            writer.WriteNull("refusal"u8);
            EndChunk(session, plan, writer, choice, logprobsFrom: 0, logprobsCount: 0, finish: null);
        }
    }

    public void WriteDelta(SseSession session, CompletionPlan plan, ChoicePlan choice, int piece)
    {
        var writer = BeginChunk(session, plan, choice);
        if (piece < choice.Reasoning)
        {
            // DeepSeek's (or vLLM's) reasoning deltas: the reasoning's text, no content yet.
            writer.WriteNull("content"u8);
            writer.WriteString(plan.ReasoningField, choice.Pieces[piece]);
            EndChunk(session, plan, writer, choice, piece, 0, finish: null);
            return;
        }

        if (choice.IsToolCall)
        {
            writer.WriteStartArray("tool_calls"u8);
            writer.WriteStartObject();
            writer.WriteNumber("index"u8, 0);
            if (piece == choice.Reasoning && choice.Reasoning > 0)
            {
                WriteCallHead(writer, choice);
            }
            else
            {
                writer.WriteStartObject("function"u8);
            }
            writer.WriteString("arguments"u8, choice.Pieces[piece]);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndArray();
        }
        else
        {
            writer.WriteString("content"u8, choice.Pieces[piece]);
        }

        EndChunk(session, plan, writer, choice, piece, 1, finish: null);
    }

    public void WriteClosing(SseSession session, CompletionPlan plan)
    {
        foreach (var choice in plan.Choices)
        {
            var writer = BeginChunk(session, plan, choice);
            EndChunk(session, plan, writer, choice, 0, 0, choice.Finish);
        }

        if (plan.Request.IncludeUsage)
        {
            var writer = session.BeginEvent(default);
            WriteHeader(writer, plan, "chat.completion.chunk"u8);
            writer.WriteStartArray("choices"u8);
            writer.WriteEndArray();
            WriteUsage(writer, plan);
            writer.WriteEndObject();
            session.EndEvent();
        }

        session.WriteDone();
    }

    /// <summary>A tool call's id, type and name, leaving the writer inside its <c>function</c> for the arguments.</summary>
    private static void WriteCallHead(Utf8JsonWriter writer, ChoicePlan choice)
    {
        writer.WriteString("id"u8, choice.ToolCallId);
        writer.WriteString("type"u8, "function"u8);
        writer.WriteStartObject("function"u8);
        writer.WriteString("name"u8, choice.ToolName);
    }

    /// <summary>Opens a chunk with one choice and leaves the writer inside its <c>delta</c>.</summary>
    private static Utf8JsonWriter BeginChunk(SseSession session, CompletionPlan plan, ChoicePlan choice)
    {
        var writer = session.BeginEvent(default);
        WriteHeader(writer, plan, "chat.completion.chunk"u8);
        writer.WriteStartArray("choices"u8);
        writer.WriteStartObject();
        writer.WriteNumber("index"u8, choice.Index);
        writer.WriteStartObject("delta"u8);
        return writer;
    }

    private static void EndChunk(SseSession session, CompletionPlan plan, Utf8JsonWriter writer, ChoicePlan choice, int logprobsFrom, int logprobsCount, FinishReason? finish)
    {
        writer.WriteEndObject();
        WriteLogprobs(writer, plan, choice, logprobsFrom, logprobsCount);
        if (finish is { } reason)
        {
            writer.WriteString("finish_reason"u8, FinishReasonText(reason));
        }
        else
        {
            writer.WriteNull("finish_reason"u8);
        }

        writer.WriteEndObject();
        writer.WriteEndArray();
        if (plan.Request.IncludeUsage)
        {
            writer.WriteNull("usage"u8);
        }

        writer.WriteEndObject();
        session.EndEvent();
    }

    private static void WriteHeader(Utf8JsonWriter writer, CompletionPlan plan, ReadOnlySpan<byte> objectType)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, plan.Id);
        writer.WriteString("object"u8, objectType);
        writer.WriteNumber("created"u8, plan.Created);
        writer.WriteString("model"u8, plan.Model);
        writer.WriteString("service_tier"u8, plan.Request.ServiceTier is "flex" or "priority" ? plan.Request.ServiceTier : "default");
        writer.WriteString("system_fingerprint"u8, SystemFingerprint);
    }

    private static void WriteUsage(Utf8JsonWriter writer, CompletionPlan plan)
    {
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("prompt_tokens"u8, plan.PromptTokens);
        writer.WriteNumber("completion_tokens"u8, plan.CompletionTokens);
        writer.WriteNumber("total_tokens"u8, plan.TotalTokens);
        writer.WriteStartObject("prompt_tokens_details"u8);
        writer.WriteNumber("cached_tokens"u8, plan.Cache.Read);
        writer.WriteNumber("audio_tokens"u8, 0);
        writer.WriteEndObject();
        writer.WriteStartObject("completion_tokens_details"u8);
        writer.WriteNumber("reasoning_tokens"u8, plan.ReasoningTokens);
        writer.WriteNumber("audio_tokens"u8, 0);
        writer.WriteNumber("accepted_prediction_tokens"u8, 0);
        writer.WriteNumber("rejected_prediction_tokens"u8, 0);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static ReadOnlySpan<byte> FinishReasonText(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length"u8,
        FinishReason.ToolCall => "tool_calls"u8,
        _ => "stop"u8,
    };

    /// <summary>
    /// Plausible logprobs for pieces [from, from + count): each token's own logprob, and as many
    /// alternatives as top_logprobs asks, each less likely than the last. Null unless asked for.
    /// </summary>
    private static void WriteLogprobs(Utf8JsonWriter writer, CompletionPlan plan, ChoicePlan choice, int from, int count)
    {
        if (!plan.Request.Logprobs || choice.IsToolCall)
        {
            writer.WriteNull("logprobs"u8);
            return;
        }

        var top = plan.Request.TopLogprobs ?? 0;
        writer.WriteStartObject("logprobs"u8);
        writer.WriteStartArray("content"u8);
        for (var i = from; i < from + count; i++)
        {
            var token = choice.Pieces[i];
            var tokenKey = Hashing.Combine(choice.Key, (ulong)i);
            var logprob = -Math.Round(0.0001 + Hashing.Mix(tokenKey) % 2500 / 1000.0, 4);
            writer.WriteStartObject();
            WriteToken(writer, token, logprob);
            writer.WriteStartArray("top_logprobs"u8);
            for (var rank = 0; rank < top; rank++)
            {
                writer.WriteStartObject();
                var alternative = rank == 0 ? token : TextGenerator.Alternative(Hashing.Combine(tokenKey, (ulong)rank));
                WriteToken(writer, alternative, Math.Round(logprob - 0.75 * rank, 4));
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteNull("refusal"u8);
        writer.WriteEndObject();
    }

    private static void WriteToken(Utf8JsonWriter writer, string token, double logprob)
    {
        writer.WriteString("token"u8, token);
        writer.WriteNumber("logprob"u8, logprob);
        writer.WriteStartArray("bytes"u8);
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(token.Length)];
        foreach (var b in utf8[..Encoding.UTF8.GetBytes(token, utf8)])
        {
            writer.WriteNumberValue(b);
        }

        writer.WriteEndArray();
    }
}
