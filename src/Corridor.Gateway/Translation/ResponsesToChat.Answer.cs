using System.Buffers;
using System.Text;
using System.Text.Json;
using Corridor.Core.Json;

namespace Corridor.Gateway.Translation;

/// <summary>What an output item of a Responses answer is.</summary>
internal enum ResponseItemKind
{
    /// <summary>The answer's text: an <c>output_text</c> part.</summary>
    Message,

    /// <summary>A tool call and its arguments.</summary>
    FunctionCall,

    /// <summary>The model's reasoning, given as text (DeepSeek's <c>reasoning_content</c>, vLLM's <c>reasoning</c>): a <c>reasoning_text</c> part.</summary>
    Reasoning,
}

/// <summary>One output item of a Responses answer, at its index in <c>output</c>: reasoning, a message's text, or a function call and its arguments.</summary>
internal sealed class ResponseOutputItem(int outputIndex, string id, ResponseItemKind kind, string? callId = null, string? name = null)
{
    public int OutputIndex { get; } = outputIndex;

    public string Id { get; } = id;

    public ResponseItemKind Kind { get; } = kind;

    public bool IsFunctionCall => Kind == ResponseItemKind.FunctionCall;

    public string? CallId { get; } = callId;

    public string? Name { get; } = name;

    /// <summary>The message's text, the reasoning's, or the call's arguments.</summary>
    public StringBuilder Text { get; } = new();

    /// <summary>The text's log probabilities, as chat gives them (a JSON array's elements, comma-separated), when asked for.</summary>
    public ArrayBufferWriter<byte>? Logprobs { get; set; }

    /// <summary><c>in_progress</c> until the item ends: <c>completed</c>, or <c>incomplete</c> for the last item of an answer cut short.</summary>
    public string Status { get; set; } = "in_progress";

