using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Features;

/// <summary>
/// Turns one request (its metadata and its JSON body, OpenAI chat-completions or Anthropic messages shape) into
/// <see cref="RequestFeatures"/>: one pass of <see cref="Utf8JsonReader"/> over the body, then one pass of the text
/// scanner over the system prompt and the last user turn. No allocation beyond pooled buffers; never throws.
/// </summary>
public static class FeatureExtractor
{
    /// <summary>Bytes of a long text read from its start and from its end; the middle of a long document says little.</summary>
    internal const int HeadBudget = 8192;
    internal const int TailBudget = 4096;
    internal const int SystemBudget = 4096;

    /// <summary>A last user turn this short, after an earlier answer, is a follow-up.</summary>
    internal const int FollowUpMaxWords = 12;

    public static RequestFeatures Extract(in RequestMetadata metadata, ReadOnlySpan<byte> requestJson)
    {
        Extract(metadata, requestJson, out var features);
        return features;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Extract(in RequestMetadata metadata, ReadOnlySpan<byte> requestJson, out RequestFeatures features)
    {
        features = default;
        ApplyMetadata(metadata, ref features);
        try
        {
            var reader = new Utf8JsonReader(requestJson, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                features.Flags |= RequestTraits.Unreadable;
                return;
            }

            ReadBody(ref reader, requestJson, ref features);
        }
        catch (Exception)
        {
            // Whatever the body holds, the caller gets the metadata's features: a bad body is data, not an error.
            features.Flags |= RequestTraits.Unreadable;
        }
    }

    internal static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, AllowTrailingCommas = true };

    /// <summary>Sets the features that come from the request's metadata (not from its body).</summary>
    internal static void ApplyMetadata(in RequestMetadata metadata, ref RequestFeatures features)
    {
        features.TimestampMs = metadata.Timestamp.ToUnixTimeMilliseconds();
        features.TenantId = metadata.TenantId ?? string.Empty;
        features.KeyId = metadata.KeyId ?? string.Empty;
        features.Model = metadata.Model;
        features.UserAgent = metadata.UserAgent;
        features.SourceNetworkHash = NetworkHash(metadata.SourceAddress);
        features.UserAgentHash = Hashing.OfString(metadata.UserAgent);
        features.Status = metadata.Status;
        features.InputTokens = Math.Max(0, metadata.InputTokens);
        features.OutputTokens = Math.Max(0, metadata.OutputTokens);
        features.ReasoningTokens = Math.Max(0, metadata.ReasoningTokens);
        if ((features.Flags & RequestTraits.BodyRead) == 0)
        {
            features.Temperature = float.NaN;
        }

        if (metadata.Status is >= 200 and < 300)
        {
            features.Flags |= RequestTraits.Served;
        }

        if (metadata.ReasoningReturned)
        {
            features.Flags |= RequestTraits.ReasoningReturned;
        }

        if (!string.IsNullOrEmpty(metadata.BatchId))
        {
            features.Flags |= RequestTraits.Batch;
        }

        if (metadata.Endpoint is { } endpoint && endpoint.Contains("embeddings", StringComparison.Ordinal))
        {
            features.Flags |= RequestTraits.Embeddings;
        }
    }

    private enum ReasoningParameter
    {
        Thinking,
        Reasoning,
        ChatTemplate,
    }

    /// <summary>An effort asks for reasoning unless it is none or minimal (the front door's rule, docs/policy.md).</summary>
    private static bool AsksEffort(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.String && !reader.ValueTextEquals("none"u8) && !reader.ValueTextEquals("minimal"u8);

    /// <summary>
    /// Whether an object parameter asks for reasoning: Anthropic's <c>thinking</c> by a <c>type</c> other than disabled,
    /// Responses' <c>reasoning</c> by its <c>effort</c>, vLLM's <c>chat_template_kwargs</c> by <c>enable_thinking</c> (Qwen3)
    /// or <c>thinking</c> (DeepSeek-V3.1, Granite) other than false or null. Leaves the reader where it was (on the object's start).
    /// </summary>
    private static bool AsksReasoning(ref Utf8JsonReader outer, ReasoningParameter parameter)
    {
        var reader = outer;
        var depth = reader.CurrentDepth;
        var asks = false;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != depth + 1)
            {
                continue;
            }

            switch (parameter)
            {
                case ReasoningParameter.Thinking when reader.ValueTextEquals("type"u8):
                    reader.Read();
                    asks = reader.TokenType == JsonTokenType.String && !reader.ValueTextEquals("disabled"u8);
                    break;
                case ReasoningParameter.Reasoning when reader.ValueTextEquals("effort"u8):
                    reader.Read();
                    asks = AsksEffort(ref reader);
                    break;
                case ReasoningParameter.ChatTemplate when reader.ValueTextEquals("enable_thinking"u8) || reader.ValueTextEquals("thinking"u8):
                    reader.Read();
                    asks |= reader.TokenType is not (JsonTokenType.False or JsonTokenType.Null);
                    break;
            }
        }

