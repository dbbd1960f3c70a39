using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text;
using Corridor.Monitor.Features;
using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Replay;

/// <summary>Reads one line of traffic log v1 into request metadata and the location of the request body.</summary>
internal sealed class TrafficLogLine
{
    private readonly Utf8StringCache _strings = new(100_000);

    /// <summary>Parses a line; on failure <paramref name="error"/> says why (the line is then skipped).</summary>
    public bool TryParse(ReadOnlySpan<byte> line, out RequestMetadata metadata, out Range request, out string? error) =>
        TryParse(line, out metadata, out _, out request, out error);

    /// <summary>Parses a line and extracts the request's features in the same pass over its bytes.</summary>
    public bool TryParse(ReadOnlySpan<byte> line, out RequestMetadata metadata, out RequestFeatures features, out Range request, out string? error)
    {
        metadata = default;
        features = default;
        request = default;
        error = null;
        try
        {
            if (!Parse(line, out metadata, ref features, out request, out error))
            {
                return false;
            }

            FeatureExtractor.ApplyMetadata(metadata, ref features);
            return true;
        }
        catch (JsonException ex)
        {
            error = "not JSON: " + FirstSentence(ex.Message);
            return false;
        }
        catch (Exception ex)
        {
            error = "not a traffic log record: " + FirstSentence(ex.Message);
            return false;
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private bool Parse(ReadOnlySpan<byte> line, out RequestMetadata metadata, ref RequestFeatures features, out Range request, out string? error)
    {
        metadata = default;
        request = default;
        error = null;
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = "not a JSON object";
            return false;
        }

        DateTimeOffset? timestamp = null;
        string? tenant = null, key = null, model = null, endpoint = null, ip = null, userAgent = null, batch = null;
        int status = 0, input = 0, output = 0, reasoning = 0;
        var version = 1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("v"u8))
            {
                reader.Read();
                version = reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v) ? v : -1;
            }
            else if (reader.ValueTextEquals("ts"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String || !TryParseTimestamp(ref reader, out var ts))
                {
                    error = "\"ts\" is not an ISO 8601 time";
                    return false;
                }

                timestamp = ts;
            }
            else if (reader.ValueTextEquals("tenant"u8))
            {
                tenant = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("key"u8))
            {
                key = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("model"u8))
            {
                model = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("endpoint"u8))
            {
                endpoint = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("batch"u8))
            {
                batch = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("client"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("ip"u8))
                        {
                            ip = ReadString(ref reader);
                        }
                        else if (reader.ValueTextEquals("user_agent"u8))
                        {
                            userAgent = ReadString(ref reader);
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("request"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    // The body's features are read on the way through: one pass over the line's bytes.
                    FeatureExtractor.ReadBody(ref reader, line, ref features);
                    request = new Range(start, (int)reader.BytesConsumed);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("response"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadResponse(ref reader, ref status, ref input, ref output, ref reasoning);
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != 0)
        {
            error = "not a JSON object";
            return false;
        }

        if (version != 1)
        {
            error = "unsupported version (\"v\" must be 1)";
            return false;
        }

        if (timestamp is null || string.IsNullOrEmpty(tenant) || string.IsNullOrEmpty(key))
        {
            error = "missing " + string.Join(", ", new[] { timestamp is null ? "\"ts\"" : null, string.IsNullOrEmpty(tenant) ? "\"tenant\"" : null, string.IsNullOrEmpty(key) ? "\"key\"" : null }.Where(x => x is not null));
            return false;
        }

        metadata = new RequestMetadata
        {
            Timestamp = timestamp.Value,
            TenantId = tenant,
            KeyId = key,
            Model = model,
            Endpoint = endpoint,
            SourceAddress = ip,
            UserAgent = userAgent,
            Status = status,
            InputTokens = input,
            OutputTokens = output,
            ReasoningTokens = reasoning,
            BatchId = batch,
        };
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReadResponse(ref Utf8JsonReader reader, ref int status, ref int input, ref int output, ref int reasoning)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("status"u8))
            {
                status = ReadInt(ref reader);
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("prompt_tokens"u8) || reader.ValueTextEquals("input_tokens"u8))
                    {
                        input = ReadInt(ref reader);
                    }
                    else if (reader.ValueTextEquals("completion_tokens"u8) || reader.ValueTextEquals("output_tokens"u8))
                    {
                        output = ReadInt(ref reader);
                    }
                    else if (reader.ValueTextEquals("completion_tokens_details"u8))
                    {
                        reader.Read();
                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            reader.Skip();
                            continue;
                        }

                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("reasoning_tokens"u8))
                            {
                                reasoning = ReadInt(ref reader);
                            }
                            else
                            {
                                reader.Read();
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
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static int ReadInt(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value))
        {
            return (int)Math.Clamp(value, 0, int.MaxValue);
        }

        reader.Skip();
        return 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.String)
        {
            reader.Skip();
            return null;
        }

        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return _strings.Get(reader.ValueSpan);
        }

        return reader.GetString();
    }

    /// <summary>ISO 8601: 2026-06-01T08:00:00.123Z or with an offset; a fast path for the log's own format.</summary>
    internal static bool TryParseTimestamp(ref Utf8JsonReader reader, out DateTimeOffset value)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence && TryParseUtc(reader.ValueSpan, out value))
        {
            return true;
        }

        var text = reader.GetString();
        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value)
            && text is { Length: >= 10 } && char.IsAsciiDigit(text[0]) && text[4] == '-';
    }

    private static bool TryParseUtc(ReadOnlySpan<byte> s, out DateTimeOffset value)
    {
        value = default;
        // yyyy-MM-ddTHH:mm:ss[.f...]Z
        if (s.Length < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' || s[16] != ':' || (s[^1] != 'Z' && s[^1] != 'z'))
        {
            return false;
        }

        if (!Digits(s[..4], out var year) || !Digits(s.Slice(5, 2), out var month) || !Digits(s.Slice(8, 2), out var day)
            || !Digits(s.Slice(11, 2), out var hour) || !Digits(s.Slice(14, 2), out var minute) || !Digits(s.Slice(17, 2), out var second))
        {
            return false;
        }

        var ticks = 0L;
        var rest = s[19..^1];
        if (rest.Length > 0)
        {
            if (rest[0] != '.' || rest.Length < 2 || rest.Length > 10 || !Digits(rest[1..], out var fraction))
            {
                return false;
            }

            ticks = fraction * (long)Math.Pow(10, 7 - (rest.Length - 1));
        }

        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(Math.Max(1, year), month) || hour > 23 || minute > 59 || second > 59 || year < 1)
        {
            return false;
        }

        value = new DateTimeOffset(year, month, day, hour, minute, second, TimeSpan.Zero).AddTicks(ticks);
        return true;

        static bool Digits(ReadOnlySpan<byte> digits, out int number)
        {
            number = 0;
            foreach (var d in digits)
            {
                if ((uint)(d - '0') > 9)
                {
                    return false;
                }

                number = (number * 10) + (d - '0');
            }

            return true;
        }
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}

/// <summary>Interns short UTF-8 strings (tenant and key ids, user agents) so a replay does not allocate them per line.</summary>
internal sealed class Utf8StringCache(int capacity)
{
    private readonly Dictionary<ulong, string> _strings = [];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > 256)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var hash = Hashing.OfBytes(utf8) ^ (ulong)utf8.Length;
        if (_strings.TryGetValue(hash, out var cached) && Matches(cached, utf8))
        {
            return cached;
        }

        if (_strings.Count >= capacity)
        {
            _strings.Clear();
        }

        var text = Encoding.UTF8.GetString(utf8);
        _strings[hash] = text;
        return text;
    }

    private static bool Matches(string text, ReadOnlySpan<byte> utf8)
    {
        if (text.Length != utf8.Length)
        {
            return Encoding.UTF8.GetString(utf8) == text;
        }

        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] != text[i])
            {
                return Encoding.UTF8.GetString(utf8) == text;
            }
        }

        return true;
    }
}
