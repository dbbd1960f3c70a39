using System.Buffers;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// Anthropic Messages events → OpenAI <c>chat.completion.chunk</c> events. Text blocks become content deltas,
/// thinking blocks <c>reasoning_content</c> deltas;
/// each <c>tool_use</c> block becomes the next tool-call index (id, type and name in its first delta, then
/// argument fragments); <c>message_delta</c> gives the finish chunk, <c>message_stop</c> the usage chunk
/// (when asked for) and <c>data: [DONE]</c>.
/// </summary>
internal sealed class ChatToMessagesStreamTranslator : StreamTranslator
{
    private readonly string _model;
    private readonly string _id;
    private readonly bool _includeUsage;
    private readonly long _created;
    /// <summary>Anthropic content-block index → OpenAI tool-call index, for tool_use blocks only.</summary>
    private readonly Dictionary<int, int> _toolCallIndexes = [];

    // Tool calls (by Anthropic block index) whose arguments have had text; a call that has none when its block ends gets "{}".
    private readonly HashSet<int> _toolCallsWithArguments = [];
    private bool _started;
    private bool _finished;

    public ChatToMessagesStreamTranslator(string clientModel, string responseId, bool includeUsage, long created)
    {
        _model = clientModel;
        _id = responseId;
        _includeUsage = includeUsage;
        _created = created;
    }

    protected override void OnEvent(string? eventName, JsonElement root, IBufferWriter<byte> output)
    {
        if (StreamErrors.IsAnthropicError(eventName, root))
        {
            FailWithUpstreamError(root, output);
            return;
        }
        // The data's own type is authoritative; the SSE event name only backs it up.
        switch (root.StringOrNull("type") ?? eventName)
        {
            case "message_start":
                if (root.TryGet("message", out var message) && message.TryGet("usage", out var startUsage))
                {
                    Counts = Counts.WithAnthropic(startUsage);
                }
                EnsureStarted(output);
                break;
            case "content_block_start":
                OnBlockStart(root, output);
                break;
            case "content_block_delta":
                OnBlockDelta(root, output);
                break;
            case "content_block_stop":
                // A call without parameters streams no argument text; OpenAI's own, and the same answer unstreamed, have "{}".
                if (root.TryGetInt32("index", out var stopped) && _toolCallIndexes.TryGetValue(stopped, out var call)
                    && _toolCallsWithArguments.Add(stopped))
                {
                    WriteChunk(output, ChunkKind.ToolCallArguments, call, text: "{}");
                }
                break;
            case "message_delta":
                if (root.TryGet("usage", out var deltaUsage))
                {
                    Counts = Counts.WithAnthropic(deltaUsage);
                }
                // Anthropic may send several message_delta events; the first stop reason ends the choice.
                if (!_finished && root.TryGet("delta", out var delta) && delta.StringOrNull("stop_reason") is { } stopReason)
                {
                    EnsureStarted(output);
                    WriteChunk(output, ChunkKind.Finish, finishReason: StopReasons.ToFinishReason(stopReason));
                    _finished = true;
                }
                break;
            case "message_stop":
                if (!_finished)
                {
                    EnsureStarted(output);
                    WriteChunk(output, ChunkKind.Finish, finishReason: "stop");
                    _finished = true;
                }
                if (_includeUsage)
                {
                    WriteUsageChunk(output);
                }
                SseEventWriter.WriteDone(output);
                Completed = true;
                break;
            default:
                // ping and event types added later carry nothing a chat client reads.
                break;
        }
    }

    private void OnBlockStart(JsonElement root, IBufferWriter<byte> output)
    {
        if (!root.TryGet("content_block", out var block) || !root.TryGetInt32("index", out var index))
        {
            return;
        }
        EnsureStarted(output);
        switch (block.StringOrNull("type"))
        {
            case "text":
                if (block.StringOrNull("text") is { Length: > 0 } text)
                {
                    WriteChunk(output, ChunkKind.Content, text: text);
                }
                break;
            case "thinking":
                if (block.StringOrNull("thinking") is { Length: > 0 } thinking)
                {
                    WriteChunk(output, ChunkKind.Reasoning, text: thinking);
                }
                break;
            case "tool_use":
                var toolIndex = _toolCallIndexes.Count;
                _toolCallIndexes[index] = toolIndex;
                WriteChunk(output, ChunkKind.ToolCallStart, toolIndex, block.StringOrNull("id"), block.StringOrNull("name"));
                break;
            default:
                // redacted_thinking (encrypted, nothing to read) and server-tool blocks have no chat-completions counterpart.
                break;
        }
    }