        return asks;
    }

    /// <summary>A hash of the address's network: the first three octets of IPv4, the first three groups of IPv6.</summary>
    public static ulong NetworkHash(string? address)
    {
        if (string.IsNullOrEmpty(address))
        {
            return 0;
        }

        var separator = address.Contains(':', StringComparison.Ordinal) ? ':' : '.';
        var seen = 0;
        var end = address.Length;
        for (var i = 0; i < address.Length; i++)
        {
            if (address[i] == separator && ++seen == 3)
            {
                end = i;
                break;
            }
        }

        var hash = Hashing.FnvOffset;
        for (var i = 0; i < end; i++)
        {
            hash = (hash ^ address[i]) * Hashing.FnvPrime;
        }

        return Hashing.Mix(hash);
    }

    /// <summary>
    /// Reads the body's object with a reader positioned on its start (the body may sit inside a larger document, such
    /// as a traffic log line: positions are in <paramref name="json"/>'s coordinates). Leaves the reader on its end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ReadBody(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ref RequestFeatures features)
    {
        features.Flags |= RequestTraits.BodyRead;
        features.Temperature = float.NaN;
        var lastUser = -1;
        var lastUserAfterAnswer = false;
        Span<int> systems = stackalloc int[4];
        var systemCount = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("messages"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    reader.Skip();
                    continue;
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        reader.Skip();
                        continue;
                    }

                    var (role, content) = ReadMessage(ref reader);
                    switch (role)
                    {
                        case Role.User when content >= 0:
                            features.UserTurns++;
                            lastUser = content;
                            lastUserAfterAnswer = features.AssistantTurns > 0;
                            break;
                        case Role.Assistant:
                            features.AssistantTurns++;
                            break;
                        case Role.System when content >= 0 && systemCount < systems.Length:
                            systems[systemCount++] = content;
                            break;
                    }
                }
            }
            else if (reader.ValueTextEquals("system"u8))
            {
                reader.Read();
                if (systemCount < systems.Length && reader.TokenType is JsonTokenType.String or JsonTokenType.StartArray)
                {
                    systems[systemCount++] = (int)reader.TokenStartIndex;
                }

                reader.Skip();
            }
            else if (reader.ValueTextEquals("prompt"u8) || reader.ValueTextEquals("input"u8))
            {
                var isInput = reader.ValueTextEquals("input"u8);
                reader.Read();
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.StartArray && lastUser < 0)
                {
                    lastUser = (int)reader.TokenStartIndex;
                    features.UserTurns++;
                    if (isInput)
                    {
                        features.Flags |= RequestTraits.Embeddings;
                    }
                }

                reader.Skip();
            }
            else if (reader.ValueTextEquals("n"u8))
            {
                features.N = ReadInt(ref reader);
            }
            else if (reader.ValueTextEquals("temperature"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var temperature))
                {
                    features.Temperature = (float)temperature;
                }
            }
            else if (reader.ValueTextEquals("logprobs"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.True
                    || (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var legacy) && legacy > 0))
                {
                    features.Flags |= RequestTraits.Logprobs;
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var count))
                    {
                        features.TopLogprobs = Math.Max(features.TopLogprobs, count);
                    }
                }
            }
            else if (reader.ValueTextEquals("top_logprobs"u8))
            {
                features.TopLogprobs = Math.Max(features.TopLogprobs, ReadInt(ref reader));
            }
            else if (reader.ValueTextEquals("max_tokens"u8) || reader.ValueTextEquals("max_completion_tokens"u8)
                || reader.ValueTextEquals("max_output_tokens"u8) || reader.ValueTextEquals("max_tokens_to_sample"u8))
            {
                features.MaxTokens = Math.Max(features.MaxTokens, ReadInt(ref reader));
            }
            else if (reader.ValueTextEquals("stream"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.True)
                {
                    features.Flags |= RequestTraits.Stream;
                }
            }
            else if (reader.ValueTextEquals("reasoning_effort"u8))
            {
                reader.Read();
                if (AsksEffort(ref reader))
                {
                    features.Flags |= RequestTraits.ReasoningRequested;
                }
            }
            else if (reader.ValueTextEquals("thinking"u8) || reader.ValueTextEquals("reasoning"u8)
                || reader.ValueTextEquals("chat_template_kwargs"u8))
            {
                var parameter = reader.ValueTextEquals("thinking"u8) ? ReasoningParameter.Thinking
                    : reader.ValueTextEquals("reasoning"u8) ? ReasoningParameter.Reasoning : ReasoningParameter.ChatTemplate;
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject && AsksReasoning(ref reader, parameter))
                {
                    features.Flags |= RequestTraits.ReasoningRequested;
                }

                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }

            // A value of an unexpected shape (an object where a number was expected) is stepped over whole.
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                reader.Skip();
            }
        }

        if (features.AssistantTurns > 0)
        {
            features.Flags |= RequestTraits.CarriesAnswers;
        }

        if (systemCount > 0)
        {
            ScanSystem(json, systems[..systemCount], ref features);
        }

        if (lastUser >= 0)
        {
            var scanner = TextScanner.Create();
            ScanValue(json, lastUser, ref scanner, HeadBudget + TailBudget);
            var result = scanner.Finish();
            features.PromptBytes = result.Bytes;
            features.PromptWords = result.Words;
            features.ContentHash = result.ContentHash;
            features.SkeletonHash = result.SkeletonHash;
            features.HeadHash = result.HeadHash;
            features.TailHash = result.TailHash;
            features.MinHash = result.MinHash;
            features.ReasoningMarkers = result.ReasoningMarkers;
            features.VerbosityMarkers = result.VerbosityMarkers;
            features.FormatMarkers = result.FormatMarkers;
            if (lastUserAfterAnswer && result.Words <= FollowUpMaxWords)
            {
                features.Flags |= RequestTraits.FollowUp;
            }
        }
    }

    /// <summary>
    /// The system prompt: an application sends the same one with every request, so its scan is cached per thread,
    /// keyed by a fast hash of its raw JSON bytes.
    /// </summary>
    private static void ScanSystem(ReadOnlySpan<byte> json, ReadOnlySpan<int> starts, ref RequestFeatures features)
    {
        var raw = 0x51D3_C0DEUL;
        Span<Range> values = stackalloc Range[starts.Length];
        for (var i = 0; i < starts.Length; i++)
        {
            var reader = new Utf8JsonReader(json[starts[i]..], ReaderOptions);
            reader.Read();
            reader.Skip();
            values[i] = new Range(starts[i], starts[i] + (int)reader.BytesConsumed);
            raw = Hashing.Combine(raw, FastHash(json[values[i]]));
        }

        var cache = t_systemCache ??= new SystemScan[SystemCacheSize];
        ref var entry = ref cache[(int)(raw & (SystemCacheSize - 1))];
        if (entry.RawHash != raw)
        {
            var system = TextScanner.Create();
            for (var i = 0; i < starts.Length && system.BytesSeen < SystemBudget; i++)
            {
                ScanValue(json, starts[i], ref system, SystemBudget);
            }

            var result = system.Finish();
            entry = new SystemScan(raw, result.ContentHash, result.SkeletonHash, result.ReasoningMarkers, result.VerbosityMarkers);
        }

        features.SystemHash = entry.ContentHash;
        features.SystemSkeletonHash = entry.SkeletonHash;
        features.SystemReasoningMarkers = entry.ReasoningMarkers;
        features.SystemVerbosityMarkers = entry.VerbosityMarkers;
    }

    /// <summary>A fast 64-bit hash of raw bytes, eight at a time (for cache keys, not for sketches).</summary>
    internal static ulong FastHash(ReadOnlySpan<byte> bytes)
    {
        var hash = 0x9E3779B97F4A7C15UL ^ (ulong)bytes.Length;
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(bytes);
        foreach (var word in words)
        {
            hash = (BitOperations.RotateLeft(hash ^ word, 29) * 0xBF58476D1CE4E5B9UL) + 0x94D049BB133111EBUL;
        }

        for (var i = words.Length * 8; i < bytes.Length; i++)
        {
            hash = (hash ^ bytes[i]) * Hashing.FnvPrime;
        }

        return Hashing.Mix(hash);
    }

    private const int SystemCacheSize = 256;

    [ThreadStatic]
    private static SystemScan[]? t_systemCache;

    private readonly record struct SystemScan(ulong RawHash, ulong ContentHash, ulong SkeletonHash, int ReasoningMarkers, int VerbosityMarkers);

    private enum Role : byte
    {
        Other,
        System,
        User,
        Assistant,
    }

    /// <summary>Reads one message object; returns its role and where its content value starts (-1 when absent or null).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (Role Role, int Content) ReadMessage(ref Utf8JsonReader reader)
    {
        var role = Role.Other;
        var content = -1;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                reader.Skip();
                continue;
            }

            if (reader.ValueTextEquals("role"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    role = reader.ValueTextEquals("user"u8) ? Role.User
                        : reader.ValueTextEquals("assistant"u8) ? Role.Assistant
                        : reader.ValueTextEquals("system"u8) || reader.ValueTextEquals("developer"u8) ? Role.System
                        : Role.Other;
                }
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.StartArray)
                {
                    content = (int)reader.TokenStartIndex;
                }

                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return (role, content);
    }

    private static int ReadInt(ref Utf8JsonReader reader)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (reader.TryGetInt32(out var value))
            {
                return Math.Max(0, value);
            }

            if (reader.TryGetDouble(out var real) && real > 0)
            {
                return real >= int.MaxValue ? int.MaxValue : (int)real;
            }
        }

        return 0;
    }

    /// <summary>Scans the string, or the text parts of the array, that starts at <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScanValue(ReadOnlySpan<byte> json, int start, ref TextScanner scanner, int budget)
    {
        var reader = new Utf8JsonReader(json[start..], ReaderOptions);
        if (!reader.Read())
        {
            return;
        }

        if (reader.TokenType == JsonTokenType.String)
        {
            ScanString(ref reader, ref scanner, budget);
            return;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return;
        }

        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndArray && reader.CurrentDepth == depth))
        {
            if (scanner.BytesSeen >= budget)
            {
                return;
            }

            if (reader.TokenType == JsonTokenType.String && reader.CurrentDepth == depth + 1)
            {
                ScanString(ref reader, ref scanner, budget);
                scanner.Break();
            }
            else if (reader.TokenType == JsonTokenType.PropertyName && (reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("content"u8)))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    ScanString(ref reader, ref scanner, budget);
                    scanner.Break();
                }
                else if (reader.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
                {
                    // Nested parts (an Anthropic tool result's content): their "text" properties are read on the way.
                    continue;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScanString(ref Utf8JsonReader reader, ref TextScanner scanner, int budget)
    {
        var remaining = budget - scanner.BytesSeen;
        if (remaining <= 0)
        {
            return;
        }

        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            FeedBudgeted(reader.ValueSpan, ref scanner, remaining);
            return;
        }

        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = reader.CopyString(buffer);
            FeedBudgeted(buffer.AsSpan(0, written), ref scanner, remaining);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void FeedBudgeted(ReadOnlySpan<byte> text, ref TextScanner scanner, int remaining)
    {
        if (text.Length <= remaining)
        {
            scanner.Feed(text);
            return;
        }

        // Instructions sit at the start and the end of a long prompt; read both, skip the middle.
        var tail = Math.Min(TailBudget, remaining / 3);
        var head = remaining - tail;
        var headEnd = head;
        while (headEnd > 0 && (text[headEnd] & 0xC0) == 0x80)
        {
            headEnd--;
        }

        scanner.Feed(text[..headEnd]);
        scanner.Break();
        var tailStart = text.Length - tail;
        while (tailStart < text.Length && (text[tailStart] & 0xC0) == 0x80)
        {
            tailStart++;
        }

        scanner.Feed(text[tailStart..]);
    }
}