    public void AddLogprobs(JsonElement chatLogprobs)
    {
        if (!chatLogprobs.TryGet("content", out var content) || content.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        Logprobs ??= new ArrayBufferWriter<byte>(256);
        using var writer = new Utf8JsonWriter(Logprobs, Json.WriterOptions);
        foreach (var token in content.EnumerateArray())
        {
            if (Logprobs.WrittenCount > 0)
            {
                writer.Flush();
                Logprobs.Write(","u8);
            }
            token.WriteTo(writer);
            writer.Flush();
            writer.Reset();
        }
    }

    public void WriteLogprobs(Utf8JsonWriter writer) =>
        WriteArray(writer, "logprobs", Logprobs is { } logprobs ? logprobs.WrittenSpan : default);

    /// <summary>Writes an array of the comma-separated JSON values <paramref name="elements"/> (none when empty).</summary>
    public static void WriteArray(Utf8JsonWriter writer, string name, ReadOnlySpan<byte> elements)
    {
        writer.WritePropertyName(name);
        var array = new byte[elements.Length + 2];
        array[0] = (byte)'[';
        elements.CopyTo(array.AsSpan(1));
        array[^1] = (byte)']';
        writer.WriteRawValue(array, skipInputValidation: true);
    }

    /// <summary>The item as <c>output</c> lists it: empty while in progress, whole once it ended.</summary>
    public void Write(Utf8JsonWriter writer)
    {
        var done = Status != "in_progress";
        writer.WriteStartObject();
        writer.WriteString("id", Id);
        if (IsFunctionCall)
        {
            writer.WriteString("type", "function_call");
            writer.WriteString("status", Status);
            writer.WriteString("call_id", CallId);
            writer.WriteString("name", Name);
            writer.WriteString("arguments", done ? Text.ToString() : string.Empty);
        }
        else
        {
            var reasoning = Kind == ResponseItemKind.Reasoning;
            writer.WriteString("type", reasoning ? "reasoning" : "message");
            writer.WriteString("status", Status);
            if (reasoning)
            {
                // Reasoning given as text, not summarized: OpenAI's shape for visible reasoning (its summary stays empty).
                writer.WriteStartArray("summary");
                writer.WriteEndArray();
            }
            else
            {
                writer.WriteString("role", "assistant");
            }
            writer.WriteStartArray("content");
            if (done)
            {
                WriteTextPart(writer, Text.ToString());
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    /// <summary>The item's text content part: <c>output_text</c> (with its annotations and log probabilities), or <c>reasoning_text</c>.</summary>
    public void WriteTextPart(Utf8JsonWriter writer, string text)
    {
        writer.WriteStartObject();
        if (Kind == ResponseItemKind.Reasoning)
        {
            writer.WriteString("type", "reasoning_text");
            writer.WriteString("text", text);
            writer.WriteEndObject();
            return;
        }
        writer.WriteString("type", "output_text");
        writer.WriteString("text", text);
        writer.WriteStartArray("annotations");
        writer.WriteEndArray();
        WriteLogprobs(writer);
        writer.WriteEndObject();
    }
}

/// <summary>How a Responses answer ended: its <c>status</c>, and why when incomplete.</summary>
internal readonly record struct ResponseStatus(string Status, string? IncompleteReason = null, string? ErrorCode = null, string? ErrorMessage = null)
{
    public static ResponseStatus InProgress => new("in_progress");

    /// <summary>Chat's finish reason → the answer's status: cut at the token cap or by a content filter is <c>incomplete</c>.</summary>
    public static ResponseStatus From(string? finishReason) => finishReason switch
    {
        "length" => new("incomplete", "max_output_tokens"),
        "content_filter" => new("incomplete", "content_filter"),
        _ => new("completed"),
    };

    public static ResponseStatus Failed(string code, string message) => new("failed", null, code, message);

    /// <summary>
    /// Ends the answer's items that are still in progress: <c>completed</c>, except the last of an answer cut short, which
    /// is <c>incomplete</c> as OpenAI marks it (and every one of a failed answer).
    /// </summary>
    public void End(IReadOnlyList<ResponseOutputItem> items)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Status == "in_progress")
            {
                items[i].Status = Status == "completed" || (Status == "incomplete" && i < items.Count - 1) ? "completed" : "incomplete";
            }
        }
    }
}

internal static partial class ResponsesToChat
{
    /// <summary><c>chat.completion</c> → Responses answer (the first choice; the translated request never asks for more).</summary>
    public static TranslationResult TranslateResponse(ReadOnlySpan<byte> chatResponse, ResponsesContext context, string clientModel)
    {
        var sizeHint = chatResponse.Length + 1024;
        return Json.Translate(chatResponse, "upstream response", root => TranslateResponse(root, context, clientModel, sizeHint));
    }

    private static TranslationResult TranslateResponse(JsonElement root, ResponsesContext context, string clientModel, int sizeHint)
    {
        if (!root.TryGet("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0
            || !choices[0].TryGet("message", out var message) || message.ValueKind != JsonValueKind.Object)
        {
            return TranslationResult.Fail(new Problem("The upstream response is not a chat completion."));
        }
        var choice = choices[0];
        var finishReason = choice.StringOrNull("finish_reason");
        if (StopReasons.IsInterrupted(finishReason))
        {
            return TranslationResult.Interrupted(StopReasons.InterruptedMessage, StopReasons.InterruptedCode);
        }
        var items = new List<ResponseOutputItem>(2);
        if (MessageContent.ReasoningText(message) is { } reasoning)
        {
            var item = new ResponseOutputItem(items.Count, context.ReasoningId(items.Count), ResponseItemKind.Reasoning);
            item.Text.Append(reasoning);
            items.Add(item);
        }
        if (MessageContent.AnswerText(message) is { Length: > 0 } text)
        {
            var item = new ResponseOutputItem(items.Count, context.MessageId(items.Count), ResponseItemKind.Message);
            item.Text.Append(text);
            if (choice.TryGet("logprobs", out var logprobs))
            {
                item.AddLogprobs(logprobs);
            }
            items.Add(item);
        }
        if (message.TryGet("tool_calls", out var toolCalls) && toolCalls.ValueKind == JsonValueKind.Array)
        {
            foreach (var call in toolCalls.EnumerateArray())
            {
                var function = call.TryGet("function", out var f) ? f : default;
                var item = new ResponseOutputItem(items.Count, context.FunctionCallId(items.Count), ResponseItemKind.FunctionCall,
                    call.StringOrNull("id") is { Length: > 0 } id ? id : context.CallId(items.Count), function.StringOrNull("name") ?? string.Empty);
                item.Text.Append(function.StringOrNull("arguments"));
                items.Add(item);
            }
        }
        var usage = root.TryGet("usage", out var u) ? ResponseUsage.FromOpenAI(u) : default;
        var status = ResponseStatus.From(finishReason);
        status.End(items);

        var writer = Json.StartBody(out var buffer, sizeHint);
        using (writer)
        {
            WriteResponse(writer, context, clientModel, status, items, usage);
            var answer = Json.Finish(writer, buffer);
            if (context.Store)
            {
                context.Answered = answer.Body;
            }
            return answer;
        }
    }

    /// <summary>The response object alone (a stream's last event carries it), kept in <paramref name="context"/> when it is to be stored.</summary>
    internal static byte[] ResponseObject(ResponsesContext context, string clientModel, ResponseStatus status, IReadOnlyList<ResponseOutputItem> output, ResponseUsage? usage)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            WriteResponse(writer, context, clientModel, status, output, usage);
        }
        var response = buffer.WrittenSpan.ToArray();
        if (context.Store && status.Status is "completed" or "incomplete")
        {
            context.Answered = response;
        }
        return response;
    }

