using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using Corridor.Simulator.Generation;

namespace Corridor.Simulator.Protocol;

/// <summary>One input to embed: a hash of its content and how many tokens it counts for.</summary>
internal readonly record struct EmbeddingInput(ulong Hash, int Tokens);

/// <summary>An OpenAI embeddings request: <c>input</c> as a string, strings, tokens or token arrays.</summary>
internal sealed class EmbeddingRequest
{
    public const int DefaultDimensions = 256;
    public const int MaxDimensions = 8192;

    public string? Model { get; set; }

    public List<EmbeddingInput> Inputs { get; } = [];

    public int Dimensions { get; set; } = DefaultDimensions;

    public bool Base64 { get; set; }

    public int PromptTokens
    {
        get
        {
            var total = 0;
            foreach (var input in Inputs)
            {
                total += input.Tokens;
            }

            return total;
        }
    }

    public static bool TryRead(ReadOnlySpan<byte> body, Dialect dialect, out EmbeddingRequest request, out RequestProblem problem)
    {
        request = new EmbeddingRequest();
        problem = default;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = new RequestProblem(ChatRequestReader.MalformedJson, null);
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    request.Model = reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
                }
                else if (reader.ValueTextEquals("input"u8))
                {
                    reader.Read();
                    if (!request.ReadInput(ref reader))
                    {
                        problem = new RequestProblem("'input' must be a non-empty string, an array of non-empty strings, or token arrays.", "input");
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("dimensions"u8))
                {
                    reader.Read();
                    request.Dimensions = reader.TokenType == JsonTokenType.Null ? DefaultDimensions : reader.GetInt32();
                }
                else if (reader.ValueTextEquals("encoding_format"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Null)
                    {
                        if (!reader.ValueTextEquals("float"u8) && !reader.ValueTextEquals("base64"u8))
                        {
                            problem = new RequestProblem("encoding_format must be 'float' or 'base64'.", "encoding_format");
                            return false;
                        }

                        request.Base64 = reader.ValueTextEquals("base64"u8);
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            reader.Read();
        }
        catch (JsonException)
        {
            problem = new RequestProblem(ChatRequestReader.MalformedJson, null);
            return false;
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            problem = new RequestProblem("A field of the request has the wrong type.", null);
            return false;
        }

        problem = request switch
        {
            { Model: null or "" } when dialect != Dialect.AzureOpenAI => new("you must provide a model parameter", "model"),
            { Inputs.Count: 0 } => new("'input' is required.", "input"),
            { Dimensions: < 1 or > MaxDimensions } => new($"dimensions must be between 1 and {MaxDimensions}.", "dimensions"),
            _ => default,
        };
        return problem.Message is null;
    }

    private bool ReadInput(ref Utf8JsonReader reader)
    {
        Inputs.Clear();
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return AddText(ref reader);
            case JsonTokenType.StartArray:
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number)
                {
                    // One input given as tokens.
                    return AddTokens(ref reader);
                }

                for (; reader.TokenType != JsonTokenType.EndArray; reader.Read())
                {
                    var ok = reader.TokenType switch
                    {
                        JsonTokenType.String => AddText(ref reader),
                        JsonTokenType.StartArray when reader.Read() => AddTokens(ref reader),
                        _ => false,
                    };
                    if (!ok)
                    {
                        return false;
                    }
                }

                return Inputs.Count > 0;
            default:
                return false;
        }
    }

    private bool AddText(ref Utf8JsonReader reader)
    {
        var text = reader.GetString()!;
        if (text.Length == 0)
        {
            return false;
        }

        Inputs.Add(new EmbeddingInput(Hashing.Fnv1a(text), Math.Max(1, (text.Length + 3) / 4)));
        return true;
    }

    /// <summary>Reads numbers from the first one to the end of their array.</summary>
    private bool AddTokens(ref Utf8JsonReader reader)
    {
        var hash = Hashing.Seed;
        var count = 0;
        for (; reader.TokenType != JsonTokenType.EndArray; reader.Read())
        {
            var token = reader.GetInt32();
            hash = Hashing.Fnv1a(MemoryMarshal.AsBytes(new ReadOnlySpan<int>(in token)), hash);
            count++;
        }

        if (count == 0)
        {
            return false;
        }

        Inputs.Add(new EmbeddingInput(hash, count));
        return true;
    }
}

/// <summary>Writes the embeddings list: deterministic unit vectors from (model, input, seed).</summary>
internal static class EmbeddingsWriter
{
    public static void Write(Utf8JsonWriter writer, (EmbeddingRequest Request, string Model, int Seed) state)
    {
        var (request, model, seed) = state;
        var vector = ArrayPool<float>.Shared.Rent(request.Dimensions);
        var bytes = request.Base64 ? ArrayPool<byte>.Shared.Rent(request.Dimensions * sizeof(float)) : null;
        try
        {
            writer.WriteStartObject();
            writer.WriteString("object"u8, "list"u8);
            writer.WriteStartArray("data"u8);
            var modelKey = Hashing.Combine(Hashing.Fnv1a(model), (ulong)seed);
            for (var i = 0; i < request.Inputs.Count; i++)
            {
                var values = vector.AsSpan(0, request.Dimensions);
                Fill(values, Hashing.Combine(modelKey, request.Inputs[i].Hash));
                writer.WriteStartObject();
                writer.WriteString("object"u8, "embedding"u8);
                writer.WriteNumber("index"u8, i);
                if (bytes is not null)
                {
                    // Little-endian float32, as the API's base64 encoding is.
                    var raw = bytes.AsSpan(0, values.Length * sizeof(float));
                    MemoryMarshal.AsBytes(values).CopyTo(raw);
                    writer.WriteBase64String("embedding"u8, raw);
                }
                else
                {
                    writer.WriteStartArray("embedding"u8);
                    foreach (var value in values)
                    {
                        writer.WriteNumberValue(value);
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteString("model"u8, model);
            writer.WriteStartObject("usage"u8);
            writer.WriteNumber("prompt_tokens"u8, request.PromptTokens);
            writer.WriteNumber("total_tokens"u8, request.PromptTokens);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        finally
        {
            ArrayPool<float>.Shared.Return(vector);
            if (bytes is not null)
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }
        }
    }

    /// <summary>A unit vector: uniform components in [-1, 1), normalised.</summary>
    internal static void Fill(Span<float> values, ulong key)
    {
        var random = new SplitMix64(key);
        var sumOfSquares = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            var component = random.NextDouble() * 2 - 1;
            values[i] = (float)component;
            sumOfSquares += component * component;
        }

        var scale = sumOfSquares > 0 ? (float)(1 / Math.Sqrt(sumOfSquares)) : 0f;
        for (var i = 0; i < values.Length; i++)
        {
            values[i] *= scale;
        }
    }
}
