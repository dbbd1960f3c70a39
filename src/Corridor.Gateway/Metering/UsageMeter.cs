using System.Buffers;
using System.Text;
using System.Text.Json;
using Corridor.Core.Pricing;

namespace Corridor.Gateway.Metering;

/// <summary>
/// Reads token usage, generated text and the finish reason from an upstream's responses, whole or streamed,
/// in either dialect: OpenAI's <c>usage.prompt_tokens/completion_tokens</c>, Anthropic's
/// <c>usage.input_tokens/output_tokens</c> (cumulative across <c>message_start</c> and <c>message_delta</c>). Prompt tokens
/// read from or written to the vendor's prompt cache are counted apart too (<see cref="CacheReadTokens"/>,
/// <see cref="CacheWriteTokens"/>), and in <see cref="InputTokens"/> either way: Anthropic reports them beside
/// <c>input_tokens</c>, OpenAI inside <c>prompt_tokens</c> (<c>prompt_tokens_details.cached_tokens</c>, DeepSeek's
/// <c>prompt_cache_hit_tokens</c>). Anthropic's server tools' uses (<c>usage.server_tool_use</c>) are counted too.
/// Text is kept up to a retention cap; its full length feeds the estimate used when an upstream never reports usage,
/// or reports only the provisional output count of Anthropic's <c>message_start</c> before its stream is cut.
/// </summary>
internal sealed class UsageMeter(int retainChars)
{
    private const int MaxDepth = 16;
    private const int StackTextChars = 256;
    private RetainedText? _text;
    private RetainedText? _arguments;
    private List<string>? _toolNames;

    /// <summary>Every prompt token, those read from and written to the prompt cache included.</summary>
    public long InputTokens { get; private set; }

    public long OutputTokens { get; private set; }

    /// <summary>Prompt tokens read from the vendor's prompt cache (part of <see cref="InputTokens"/>).</summary>
    public long CacheReadTokens { get; private set; }

    /// <summary>Prompt tokens written to the vendor's prompt cache (part of <see cref="InputTokens"/>).</summary>
    public long CacheWriteTokens { get; private set; }

    /// <summary>Of <see cref="CacheWriteTokens"/>, those written to Anthropic's one-hour cache (<c>cache_creation.ephemeral_1h_input_tokens</c>).</summary>
    public long CacheWriteOneHourTokens { get; private set; }

    /// <summary>Web searches the vendor ran for the request (Anthropic's <c>usage.server_tool_use.web_search_requests</c>), billed per use.</summary>
    public long WebSearchRequests { get; private set; }

    /// <summary>Web fetches the vendor ran for the request (Anthropic's <c>usage.server_tool_use.web_fetch_requests</c>); only their tokens are billed.</summary>
    public long WebFetchRequests { get; private set; }

    /// <summary>Where the vendor says it ran the inference (Anthropic's <c>usage.inference_geo</c>: <c>us</c>, <c>global</c>); null when it did not say.</summary>
    public string? InferenceGeo { get; private set; }

    /// <summary>
    /// Of <see cref="OutputTokens"/>, those the model spent reasoning: the upstream's count (OpenAI's and DeepSeek's
    /// <c>completion_tokens_details.reasoning_tokens</c>) when it reports one, otherwise estimated at four bytes a token
    /// from the reasoning it returned as text (DeepSeek's and vLLM's <c>reasoning_content</c> or <c>reasoning</c>,
    /// Anthropic's thinking blocks, whose tokens Anthropic counts in <c>output_tokens</c> only). For the monitor.
    /// </summary>
    public long ReasoningTokens => Math.Min(OutputTokens, _reportedReasoningTokens ?? ((_reasoningBytes + 3) / 4));

    /// <summary>The reasoning came back as text the client can read (not only counted, as OpenAI's models keep it hidden).</summary>
    public bool ReasoningReturned => _reasoningBytes > 0;

    private long? _reportedReasoningTokens;
    private long _reasoningBytes;

    /// <summary>The tokens to bill, in the price book's terms.</summary>
    public BilledTokens Billed => new(InputTokens, OutputTokens, CacheReadTokens, CacheWriteTokens, CacheWriteOneHourTokens, WebSearchRequests);

    /// <summary>Whether the upstream reported usage at all.</summary>
    public bool Reported { get; private set; }

