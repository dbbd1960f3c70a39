using System.Text;
using System.Text.Json;
using Corridor.Monitor.Features;

namespace Corridor.Monitor.Tests;

/// <summary>Builds request bodies and features for tests, without a corpus.</summary>
internal static class TestRequests
{
    public static readonly DateTimeOffset Start = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    public static byte[] Chat(string user, string? system = null, int? maxTokens = null, double? temperature = null, int? n = null,
        bool logprobs = false, int? topLogprobs = null, IReadOnlyList<(string Role, string Content)>? history = null)
    {
        var messages = new List<object>();
        if (system is not null)
        {
            messages.Add(new { role = "system", content = system });
        }

        foreach (var (role, content) in history ?? [])
        {
            messages.Add(new { role, content });
        }

        messages.Add(new { role = "user", content = user });
        var body = new Dictionary<string, object?> { ["model"] = "gpt-4.1", ["messages"] = messages };
        if (maxTokens is { } m)
        {
            body["max_tokens"] = m;
        }

        if (temperature is { } t)
        {
            body["temperature"] = t;
        }

        if (n is { } count)
        {
            body["n"] = count;
        }

        if (logprobs)
        {
            body["logprobs"] = true;
        }

        if (topLogprobs is { } top)
        {
            body["top_logprobs"] = top;
        }

        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    public static RequestMetadata Metadata(DateTimeOffset at, string key, string tenant, int input = 100, int output = 300,
        string ip = "198.51.100.7", string userAgent = "test-client/1.0", int status = 200, string? batch = null) => new()
    {
        Timestamp = at,
        KeyId = key,
        TenantId = tenant,
        Model = "gpt-4.1",
        Endpoint = "/v1/chat/completions",
        SourceAddress = ip,
        UserAgent = userAgent,
        Status = status,
        InputTokens = input,
        OutputTokens = output,
        BatchId = batch,
    };

    /// <summary>The features of one request; with <paramref name="batch"/>, of one Corridor ran for that batch.</summary>
    public static RequestFeatures Features(byte[] body, DateTimeOffset at, string key = "key-a", string tenant = "tenant-a", int input = 100, int output = 300,
        string ip = "198.51.100.7", string userAgent = "test-client/1.0", string? batch = null) =>
        FeatureExtractor.Extract(Metadata(at, key, tenant, input, output, ip, userAgent, batch: batch), body);

    public static RequestFeatures Features(string user, string? system = null) => Features(Chat(user, system), Start);

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static readonly string[] Words =
    [
        "farmer", "train", "baker", "school", "river", "shop", "robot", "garden", "library", "bridge", "ocean", "village", "teacher",
        "market", "engine", "forest", "castle", "doctor", "harbor", "museum", "kitchen", "planet", "orchard", "factory", "island",
        "sells", "moves", "bakes", "builds", "fills", "counts", "paints", "grows", "lends", "crosses", "carries", "measures",
        "splits", "collects", "repairs", "apples", "boxes", "loaves", "chairs", "buckets", "coins", "fences", "tomatoes", "books",
        "stones", "quickly", "slowly", "twice", "daily", "weekly", "green", "heavy", "narrow", "ancient", "bright", "quiet",
    ];

    /// <summary>A distinct, natural-looking task for index <paramref name="i"/>: its words (first and last included) vary, not just its numbers.</summary>
    public static string Task(int i)
    {
        var random = new Random(i * 7919 + 13);
        var length = random.Next(14, 24);
        var words = new string[length];
        for (var w = 0; w < length; w++)
        {
            words[w] = Words[random.Next(Words.Length)];
        }

        words[random.Next(3, length - 3)] = (i % 97 + 3).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return char.ToUpperInvariant(words[0][0]) + string.Join(' ', words)[1..] + "?";
    }
}
