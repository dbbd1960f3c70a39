using System.Buffers;
using System.Text.Json;

namespace Corridor.Gateway.Translation;

/// <summary>
/// What policy or throttling can change in a chat request that a Responses answer echoes, as the front door parsed the
/// request: its token cap, whether it asks to reason, whether it asks for log probabilities.
/// </summary>
internal readonly record struct PolicyParameters(int? MaxTokens, bool Reasoning, bool Logprobs);

/// <summary>
/// What a Responses API answer needs of its request: its ids, its creation time and the request's parameters that the
/// answer echoes (<c>instructions</c>, <c>tools</c>, <c>text</c>, …), given as the JSON object of those the client sent; and
/// what each message of the chat request was made of (<see cref="MessageSource"/>), to name a parameter as the client sent it.
/// </summary>
internal sealed class ResponsesContext(string responseId, long createdAt, byte[] echo, MessageSource[]? sources = null)
{
    public string ResponseId { get; } = responseId;

    /// <summary>What each message of the chat request was made of, in its order (none known: an empty array).</summary>
    public MessageSource[] Sources { get; } = sources ?? [];

    public long CreatedAt { get; } = createdAt;

    /// <summary>
    /// Each parameter the answer echoes, in its order, as the client sent it or as OpenAI's default, except what the
    /// forwarded request changed (<see cref="Forwarded"/>): read once, though a stream's answer is written three times
    /// (created, in progress, completed).
    /// </summary>
    public (string Name, byte[] Value)[] Echoed { get; private set; } = ResponsesToChat.ReadEcho(echo);

    /// <summary>
    /// What the chat request the client's became asked (<paramref name="asked"/>) and what the one forwarded asks
    /// (<paramref name="sent"/>), when policy or throttling rewrote it: the answer echoes what was applied where they differ (a capped
    /// <c>max_output_tokens</c>, a stripped reasoning effort, log probabilities stripped), as OpenAI echoes its effective values.
    /// </summary>
    public void Forwarded(PolicyParameters asked, PolicyParameters sent)
    {
        // Called for each attempt's answer; a fallback forwards the same values, read already.
        if (_forwarded == sent)
        {
            return;
        }
        _forwarded = sent;
        Echoed = ResponsesToChat.ReadEcho(echo, asked, sent);
    }

    private PolicyParameters? _forwarded;

    /// <summary>Whether the answer is kept (<c>store</c> true or left out, OpenAI's default), and its echo says so.</summary>
    public bool Store { get; set; }

    /// <summary>The stored response this one continues (<c>previous_response_id</c>), echoed; null when none.</summary>
    public string? PreviousResponseId { get; set; }

    /// <summary>The request's own <c>input</c>, as sent (JSON): what a kept response lists among its input items, after <see cref="Earlier"/>.</summary>
    public byte[] Input { get; set; } = [];

    /// <summary>
    /// The continued response's items (JSON arrays: its input items, then its output items), served before <see cref="Input"/>
    /// and listed before it when this one is kept; null when none.
    /// </summary>
    public string[]? Earlier { get; set; }

    /// <summary>
    /// The response object as answered, once it ended <c>completed</c> or <c>incomplete</c> (whole, or the stream's last event's),
    /// when it is to be kept (<see cref="Store"/>); null before, and for an answer that failed.
    /// </summary>
    public byte[]? Answered { get; set; }

    /// <summary><c>resp_</c> and the request id's hex digits; the output items' ids carry the same digits.</summary>
    public static ResponsesContext For(string requestId, DateTimeOffset receivedAt, byte[] echo, MessageSource[]? sources = null) =>
        new("resp_" + Digits(requestId), receivedAt.ToUnixTimeSeconds(), echo, sources);

    private static string Digits(string requestId) => requestId.StartsWith("req_", StringComparison.Ordinal) ? requestId[4..] : requestId;

    public string MessageId(int outputIndex) => $"msg_{ResponseId[5..]}_{outputIndex}";

    public string ReasoningId(int outputIndex) => $"rs_{ResponseId[5..]}_{outputIndex}";

    public string FunctionCallId(int outputIndex) => $"fc_{ResponseId[5..]}_{outputIndex}";

    /// <summary>The <c>call_id</c> of a function call whose upstream gave none: unique in the conversation, which sends it back.</summary>
    public string CallId(int outputIndex) => $"call_{ResponseId[5..]}_{outputIndex}";
}

/// <summary>
/// What a Responses request says of keeping its answer (<c>store</c>, true when left out, as OpenAI's default) and of the
/// stored response it continues (<c>previous_response_id</c>), with its <c>input</c> as sent (JSON).
/// </summary>
internal sealed record ResponseKeeping(bool Store, string? PreviousResponseId, byte[] Input)
{
    public static readonly ResponseKeeping None = new(false, null, []);
}