    /// <summary>
    /// Chat chunks → Responses events (<c>response.created</c> … <c>response.completed</c>). <paramref name="upstream"/>
    /// turns an Anthropic-kind upstream's events into chat chunks first; null for an OpenAI-kind upstream.
    /// </summary>
    public static IStreamTranslator CreateStreamTranslator(ResponsesContext context, string clientModel, IStreamTranslator? upstream = null)
    {
        var responses = new ResponsesStreamTranslator(context, clientModel);
        return upstream is null ? responses : new ChainedStreamTranslator(upstream, responses);
    }

    /// <summary>The response object, as a whole answer gives it and the stream's lifecycle events carry it.</summary>
    internal static void WriteResponse(Utf8JsonWriter writer, ResponsesContext context, string clientModel, ResponseStatus status,
        IReadOnlyList<ResponseOutputItem> output, ResponseUsage? usage)
    {
        writer.WriteStartObject();
        writer.WriteString("id", context.ResponseId);
        writer.WriteString("object", "response");
        writer.WriteNumber("created_at", context.CreatedAt);
        writer.WriteString("status", status.Status);
        writer.WriteBoolean("background", false);
        if (status.ErrorCode is { } code)
        {
            writer.WriteStartObject("error");
            writer.WriteString("code", code);
            writer.WriteString("message", status.ErrorMessage);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("error");
        }
        if (status.IncompleteReason is { } reason)
        {
            writer.WriteStartObject("incomplete_details");
            writer.WriteString("reason", reason);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("incomplete_details");
        }
        writer.WriteString("model", clientModel);
        writer.WriteStartArray("output");
        foreach (var item in output)
        {
            item.Write(writer);
        }
        writer.WriteEndArray();
        writer.WriteString("previous_response_id", context.PreviousResponseId);
        // Whether it is kept: unless the client said store: false (docs/responses.md, "Stored responses").
        writer.WriteBoolean("store", context.Store);
        foreach (var (name, value) in context.Echoed)
        {
            writer.WritePropertyName(name);
            writer.WriteRawValue(value, skipInputValidation: true);
        }
        if (usage is { } counts)
        {
            counts.Write(writer);
        }
        else
        {
            writer.WriteNull("usage");
        }
        writer.WriteEndObject();
    }
}

/// <summary>A Responses answer's <c>usage</c>: every prompt token counts as input, cached ones among them.</summary>
internal readonly record struct ResponseUsage(UsageCounts Counts, long ReasoningTokens)
{
    public static ResponseUsage FromOpenAI(JsonElement usage) => new(UsageCounts.FromOpenAI(usage),
        usage.TryGet("completion_tokens_details", out var details) ? Math.Max(0, details.Int64OrZero("reasoning_tokens")) : 0);

    public void Write(Utf8JsonWriter writer) =>
        ResponseUsageJson.Write(writer, Counts.TotalInput, Counts.CacheRead, Counts.Output, Math.Min(ReasoningTokens, Counts.Output));
}
