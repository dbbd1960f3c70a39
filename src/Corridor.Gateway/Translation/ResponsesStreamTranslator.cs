using System.Buffers;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// OpenAI <c>chat.completion.chunk</c> events → Responses API events, each named and numbered (<c>sequence_number</c>):
/// <c>response.created</c> and <c>response.in_progress</c>, then per output item <c>response.output_item.added</c>, its
/// deltas (<c>response.output_text.delta</c> or <c>response.reasoning_text.delta</c> in a content part, or
/// <c>response.function_call_arguments.delta</c>) and its <c>….done</c> events, and last <c>response.completed</c> (or
/// <c>response.incomplete</c>) with the whole response and its usage. Reasoning deltas (DeepSeek's
/// <c>reasoning_content</c>, vLLM's <c>reasoning</c>) fill a reasoning item, content deltas a message item; each chat tool-call index gets its own
/// <c>function_call</c> item; a new item closes the open one. The usage comes in the chunk after the finish chunk, so the last event waits for
/// <c>[DONE]</c> (or the end of the stream, for servers that omit it). An error ends the stream with an <c>error</c>
/// event and <c>response.failed</c>.
/// </summary>
internal sealed class ResponsesStreamTranslator(ResponsesContext context, string clientModel) : ChatChunkStreamTranslator
{
    private readonly List<ResponseOutputItem> _items = [];
    /// <summary>Chat tool-call index → the item of that call.</summary>
    private readonly Dictionary<int, ResponseOutputItem> _calls = [];
    private ResponseOutputItem? _open;
    private string? _finishReason;
    private long _reasoningTokens;
    private int _sequence;
    private bool _started;

    protected override bool FinishSeen => _finishReason is not null;

    protected override void OnUsage(JsonElement usage)
    {
        var read = ResponseUsage.FromOpenAI(usage);
        Counts = read.Counts;
        _reasoningTokens = read.ReasoningTokens;
    }

