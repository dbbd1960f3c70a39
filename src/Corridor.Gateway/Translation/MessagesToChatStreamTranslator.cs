using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// OpenAI <c>chat.completion.chunk</c> events → Anthropic Messages events. Content deltas fill a text block;
/// each OpenAI tool-call index gets its own <c>tool_use</c> block, opened when its first delta arrives. Anthropic
/// blocks do not interleave, so a new block closes the open one. A call's argument fragments are held until its block
/// closes and then sent as one <c>input_json_delta</c>, checked as the whole answer's are: Anthropic clients build the
/// block's <c>input</c> object from them, so arguments that turn out not to be a JSON object must reach them wrapped
/// (<see cref="ToolArguments.ToInputJson"/>), not as fragments of text no client can parse. The stop reason comes with
/// the finish chunk but usage only with the usage chunk after it, so <c>message_delta</c> and <c>message_stop</c> wait
/// for <c>[DONE]</c> (or the end of the stream, for servers that omit it). Anthropic clients read the prompt's tokens
/// from <c>message_start</c>, which OpenAI cannot fill (its usage comes last): it carries the first chunk's count when
/// the upstream sends usage on every chunk (vLLM's continuous usage), else an estimate, and <c>message_delta</c> the
/// upstream's exact counts, which Anthropic's SDKs take over the start's. The model's reasoning deltas (DeepSeek's
/// <c>reasoning_content</c>), given <see cref="ReasoningBlocks"/>, fill a <c>thinking</c> block as <c>thinking_delta</c>s,
/// closed by the <c>signature_delta</c> of the whole text, as Anthropic streams one; or, for a client that did not ask for
/// thinking, are held and sent as one <c>redacted_thinking</c> block when the reasoning ends, as Anthropic sends those whole.
/// </summary>
internal sealed class MessagesToChatStreamTranslator : ChatChunkStreamTranslator
{
    private const int NoBlock = -1;

    private readonly string _model;
    private readonly string _id;
    private readonly long _estimatedInputTokens;
    private readonly ReasoningBlocks? _reasoning;
    /// <summary>OpenAI tool-call index → Anthropic content-block index.</summary>
    private readonly Dictionary<int, int> _toolBlocks = [];
    private string? _stopReason;
    private int _openBlock = NoBlock;
    private BlockKind _openKind;
    /// <summary>The open tool_use block's argument text so far.</summary>
    private readonly StringBuilder _arguments = new();
    /// <summary>The open thinking (or held redacted thinking) block's reasoning so far.</summary>
    private readonly StringBuilder _reasoningText = new();
    private int _nextBlock;
    private bool _started;
    private bool _usageSeen;
    /// <summary>The characters of the answer's text, reasoning and tool arguments: its output's estimate when the upstream reports no usage.</summary>
    private long _outputChars;
    private bool _interrupted;

    public MessagesToChatStreamTranslator(string clientModel, string responseId, long estimatedInputTokens = 0, ReasoningBlocks? reasoning = null)
    {
        _model = clientModel;
        _id = responseId;
        _estimatedInputTokens = estimatedInputTokens;
        _reasoning = reasoning;
    }

    private enum BlockKind
    {
        Text,
        ToolUse,
        Thinking,
        /// <summary>A redacted_thinking block, sent whole (start and stop) when it closes.</summary>
        RedactedThinking,
    }

    protected override bool FinishSeen => _stopReason is not null;

    protected override void OnUsage(JsonElement usage)
    {
        Counts = UsageCounts.FromOpenAI(usage);
        _usageSeen = true;
    }