    /// <summary>
    /// True while the only output count seen is the one inside a message object (Anthropic's <c>message_start</c>),
    /// which counts the output so far, not the answer's; the final count comes in a top-level <c>usage</c>.
    /// </summary>
    public bool OutputProvisional { get; private set; }

    public string? FinishReason { get; private set; }

    /// <summary>Characters of generated output seen, retained or not.</summary>
    public long OutputChars { get; private set; }

    public string? Text => _text?.ToString();

    /// <summary>The names of the tools the answer called, in order (kept only while text is retained).</summary>
    public IReadOnlyList<string> ToolNames => _toolNames ?? (IReadOnlyList<string>)[];

    /// <summary>The tool calls' arguments as sent, concatenated (retained up to the same cap as the text).</summary>
    public string? ToolArguments => _arguments?.ToString();

    /// <summary>
    /// Scans one JSON document: a whole response or one stream event's data. Never throws on bad JSON, nor on a string
    /// escape that decodes to no text (a lone surrogate such as <c>\udfff</c>, which the reader refuses to unescape).
    /// </summary>
    public bool TryScan(ReadOnlySpan<byte> json)
    {
        try
        {
            Scan(json, requireObject: false);
            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Scans a whole (not streamed) response, which must be exactly one JSON object, and validates it in the same pass;
    /// when it is not, returns false and leaves the meter as it was: nothing is metered from an invalid response.
    /// </summary>
    public bool TryScanObject(ReadOnlySpan<byte> json)
    {
        var (input, output, reported, provisional, finishReason, outputChars) = (InputTokens, OutputTokens, Reported, OutputProvisional, FinishReason, OutputChars);
        var (cacheRead, cacheWrite, cacheWriteOneHour) = (CacheReadTokens, CacheWriteTokens, CacheWriteOneHourTokens);
        var (text, arguments, toolNames) = (_text?.Length ?? 0, _arguments?.Length ?? 0, _toolNames?.Count ?? 0);
        var (reportedReasoning, reasoningBytes) = (_reportedReasoningTokens, _reasoningBytes);
        var (webSearches, webFetches, inferenceGeo) = (WebSearchRequests, WebFetchRequests, InferenceGeo);
        try
        {
            if (Scan(json, requireObject: true))
            {
                return true;
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
        }
        (InputTokens, OutputTokens, Reported, OutputProvisional, FinishReason, OutputChars) = (input, output, reported, provisional, finishReason, outputChars);
        (CacheReadTokens, CacheWriteTokens, CacheWriteOneHourTokens) = (cacheRead, cacheWrite, cacheWriteOneHour);
        (_reportedReasoningTokens, _reasoningBytes) = (reportedReasoning, reasoningBytes);
        (WebSearchRequests, WebFetchRequests, InferenceGeo) = (webSearches, webFetches, inferenceGeo);
        _text?.Truncate(text);
        _arguments?.Truncate(arguments);
        _toolNames?.RemoveRange(toolNames, _toolNames.Count - toolNames);
        return false;
    }

    /// <summary>
    /// Ensures token counts exist: when the upstream reported none, estimates both with a tokenizer
    /// (<see cref="TokenCounter"/>; the prompt's images and documents as what they are, <see cref="MediaTokens"/>); when its output count is only provisional (a stream cut before its final usage),
    /// estimates the output from what was sent, never below what the upstream counted. Output is never estimated above
    /// <paramref name="maxOutputTokens"/>, the most the upstream could have produced, nor the prompt above
    /// <paramref name="maxInputTokens"/>, the model's context window: an upstream that served the prompt took no longer one,
    /// whatever the estimate of its media (a PDF's pages, an audio clip's base64) says. Returns whether anything was estimated.
    /// </summary>
    public bool EstimateIfMissing(ReadOnlySpan<byte> requestBody, long maxOutputTokens = long.MaxValue, long maxInputTokens = long.MaxValue)
    {
        if (Reported && !OutputProvisional)
        {
            return false;
        }
        var estimatedOutput = Math.Min(EstimateOutput(), maxOutputTokens);
        if (!Reported)
        {
            InputTokens = Math.Min(MediaTokens.EstimatePrompt(requestBody), maxInputTokens);
            OutputTokens = estimatedOutput;
            return true;
        }
        if (estimatedOutput > OutputTokens)
        {
            OutputTokens = estimatedOutput;
            return true;
        }
        return false;
    }

    /// <summary>
    /// How much text <see cref="EstimateIfMissing"/> would read now, in bytes or characters (the whole request body, which
    /// it walks for its media before it tokenizes the rest): none when the upstream's usage is final. Lets the caller move a large estimate off a thread that must not wait.
    /// </summary>
    public int EstimateSize(int requestBodyBytes) =>
        Reported && !OutputProvisional ? 0 : (Reported ? 0 : requestBodyBytes) + (_text?.Length ?? 0);

    /// <summary>
    /// The tokens of the output seen: the retained text counted by the tokenizer and scaled up to all the characters
    /// seen when only part was retained, about four characters a token when nothing was retained; and the reasoning
    /// returned as text (thinking deltas, <c>reasoning_content</c>) at four bytes a token, as <see cref="ReasoningTokens"/>
    /// estimates it. The vendor bills reasoning as output, and a client that leaves once the thinking has reached it
    /// (or a stream cut there) must not get it for nothing.
    /// </summary>
    private long EstimateOutput()
    {
        var reasoning = (_reasoningBytes + 3) / 4;
        if (OutputChars == 0)
        {
            return reasoning;
        }
        if (_text is not { Length: > 0 } text)
        {
            return reasoning + ((OutputChars + 3) / 4);
        }
        var counted = TokenCounter.Count(text.ToString());
        return reasoning + (OutputChars <= text.Length ? counted : (long)Math.Ceiling((double)counted * OutputChars / text.Length));
    }

    /// <summary>
    /// One pass of <see cref="Utf8JsonReader"/>, which throws <see cref="JsonException"/> on anything but one well-formed
    /// JSON value; false when <paramref name="requireObject"/> and that value is not an object.
    /// </summary>
    private bool Scan(ReadOnlySpan<byte> json, bool requireObject)
    {
        var reader = new Utf8JsonReader(json);
        if (requireObject && (!reader.Read() || reader.TokenType != JsonTokenType.StartObject))
        {
            return false;
        }
        var resume = requireObject;
        Span<UsageField> parents = stackalloc UsageField[MaxDepth];
        var currentProperty = UsageField.None;
        long usageInput = 0;
        var usageHasInput = false;
        var cache = default(CacheCounts);
        long usageOutput = 0;
        var usageHasOutput = false;
        var inUsageAt = -1;

        while (resume || reader.Read())
        {
            resume = false;
            var depth = reader.CurrentDepth;
            switch (reader.TokenType)
            {
                case JsonTokenType.PropertyName:
                    currentProperty = Classify(ref reader);
                    break;
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    if (depth < MaxDepth)
                    {
                        parents[depth] = currentProperty;
                    }
                    if (currentProperty == UsageField.Usage && reader.TokenType == JsonTokenType.StartObject)
                    {
                        inUsageAt = depth;
                        usageInput = usageOutput = 0;
                        usageHasInput = usageHasOutput = false;
                        cache = default;
                    }
                    else if (currentProperty == UsageField.ToolInput && reader.TokenType == JsonTokenType.StartObject && retainChars > 0)
                    {
                        AppendToolInput(json, ref reader);
                    }
                    currentProperty = UsageField.None;
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    if (depth == inUsageAt)
                    {
                        inUsageAt = -1;
                        if (usageHasInput)
                        {
                            InputTokens = usageInput;
                            (CacheReadTokens, CacheWriteTokens, CacheWriteOneHourTokens) = cache.Within(usageInput);
                            Reported = true;
                        }
                        if (usageHasOutput)
                        {
                            OutputTokens = usageOutput;
                            OutputProvisional = depth > 0 && depth - 1 < MaxDepth && parents[depth - 1] == UsageField.Message;
                            Reported = true;
                        }
                    }
                    break;
                case JsonTokenType.Number when inUsageAt >= 0 && depth == inUsageAt + 1:
                    // A count no request can have (negative, or above int.MaxValue) is the upstream's fault, not usage: it
                    // is left out, so it can neither lower spend below what was served nor overflow the sums.
                    if (currentProperty is UsageField.InputTokens or UsageField.CacheReadInput or UsageField.CacheWriteInput
                        && reader.TryGetInt64(out var input) && input is >= 0 and <= int.MaxValue)
                    {
                        usageInput += input;
                        usageHasInput = true;
                        cache.Add(currentProperty, input);
                    }
                    else if (currentProperty == UsageField.CacheHitPrompt && reader.TryGetInt64(out var hits) && hits is >= 0 and <= int.MaxValue)
                    {
                        cache.Add(currentProperty, hits);
                    }
                    else if (currentProperty == UsageField.OutputTokens && reader.TryGetInt64(out var output) && output is >= 0 and <= int.MaxValue)
                    {
                        usageOutput += output;
                        usageHasOutput = true;
                    }
                    break;
                case JsonTokenType.Number when inUsageAt >= 0 && depth == inUsageAt + 2 && depth - 1 < MaxDepth
                    && ((currentProperty == UsageField.CachedTokens && parents[depth - 1] == UsageField.PromptDetails)
                        || (currentProperty == UsageField.OneHourCacheWrite && parents[depth - 1] == UsageField.CacheCreation)):
                    if (reader.TryGetInt64(out var cached) && cached is >= 0 and <= int.MaxValue)
                    {
                        cache.Add(currentProperty, cached);
                    }
                    break;
                case JsonTokenType.Number when inUsageAt >= 0 && depth == inUsageAt + 2 && depth - 1 < MaxDepth
                    && currentProperty is UsageField.WebSearchRequests or UsageField.WebFetchRequests && parents[depth - 1] == UsageField.ServerToolUse:
                    // Cumulative, as a stream's output count is: the last count stands.
                    if (reader.TryGetInt64(out var uses) && uses is >= 0 and <= int.MaxValue)
                    {
                        if (currentProperty == UsageField.WebSearchRequests)
                        {
                            WebSearchRequests = uses;
                        }
                        else
                        {
                            WebFetchRequests = uses;
                        }
                    }
                    break;
                case JsonTokenType.Number when inUsageAt >= 0 && depth == inUsageAt + 2 && depth - 1 < MaxDepth
                    && currentProperty == UsageField.ReasoningTokens && parents[depth - 1] == UsageField.OutputDetails:
                    if (reader.TryGetInt64(out var reasoning) && reasoning is >= 0 and <= int.MaxValue)
                    {
                        _reportedReasoningTokens = reasoning;
                    }
                    break;
                case JsonTokenType.String:
                    switch (currentProperty)
                    {
                        case UsageField.FinishReason:
                            FinishReason = reader.GetString();
                            break;
                        case UsageField.Content when depth > 0 && depth - 1 < MaxDepth && parents[depth - 1] is UsageField.Message or UsageField.Delta:
                        case UsageField.Text:
                            AppendText(ref reader, ref _text);
                            break;
                        case UsageField.Arguments:
                            AppendText(ref reader, ref _arguments);
                            break;
                        case UsageField.Reasoning when IsReasoningPlace(parents, depth):
                            // Counted, not kept: the reasoning is not the answer.
                            _reasoningBytes += reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
                            break;
                        case UsageField.Name when retainChars > 0:
                            (_toolNames ??= []).Add(reader.GetString()!);
                            break;
                        case UsageField.InferenceGeo when inUsageAt >= 0 && depth == inUsageAt + 1:
                            InferenceGeo = reader.ValueTextEquals("global"u8) ? "global" : reader.ValueTextEquals("us"u8) ? "us" : reader.GetString();
                            break;
                    }
                    break;
            }
            if (reader.TokenType is not JsonTokenType.PropertyName and not JsonTokenType.StartObject and not JsonTokenType.StartArray)
            {
                currentProperty = UsageField.None;
            }
        }
        return true;
    }

    /// <summary>
    /// Whether a string at <paramref name="depth"/> is where vendors return reasoning: in a chat <c>message</c> or
    /// <c>delta</c> (<c>reasoning_content</c>, <c>reasoning</c>), in a <c>thinking_delta</c>'s <c>delta</c>, or in a thinking
    /// block of an Anthropic answer's <c>content</c>; not a tool's argument that happens to be called so.
    /// </summary>
    private static bool IsReasoningPlace(ReadOnlySpan<UsageField> parents, int depth) =>
        depth > 0 && depth - 1 < MaxDepth
        && (parents[depth - 1] is UsageField.Message or UsageField.Delta
            || (depth > 1 && parents[depth - 1] == UsageField.None && parents[depth - 2] == UsageField.Content));

    /// <summary>An Anthropic <c>tool_use</c> block's <c>input</c> object, kept as its JSON text; the empty one a stream starts with is not.</summary>
    private void AppendToolInput(ReadOnlySpan<byte> json, ref Utf8JsonReader reader)
    {
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        var input = json[start..(int)reader.BytesConsumed];
        if (input.Length <= 2)
        {
            return;
        }
        _arguments ??= new RetainedText(retainChars);
        _arguments.Append(Encoding.UTF8.GetString(input));
    }

    private void AppendText(ref Utf8JsonReader reader, ref RetainedText? retained)
    {
        // Unescaped into a stack or pooled buffer rather than a string: this runs for every content delta of every
        // stream. A JSON string never has more UTF-16 chars than its escaped UTF-8 bytes, so the buffer is large enough.
        var maxChars = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        char[]? rented = null;
        var buffer = maxChars <= StackTextChars ? stackalloc char[StackTextChars] : (rented = ArrayPool<char>.Shared.Rent(maxChars));
        try
        {
            var length = reader.CopyString(buffer);
            OutputChars += length;
            if (retainChars <= 0)
            {
                return;
            }
            retained ??= new RetainedText(retainChars);
            retained.Append(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The property's name, compared as raw UTF-8 by length first: a whole response has some thirty names, and comparing
    /// each with every known name through <see cref="Utf8JsonReader.ValueTextEquals(ReadOnlySpan{byte})"/> was a good part
    /// of the meter's time. A name that is escaped or split across segments is unescaped first.
    /// </summary>
    private static UsageField Classify(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return Classify(reader.ValueSpan);
        }
        // No known name is longer than 27 bytes, nor its escaped form longer than six bytes a byte.
        var length = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (length > MaxNameBytes * 6)
        {
            return UsageField.None;
        }
        Span<byte> name = stackalloc byte[MaxNameBytes * 6];
        return Classify(name[..reader.CopyString(name)]);
    }

    private const int MaxNameBytes = 27;

    private static UsageField Classify(ReadOnlySpan<byte> name) => name.Length switch
    {
        4 when name.SequenceEqual("text"u8) => UsageField.Text,
        4 when name.SequenceEqual("name"u8) => UsageField.Name,
        5 when name.SequenceEqual("usage"u8) => UsageField.Usage,
        5 when name.SequenceEqual("delta"u8) => UsageField.Delta,
        5 when name.SequenceEqual("input"u8) => UsageField.ToolInput,
        8 when name.SequenceEqual("thinking"u8) => UsageField.Reasoning,
        9 when name.SequenceEqual("reasoning"u8) => UsageField.Reasoning,
        16 when name.SequenceEqual("reasoning_tokens"u8) => UsageField.ReasoningTokens,
        17 when name.SequenceEqual("reasoning_content"u8) => UsageField.Reasoning,
        21 when name.SequenceEqual("output_tokens_details"u8) => UsageField.OutputDetails,
        25 when name.SequenceEqual("completion_tokens_details"u8) => UsageField.OutputDetails,
        7 when name.SequenceEqual("content"u8) => UsageField.Content,
        7 when name.SequenceEqual("message"u8) => UsageField.Message,
        9 when name.SequenceEqual("arguments"u8) => UsageField.Arguments,
        11 when name.SequenceEqual("stop_reason"u8) => UsageField.FinishReason,
        12 when name.SequenceEqual("input_tokens"u8) => UsageField.InputTokens,
        12 when name.SequenceEqual("partial_json"u8) => UsageField.Arguments,
        13 when name.SequenceEqual("prompt_tokens"u8) => UsageField.InputTokens,
        13 when name.SequenceEqual("output_tokens"u8) => UsageField.OutputTokens,
        13 when name.SequenceEqual("finish_reason"u8) => UsageField.FinishReason,
        13 when name.SequenceEqual("inference_geo"u8) => UsageField.InferenceGeo,
        17 when name.SequenceEqual("completion_tokens"u8) => UsageField.OutputTokens,
        13 when name.SequenceEqual("cached_tokens"u8) => UsageField.CachedTokens,
        14 when name.SequenceEqual("cache_creation"u8) => UsageField.CacheCreation,
        25 when name.SequenceEqual("ephemeral_1h_input_tokens"u8) => UsageField.OneHourCacheWrite,
        21 when name.SequenceEqual("prompt_tokens_details"u8) => UsageField.PromptDetails,
        15 when name.SequenceEqual("server_tool_use"u8) => UsageField.ServerToolUse,
        19 when name.SequenceEqual("web_search_requests"u8) => UsageField.WebSearchRequests,
        18 when name.SequenceEqual("web_fetch_requests"u8) => UsageField.WebFetchRequests,
        23 when name.SequenceEqual("cache_read_input_tokens"u8) => UsageField.CacheReadInput,
        23 when name.SequenceEqual("prompt_cache_hit_tokens"u8) => UsageField.CacheHitPrompt,
        MaxNameBytes when name.SequenceEqual("cache_creation_input_tokens"u8) => UsageField.CacheWriteInput,
        _ => UsageField.None,
    };

    private enum UsageField : byte
    {
        None,
        Usage,
        InputTokens,
        OutputTokens,
        FinishReason,
        Content,
        Text,
        Arguments,
        Message,
        Delta,
        Name,
        ToolInput,

        /// <summary>Anthropic's <c>cache_read_input_tokens</c>: input beside <c>input_tokens</c>, read from the cache.</summary>
        CacheReadInput,

        /// <summary>Anthropic's <c>cache_creation_input_tokens</c>: input beside <c>input_tokens</c>, written to the cache.</summary>
        CacheWriteInput,

        /// <summary>DeepSeek's <c>prompt_cache_hit_tokens</c>: part of <c>prompt_tokens</c>, read from the cache.</summary>
        CacheHitPrompt,

        /// <summary>OpenAI's <c>prompt_tokens_details</c>.</summary>
        PromptDetails,

        /// <summary>OpenAI's <c>prompt_tokens_details.cached_tokens</c>: part of <c>prompt_tokens</c>, read from the cache.</summary>
        CachedTokens,

        /// <summary>Anthropic's <c>cache_creation</c>: its cache writes by how long they are kept.</summary>
        CacheCreation,

        /// <summary>Anthropic's <c>cache_creation.ephemeral_1h_input_tokens</c>: part of the cache writes, to the one-hour cache.</summary>
        OneHourCacheWrite,

        /// <summary>Reasoning returned as text: <c>reasoning_content</c>, <c>reasoning</c> (DeepSeek, vLLM), <c>thinking</c> (Anthropic).</summary>
        Reasoning,

        /// <summary>OpenAI's <c>completion_tokens_details</c> (<c>output_tokens_details</c> in the Responses API).</summary>
        OutputDetails,

        /// <summary><c>reasoning_tokens</c> within <see cref="OutputDetails"/>: part of the output.</summary>
        ReasoningTokens,

        /// <summary>Anthropic's <c>server_tool_use</c>: the uses of its server tools, by tool.</summary>
        ServerToolUse,

        /// <summary><c>web_search_requests</c> within <see cref="ServerToolUse"/>.</summary>
        WebSearchRequests,

        /// <summary><c>web_fetch_requests</c> within <see cref="ServerToolUse"/>.</summary>
        WebFetchRequests,

        /// <summary>Anthropic's <c>usage.inference_geo</c>: where the inference ran.</summary>
        InferenceGeo,
    }

    /// <summary>The cache counts of one <c>usage</c> object, however its vendor spells them.</summary>
    private struct CacheCounts
    {
        private long _read;
        private long _write;
        private long _details;
        private bool _hasDetails;
        private long _hits;
        private long _oneHour;

        public void Add(UsageField field, long tokens)
        {
            switch (field)
            {
                case UsageField.CacheReadInput:
                    _read += tokens;
                    break;
                case UsageField.CacheWriteInput:
                    _write += tokens;
                    break;
                case UsageField.CachedTokens:
                    _details += tokens;
                    _hasDetails = true;
                    break;
                case UsageField.CacheHitPrompt:
                    _hits += tokens;
                    break;
                case UsageField.OneHourCacheWrite:
                    _oneHour += tokens;
                    break;
            }
        }

        /// <summary>
        /// Reads and writes, never more than the <paramref name="input"/> they are part of (an odd upstream's numbers cannot
        /// bill a prompt token twice). OpenAI's <c>cached_tokens</c> and DeepSeek's <c>prompt_cache_hit_tokens</c> say the
        /// same thing where both are sent: the first is taken. The one-hour cache's writes are never more than the writes.
        /// </summary>
        public readonly (long Read, long Write, long WriteOneHour) Within(long input)
        {
            var read = Math.Min(_read + (_hasDetails ? _details : _hits), input);
            var write = Math.Min(_write, input - read);
            return (read, write, Math.Min(_oneHour, write));
        }
    }
}
