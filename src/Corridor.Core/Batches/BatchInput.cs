using System.Text;
using System.Text.Json;

namespace Corridor.Core.Batches;

/// <summary>
/// A batch's requests read from what its owner sent: OpenAI's JSONL input file or Anthropic's <c>requests</c> array. Every
/// request is checked before the batch exists, so a batch is made whole or not at all, and the first fault is named with
/// its line (or index) and the field at fault, as the vendors' own checks do.
/// </summary>
public static class BatchInput
{
    /// <summary>The paths an OpenAI batch may run its requests against: those Corridor serves.</summary>
    public static readonly IReadOnlyList<string> OpenAIEndpoints = ["/v1/chat/completions", "/v1/responses", "/v1/embeddings"];

    /// <summary>The path every request of an Anthropic batch runs against.</summary>
    public const string MessagesEndpoint = "/v1/messages";

    /// <summary>Nesting a request body may have, as the front door allows.</summary>
    private const int MaxDepth = 64;

    /// <summary>OpenAI's limits on metadata: pairs, and characters of a key and of a value.</summary>
    private const int MaxMetadataPairs = 16, MaxMetadataKey = 64, MaxMetadataValue = 512;

    /// <summary>
    /// Why an OpenAI batch's <c>metadata</c> breaks OpenAI's limits (an object of at most 16 pairs, each key at most 64
    /// characters, each value a string of at most 512), or null when it keeps to them. Characters are Unicode's, not UTF-16
    /// units. A name or value whose escapes make no text throws <see cref="InvalidOperationException"/>, as reading it would.
    /// </summary>
    public static string? OpenAIMetadataError(JsonElement metadata)
    {
        if (metadata.ValueKind != JsonValueKind.Object)
        {
            return "'metadata' must be an object whose values are strings.";
        }
        var pairs = 0;
        foreach (var pair in metadata.EnumerateObject())
        {
            if (++pairs > MaxMetadataPairs)
            {
                return $"'metadata' may have at most {MaxMetadataPairs} pairs.";
            }
            if (Characters(pair.Name) > MaxMetadataKey)
            {
                return $"'metadata' has a key longer than {MaxMetadataKey} characters.";
            }
            if (pair.Value.ValueKind != JsonValueKind.String)
            {
                return $"'metadata.{pair.Name}' must be a string.";
            }
            if (Characters(pair.Value.GetString()!) > MaxMetadataValue)
            {
                return $"'metadata.{pair.Name}' is longer than {MaxMetadataValue} characters.";
            }
        }
        return null;

        static int Characters(string text) => text.EnumerateRunes().Count();
    }

    /// <summary>The requests read, or why none were.</summary>
    public sealed record Result(IReadOnlyList<BatchItem>? Items, string? Error, string? Param = null)
    {
        public static Result Fail(string error, string? param = null) => new(null, error, param);

        /// <summary>The models the requests name (their bodies' <c>model</c>), each once, for a check before the batch is made.</summary>
        public IReadOnlySet<string> Models { get; init; } = new HashSet<string>();

        /// <summary>The model every request names, when they all name the same one; null when they name several, or one names none.</summary>
        public string? Model { get; init; }

        /// <summary>The requests read, with the models they name (<paramref name="unnamed"/>: some request named none).</summary>
        internal static Result Read(List<BatchItem> items, HashSet<string> models, bool unnamed) =>
            new(items, null) { Models = models, Model = !unnamed && models.Count == 1 ? models.First() : null };
    }

    /// <summary>
    /// Reads OpenAI's input file: one JSON object a line, <c>{"custom_id", "method": "POST", "url", "body"}</c>, every
    /// <c>url</c> the batch's <paramref name="endpoint"/>, every <c>custom_id</c> different, no streamed request.
    /// Empty lines are skipped.
    /// </summary>
    public static Result ReadOpenAI(ReadOnlySpan<byte> file, string endpoint, int maxRequests)
    {
        if (!System.Text.Unicode.Utf8.IsValid(file))
        {
            return Result.Fail("The input file is not valid UTF-8.", "input_file_id");
        }
        var items = new List<BatchItem>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var models = new HashSet<string>(StringComparer.Ordinal);
        var unnamed = false;
        var lineNumber = 0;
        while (!file.IsEmpty)
        {
            lineNumber++;
            var end = file.IndexOf((byte)'\n');
            var line = end < 0 ? file : file[..end];
            file = end < 0 ? default : file[(end + 1)..];
            if (line.Trim(" \t\r"u8).IsEmpty)
            {
                continue;
            }
            if (items.Count == maxRequests)
            {
                return Result.Fail($"The input file has more than {maxRequests} requests, the most a batch may have.", "input_file_id");
            }
            var error = ReadOpenAILine(line, endpoint, items.Count, seen, models, ref unnamed, out var item);
            if (error is not null)
            {
                return Result.Fail($"Line {lineNumber} of the input file: {error}", "input_file_id");
            }
            items.Add(item!);
        }
        return items.Count == 0 ? Result.Fail("The input file has no requests.", "input_file_id") : Result.Read(items, models, unnamed);
    }

