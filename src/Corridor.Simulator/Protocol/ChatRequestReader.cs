using System.Buffers;
using System.Text;
using System.Text.Json;
using Corridor.Simulator.Generation;

namespace Corridor.Simulator.Protocol;

/// <summary>
/// Reads an OpenAI chat completion or Anthropic message request with <see cref="Utf8JsonReader"/>
/// into a <see cref="ChatRequest"/>. Problems come back as values; only the fields the simulator
/// acts on are read, everything else is skipped.
/// </summary>
internal static class ChatRequestReader
{
    public const string MalformedJson = "We could not parse the JSON body of your request. The simulator expects a JSON object.";

    public static bool TryRead(ReadOnlySpan<byte> body, Dialect dialect, out ChatRequest request, out RequestProblem problem) =>
        TryRead(body, dialect, countOnly: false, out request, out problem);

    /// <summary>An Anthropic <c>/v1/messages/count_tokens</c> body: a message request without <c>max_tokens</c>.</summary>
    public static bool TryReadCount(ReadOnlySpan<byte> body, Dialect dialect, out ChatRequest request, out RequestProblem problem) =>
        TryRead(body, dialect, countOnly: true, out request, out problem);

    private static bool TryRead(ReadOnlySpan<byte> body, Dialect dialect, bool countOnly, out ChatRequest request, out RequestProblem problem)
    {
        request = new ChatRequest();
        problem = default;
        var property = "";
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = new RequestProblem(MalformedJson, null);
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                property = reader.GetString()!;
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                // thinking is read on the OpenAI endpoints too: DeepSeek's thinking mode is switched by it.
                if (dialect == Dialect.Anthropic ? IsOpenAIOnly(property) : property is "system" or "output_config")
                {
                    reader.Skip();
                }
                else
                {
                    ReadProperty(ref reader, property, request);
                }
            }