    protected override void OnChoice(JsonElement choice, IBufferWriter<byte> output)
    {
        if (choice.TryGet("delta", out var delta))
        {
            if (_reasoning is { } reasoning && MessageContent.ReasoningText(delta) is { } thought)
            {
                OnReasoningDelta(reasoning, thought, output);
            }
            // A refusal streams in its own field; an Anthropic client reads it as text (as in the non-streamed response).
            if (MessageContent.AnswerText(delta) is { Length: > 0 } text)
            {
                if (_openBlock == NoBlock || _openKind != BlockKind.Text)
                {
                    OpenBlock(output, BlockKind.Text);
                }
                _outputChars += text.Length;
                WriteDelta(output, _openBlock, "text_delta", "text", text);
            }
            if (delta.TryGet("tool_calls", out var toolCalls) && toolCalls.ValueKind == JsonValueKind.Array)
            {
                foreach (var call in toolCalls.EnumerateArray())
                {
                    OnToolCallDelta(call, output);
                }
            }
        }
        if (choice.StringOrNull("finish_reason") is { } finishReason)
        {
            _stopReason = StopReasons.ToStopReason(finishReason, _toolBlocks.Count > 0);
            // An answer cut short keeps its open block open, as Anthropic leaves one when it fails mid-stream.
            _interrupted = StopReasons.IsInterrupted(finishReason);
            if (!_interrupted)
            {
                CloseOpenBlock(output);
            }
        }
    }

    private void OnReasoningDelta(ReasoningBlocks reasoning, string thought, IBufferWriter<byte> output)
    {
        var kind = reasoning.Shown ? BlockKind.Thinking : BlockKind.RedactedThinking;
        if (_openBlock == NoBlock || _openKind != kind)
        {
            OpenBlock(output, kind);
        }
        _reasoningText.Append(thought);
        _outputChars += thought.Length;
        if (kind == BlockKind.Thinking)
        {
            WriteDelta(output, _openBlock, "thinking_delta", "thinking", thought);
        }
    }

    private void OnToolCallDelta(JsonElement call, IBufferWriter<byte> output)
    {
        var id = call.StringOrNull("id");
        var function = call.TryGet("function", out var f) ? f : default;
        var index = ToolCallIndex(call, id, _toolBlocks.Count);
        if (!_toolBlocks.TryGetValue(index, out var block))
        {
            block = OpenBlock(output, BlockKind.ToolUse, ToolUseIds.ForAnswer(id, _id, _toolBlocks.Count), function.StringOrNull("name") ?? string.Empty);
            _toolBlocks[index] = block;
        }
        // A fragment for a call whose block was already closed (interleaved calls, which OpenAI does not send) cannot be
        // sent any more: its block's input was checked and sent whole when it closed.
        if (block == _openBlock && function.StringOrNull("arguments") is { Length: > 0 } fragment)
        {
            _arguments.Append(fragment);
            _outputChars += fragment.Length;
        }
    }

    protected override void EnsureStarted(IBufferWriter<byte> output)
    {
        if (_started)
        {
            return;
        }
        _started = true;
        var writer = Sse.Begin(output, "message_start"u8);
        writer.WriteStartObject();
        writer.WriteString("type", "message_start");
        writer.WriteStartObject("message");
        writer.WriteString("id", _id);
        writer.WriteString("type", "message");
        writer.WriteString("role", "assistant");
        writer.WriteString("model", _model);
        writer.WriteStartArray("content");
        writer.WriteEndArray();
        writer.WriteNull("stop_reason");
        writer.WriteNull("stop_sequence");
        // OpenAI reports usage at the end (unless it sends it on every chunk); message_delta carries the real counts.
        (_usageSeen ? Counts : new UsageCounts(_estimatedInputTokens, 0, 0, 0)).WriteAnthropic(writer);
        writer.WriteEndObject();
        writer.WriteEndObject();
        Sse.End();
    }

    private int OpenBlock(IBufferWriter<byte> output, BlockKind kind, string? id = null, string? name = null)
    {
        CloseOpenBlock(output);
        _openBlock = _nextBlock++;
        _openKind = kind;
        // A redacted thinking block carries all of its data at its start: it is sent when it closes.
        if (kind != BlockKind.RedactedThinking)
        {
            WriteBlockStart(output, kind, id, name);
        }
        return _openBlock;
    }