    protected override void OnChoice(JsonElement choice, IBufferWriter<byte> output)
    {
        if (choice.TryGet("delta", out var delta))
        {
            if (MessageContent.ReasoningText(delta) is { } reasoning)
            {
                if (_open is not { Kind: ResponseItemKind.Reasoning })
                {
                    Open(output, new ResponseOutputItem(_items.Count, context.ReasoningId(_items.Count), ResponseItemKind.Reasoning));
                }
                _open!.Text.Append(reasoning);
                var writer = Begin(output, "response.reasoning_text.delta"u8);
                WriteItemRef(writer, _open);
                writer.WriteNumber("content_index", 0);
                writer.WriteString("delta", reasoning);
                End(writer);
            }
            if (MessageContent.AnswerText(delta) is { Length: > 0 } text)
            {
                if (_open is not { Kind: ResponseItemKind.Message })
                {
                    Open(output, new ResponseOutputItem(_items.Count, context.MessageId(_items.Count), ResponseItemKind.Message));
                }
                _open!.Text.Append(text);
                var logprobsFrom = _open.Logprobs?.WrittenCount ?? 0;
                if (choice.TryGet("logprobs", out var logprobs))
                {
                    _open.AddLogprobs(logprobs);
                }
                var writer = Begin(output, "response.output_text.delta"u8);
                WriteItemRef(writer, _open);
                writer.WriteNumber("content_index", 0);
                writer.WriteString("delta", text);
                WriteLogprobsSince(writer, _open, logprobsFrom);
                End(writer);
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
            _finishReason = finishReason;
        }
    }

    private void OnToolCallDelta(JsonElement call, IBufferWriter<byte> output)
    {
        var id = call.StringOrNull("id");
        var function = call.TryGet("function", out var f) ? f : default;
        var index = ToolCallIndex(call, id, _calls.Count);
        if (!_calls.TryGetValue(index, out var item))
        {
            item = new ResponseOutputItem(_items.Count, context.FunctionCallId(_items.Count), ResponseItemKind.FunctionCall,
                string.IsNullOrEmpty(id) ? context.CallId(_items.Count) : id, function.StringOrNull("name") ?? string.Empty);
            _calls[index] = item;
            Open(output, item);
        }
        // A fragment of a call already closed (interleaved calls, which OpenAI does not send) cannot be sent any more:
        // its arguments were sent whole when it closed.
        if (item == _open && function.StringOrNull("arguments") is { Length: > 0 } fragment)
        {
            item.Text.Append(fragment);
            var writer = Begin(output, "response.function_call_arguments.delta"u8);
            WriteItemRef(writer, item);
            writer.WriteString("delta", fragment);
            End(writer);
        }
    }

    protected override void EnsureStarted(IBufferWriter<byte> output)
    {
        if (_started)
        {
            return;
        }
        _started = true;
        WriteLifecycle(output, "response.created"u8, ResponseStatus.InProgress, usage: null);
        WriteLifecycle(output, "response.in_progress"u8, ResponseStatus.InProgress, usage: null);
    }

    private void Open(IBufferWriter<byte> output, ResponseOutputItem item)
    {
        CloseOpen(output);
        _open = item;
        _items.Add(item);
        var writer = Begin(output, "response.output_item.added"u8);
        writer.WriteNumber("output_index", item.OutputIndex);
        writer.WritePropertyName("item");
        item.Write(writer);
        End(writer);
        if (!item.IsFunctionCall)
        {
            writer = Begin(output, "response.content_part.added"u8);
            WriteItemRef(writer, item);
            writer.WriteNumber("content_index", 0);
            writer.WritePropertyName("part");
            item.WriteTextPart(writer, string.Empty);
            End(writer);
        }
    }

    /// <summary>Ends the open item: <paramref name="status"/> says how the answer ended so far (a new item: it went on).</summary>
    private void CloseOpen(IBufferWriter<byte> output, ResponseStatus status = default)
    {
        if (_open is not { } item)
        {
            return;
        }
        _open = null;
        (status.Status is null ? ResponseStatus.From(null) : status).End([item]);
        var text = item.Text.ToString();
        Utf8JsonWriter writer;
        if (item.IsFunctionCall)
        {
            writer = Begin(output, "response.function_call_arguments.done"u8);
            WriteItemRef(writer, item);
            writer.WriteString("name", item.Name);
            writer.WriteString("arguments", text);
            End(writer);
        }
        else
        {
            var reasoning = item.Kind == ResponseItemKind.Reasoning;
            writer = Begin(output, reasoning ? "response.reasoning_text.done"u8 : "response.output_text.done"u8);
            WriteItemRef(writer, item);
            writer.WriteNumber("content_index", 0);
            writer.WriteString("text", text);
            if (!reasoning)
            {
                item.WriteLogprobs(writer);
            }
            End(writer);

            writer = Begin(output, "response.content_part.done"u8);
            WriteItemRef(writer, item);
            writer.WriteNumber("content_index", 0);
            writer.WritePropertyName("part");
            item.WriteTextPart(writer, text);
            End(writer);
        }
        writer = Begin(output, "response.output_item.done"u8);
        writer.WriteNumber("output_index", item.OutputIndex);
        writer.WritePropertyName("item");
        item.Write(writer);
        End(writer);
    }

    protected override void Finish(IBufferWriter<byte> output)
    {
        // Written after the usage chunk (which the ledger bills), and held like a stream's last event.
        if (StopReasons.IsInterrupted(_finishReason))
        {
            Fail(output, "server_error", StopReasons.InterruptedMessage, StopReasons.InterruptedCode);
            return;
        }
        EnsureStarted(output);
        var status = ResponseStatus.From(_finishReason);
        CloseOpen(output, status);
        // Written once, and kept as written when the response is to be stored.
        var writer = Begin(output, status.Status == "incomplete" ? "response.incomplete"u8 : "response.completed"u8);
        writer.WritePropertyName("response");
        writer.WriteRawValue(ResponsesToChat.ResponseObject(context, clientModel, status, _items, new ResponseUsage(Counts, _reasoningTokens)), skipInputValidation: true);
        End(writer);
        Completed = true;
    }

    protected override void WriteError(IBufferWriter<byte> output, string type, string message)
    {
        var writer = Begin(output, "error"u8);
        writer.WriteString("code", type);
        writer.WriteString("message", message);
        writer.WriteNull("param");
        End(writer);
        var failed = ResponseStatus.Failed(type, message);
        failed.End(_items);
        WriteLifecycle(output, "response.failed"u8, failed, new ResponseUsage(Counts, _reasoningTokens));
    }

    private void WriteLifecycle(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ResponseStatus status, ResponseUsage? usage)
    {
        var writer = Begin(output, name);
        writer.WritePropertyName("response");
        ResponsesToChat.WriteResponse(writer, context, clientModel, status, _items, usage);
        End(writer);
    }

    private static void WriteItemRef(Utf8JsonWriter writer, ResponseOutputItem item)
    {
        writer.WriteString("item_id", item.Id);
        writer.WriteNumber("output_index", item.OutputIndex);
    }

    /// <summary>The log probabilities the last delta added (those after <paramref name="from"/> bytes of the item's).</summary>
    private static void WriteLogprobsSince(Utf8JsonWriter writer, ResponseOutputItem item, int from)
    {
        var all = item.Logprobs is { } logprobs ? logprobs.WrittenSpan : default;
        ResponseOutputItem.WriteArray(writer, "logprobs", from < all.Length ? all[from..].TrimStart((byte)',') : default);
    }

    /// <summary>Begins a named event whose data carries its <c>type</c> (the same name) and <c>sequence_number</c>.</summary>
    private Utf8JsonWriter Begin(IBufferWriter<byte> output, ReadOnlySpan<byte> name)
    {
        var writer = Sse.Begin(output, name);
        writer.WriteStartObject();
        writer.WriteString("type"u8, name);
        writer.WriteNumber("sequence_number", _sequence++);
        return writer;
    }

    private void End(Utf8JsonWriter writer)
    {
        writer.WriteEndObject();
        Sse.End();
    }
}