            property = "";
            // Rejects anything after the object.
            reader.Read();
        }
        catch (JsonException)
        {
            problem = new RequestProblem(MalformedJson, null);
            return false;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            problem = new RequestProblem($"Invalid type for '{property}'.", property);
            return false;
        }

        problem = Validate(request, dialect, countOnly);
        return problem.Message is null;
    }

    private static void ReadProperty(ref Utf8JsonReader reader, string property, ChatRequest request)
    {
        switch (property)
        {
            case "model":
                request.Model = reader.GetString();
                break;
            case "messages":
                ReadMessages(ref reader, request);
                break;
            case "system":
                // Anthropic: a string or an array of text blocks.
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    ExpectContentArray(reader);
                }
                else
                {
                    Expect(ref reader, JsonTokenType.String);
                }
                request.AddSystemText(ReadText(ref reader));
                break;
            case "stream":
                request.Stream = reader.GetBoolean();
                break;
            case "stream_options":
                request.IncludeUsage = ReadIncludeUsage(ref reader);
                break;
            case "n":
                request.N = reader.GetInt32();
                break;
            case "logprobs":
                request.Logprobs = reader.GetBoolean();
                break;
            case "top_logprobs":
                request.TopLogprobs = reader.GetInt32();
                break;
            case "max_tokens":
                // OpenAI's newer name wins when both are given.
                request.MaxTokens ??= reader.GetInt32();
                break;
            case "max_completion_tokens":
                request.MaxTokens = reader.GetInt32();
                break;
            case "response_format":
                ReadResponseFormat(ref reader, request);
                break;
            case "output_config":
                ReadOutputConfig(ref reader, request);
                break;
            case "tools":
                ReadTools(ref reader, request);
                break;
            case "tool_choice":
                ReadToolChoice(ref reader, request);
                break;
            case "thinking":
                ReadThinking(ref reader, request);
                break;
            case "service_tier":
                request.ServiceTier = reader.GetString();
                break;
            case "inference_geo":
                request.InferenceGeo = reader.GetString();
                break;
            default:
                reader.Skip();
                break;
        }
    }

    /// <summary>
    /// Anthropic's <c>{"type":"enabled","budget_tokens":N}</c>, <c>{"type":"adaptive"}</c> or <c>{"type":"disabled"}</c>, which
    /// DeepSeek's OpenAI endpoint reads as its thinking mode's switch too.
    /// </summary>
    private static void ReadThinking(ref Utf8JsonReader reader, ChatRequest request)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        string? type = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "type":
                    type = reader.GetString();
                    break;
                case "budget_tokens":
                    request.ThinkingBudget = reader.GetInt32();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        request.Thinking = type is "enabled" or "adaptive";
        request.ThinkingAdaptive = type == "adaptive";
        request.ThinkingDisabled = type == "disabled";
    }

    private static bool IsOpenAIOnly(string property) =>
        property is "stream_options" or "n" or "logprobs" or "top_logprobs" or "max_completion_tokens" or "response_format";

    private static RequestProblem Validate(ChatRequest request, Dialect dialect, bool countOnly)
    {
        if (string.IsNullOrEmpty(request.Model) && dialect != Dialect.AzureOpenAI)
        {
            return new("you must provide a model parameter", "model");
        }

        if (request.MessageCount == 0)
        {
            return new("'messages' must be a non-empty array.", "messages");
        }

        if (dialect == Dialect.Anthropic && request.MaxTokens is null && !countOnly)
        {
            return new("max_tokens: Field required", "max_tokens");
        }

        // Adaptive thinking has no budget: the model decides how much to think.
        if (dialect == Dialect.Anthropic && request.Thinking && !request.ThinkingAdaptive && !countOnly && ThinkingProblem(request) is { Message: not null } thinking)
        {
            return thinking;
        }

        if (request.MaxTokens is < 1)
        {
            return new("max_tokens must be at least 1.", "max_tokens");
        }

        if (request.N is < 1 or > 128)
        {
            return new("n must be between 1 and 128.", "n");
        }

        if (request.TopLogprobs is < 0 or > 20)
        {
            return new("top_logprobs must be between 0 and 20.", "top_logprobs");
        }

        if (request.TopLogprobs is not null && !request.Logprobs)
        {
            return new("logprobs must be true when top_logprobs is set.", "top_logprobs");
        }

        if (request.ToolChoice is ToolChoiceMode.Required or ToolChoiceMode.Named && request.Tools.Count == 0)
        {
            return new("tool_choice is only allowed when tools are specified.", "tool_choice");
        }

        if (request.ToolChoice == ToolChoiceMode.Named && !request.Tools.Exists(tool => tool.Name == request.ToolChoiceName))
        {
            return new($"tool_choice names '{request.ToolChoiceName}', which is not among the tools.", "tool_choice");
        }

        return default;
    }

    /// <summary>Anthropic's checks of an enabled thinking budget: at least 1024, and below <c>max_tokens</c>.</summary>
    private static RequestProblem ThinkingProblem(ChatRequest request) => request.ThinkingBudget switch
    {
        null => new("thinking.enabled.budget_tokens: Field required", "thinking"),
        < 1024 => new("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024", "thinking"),
        { } budget when request.MaxTokens <= budget => new("max_tokens must be greater than thinking.budget_tokens.", "max_tokens"),
        _ => default,
    };

    private static void ReadMessages(ref Utf8JsonReader reader, ChatRequest request)
    {
        Expect(ref reader, JsonTokenType.StartArray);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            Expect(ref reader, JsonTokenType.StartObject);
            ExpectMessage(reader);
            request.AddMessage(ReadText(ref reader));
        }
    }

    /// <summary>
    /// As the vendors do, refuses a message whose role is not a string, whose content is neither a string, an array nor
    /// null, or whose content blocks have a <c>type</c> or <c>text</c> that is not a string. Reads a copy of the reader.
    /// </summary>
    private static void ExpectMessage(Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != depth + 1)
            {
                continue;
            }
            var isRole = reader.ValueTextEquals("role"u8);
            var isContent = reader.ValueTextEquals("content"u8);
            reader.Read();
            if (isRole)
            {
                Expect(ref reader, JsonTokenType.String);
            }
            else if (isContent && reader.TokenType == JsonTokenType.StartArray)
            {
                ExpectContentArray(reader);
            }
            else if (isContent && reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
            {
                throw new InvalidOperationException($"Expected a string or an array, found {reader.TokenType}.");
            }
            reader.Skip();
        }
    }

    private static void ExpectContentArray(Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.CurrentDepth == depth + 1 && reader.TokenType != JsonTokenType.EndObject)
            {
                Expect(ref reader, JsonTokenType.StartObject);
            }
            else if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 2
                && (reader.ValueTextEquals("type"u8) || reader.ValueTextEquals("text"u8)))
            {
                reader.Read();
                Expect(ref reader, JsonTokenType.String);
            }
        }
    }

    /// <summary>
    /// Walks one value (a message, a content array, a string) to its end, counting and hashing the
    /// text a model would read; ids, types, names and binary data (an image's or a document's base64: Anthropic's
    /// <c>data</c>, OpenAI's <c>url</c> and <c>file_data</c>) do not count.
    /// </summary>
    private static MessageText ReadText(ref Utf8JsonReader reader)
    {
        var text = new MessageText { Hash = Hashing.Seed };
        if (reader.TokenType == JsonTokenType.String)
        {
            AddText(ref reader, ref text);
            return text;
        }

        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return text;
        }

        var depth = reader.CurrentDepth;
        var isType = false;
        var counts = true;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName when reader.CurrentDepth == depth + 1 && reader.ValueTextEquals("role"u8):
                    reader.Read();
                    text.Role = ReadRole(ref reader);
                    break;
                case JsonTokenType.PropertyName when reader.CurrentDepth == depth + 1
                    && (reader.ValueTextEquals("tool_calls"u8) || reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8)):
                    // Read on a copy: the value still counts as text the model reads.
                    var value = reader;
                    value.Read();
                    if (reader.ValueTextEquals("tool_calls"u8))
                    {
                        text.HasToolCalls |= value.TokenType == JsonTokenType.StartArray && value.Read() && value.TokenType == JsonTokenType.StartObject;
                    }
                    else
                    {
                        text.HasReasoning |= value.TokenType == JsonTokenType.String;
                    }
                    isType = false;
                    counts = true;
                    break;
                case JsonTokenType.PropertyName when reader.ValueTextEquals("cache_control"u8):
                    reader.Read();
                    var mark = ReadCacheMark(ref reader);
                    text.CacheMark = mark > text.CacheMark ? mark : text.CacheMark;
                    break;
                case JsonTokenType.PropertyName:
                    isType = reader.ValueTextEquals("type"u8);
                    counts = !isType && !IsMetadata(ref reader);
                    break;
                case JsonTokenType.String when isType:
                    text.HasToolResult |= reader.ValueTextEquals("tool_result"u8);
                    break;
                case JsonTokenType.String when counts:
                    AddText(ref reader, ref text);
                    break;
                default:
                    break;
            }
        }

        return text;
    }

    /// <summary>A <c>cache_control</c> value, read to its end: <c>"ttl": "1h"</c> is the one-hour cache, anything else the five-minute one.</summary>
    private static CacheMark ReadCacheMark(ref Utf8JsonReader reader)
    {
        var mark = CacheMark.FiveMinutes;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return mark;
        }

        var depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("ttl"u8) && reader.Read()
                && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals("1h"u8))
            {
                mark = CacheMark.OneHour;
            }
        }

        return mark;
    }

    private static bool IsMetadata(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("id"u8) || reader.ValueTextEquals("name"u8) || reader.ValueTextEquals("tool_call_id"u8)
        || reader.ValueTextEquals("tool_use_id"u8) || reader.ValueTextEquals("url"u8) || reader.ValueTextEquals("data"u8)
        || reader.ValueTextEquals("media_type"u8) || reader.ValueTextEquals("detail"u8) || reader.ValueTextEquals("signature"u8)
        || reader.ValueTextEquals("file_id"u8) || reader.ValueTextEquals("file_data"u8) || reader.ValueTextEquals("format"u8);

    private static MessageRole ReadRole(ref Utf8JsonReader reader) =>
        reader.TokenType != JsonTokenType.String ? MessageRole.Other
        : reader.ValueTextEquals("user"u8) ? MessageRole.User
        : reader.ValueTextEquals("assistant"u8) ? MessageRole.Assistant
        : reader.ValueTextEquals("tool"u8) || reader.ValueTextEquals("function"u8) ? MessageRole.Tool
        : reader.ValueTextEquals("system"u8) || reader.ValueTextEquals("developer"u8) ? MessageRole.System
        : MessageRole.Other;

    private static void AddText(ref Utf8JsonReader reader, ref MessageText text)
    {
        // The input is one span, so values never span segments.
        var raw = reader.ValueSpan;
        if (!reader.ValueIsEscaped)
        {
            Add(raw, ref text);
            return;
        }

        byte[]? rented = null;
        Span<byte> buffer = raw.Length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(raw.Length));
        var length = reader.CopyString(buffer);
        Add(buffer[..length], ref text);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        static void Add(ReadOnlySpan<byte> utf8, ref MessageText text)
        {
            text.Characters += Encoding.UTF8.GetCharCount(utf8);
            // A separator between parts, so ["ab","c"] and ["a","bc"] differ.
            text.Hash = Hashing.Fnv1a([0xFF], Hashing.Fnv1a(utf8, text.Hash));
        }
    }

    private static bool ReadIncludeUsage(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var include = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isIncludeUsage = reader.ValueTextEquals("include_usage"u8);
            reader.Read();
            if (isIncludeUsage && reader.TokenType is JsonTokenType.True or JsonTokenType.False)
            {
                include = reader.GetBoolean();
            }
            else
            {
                reader.Skip();
            }
        }

        return include;
    }

    private static void ReadResponseFormat(ref Utf8JsonReader reader, ChatRequest request)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                request.ResponseFormat = reader.ValueTextEquals("json_object"u8) ? ResponseFormatKind.JsonObject
                    : reader.ValueTextEquals("json_schema"u8) ? ResponseFormatKind.JsonSchema
                    : ResponseFormatKind.Text;
            }
            else if (reader.ValueTextEquals("json_schema"u8))
            {
                reader.Read();
                Expect(ref reader, JsonTokenType.StartObject);
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isSchema = reader.ValueTextEquals("schema"u8);
                    reader.Read();
                    if (isSchema)
                    {
                        request.ResponseSchema = SchemaNode.Read(ref reader);
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    /// <summary>
    /// Anthropic's structured outputs, <c>{"format":{"type":"json_schema","schema":{…}}}</c>: answered as OpenAI's json_schema
    /// response format is, with JSON of the schema. Its other members (<c>effort</c>) are read past.
    /// </summary>
    private static void ReadOutputConfig(ref Utf8JsonReader reader, ChatRequest request)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isFormat = reader.ValueTextEquals("format"u8);
            reader.Read();
            if (!isFormat || reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    request.ResponseFormat = reader.ValueTextEquals("json_schema"u8) ? ResponseFormatKind.JsonSchema : ResponseFormatKind.Text;
                }
                else if (reader.ValueTextEquals("schema"u8))
                {
                    reader.Read();
                    request.ResponseSchema = SchemaNode.Read(ref reader);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
    }

    /// <summary>OpenAI <c>{"type":"function","function":{"name","parameters"}}</c> or Anthropic <c>{"name","input_schema"}</c>.</summary>
    private static void ReadTools(ref Utf8JsonReader reader, ChatRequest request)
    {
        Expect(ref reader, JsonTokenType.StartArray);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var tool = ReadNamed(ref reader);
            // Anthropic's server tools run in its service, not in the application: the model answers in text, having used each once.
            if (tool.TypeName?.StartsWith("web_search_", StringComparison.Ordinal) == true)
            {
                request.WebSearches = 1;
            }
            else if (tool.TypeName?.StartsWith("web_fetch_", StringComparison.Ordinal) == true)
            {
                request.WebFetches = 1;
            }
            else if (tool.Name is not null)
            {
                request.Tools.Add(new ToolDefinition(tool.Name, tool.Schema));
            }
        }
    }

    /// <summary>
    /// OpenAI: "none" | "auto" | "required" | {"type":"function","function":{"name"}};
    /// Anthropic: {"type":"auto"|"any"|"none"|"tool","name"}.
    /// </summary>
    private static void ReadToolChoice(ref Utf8JsonReader reader, ChatRequest request)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            request.ToolChoice = ParseToolChoice(ref reader);
            return;
        }

        var choice = ReadNamed(ref reader);
        request.ToolChoice = choice.Name is not null && choice.Type is ToolChoiceMode.Named or ToolChoiceMode.Auto ? ToolChoiceMode.Named : choice.Type;
        request.ToolChoiceName = choice.Name;
    }

    /// <summary>
    /// A tool or a tool choice: an object with a type, a name and (for tools) a schema, where OpenAI
    /// nests name and schema under <c>function</c> and Anthropic does not.
    /// </summary>
    private static Named ReadNamed(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var named = default(Named);
        ReadNamedFields(ref reader, ref named);
        return named;
    }

    private static void ReadNamedFields(ref Utf8JsonReader reader, ref Named named)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                named.Type = ParseToolChoice(ref reader);
                named.TypeName = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                named.Name = reader.GetString();
            }
            else if (reader.ValueTextEquals("parameters"u8) || reader.ValueTextEquals("input_schema"u8))
            {
                reader.Read();
                named.Schema = SchemaNode.Read(ref reader);
            }
            else if (reader.ValueTextEquals("function"u8))
            {
                reader.Read();
                Expect(ref reader, JsonTokenType.StartObject);
                ReadNamedFields(ref reader, ref named);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private struct Named
    {
        public ToolChoiceMode Type;
        public string? TypeName;
        public string? Name;
        public SchemaNode? Schema;
    }

    private static ToolChoiceMode ParseToolChoice(ref Utf8JsonReader reader) =>
        reader.TokenType != JsonTokenType.String ? ToolChoiceMode.Auto
        : reader.ValueTextEquals("none"u8) ? ToolChoiceMode.None
        : reader.ValueTextEquals("required"u8) || reader.ValueTextEquals("any"u8) ? ToolChoiceMode.Required
        : reader.ValueTextEquals("function"u8) || reader.ValueTextEquals("tool"u8) ? ToolChoiceMode.Named
        : ToolChoiceMode.Auto;

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType tokenType)
    {
        if (reader.TokenType != tokenType)
        {
            throw new InvalidOperationException($"Expected {tokenType}, found {reader.TokenType}.");
        }
    }
}