    private void OnBlockDelta(JsonElement root, IBufferWriter<byte> output)
    {
        if (!root.TryGet("delta", out var delta) || !root.TryGetInt32("index", out var index))
        {
            return;
        }
        switch (delta.StringOrNull("type"))
        {
            case "text_delta":
                if (delta.StringOrNull("text") is { Length: > 0 } text)
                {
                    EnsureStarted(output);
                    WriteChunk(output, ChunkKind.Content, text: text);
                }
                break;
            case "input_json_delta":
                if (_toolCallIndexes.TryGetValue(index, out var toolIndex) && delta.StringOrNull("partial_json") is { Length: > 0 } fragment)
                {
                    _toolCallsWithArguments.Add(index);
                    WriteChunk(output, ChunkKind.ToolCallArguments, toolIndex, text: fragment);
                }
                break;
            case "thinking_delta":
                if (delta.StringOrNull("thinking") is { Length: > 0 } thinking)
                {
                    EnsureStarted(output);
                    WriteChunk(output, ChunkKind.Reasoning, text: thinking);
                }
                break;
            default:
                // signature_delta (the thinking block's signature, which only Anthropic reads), citations_delta.
                break;
        }
    }

    /// <summary>OpenAI streams open with a chunk carrying the assistant role.</summary>
    private void EnsureStarted(IBufferWriter<byte> output)
    {
        if (!_started)
        {
            _started = true;
            WriteChunk(output, ChunkKind.Role);
        }
    }

    protected override void WriteError(IBufferWriter<byte> output, string type, string message) =>
        StreamErrors.WriteOpenAI(Sse, output, type, message);

    private void WriteChunk(IBufferWriter<byte> output, ChunkKind kind, int toolIndex = 0, string? id = null, string? name = null, string? text = null, string? finishReason = null)
    {
        var writer = BeginChunk(output);
        writer.WriteStartArray("choices");
        writer.WriteStartObject();
        writer.WriteNumber("index", 0);
        writer.WriteStartObject("delta");
        switch (kind)
        {
            case ChunkKind.Role:
                writer.WriteString("role", "assistant");
                writer.WriteString("content", string.Empty);
                break;
            case ChunkKind.Content:
                writer.WriteString("content", text);
                break;
            case ChunkKind.Reasoning:
                // DeepSeek's reasoning deltas, which chat clients (and the Responses translation) read.
                writer.WriteString("reasoning_content", text);
                break;
            case ChunkKind.ToolCallStart:
            case ChunkKind.ToolCallArguments:
                writer.WriteStartArray("tool_calls");
                writer.WriteStartObject();
                writer.WriteNumber("index", toolIndex);
                if (kind == ChunkKind.ToolCallStart)
                {
                    writer.WriteString("id", id);
                    writer.WriteString("type", "function");
                }
                writer.WriteStartObject("function");
                if (kind == ChunkKind.ToolCallStart)
                {
                    writer.WriteString("name", name);
                }
                writer.WriteString("arguments", text ?? string.Empty);
                writer.WriteEndObject();
                writer.WriteEndObject();
                writer.WriteEndArray();
                break;
            default:
                break;
        }
        writer.WriteEndObject();
        writer.WriteNull("logprobs");
        if (finishReason is null)
        {
            writer.WriteNull("finish_reason");
        }
        else
        {
            writer.WriteString("finish_reason", finishReason);
        }
        writer.WriteEndObject();
        writer.WriteEndArray();
        if (_includeUsage)
        {
            // With include_usage OpenAI sends "usage": null on every chunk but the last.
            writer.WriteNull("usage");
        }
        writer.WriteEndObject();
        Sse.End();
    }

    private void WriteUsageChunk(IBufferWriter<byte> output)
    {
        var writer = BeginChunk(output);
        writer.WriteStartArray("choices");
        writer.WriteEndArray();
        Counts.WriteOpenAI(writer);
        writer.WriteEndObject();
        Sse.End();
    }

    private Utf8JsonWriter BeginChunk(IBufferWriter<byte> output)
    {
        var writer = Sse.Begin(output, default);
        writer.WriteStartObject();
        writer.WriteString("id", _id);
        writer.WriteString("object", "chat.completion.chunk");
        writer.WriteNumber("created", _created);
        writer.WriteString("model", _model);
        return writer;
    }

    private enum ChunkKind
    {
        Role,
        Content,
        Reasoning,
        ToolCallStart,
        ToolCallArguments,
        Finish,
    }
}