/// <summary>
/// The client speaks OpenAI's Responses API (<c>POST /v1/responses</c>); Corridor serves it as a chat completion, over
/// any deployment (an Anthropic-kind one through <see cref="ChatToMessages"/> as well), and answers in the Responses
/// shape. Corridor keeps responses (<c>store</c>, <c>previous_response_id</c>: <see cref="StoredResponses.ResponseKeeper"/>),
/// not conversations: what needs a conversation, background work, a stored prompt or an item reference, and the
/// vendor-hosted tools (web search, file search, code interpreter, …) are refused with a 400 that says so; function tools,
/// images, files, structured output, reasoning effort and logprobs are carried. Parameters with no chat counterpart that
/// change nothing Corridor serves (<c>metadata</c>, <c>truncation</c> <c>disabled</c>, <c>max_tool_calls</c>,
/// <c>include</c> values other than logprobs) are echoed, not sent; <c>truncation: "auto"</c> is served as <c>disabled</c>
/// and echoed so.
/// </summary>
internal static partial class ResponsesToChat
{
    /// <summary>Request parameters a Responses answer echoes, in the order OpenAI writes them, with the value written when the client sent none.</summary>
    private static readonly (string Name, string Default)[] Echoed =
    [
        ("instructions", "null"),
        ("max_output_tokens", "null"),
        ("max_tool_calls", "null"),
        ("metadata", "{}"),
        ("parallel_tool_calls", "true"),
        ("prompt_cache_key", "null"),
        ("reasoning", "{\"effort\":null,\"summary\":null}"),
        ("safety_identifier", "null"),
        ("service_tier", "\"default\""),
        ("temperature", "1.0"),
        ("text", "{\"format\":{\"type\":\"text\"}}"),
        ("tool_choice", "\"auto\""),
        ("tools", "[]"),
        ("top_logprobs", "0"),
        ("top_p", "1.0"),
        ("truncation", "\"disabled\""),
        ("user", "null"),
    ];

    private const string NotKept = "Corridor keeps responses, not conversations: continue a response with 'previous_response_id', or send the whole conversation in 'input'.";

    /// <summary>Parameters that need what Corridor does not keep, and what Corridor says of them.</summary>
    private static readonly (string Name, string Message)[] Refused =
    [
        ("conversation", "'conversation' is not supported. " + NotKept),
        ("prompt", "Stored prompts are not supported: send 'instructions' and 'input'."),
    ];

    /// <summary>
    /// Responses request → chat completions request (the model's name kept); <paramref name="echo"/> gets the parameters the
    /// answer echoes, <paramref name="sources"/> what each message of the chat request was made of.
    /// </summary>
    public static TranslationResult TranslateRequest(ReadOnlySpan<byte> responsesRequest, out byte[] echo, out MessageSource[] sources) =>
        TranslateRequest(responsesRequest, out echo, out sources, out _);

    /// <summary>As above; <paramref name="keeping"/> gets what the request says of keeping its answer and continuing another.</summary>
    public static TranslationResult TranslateRequest(ReadOnlySpan<byte> responsesRequest, out byte[] echo, out MessageSource[] sources, out ResponseKeeping keeping) =>
        TranslateRequest(responsesRequest, [], out echo, out sources, out keeping);

    /// <summary>
    /// As above, for a request that continues a stored response: <paramref name="earlier"/> are that response's items (JSON
    /// arrays: its input items, then its output items), served before the request's own <c>input</c> (a string as one user
    /// message), each array parsed once. A message's source counts them first, as they were served (an upstream's error names
    /// <c>input[k]</c> so); a refusal of one of the request's own items names it as its client sent it.
    /// </summary>
    public static TranslationResult TranslateRequest(ReadOnlySpan<byte> responsesRequest, ReadOnlySpan<string> earlier, out byte[] echo, out MessageSource[] sources, out ResponseKeeping keeping)
    {
        var documents = new List<JsonDocument>(earlier.Length);
        try
        {
            var items = new List<JsonElement>();
            foreach (var array in earlier)
            {
                if (!Json.TryParse(System.Text.Encoding.UTF8.GetBytes(array), out var document) || document.RootElement.ValueKind != JsonValueKind.Array)
                {
                    document?.Dispose();
                    echo = [];
                    sources = [];
                    keeping = ResponseKeeping.None;
                    return TranslationResult.Fail(new Problem("The previous response's items cannot be read.", "previous_response_id"));
                }
                documents.Add(document);
                items.AddRange(document.RootElement.EnumerateArray());
            }
            return Translate(responsesRequest, items, continuedLater: false, out echo, out sources, out keeping);
        }
        finally
        {
            foreach (var document in documents)
            {
                document.Dispose();
            }
        }
    }

    /// <summary>
    /// The front door's reading of a Responses request: translated as <see cref="TranslateRequest(ReadOnlySpan{byte}, out byte[], out MessageSource[], out ResponseKeeping)"/>,
    /// unless it continues a stored response (<paramref name="keeping"/> names it): that one is translated once, with that
    /// response's items, when its caller is known and they are read (the pipeline's step 2b); here it is only checked for
    /// what is refused whatever it continues (<c>conversation</c>, <c>prompt</c>, <c>background</c>, a <c>store</c> or
    /// <c>previous_response_id</c> of the wrong type). Null for such a request that passed those checks.
    /// </summary>
    public static TranslationResult? TranslateUnlessContinuing(ReadOnlySpan<byte> responsesRequest, out byte[] echo, out MessageSource[] sources, out ResponseKeeping keeping)
    {
        var result = Translate(responsesRequest, [], continuedLater: true, out echo, out sources, out keeping);
        return result.Succeeded || result.Error is not null ? result : null;
    }

    private static TranslationResult Translate(ReadOnlySpan<byte> responsesRequest, List<JsonElement> earlier, bool continuedLater, out byte[] echo, out MessageSource[] sources, out ResponseKeeping keeping)
    {
        var sizeHint = responsesRequest.Length;
        byte[] echoed = [];
        var kept = ResponseKeeping.None;
        var made = new List<MessageSource>();
        var result = Json.Translate(responsesRequest, "request body", root => TranslateRequest(root, sizeHint, earlier, continuedLater, made, out echoed, out kept));
        echo = echoed;
        sources = [.. made];
        keeping = kept;
        return result;
    }

    /// <summary>What the translation gives a request it leaves for later (<see cref="TranslateUnlessContinuing"/>): neither a body nor an error.</summary>
    private static readonly TranslationResult Later = new(null, null);

