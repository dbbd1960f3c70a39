using System.Text;
using System.Text.Json;
using Corridor.Core.Catalog;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// Reads the few top-level fields Corridor acts on with one forward pass of <see cref="Utf8JsonReader"/>,
/// checking their types; everything else is left to the upstream.
/// </summary>
internal static class RequestParser
{
    /// <summary>The most choices one request may ask for, as OpenAI allows.</summary>
    public const int MaxN = 128;

    /// <summary>How deeply a body may nest; deeper is refused as invalid JSON before anything else reads it.</summary>
    public const int MaxDepth = 128;

    public static GatewayError? Parse(ClientRequest request, Operation operation)
    {
        try
        {
            return ParseCore(request, operation);
        }
        catch (JsonException e)
        {
            return GatewayError.Invalid($"The request body is not valid JSON: {e.Message}");
        }
    }

    private static GatewayError? ParseCore(ClientRequest request, Operation operation)
    {
        // The reader checks UTF-8 only in the strings it decodes; bytes that are not UTF-8 anywhere else would go on to the
        // upstream. One vectorized pass refuses them here.
        if (!System.Text.Unicode.Utf8.IsValid(request.Body.Span))
        {
            return GatewayError.Invalid("The request body is not valid UTF-8.");
        }
        var reader = new Utf8JsonReader(request.Body.Span, new JsonReaderOptions { MaxDepth = MaxDepth });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return GatewayError.Invalid("The request body must be a JSON object.");
        }
        var seen = 0;
        int? maxTokens = null;
        int? maxCompletionTokens = null;
        var effortNone = false;
        var thinkingSent = false;
        var adaptiveThinking = false;
        var otherReasoning = false;
        Span<byte> unescaped = stackalloc byte[MaxEscapedName];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            // Names are almost never escaped: only those pay for decoding.
            scoped var name = reader.ValueSpan;
            if (reader.ValueIsEscaped && !TryName(in reader, unescaped, out name))
            {
                return GatewayError.Invalid("A property name in the request body is not valid Unicode text.");
            }
            var field = FieldOf(name);
            if (field != Field.Other)
            {
                // The upstream reads the body as sent, and JSON parsers differ on a repeated name (most keep the last):
                // a field Corridor acts on must mean one thing to both.
                var bit = 1 << (int)field;
                if ((seen & bit) != 0)
                {
                    var repeated = Encoding.UTF8.GetString(name);
                    return GatewayError.Invalid($"'{repeated}' appears more than once in the request body.", repeated);
                }
                seen |= bit;
            }
            reader.Read();
            if (field == Field.Model)
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    return GatewayError.Invalid("'model' must be a string.", "model");
                }
                if (!TryGetText(ref reader, out var model))
                {
                    return GatewayError.Invalid("'model' is not valid Unicode text.", "model");
                }
                request.Model = model;
                request.ModelValue = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
            }
            else if (field == Field.Messages)
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return GatewayError.Invalid("'messages' must be an array.", "messages");
                }
                if (VisualContent.Find(ref reader))
                {
                    request.ContentNeeds |= ModelCapabilities.Vision;
                }
            }
            else if (field == Field.Input)
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.StartArray))
                {
                    return GatewayError.Invalid("'input' must be a string or an array.", "input");
                }
                reader.Skip();
            }
            else if (field is Field.Tools or Field.Functions)
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                var tools = field == Field.Tools ? "tools" : "functions";
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return GatewayError.Invalid($"'{tools}' must be an array.", tools);
                }
                var first = reader;
                first.Read();
                if (first.TokenType != JsonTokenType.EndArray)
                {
                    request.ContentNeeds |= ModelCapabilities.Tools;
                }
                reader.Skip();
            }
            else if (field == Field.Stream)
            {
                if (!TryBool(ref reader, out var stream))
                {
                    return GatewayError.Invalid("'stream' must be a boolean.", "stream");
                }
                request.Stream = stream;
            }
            else if (field == Field.StreamOptions)
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    // Kept so that asking for usage replaces the null rather than adding a second stream_options.
                    request.StreamOptionsValue = new Range((int)reader.TokenStartIndex, (int)reader.BytesConsumed);
                    continue;
                }
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return GatewayError.Invalid("'stream_options' must be an object.", "stream_options");
                }
                var start = (int)reader.TokenStartIndex;
                var copy = reader;
                reader.Skip();
                request.StreamOptionsValue = new Range(start, (int)reader.BytesConsumed);
                request.IncludeUsage = ReadIncludeUsage(copy);
            }
            else if (field == Field.N)
            {
                if (!TryInt(ref reader, out var n) || n < 1)
                {
                    return GatewayError.Invalid("'n' must be a positive integer.", "n");
                }
                if (n > MaxN)
                {
                    // OpenAI's own bound and wording: the worst-case reservation is max_tokens times n.
                    return GatewayError.Invalid($"Invalid 'n': integer above maximum value. Expected a value <= {MaxN}, but got {n} instead.", "n") with { Code = "integer_above_max_value" };
                }
                request.N = n;
            }
            else if (field == Field.Logprobs)
            {
                if (!TryBool(ref reader, out var logprobs))
                {
                    return GatewayError.Invalid("'logprobs' must be a boolean.", "logprobs");
                }
                request.Logprobs |= logprobs;
            }
            else if (field == Field.TopLogprobs)
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                if (!TryInt(ref reader, out var top) || top < 0)
                {
                    return GatewayError.Invalid("'top_logprobs' must be a non-negative integer.", "top_logprobs");
                }
                // The alternatives of each token are log probabilities too: a policy that denies or strips logprobs covers
                // them whether or not 'logprobs' comes with them (OpenAI refuses them without it; lenient servers answer).
                request.Logprobs |= top > 0;
            }
            else if (field == Field.ReasoningEffort)
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                if (reader.TokenType != JsonTokenType.String)
                {
                    return GatewayError.Invalid("'reasoning_effort' must be a string.", "reasoning_effort");
                }
                var effortAsks = EffortAsksToReason(in reader);
                request.Reasoning |= effortAsks;
                otherReasoning |= effortAsks;
                effortNone = reader.ValueTextEquals("none"u8);
            }
            else if (field == Field.Thinking)
            {
                // Even a null one: the body then has the name Corridor would otherwise add (below).
                thinkingSent = true;
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return GatewayError.Invalid("'thinking' must be an object.", "thinking");
                }
                var copy = reader;
                reader.Skip();
                if (ReadThinking(copy, out var asks, out var adaptive) is { } thinkingError)
                {
                    return thinkingError;
                }
                request.Reasoning |= asks;
                request.ThinkingOff = !asks;
                adaptiveThinking = adaptive;
            }
            else if (field == Field.ChatTemplateKwargs)
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    return GatewayError.Invalid("'chat_template_kwargs' must be an object.", "chat_template_kwargs");
                }
                var copy = reader;
                reader.Skip();
                if (ReadChatTemplateThinking(copy, out var asks) is { } templateError)
                {
                    return templateError;
                }
                request.Reasoning |= asks;
                otherReasoning |= asks;
            }
            else if (field is Field.ServiceTier or Field.InferenceGeo or Field.Speed)
            {
                // Terms the operator sets per deployment; the client's are taken out on the way (UpstreamTerms).
                request.SetsTerms = true;
                reader.Skip();
            }
            else if (field is Field.MaxTokens or Field.MaxCompletionTokens)
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                if (!TryInt(ref reader, out var max) || max < 1)
                {
                    var wrong = field == Field.MaxTokens ? "max_tokens" : "max_completion_tokens";
                    return GatewayError.Invalid($"'{wrong}' must be a positive integer.", wrong);
                }
                if (field == Field.MaxTokens)
                {
                    maxTokens = max;
                }
                else
                {
                    maxCompletionTokens = max;
                }
            }
            else
            {
                reader.Skip();
            }
        }
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            return GatewayError.Invalid("The request body is not valid JSON.");
        }

        // OpenAI reads max_completion_tokens when both are sent, Corridor's caps and reservations the one it finds: both
        // must say the same.
        if (maxTokens is { } a && maxCompletionTokens is { } b && a != b)
        {
            return GatewayError.Invalid("'max_tokens' and 'max_completion_tokens' differ; send one of them.", "max_completion_tokens");
        }
        request.MaxTokens = maxCompletionTokens ?? maxTokens;
        // An effort of none asks for no reasoning; DeepSeek's chat API knows no such effort and thinks unless switched off.
        request.TurnsThinkingOff |= effortNone && !thinkingSent;
        request.ReasoningOptional = adaptiveThinking && !otherReasoning;
        var sawModel = Saw(seen, Field.Model);
        var sawMessages = Saw(seen, Field.Messages);
        var sawInput = Saw(seen, Field.Input);
        if (!sawModel || request.Model.Length == 0)
        {
            return GatewayError.Invalid("You must provide a model parameter.", "model");
        }
        return operation switch
        {
            Operation.ChatCompletions or Operation.Responses or Operation.Messages or Operation.CountTokens when !sawMessages =>
                GatewayError.Invalid("'messages' is required.", "messages"),
            Operation.Messages when request.MaxTokens is null =>
                GatewayError.Invalid("'max_tokens' is required.", "max_tokens"),
            Operation.Embeddings when !sawInput =>
                GatewayError.Invalid("'input' is required.", "input"),
            Operation.Embeddings when request.Stream =>
                GatewayError.Invalid("Embeddings cannot be streamed.", "stream"),
            _ => null,
        };
    }

    /// <summary>The top-level fields Corridor reads; everything else is the upstream's.</summary>
    internal enum Field
    {
        Other,
        Model,
        Messages,
        Input,
        Stream,
        StreamOptions,
        N,
        Logprobs,
        TopLogprobs,
        MaxTokens,
        MaxCompletionTokens,
        ReasoningEffort,
        Thinking,

        /// <summary>vLLM's (and other OpenAI-compatible servers') arguments to the chat template: thinking is one of them.</summary>
        ChatTemplateKwargs,

        /// <summary>Tools the model may call (both dialects); <see cref="Functions"/> is OpenAI's older name for them.</summary>
        Tools,
        Functions,

        /// <summary>The vendor's service tier (both dialects): what it charges for the request.</summary>
        ServiceTier,

        /// <summary>Where Anthropic runs the inference (<c>us</c>, <c>global</c>).</summary>
        InferenceGeo,

        /// <summary>Anthropic's fast mode (<c>speed: "fast"</c>), billed at a multiple of the standard price.</summary>
        Speed,

        /// <summary>
        /// Who the request is for, as the vendors' abuse monitoring reads it: OpenAI's <c>user</c> (its older name) and
        /// <c>safety_identifier</c>; Anthropic's <c>metadata</c> (<c>user_id</c>). A vendor may be told the tenant's instead
        /// (<see cref="Corridor.Core.Catalog.EndUserId"/>).
        /// </summary>
        User,
        SafetyIdentifier,
        Metadata,
    }

    /// <summary>
    /// The longest escaped property name that can still be one of <see cref="Field"/>'s names: an escape (<c>\u0065</c>)
    /// is six bytes for one, so a longer one unescapes to more than the longest name's 21 bytes.
    /// </summary>
    internal const int MaxEscapedName = 6 * 21;

    internal static Field FieldOf(ReadOnlySpan<byte> name) => name.Length switch
    {
        1 when name[0] == (byte)'n' => Field.N,
        4 when name.SequenceEqual("user"u8) => Field.User,
        5 when name.SequenceEqual("model"u8) => Field.Model,
        5 when name.SequenceEqual("input"u8) => Field.Input,
        5 when name.SequenceEqual("tools"u8) => Field.Tools,
        5 when name.SequenceEqual("speed"u8) => Field.Speed,
        6 when name.SequenceEqual("stream"u8) => Field.Stream,
        8 when name.SequenceEqual("messages"u8) => Field.Messages,
        8 when name.SequenceEqual("logprobs"u8) => Field.Logprobs,
        8 when name.SequenceEqual("thinking"u8) => Field.Thinking,
        8 when name.SequenceEqual("metadata"u8) => Field.Metadata,
        9 when name.SequenceEqual("functions"u8) => Field.Functions,
        10 when name.SequenceEqual("max_tokens"u8) => Field.MaxTokens,
        12 when name.SequenceEqual("top_logprobs"u8) => Field.TopLogprobs,
        12 when name.SequenceEqual("service_tier"u8) => Field.ServiceTier,
        13 when name.SequenceEqual("inference_geo"u8) => Field.InferenceGeo,
        14 when name.SequenceEqual("stream_options"u8) => Field.StreamOptions,
        16 when name.SequenceEqual("reasoning_effort"u8) => Field.ReasoningEffort,
        17 when name.SequenceEqual("safety_identifier"u8) => Field.SafetyIdentifier,
        20 when name.SequenceEqual("chat_template_kwargs"u8) => Field.ChatTemplateKwargs,
        21 when name.SequenceEqual("max_completion_tokens"u8) => Field.MaxCompletionTokens,
        _ => Field.Other,
    };

    /// <summary>
    /// The property name the reader is at, as every JSON parser reads it: with its escapes decoded (<c>"mod\u0065l"</c> is
    /// <c>model</c>, to the upstream as to Corridor). False for escapes that decode to no text (a lone surrogate). A name
    /// too long to be one of <see cref="Field"/>'s is given as written.
    /// </summary>
    internal static bool TryName(scoped in Utf8JsonReader reader, Span<byte> buffer, out ReadOnlySpan<byte> name)
    {
        name = reader.ValueSpan;
        if (!reader.ValueIsEscaped || name.Length > buffer.Length)
        {
            return true;
        }
        try
        {
            name = buffer[..reader.CopyString(buffer)];
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool Saw(int seen, Field field) => (seen & (1 << (int)field)) != 0;

    private static bool ReadIncludeUsage(Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("include_usage"u8))
            {
                reader.Read();
                return reader.TokenType == JsonTokenType.True;
            }
        }
        return false;
    }

    /// <summary>
    /// Whether Anthropic's <c>thinking</c> object asks for thinking: any <c>type</c> but <c>disabled</c> (<c>enabled</c>,
    /// <c>adaptive</c>, and types Corridor does not know yet). An error when it has no string <c>type</c>, or more than one:
    /// the upstream would read one of them and Corridor perhaps the other (<c>disabled</c>, then <c>enabled</c>, which most
    /// parsers keep), as for a repeated top-level field.
    /// </summary>
    internal static GatewayError? ReadThinking(Utf8JsonReader reader, out bool asks) => ReadThinking(reader, out asks, out _);

    /// <summary>As <see cref="ReadThinking(Utf8JsonReader, out bool)"/>; <paramref name="adaptive"/>: its type is <c>adaptive</c>.</summary>
    internal static GatewayError? ReadThinking(Utf8JsonReader reader, out bool asks, out bool adaptive)
    {
        asks = false;
        adaptive = false;
        var depth = reader.CurrentDepth;
        var types = 0;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("type"u8))
            {
                if (++types > 1)
                {
                    return GatewayError.Invalid("'thinking' has more than one 'type'.", "thinking");
                }
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    return NoThinkingType;
                }
                asks = !reader.ValueTextEquals("disabled"u8);
                adaptive = reader.ValueTextEquals("adaptive"u8);
            }
        }
        return types == 0 ? NoThinkingType : null;
    }

    /// <summary>
    /// Whether <c>chat_template_kwargs</c> asks for thinking: its <c>enable_thinking</c> (Qwen3) or <c>thinking</c>
    /// (DeepSeek-V3.1, Granite; vLLM's reasoning outputs) with any value but <c>false</c> or <c>null</c> — a template tests
    /// the value as Jinja does, for which a string is true. An error when one of them is written twice, as for
    /// <c>thinking</c>'s <c>type</c>.
    /// </summary>
    private static GatewayError? ReadChatTemplateThinking(Utf8JsonReader reader, out bool asks)
    {
        asks = false;
        var depth = reader.CurrentDepth;
        var seen = 0;
        Span<byte> unescaped = stackalloc byte[MaxEscapedName];
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != depth + 1)
            {
                continue;
            }
            if (!TryName(in reader, unescaped, out var name))
            {
                return GatewayError.Invalid("A property name in the request body is not valid Unicode text.");
            }
            if (ThinkingSwitchOf(name) is not (> 0 and var bit))
            {
                continue;
            }
            if ((seen & bit) != 0)
            {
                var repeated = bit == 1 ? "enable_thinking" : "thinking";
                return GatewayError.Invalid($"'chat_template_kwargs' has more than one '{repeated}'.", "chat_template_kwargs");
            }
            seen |= bit;
            reader.Read();
            asks |= AsksToThink(reader.TokenType);
        }
        return null;
    }

    /// <summary>
    /// Whether the <c>reasoning_effort</c> string the reader is at asks to reason: <c>none</c> and <c>minimal</c> ask for (next
    /// to) no reasoning; every other effort, known or not, asks for some.
    /// </summary>
    internal static bool EffortAsksToReason(in Utf8JsonReader reader) =>
        !(reader.ValueTextEquals("none"u8) || reader.ValueTextEquals("minimal"u8));

    /// <summary>Which of the chat template's thinking switches a name is: 1 <c>enable_thinking</c>, 2 <c>thinking</c>, 0 neither.</summary>
    internal static int ThinkingSwitchOf(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("enable_thinking"u8) ? 1 : name.SequenceEqual("thinking"u8) ? 2 : 0;

    /// <summary>A chat template's thinking switch turns thinking on unless it is false or null.</summary>
    internal static bool AsksToThink(JsonTokenType value) => value is not (JsonTokenType.False or JsonTokenType.Null);

    private static GatewayError NoThinkingType => GatewayError.Invalid("'thinking' needs a string 'type'.", "thinking");

    private static bool TryBool(ref Utf8JsonReader reader, out bool value)
    {
        value = reader.TokenType == JsonTokenType.True;
        return reader.TokenType is JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null;
    }

    private static bool TryInt(ref Utf8JsonReader reader, out int value)
    {
        value = 0;
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out value);
    }

    /// <summary>The string's text; false for escapes that decode to no text (a lone surrogate such as <c>\ud800</c>).</summary>
    private static bool TryGetText(ref Utf8JsonReader reader, out string text)
    {
        try
        {
            text = reader.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            text = "";
            return false;
        }
    }
}