    private void WriteBlockStart(IBufferWriter<byte> output, BlockKind kind, string? id = null, string? name = null)
    {
        var writer = Sse.Begin(output, "content_block_start"u8);
        writer.WriteStartObject();
        writer.WriteString("type", "content_block_start");
        writer.WriteNumber("index", _openBlock);
        writer.WriteStartObject("content_block");
        switch (kind)
        {
            case BlockKind.Text:
                writer.WriteString("type", "text");
                writer.WriteString("text", string.Empty);
                break;
            case BlockKind.Thinking:
                writer.WriteString("type", "thinking");
                writer.WriteString("thinking", string.Empty);
                writer.WriteString("signature", string.Empty);
                break;
            case BlockKind.RedactedThinking:
                _reasoning!.Value.WriteRedacted(writer, _reasoningText.ToString());
                break;
            default:
                writer.WriteString("type", "tool_use");
                writer.WriteString("id", id);
                writer.WriteString("name", name);
                writer.WriteStartObject("input");
                writer.WriteEndObject();
                break;
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
        Sse.End();
    }

    private void CloseOpenBlock(IBufferWriter<byte> output)
    {
        if (_openBlock == NoBlock)
        {
            return;
        }
        if (_openKind == BlockKind.Thinking)
        {
            WriteDelta(output, _openBlock, "signature_delta", "signature", _reasoning!.Value.Seal.Sign(_reasoningText.ToString()));
            _reasoningText.Clear();
        }
        else if (_openKind == BlockKind.RedactedThinking)
        {
            WriteBlockStart(output, BlockKind.RedactedThinking);
            _reasoningText.Clear();
        }
        else if (_openKind == BlockKind.ToolUse && _arguments.Length > 0)
        {
            if (!ToolArguments.ToInputJson(_arguments.ToString(), out var input))
            {
                Anomaly = ToolArguments.NotJsonCode;
            }
            _arguments.Clear();
            WriteDelta(output, _openBlock, "input_json_delta", "partial_json", input);
        }
        var writer = Sse.Begin(output, "content_block_stop"u8);
        writer.WriteStartObject();
        writer.WriteString("type", "content_block_stop");
        writer.WriteNumber("index", _openBlock);
        writer.WriteEndObject();
        Sse.End();
        _openBlock = NoBlock;
    }

    private void WriteDelta(IBufferWriter<byte> output, int block, string deltaType, string field, string value)
    {
        var writer = Sse.Begin(output, "content_block_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type", "content_block_delta");
        writer.WriteNumber("index", block);
        writer.WriteStartObject("delta");
        writer.WriteString("type", deltaType);
        writer.WriteString(field, value);
        writer.WriteEndObject();
        writer.WriteEndObject();
        Sse.End();
    }

    protected override void Finish(IBufferWriter<byte> output)
    {
        // Written where message_delta would be, after the usage chunk (which the ledger bills) and held like it.
        if (_interrupted)
        {
            Fail(output, "overloaded_error", StopReasons.InterruptedMessage, StopReasons.InterruptedCode);
            return;
        }
        EnsureStarted(output);
        CloseOpenBlock(output);
        var writer = Sse.Begin(output, "message_delta"u8);
        writer.WriteStartObject();
        writer.WriteString("type", "message_delta");
        writer.WriteStartObject("delta");
        writer.WriteString("stop_reason", _stopReason ?? "end_turn");
        writer.WriteNull("stop_sequence");
        writer.WriteEndObject();
        // The Anthropic SDKs take these over message_start's. Without the upstream's usage (a server that ignores
        // stream_options), zeros would say the answer cost nothing: the start's prompt estimate stays, and the output is
        // estimated at four characters a token (the ledger bills its own estimate then, by its tokenizer, near this).
        (_usageSeen ? Counts : new UsageCounts(_estimatedInputTokens, 0, 0, (_outputChars + 3) / 4)).WriteAnthropic(writer);
        writer.WriteEndObject();
        Sse.End();

        writer = Sse.Begin(output, "message_stop"u8);
        writer.WriteStartObject();
        writer.WriteString("type", "message_stop");
        writer.WriteEndObject();
        Sse.End();
        Completed = true;
    }

    protected override void WriteError(IBufferWriter<byte> output, string type, string message) =>
        StreamErrors.WriteAnthropic(Sse, output, type, message);
}
