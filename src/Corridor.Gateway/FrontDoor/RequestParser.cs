using System.Text.Json;

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
        var sawModel = false;
        var sawMessages = false;
        var sawInput = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.ValueSpan;
            reader.Read();
            if (name.SequenceEqual("model"u8))
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
                sawModel = true;
            }
            else if (name.SequenceEqual("messages"u8))
            {
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    return GatewayError.Invalid("'messages' must be an array.", "messages");
                }
                sawMessages = true;
                reader.Skip();
            }
            else if (name.SequenceEqual("input"u8))
            {
                if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.StartArray))
                {
                    return GatewayError.Invalid("'input' must be a string or an array.", "input");
                }
                sawInput = true;
                reader.Skip();
            }
            else if (name.SequenceEqual("stream"u8))
            {
                if (!TryBool(ref reader, out var stream))
                {
                    return GatewayError.Invalid("'stream' must be a boolean.", "stream");
                }
                request.Stream = stream;
            }
            else if (name.SequenceEqual("stream_options"u8))
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
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
            else if (name.SequenceEqual("n"u8))
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
            else if (name.SequenceEqual("logprobs"u8))
            {
                if (!TryBool(ref reader, out var logprobs))
                {
                    return GatewayError.Invalid("'logprobs' must be a boolean.", "logprobs");
                }
                request.Logprobs = logprobs;
            }
            else if (name.SequenceEqual("max_tokens"u8) || name.SequenceEqual("max_completion_tokens"u8))
            {
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                if (!TryInt(ref reader, out var max) || max < 1)
                {
                    return GatewayError.Invalid($"'{System.Text.Encoding.UTF8.GetString(name)}' must be a positive integer.", System.Text.Encoding.UTF8.GetString(name));
                }
                request.MaxTokens = max;
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

        if (!sawModel || request.Model.Length == 0)
        {
            return GatewayError.Invalid("You must provide a model parameter.", "model");
        }
        return operation switch
        {
            Operation.ChatCompletions or Operation.Messages when !sawMessages =>
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
