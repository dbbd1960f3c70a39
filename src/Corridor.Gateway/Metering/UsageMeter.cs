using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Corridor.Gateway.Metering;

/// <summary>
/// Reads token usage, generated text and the finish reason from an upstream's responses, whole or streamed,
/// in either dialect: OpenAI's <c>usage.prompt_tokens/completion_tokens</c>, Anthropic's
/// <c>usage.input_tokens/output_tokens</c> (cumulative across <c>message_start</c> and <c>message_delta</c>).
/// Text is kept up to a retention cap; its full length feeds the estimate used when an upstream never reports usage,
/// or reports only the provisional output count of Anthropic's <c>message_start</c> before its stream is cut.
/// </summary>
internal sealed class UsageMeter(int retainChars)
{
    private const int MaxDepth = 16;
    private const int StackTextChars = 256;
    // The retained text: a whole response's one content field stays the string it was read into; a stream's deltas
    // are gathered in the builder from the second delta on.
    private string? _firstText;
    private StringBuilder? _text;

    public long InputTokens { get; private set; }

    public long OutputTokens { get; private set; }

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

    public string? Text => _text?.ToString() ?? _firstText;

    /// <summary>Scans one JSON document: a whole response or one stream event's data. Never throws on bad JSON.</summary>
    public bool TryScan(ReadOnlySpan<byte> json)
    {
        try
        {
            Scan(json);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Ensures token counts exist: when the upstream reported none, estimates about four characters a token; when its
    /// output count is only provisional (a stream cut before its final usage), estimates the output from what was sent,
    /// never below what the upstream counted. Returns whether anything was estimated.
    /// </summary>
    public bool EstimateIfMissing(int requestBytes)
    {
        var estimatedOutput = (OutputChars + 3) / 4;
        if (!Reported)
        {
            InputTokens = (requestBytes + 3) / 4;
            OutputTokens = estimatedOutput;
            return true;
        }
        if (OutputProvisional && estimatedOutput > OutputTokens)
        {
            OutputTokens = estimatedOutput;
            return true;
        }
        return false;
    }

    private void Scan(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        Span<UsageField> parents = stackalloc UsageField[MaxDepth];
        var currentProperty = UsageField.None;
        long usageInput = 0;
        var usageHasInput = false;
        long usageOutput = 0;
        var usageHasOutput = false;
        var inUsageAt = -1;

        while (reader.Read())
        {
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
                    if (currentProperty == UsageField.InputTokens && reader.TryGetInt64(out var input))
                    {
                        usageInput += input;
                        usageHasInput = true;
                    }
                    else if (currentProperty == UsageField.OutputTokens && reader.TryGetInt64(out var output))
                    {
                        usageOutput += output;
                        usageHasOutput = true;
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
                            AppendText(ref reader, retain: true);
                            break;
                        case UsageField.Arguments:
                            AppendText(ref reader, retain: false);
                            break;
                    }
                    break;
            }
            if (reader.TokenType is not JsonTokenType.PropertyName and not JsonTokenType.StartObject and not JsonTokenType.StartArray)
            {
                currentProperty = UsageField.None;
            }
        }
    }

    private void AppendText(ref Utf8JsonReader reader, bool retain)
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
            if (!retain || retainChars <= 0)
            {
                return;
            }
            var room = retainChars - (_text?.Length ?? _firstText?.Length ?? 0);
            if (room <= 0)
            {
                return;
            }
            var kept = buffer[..Math.Min(room, length)];
            if (_firstText is null && _text is null)
            {
                _firstText = new string(kept);
                return;
            }
            if (_text is null)
            {
                _text = new StringBuilder(_firstText!.Length + kept.Length).Append(_firstText);
                _firstText = null;
            }
            _text.Append(kept);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static UsageField Classify(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("usage"u8))
        {
            return UsageField.Usage;
        }
        if (reader.ValueTextEquals("prompt_tokens"u8) || reader.ValueTextEquals("input_tokens"u8)
            || reader.ValueTextEquals("cache_creation_input_tokens"u8) || reader.ValueTextEquals("cache_read_input_tokens"u8))
        {
            return UsageField.InputTokens;
        }
        if (reader.ValueTextEquals("completion_tokens"u8) || reader.ValueTextEquals("output_tokens"u8))
        {
            return UsageField.OutputTokens;
        }
        if (reader.ValueTextEquals("finish_reason"u8) || reader.ValueTextEquals("stop_reason"u8))
        {
            return UsageField.FinishReason;
        }
        if (reader.ValueTextEquals("content"u8))
        {
            return UsageField.Content;
        }
        if (reader.ValueTextEquals("text"u8))
        {
            return UsageField.Text;
        }
        if (reader.ValueTextEquals("arguments"u8) || reader.ValueTextEquals("partial_json"u8))
        {
            return UsageField.Arguments;
        }
        if (reader.ValueTextEquals("message"u8))
        {
            return UsageField.Message;
        }
        if (reader.ValueTextEquals("delta"u8))
        {
            return UsageField.Delta;
        }
        return UsageField.None;
    }

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
    }
}