    private static string? ReadOpenAILine(ReadOnlySpan<byte> line, string endpoint, int position, HashSet<string> seen, HashSet<string> models, ref bool unnamed,
        out BatchItem? item)
    {
        item = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line.ToArray(), new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException)
        {
            return "not a JSON object.";
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return "not a JSON object.";
            }
            if (CustomId(root, seen, out var customId) is { } idError)
            {
                return idError;
            }
            if (!root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String || !method.ValueEquals("POST"))
            {
                return "'method' must be \"POST\".";
            }
            if (!root.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
            {
                return "'url' must be a string.";
            }
            if (!url.ValueEquals(endpoint))
            {
                return $"'url' is {url.GetRawText()}, but this batch's endpoint is \"{endpoint}\": every request of a batch is for its endpoint.";
            }
            if (Body(root, "body") is { } bodyError)
            {
                return bodyError;
            }
            var body = root.GetProperty("body");
            unnamed |= !AddModel(body, models);
            item = new BatchItem(position, customId!, Encoding.UTF8.GetBytes(body.GetRawText()));
            return null;
        }
    }

    /// <summary>
    /// Reads Anthropic's create body: <c>{"requests": [{"custom_id", "params"}]}</c>, each <c>custom_id</c> 1–64 letters,
    /// digits, <c>_</c> or <c>-</c> and different from the others, no streamed request.
    /// </summary>
    public static Result ReadAnthropic(ReadOnlySpan<byte> body, int maxRequests)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            // Checked first: a JSON reader leaves strings undecoded, and a request's text read later would throw.
            return Result.Fail("The request body is not valid UTF-8.");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = MaxDepth + 2 });
        }
        catch (JsonException)
        {
            return Result.Fail("The request body is not valid JSON.");
        }
        using (document)
        {
            return ReadAnthropic(document.RootElement, maxRequests);
        }
    }

    private static Result ReadAnthropic(JsonElement root, int maxRequests)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("requests", out var requests) || requests.ValueKind != JsonValueKind.Array)
        {
            return Result.Fail("requests: Field required (an array of {custom_id, params}).", "requests");
        }
        var count = requests.GetArrayLength();
        if (count == 0)
        {
            return Result.Fail("requests: List should have at least 1 item.", "requests");
        }
        if (count > maxRequests)
        {
            return Result.Fail($"requests: a batch may have at most {maxRequests} requests; this one has {count}.", "requests");
        }
        var items = new List<BatchItem>(count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var models = new HashSet<string>(StringComparer.Ordinal);
        var unnamed = false;
        foreach (var request in requests.EnumerateArray())
        {
            var index = items.Count;
            if (request.ValueKind != JsonValueKind.Object)
            {
                return Result.Fail($"requests.{index}: Input should be an object.", $"requests.{index}");
            }
            var error = CustomId(request, seen, out var customId);
            if (error is null && !IsAnthropicCustomId(customId!))
            {
                error = "'custom_id' must be 1 to 64 letters, digits, underscores or hyphens.";
            }
            error ??= Body(request, "params");
            if (error is not null)
            {
                return Result.Fail($"requests.{index}: {error}", $"requests.{index}");
            }
            var body = request.GetProperty("params");
            unnamed |= !AddModel(body, models);
            items.Add(new BatchItem(index, customId!, Encoding.UTF8.GetBytes(body.GetRawText())));
        }
        return Result.Read(items, models, unnamed);
    }

    /// <summary>
    /// Adds the body's <c>model</c>, when it is text (escapes that make none are refused when the request runs); false when
    /// the body names no model.
    /// </summary>
    private static bool AddModel(JsonElement body, HashSet<string> models)
    {
        if (body.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String && Text(model) is { } name)
        {
            models.Add(name);
            return true;
        }
        return false;
    }

    private static string? CustomId(JsonElement request, HashSet<string> seen, out string? customId)
    {
        customId = null;
        if (!request.TryGetProperty("custom_id", out var id) || id.ValueKind != JsonValueKind.String || Text(id) is not { Length: > 0 } text)
        {
            return "'custom_id' must be a non-empty string.";
        }
        if (text.Length > 512)
        {
            return "'custom_id' is longer than 512 characters.";
        }
        if (text.Any(char.IsControl))
        {
            return "'custom_id' has a control character.";
        }
        if (!seen.Add(text))
        {
            return $"'custom_id' \"{text}\" is used by another request of this batch; each must be unique.";
        }
        customId = text;
        return null;
    }

    /// <summary>A string's text; null when its escapes do not make text (a lone surrogate such as <c>\ud800</c>).</summary>
    private static string? Text(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static string? Body(JsonElement request, string name)
    {
        if (!request.TryGetProperty(name, out var body) || body.ValueKind != JsonValueKind.Object)
        {
            return $"'{name}' must be a JSON object, the request's body.";
        }
        if (body.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
        {
            return $"'{name}.stream' is true: a batch's requests are answered whole; leave 'stream' out.";
        }
        return null;
    }

    private static bool IsAnthropicCustomId(string id)
    {
        if (id.Length > 64)
        {
            return false;
        }
        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-')
            {
                return false;
            }
        }
        return true;
    }
}