    private static TranslationResult TranslateRequest(JsonElement root, int sizeHint, List<JsonElement> earlier, bool continuedLater, List<MessageSource> sources, out byte[] echo, out ResponseKeeping keeping)
    {
        echo = [];
        keeping = ResponseKeeping.None;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return TranslationResult.Fail(new Problem("The request body must be a JSON object."));
        }
        foreach (var (name, message) in Refused)
        {
            if (root.TryGet(name, out _))
            {
                return TranslationResult.Fail(new Problem(message, name));
            }
        }
        if (ReadKeeping(root, out keeping) is { } keepingProblem)
        {
            return TranslationResult.Fail(keepingProblem);
        }
        if (root.TryGet("background", out var background) && background.ValueKind == JsonValueKind.True)
        {
            return TranslationResult.Fail(new Problem("Background responses are not supported: Corridor does not keep responses.", "background"));
        }
        if (continuedLater && keeping.PreviousResponseId is not null)
        {
            return Later;
        }
        var writer = Json.StartBody(out var buffer, sizeHint);
        using (writer)
        {
            writer.WriteStartObject();
            if (root.TryGet("model", out var model))
            {
                writer.WritePropertyName("model");
                model.WriteTo(writer);
            }
            var problem = WriteMessages(root, earlier, writer, sources) ?? WriteTools(root, writer) ?? WriteOptions(root, writer);
            if (problem is { } p)
            {
                return TranslationResult.Fail(p);
            }
            writer.WriteEndObject();
            echo = Echo(root);
            return Json.Finish(writer, buffer);
        }
    }

    /// <summary><c>store</c> (a boolean, true when left out) and <c>previous_response_id</c> (a string), and the <c>input</c> as sent.</summary>
    private static Problem? ReadKeeping(JsonElement root, out ResponseKeeping keeping)
    {
        keeping = ResponseKeeping.None;
        if (root.OptionalBool("store", "store", out var store) is { } storeProblem)
        {
            return storeProblem;
        }
        if (root.OptionalString("previous_response_id", "previous_response_id", out var previous) is { } previousProblem)
        {
            return previousProblem;
        }
        var input = root.TryGet("input", out var given) ? System.Text.Encoding.UTF8.GetBytes(given.GetRawText()) : [];
        keeping = new ResponseKeeping(store ?? true, string.IsNullOrEmpty(previous) ? null : previous, input);
        return null;
    }

    /// <summary>
    /// Whether a chat request translated from a Responses request may carry an assistant message's <c>reasoning_content</c>:
    /// a cheap look before <see cref="WithoutReasoning"/> (the name, quotes included, cannot appear inside a string value).
    /// </summary>
    public static bool CarriesReasoning(ReadOnlySpan<byte> chatRequest) => chatRequest.IndexOf("\"reasoning_content\""u8) >= 0;

    /// <summary>
    /// The chat request with its messages' <c>reasoning_content</c> left out, for an upstream that takes none back (OpenAI's
    /// own API); every other property as it was.
    /// </summary>
    public static TranslationResult WithoutReasoning(ReadOnlySpan<byte> chatRequest)
    {
        var sizeHint = chatRequest.Length;
        return Json.Translate(chatRequest, "request body", root =>
        {
            var writer = Json.StartBody(out var buffer, sizeHint);
            using (writer)
            {
                writer.WriteStartObject();
                foreach (var property in root.EnumerateObject())
                {
                    if (!property.NameEquals("messages") || property.Value.ValueKind != JsonValueKind.Array)
                    {
                        property.WriteTo(writer);
                        continue;
                    }
                    writer.WriteStartArray("messages");
                    foreach (var message in property.Value.EnumerateArray())
                    {
                        if (message.ValueKind != JsonValueKind.Object || !message.TryGet("reasoning_content", out _))
                        {
                            message.WriteTo(writer);
                            continue;
                        }
                        writer.WriteStartObject();
                        foreach (var field in message.EnumerateObject())
                        {
                            if (!field.NameEquals("reasoning_content"))
                            {
                                field.WriteTo(writer);
                            }
                        }
                        writer.WriteEndObject();
                    }
                    writer.WriteEndArray();
                }
                writer.WriteEndObject();
                return Json.Finish(writer, buffer);
            }
        });
    }

    /// <summary>
    /// An echoed value nests as deeply as the client wrote it (a tool's schema), which the front door and the translation
    /// accept to <see cref="Json.MaxDepth"/>: read with the reader's default (64), a deeper one threw.
    /// </summary>
    private static readonly JsonDocumentOptions EchoOptions = new() { MaxDepth = Json.MaxDepth };

    /// <summary>Each echoed parameter's JSON: the client's value from <paramref name="echo"/>, else the default.</summary>
    internal static (string Name, byte[] Value)[] ReadEcho(byte[] echo)
    {
        using var document = JsonDocument.Parse(echo, EchoOptions);
        return [.. Echoed.Select(e => (e.Name, document.RootElement.TryGetProperty(e.Name, out var value)
            ? System.Text.Encoding.UTF8.GetBytes(value.GetRawText())
            : System.Text.Encoding.UTF8.GetBytes(e.Default)))];
    }

    /// <summary>
    /// The echo of <paramref name="echo"/>, with what the forwarded chat request (<paramref name="sent"/>) changed from the
    /// client's (<paramref name="asked"/>) echoed as applied: <c>max_output_tokens</c> (its token cap), <c>reasoning.effort</c>
    /// null when reasoning was stripped, and <c>top_logprobs</c> 0 when log probabilities were.
    /// </summary>
    internal static (string Name, byte[] Value)[] ReadEcho(byte[] echo, PolicyParameters asked, PolicyParameters sent)
    {
        var echoed = ReadEcho(echo);
        for (var i = 0; i < echoed.Length; i++)
        {
            var replacement = echoed[i].Name switch
            {
                "max_output_tokens" when asked.MaxTokens != sent.MaxTokens => Utf8(sent.MaxTokens is { } cap ? cap.ToString(System.Globalization.CultureInfo.InvariantCulture) : "null"),
                "reasoning" when asked.Reasoning && !sent.Reasoning => WithEffort(echoed[i].Value, null),
                "top_logprobs" when asked.Logprobs && !sent.Logprobs => Utf8("0"),
                _ => null,
            };
            if (replacement is not null)
            {
                echoed[i] = (echoed[i].Name, replacement);
            }
        }
        return echoed;

        static byte[] Utf8(string json) => System.Text.Encoding.UTF8.GetBytes(json);
    }

    /// <summary>The echoed <c>reasoning</c> object with its <c>effort</c> the one applied (null: none was sent).</summary>
    private static byte[] WithEffort(byte[] reasoning, string? effort)
    {
        using var document = JsonDocument.Parse(reasoning, EchoOptions);
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("effort", effort);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Name != "effort")
                    {
                        property.WriteTo(writer);
                    }
                }
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Echo(JsonElement root)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var (name, _) in Echoed)
            {
                // Corridor drops no input items: 'auto' is served as 'disabled' and echoed as what was applied (the default).
                if (root.TryGet(name, out var value) && !(name == "truncation" && value.ValueKind == JsonValueKind.String && value.ValueEquals("auto")))
                {
                    writer.WritePropertyName(name);
                    value.WriteTo(writer);
                }
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// An upstream's error, relayed to a Responses client: its <c>param</c>, which names the chat completion's parameter,
    /// names the Responses parameter it came from where that is unambiguous (<see cref="ResponsesParam"/>, with what the
    /// request's messages were made of, <paramref name="sources"/>); the message is the upstream's. Null when there is
    /// nothing to rename (the body is relayed as it came).
    /// </summary>
    public static byte[]? TranslateError(ReadOnlySpan<byte> error, ReadOnlySpan<MessageSource> sources = default)
    {
        if (!Json.TryParse(error, out var document))
        {
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGet("error", out var body) || body.ValueKind != JsonValueKind.Object
                || body.StringOrNull("param") is not { } param || ResponsesParam(param, sources) is var renamed && renamed == param)
            {
                return null;
            }
            var buffer = new ArrayBufferWriter<byte>(error.Length + 16);
            using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
            {
                writer.WriteStartObject();
                foreach (var property in root.EnumerateObject())
                {
                    if (property.NameEquals("error"))
                    {
                        writer.WriteStartObject("error");
                        foreach (var field in body.EnumerateObject())
                        {
                            if (field.NameEquals("param"))
                            {
                                writer.WriteString("param", renamed);
                            }
                            else
                            {
                                field.WriteTo(writer);
                            }
                        }
                        writer.WriteEndObject();
                    }
                    else
                    {
                        property.WriteTo(writer);
                    }
                }
                writer.WriteEndObject();
            }
            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>
    /// A translation's refusal (<paramref name="message"/>, about chat parameter <paramref name="param"/>) as a Responses
    /// client is told it: the parameter it sent (<see cref="ResponsesParam"/>, with what the request's messages were made of,
    /// <paramref name="sources"/>), in the <c>param</c> field and where the message quotes the chat parameter alike.
    /// </summary>
    public static (string Message, string? Param) ForResponsesClient(string message, string? param, ReadOnlySpan<MessageSource> sources = default)
    {
        if (param is null || ResponsesParam(param, sources) is var renamed && renamed == param)
        {
            return (message, param);
        }
        return (message.Replace($"'{param}'", $"'{renamed}'", StringComparison.Ordinal), renamed);
    }

    /// <summary>
    /// The Responses parameter a chat parameter (as an error names it) was translated from: the token cap, the messages
    /// (<c>input</c>; a message <c>messages[i]…</c> the input item it was made of and the same field of it,
    /// <see cref="MessageSource.Name"/>, as <paramref name="sources"/> tell, since a message's index is not the input item's:
    /// <c>instructions</c> are a message, an answer and its calls one; <c>input</c> when they do not tell), the response
    /// format and verbosity (<c>text.…</c>), the reasoning effort, logprobs (<c>include</c>), a function tool's fields (the
    /// tools keep their order) and the chosen function; any other name, the same in both APIs or Corridor's own, as it is.
    /// </summary>
    internal static string ResponsesParam(string param, ReadOnlySpan<MessageSource> sources = default)
    {
        const string Format = "response_format.json_schema.";
        return param switch
        {
            "max_tokens" or "max_completion_tokens" => "max_output_tokens",
            "messages" => "input",
            _ when param.StartsWith("messages[", StringComparison.Ordinal) => InputParam(param, sources),
            _ when param.StartsWith("messages.", StringComparison.Ordinal) => "input",
            "response_format" or "response_format.json_schema" => "text.format",
            _ when param.StartsWith(Format, StringComparison.Ordinal) => "text.format." + param[Format.Length..],
            _ when param.StartsWith("response_format.", StringComparison.Ordinal) => "text.format." + param["response_format.".Length..],
            "reasoning_effort" => "reasoning.effort",
            "verbosity" => "text.verbosity",
            "logprobs" => "include",
            "tool_choice.function.name" => "tool_choice.name",
            _ when FunctionToolField(param) is { } tool => tool,
            _ => param,
        };
    }

    /// <summary><c>messages[i]…</c> → what message i was made of (<see cref="MessageSource.Name"/>); <c>input</c> when <paramref name="sources"/> do not tell.</summary>
    private static string InputParam(string param, ReadOnlySpan<MessageSource> sources)
    {
        const int Index = 9; // "messages[".Length
        var close = param.IndexOf(']', Index);
        return close > Index && int.TryParse(param.AsSpan(Index, close - Index), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i)
            && i < sources.Length
            ? sources[i].Name(param.AsSpan(close + 1))
            : "input";
    }

    /// <summary><c>tools[i].function</c> and its fields → <c>tools[i]</c> and its fields (a Responses function tool is flat).</summary>
    private static string? FunctionToolField(string param)
    {
        const string Function = "].function";
        var at = param.StartsWith("tools[", StringComparison.Ordinal) ? param.IndexOf(Function, StringComparison.Ordinal) : -1;
        if (at < 0)
        {
            return null;
        }
        var rest = param[(at + Function.Length)..];
        return rest.Length == 0 || rest[0] == '.' ? param[..(at + 1)] + rest : null;
    }

    /// <summary>
    /// The messages: the <c>instructions</c>, then the <paramref name="earlier"/> items of a continued response, then the
    /// <c>input</c>'s. An item's source counts the earlier items first (as served); a problem with one of the request's own
    /// items names it as sent (<c>input[k]</c> of its own <c>input</c>).
    /// </summary>
    private static Problem? WriteMessages(JsonElement root, List<JsonElement> earlier, Utf8JsonWriter writer, List<MessageSource> sources)
    {
        if (root.OptionalString("instructions", "instructions", out var instructions) is { } instructionsProblem)
        {
            return instructionsProblem;
        }
        if (!root.TryGet("input", out var input))
        {
            return Problem.Missing("input");
        }
        if (input.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
        {
            return Problem.WrongType("input", "a string or an array of input items");
        }
        if (input.ValueKind == JsonValueKind.Array && input.GetArrayLength() == 0)
        {
            return new Problem("'input' must not be empty.", "input");
        }
        writer.WriteStartArray("messages");
        if (!string.IsNullOrEmpty(instructions))
        {
            WriteTextMessage(writer, "system", instructions);
            sources.Add(new MessageSource(MessageSourceKind.Instructions));
        }
        if (input.ValueKind == JsonValueKind.String && earlier.Count == 0)
        {
            WriteTextMessage(writer, "user", input.GetString()!);
            sources.Add(new MessageSource(MessageSourceKind.InputText));
            writer.WriteEndArray();
            return null;
        }
        var assistant = new PendingAssistant(sources);
        for (var i = 0; i < earlier.Count; i++)
        {
            if (WriteItem(earlier[i], $"input[{i}]", i, writer, assistant, sources) is { } earlierProblem)
            {
                return earlierProblem;
            }
        }
        if (input.ValueKind == JsonValueKind.String)
        {
            // After a continued response's items, one more: a user message.
            if (assistant.Flush(writer) is { } flushProblem)
            {
                return flushProblem;
            }
            sources.Add(new MessageSource(MessageSourceKind.Message, earlier.Count));
            WriteTextMessage(writer, "user", input.GetString()!);
        }
        else
        {
            var index = 0;
            foreach (var item in input.EnumerateArray())
            {
                var at = index++;
                if (WriteItem(item, $"input[{at}]", earlier.Count + at, writer, assistant, sources) is { } problem)
                {
                    return problem;
                }
            }
        }
        if (assistant.Flush(writer) is { } last)
        {
            return last;
        }
        writer.WriteEndArray();
        return null;
    }

    /// <summary>One input item (<paramref name="param"/>, the <paramref name="at"/>th served) into the messages.</summary>
    private static Problem? WriteItem(JsonElement item, string param, int at, Utf8JsonWriter writer, PendingAssistant assistant, List<MessageSource> sources)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType(param, "an input item object");
        }
        if (item.OptionalString("type", $"{param}.type", out var type) is { } typeProblem)
        {
            return typeProblem;
        }
        // A message may leave out its type (EasyInputMessage).
        type ??= item.TryGet("role", out _) ? "message" : null;
        return type switch
        {
            "message" => WriteMessage(item, param, writer, assistant, sources, at),
            "function_call" => assistant.AddCall(item, param),
            "function_call_output" => assistant.Flush(writer) ?? WriteToolResult(item, param, writer, sources, at),
            // The model's reasoning in an earlier turn, given as text: the reasoning_content of the assistant turn it
            // precedes (DeepSeek wants it back within a tool loop); an encrypted or summarized one has no chat counterpart.
            "reasoning" => assistant.AddReasoning(item, writer),
            "item_reference" => new Problem("Item references are not supported: send the item itself, or continue its response with 'previous_response_id'.", $"{param}.type"),
            null => Problem.Missing($"{param}.type"),
            _ => new Problem($"Input item type '{type}' is not supported: Corridor serves messages, function calls and their outputs.", $"{param}.type"),
        };
    }

    private static void WriteTextMessage(Utf8JsonWriter writer, string role, string text)
    {
        writer.WriteStartObject();
        writer.WriteString("role", role);
        writer.WriteString("content", text);
        writer.WriteEndObject();
    }

    private static Problem? WriteMessage(JsonElement item, string param, Utf8JsonWriter writer, PendingAssistant assistant, List<MessageSource> sources, int at)
    {
        if (item.RequiredString("role", $"{param}.role", out var role) is { } roleProblem)
        {
            return roleProblem;
        }
        if (!item.TryGet("content", out var content))
        {
            return Problem.Missing($"{param}.content");
        }
        if (role == "assistant")
        {
            // An earlier answer: its text (and refusals) as the assistant's content; function calls after it join it.
            var texts = new List<string>();
            if (ReadAssistantTexts(content, $"{param}.content", texts) is { } problem)
            {
                return problem;
            }
            return assistant.Start(string.Concat(texts), writer);
        }
        if (role is not ("user" or "system" or "developer"))
        {
            return new Problem($"'{param}.role' must be 'user', 'assistant', 'system' or 'developer'.", $"{param}.role");
        }
        if (assistant.Flush(writer) is { } flushProblem)
        {
            return flushProblem;
        }
        sources.Add(new MessageSource(MessageSourceKind.Message, at));
        writer.WriteStartObject();
        writer.WriteString("role", role);
        if (content.ValueKind == JsonValueKind.String)
        {
            writer.WriteString("content", content.GetString());
            writer.WriteEndObject();
            return null;
        }
        if (MessageContent.Read(content, $"{param}.content", "part", out _, out var parts) is { } partsProblem)
        {
            return partsProblem;
        }
        writer.WriteStartArray("content");
        foreach (var part in parts)
        {
            if (WritePart(part, writer) is { } partProblem)
            {
                return partProblem;
            }
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
        return null;
    }

    /// <summary>One input content part → the chat content part that says the same.</summary>
    private static Problem? WritePart(ContentPart part, Utf8JsonWriter writer)
    {
        var element = part.Element;
        switch (part.Type)
        {
            case "input_text" or "output_text":
                if (element.RequiredString("text", $"{part.Param}.text", out var text) is { } textProblem)
                {
                    return textProblem;
                }
                writer.WriteStartObject();
                writer.WriteString("type", "text");
                writer.WriteString("text", text);
                writer.WriteEndObject();
                return null;
            case "input_image":
                if (element.OptionalString("image_url", $"{part.Param}.image_url", out var url) is { } urlProblem)
                {
                    return urlProblem;
                }
                if (url is null)
                {
                    return new Problem("An image must be given by its 'image_url' (a URL or a data URL): Corridor does not keep files.", $"{part.Param}.image_url");
                }
                writer.WriteStartObject();
                writer.WriteString("type", "image_url");
                writer.WriteStartObject("image_url");
                writer.WriteString("url", url);
                if (element.TryGet("detail", out var detail))
                {
                    writer.WritePropertyName("detail");
                    detail.WriteTo(writer);
                }
                writer.WriteEndObject();
                writer.WriteEndObject();
                return null;
            case "input_file":
                // Served as a chat file part: by its content only. A file id would name a file Corridor does not keep (its
                // files hold batch input only), and a URL one it would fetch for the client.
                if (element.TryGet("file_url", out _))
                {
                    return new Problem("A file must be given by its 'file_data': Corridor does not fetch files by URL.", $"{part.Param}.file_url");
                }
                if (element.TryGet("file_id", out _))
                {
                    return new Problem("A file must be given by its 'file_data': Corridor does not keep files.", $"{part.Param}.file_id");
                }
                if (!element.TryGet("file_data", out _))
                {
                    return Problem.Missing($"{part.Param}.file_data");
                }
                writer.WriteStartObject();
                writer.WriteString("type", "file");
                writer.WriteStartObject("file");
                foreach (var name in (ReadOnlySpan<string>)["file_data", "filename"])
                {
                    if (element.TryGet(name, out var value))
                    {
                        writer.WritePropertyName(name);
                        value.WriteTo(writer);
                    }
                }
                writer.WriteEndObject();
                writer.WriteEndObject();
                return null;
            default:
                return new Problem($"Content part type '{part.Type}' is not supported here.", $"{part.Param}.type");
        }
    }

    private static Problem? ReadAssistantTexts(JsonElement content, string param, List<string> texts)
    {
        if (MessageContent.Read(content, param, "part", out var text, out var parts) is { } problem)
        {
            return problem;
        }
        if (text is not null)
        {
            texts.Add(text);
            return null;
        }
        foreach (var part in parts)
        {
            var field = part.Type switch
            {
                "output_text" or "input_text" => "text",
                "refusal" => "refusal",
                _ => null,
            };
            if (field is null)
            {
                return new Problem($"Content part type '{part.Type}' is not supported in an assistant message.", $"{part.Param}.type");
            }
            if (part.Element.RequiredString(field, $"{part.Param}.{field}", out var partText) is { } textProblem)
            {
                return textProblem;
            }
            texts.Add(partText);
        }
        return null;
    }

    private static Problem? WriteToolResult(JsonElement item, string param, Utf8JsonWriter writer, List<MessageSource> sources, int at)
    {
        if (item.RequiredString("call_id", $"{param}.call_id", out var callId) is { } idProblem)
        {
            return idProblem;
        }
        if (!item.TryGet("output", out var output))
        {
            return Problem.Missing($"{param}.output");
        }
        string result;
        if (output.ValueKind == JsonValueKind.String)
        {
            result = output.GetString()!;
        }
        else
        {
            var texts = new List<string>();
            if (MessageContent.Read(output, $"{param}.output", "part", out _, out var parts) is { } problem)
            {
                return problem;
            }
            foreach (var part in parts)
            {
                if (part.Type != "input_text")
                {
                    return new Problem($"A function call's output of type '{part.Type}' is not supported: send text.", $"{part.Param}.type");
                }
                if (part.Element.RequiredString("text", $"{part.Param}.text", out var text) is { } textProblem)
                {
                    return textProblem;
                }
                texts.Add(text);
            }
            result = string.Concat(texts);
        }
        sources.Add(new MessageSource(MessageSourceKind.Output, at));
        writer.WriteStartObject();
        writer.WriteString("role", "tool");
        writer.WriteString("tool_call_id", callId);
        writer.WriteString("content", result);
        writer.WriteEndObject();
        return null;
    }

    /// <summary>
    /// An assistant turn being gathered: a chat completion carries an answer's reasoning, its text and its function calls in
    /// one message, the Responses API as a <c>reasoning</c> item, an <c>output_text</c> message item and <c>function_call</c>
    /// items, in that order. Reasoning that no assistant item follows belongs to no turn, and is left out.
    /// </summary>
    private sealed class PendingAssistant(List<MessageSource> sources)
    {
        private readonly List<(string Id, string Name, string Arguments)> _calls = [];
        private string? _text;
        private string? _reasoning;
        private bool _open;

        public Problem? Start(string text, Utf8JsonWriter writer)
        {
            // A second answer is a turn of its own; reasoning before it would have ended the first already.
            WriteOpen(writer);
            _open = true;
            _text = text;
            return null;
        }

        /// <summary>
        /// A reasoning item's <c>reasoning_text</c> parts, for the assistant turn that follows it (which it begins). One with
        /// none (OpenAI's, summarized or encrypted) changes nothing.
        /// </summary>
        public Problem? AddReasoning(JsonElement item, Utf8JsonWriter writer)
        {
            string? reasoning = null;
            if (item.TryGet("content", out var content) && content.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object && part.StringOrNull("type") == "reasoning_text" && part.StringOrNull("text") is { } text)
                    {
                        reasoning += text;
                    }
                }
            }
            if (reasoning is not null)
            {
                WriteOpen(writer);
                _reasoning += reasoning;
            }
            return null;
        }

        public Problem? AddCall(JsonElement item, string param)
        {
            if (item.RequiredString("call_id", $"{param}.call_id", out var id) is { } idProblem)
            {
                return idProblem;
            }
            if (item.RequiredString("name", $"{param}.name", out var name) is { } nameProblem)
            {
                return nameProblem;
            }
            if (item.RequiredString("arguments", $"{param}.arguments", out var arguments) is { } argumentsProblem)
            {
                return argumentsProblem;
            }
            _open = true;
            _calls.Add((id, name, arguments));
            return null;
        }

        /// <summary>Ends the turn: writes it when it holds an answer or calls; reasoning without either is left out.</summary>
        public Problem? Flush(Utf8JsonWriter writer)
        {
            WriteOpen(writer);
            _reasoning = null;
            return null;
        }

        private void WriteOpen(Utf8JsonWriter writer)
        {
            if (!_open)
            {
                return;
            }
            MessagesToChat.WriteAssistantMessage(writer, _text ?? string.Empty, _calls, _reasoning);
            sources.Add(new MessageSource(MessageSourceKind.Turn));
            _open = false;
            _text = null;
            _reasoning = null;
            _calls.Clear();
        }
    }

    private static Problem? WriteTools(JsonElement root, Utf8JsonWriter writer)
    {
        if (root.TryGet("tools", out var tools))
        {
            if (tools.ValueKind != JsonValueKind.Array)
            {
                return Problem.WrongType("tools", "an array of tools");
            }
            if (tools.GetArrayLength() > 0)
            {
                writer.WriteStartArray("tools");
                var index = 0;
                foreach (var tool in tools.EnumerateArray())
                {
                    var param = $"tools[{index++}]";
                    if (tool.ValueKind != JsonValueKind.Object || tool.RequiredString("type", $"{param}.type", out var type) is not null)
                    {
                        return Problem.WrongType(param, "a tool object with a 'type'");
                    }
                    if (type != "function")
                    {
                        return new Problem($"Tool type '{type}' is not supported: Corridor serves function tools, which your application runs.", $"{param}.type");
                    }
                    if (tool.RequiredString("name", $"{param}.name", out var name) is { } nameProblem)
                    {
                        return nameProblem;
                    }
                    writer.WriteStartObject();
                    writer.WriteString("type", "function");
                    writer.WriteStartObject("function");
                    writer.WriteString("name", name);
                    foreach (var field in (ReadOnlySpan<string>)["description", "parameters", "strict"])
                    {
                        if (tool.TryGet(field, out var value))
                        {
                            writer.WritePropertyName(field);
                            value.WriteTo(writer);
                        }
                    }
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
            }
        }
        if (!root.TryGet("tool_choice", out var choice))
        {
            return null;
        }
        if (choice.ValueKind == JsonValueKind.String)
        {
            writer.WritePropertyName("tool_choice");
            choice.WriteTo(writer);
            return null;
        }
        if (choice.ValueKind != JsonValueKind.Object || choice.StringOrNull("type") != "function" || choice.StringOrNull("name") is not { } chosen)
        {
            return new Problem("'tool_choice' must be 'auto', 'none', 'required' or a function tool ({\"type\": \"function\", \"name\": …}).", "tool_choice");
        }
        writer.WriteStartObject("tool_choice");
        writer.WriteString("type", "function");
        writer.WriteStartObject("function");
        writer.WriteString("name", chosen);
        writer.WriteEndObject();
        writer.WriteEndObject();
        return null;
    }

    private static Problem? WriteOptions(JsonElement root, Utf8JsonWriter writer)
    {
        if (CheckUnsent(root) is { } unsent)
        {
            return unsent;
        }
        foreach (var name in (ReadOnlySpan<string>)["parallel_tool_calls", "temperature", "top_p", "user", "safety_identifier", "prompt_cache_key", "service_tier"])
        {
            if (root.TryGet(name, out var value))
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }
        }
        if (root.TryGet("max_output_tokens", out var max))
        {
            if (max.ValueKind != JsonValueKind.Number || !max.TryGetInt32(out var tokens) || tokens < 1)
            {
                return Problem.WrongType("max_output_tokens", "a positive integer");
            }
            writer.WriteNumber("max_completion_tokens", tokens);
        }
        if (root.TryGet("reasoning", out var reasoning))
        {
            if (reasoning.ValueKind != JsonValueKind.Object)
            {
                return Problem.WrongType("reasoning", "an object");
            }
            if (reasoning.TryGet("effort", out var effort))
            {
                if (effort.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                {
                    return Problem.WrongType("reasoning.effort", "a string");
                }
                writer.WritePropertyName("reasoning_effort");
                effort.WriteTo(writer);
            }
        }
        if (WriteTextFormat(root, writer) is { } formatProblem)
        {
            return formatProblem;
        }
        if (WantsLogprobs(root, out var includeProblem))
        {
            writer.WriteBoolean("logprobs", true);
            if (root.TryGet("top_logprobs", out var top))
            {
                writer.WritePropertyName("top_logprobs");
                top.WriteTo(writer);
            }
        }
        if (includeProblem is not null)
        {
            return includeProblem;
        }
        if (root.TryGet("stream", out var stream))
        {
            if (stream.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return Problem.WrongType("stream", "a boolean");
            }
            writer.WriteBoolean("stream", stream.GetBoolean());
            if (stream.GetBoolean())
            {
                // A Responses stream ends with the usage; the chat stream is asked for it.
                writer.WriteStartObject("stream_options");
                writer.WriteBoolean("include_usage", true);
                writer.WriteEndObject();
            }
        }
        return null;
    }

    /// <summary>
    /// Parameters echoed but not sent, which Corridor honours only as far as it can: <c>max_tool_calls</c> limits calls to
    /// OpenAI's built-in tools, which Corridor never runs (any limit holds); <c>truncation: "auto"</c> lets the service drop
    /// input items when the input exceeds the context window, which Corridor never does: an input that fits is served as
    /// with <c>disabled</c> (what the answer echoes), one that does not is refused by the model's vendor.
    /// </summary>
    private static Problem? CheckUnsent(JsonElement root)
    {
        if (root.TryGet("max_tool_calls", out var maxToolCalls) && maxToolCalls.ValueKind != JsonValueKind.Null
            && !(maxToolCalls.ValueKind == JsonValueKind.Number && maxToolCalls.TryGetInt64(out _)))
        {
            return Problem.WrongType("max_tool_calls", "an integer");
        }
        if (!root.TryGet("truncation", out var truncation) || truncation.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        return (truncation.ValueKind == JsonValueKind.String ? truncation.GetString() : null) is "disabled" or "auto"
            ? null
            : new Problem("'truncation' must be 'auto' or 'disabled' (or left out).", "truncation");
    }

    /// <summary><c>text.format</c> → <c>response_format</c>; <c>text.verbosity</c> → <c>verbosity</c>.</summary>
    private static Problem? WriteTextFormat(JsonElement root, Utf8JsonWriter writer)
    {
        if (!root.TryGet("text", out var text))
        {
            return null;
        }
        if (text.ValueKind != JsonValueKind.Object)
        {
            return Problem.WrongType("text", "an object");
        }
        if (text.TryGet("verbosity", out var verbosity))
        {
            writer.WritePropertyName("verbosity");
            verbosity.WriteTo(writer);
        }
        if (!text.TryGet("format", out var format))
        {
            return null;
        }
        switch (format.ValueKind == JsonValueKind.Object ? format.StringOrNull("type") : null)
        {
            case "text":
                return null;
            case "json_object":
                writer.WriteStartObject("response_format");
                writer.WriteString("type", "json_object");
                writer.WriteEndObject();
                return null;
            case "json_schema":
                if (format.RequiredString("name", "text.format.name", out var name) is { } nameProblem)
                {
                    return nameProblem;
                }
                if (!format.TryGet("schema", out _))
                {
                    return Problem.Missing("text.format.schema");
                }
                writer.WriteStartObject("response_format");
                writer.WriteString("type", "json_schema");
                writer.WriteStartObject("json_schema");
                writer.WriteString("name", name);
                foreach (var field in (ReadOnlySpan<string>)["description", "schema", "strict"])
                {
                    if (format.TryGet(field, out var value))
                    {
                        writer.WritePropertyName(field);
                        value.WriteTo(writer);
                    }
                }
                writer.WriteEndObject();
                writer.WriteEndObject();
                return null;
            default:
                return new Problem("'text.format' must be an object whose 'type' is 'text', 'json_object' or 'json_schema'.", "text.format");
        }
    }

    /// <summary>Whether the answer's text is to carry log probabilities: <c>include</c> names <c>message.output_text.logprobs</c>.</summary>
    private static bool WantsLogprobs(JsonElement root, out Problem? problem)
    {
        problem = null;
        if (!root.TryGet("include", out var include))
        {
            return false;
        }
        if (include.ValueKind != JsonValueKind.Array)
        {
            problem = Problem.WrongType("include", "an array of strings");
            return false;
        }
        var wants = false;
        foreach (var value in include.EnumerateArray())
        {
            if (value.ValueKind != JsonValueKind.String)
            {
                problem = Problem.WrongType("include", "an array of strings");
                return false;
            }
            wants |= value.ValueEquals("message.output_text.logprobs");
        }
        return wants;
    }
}
