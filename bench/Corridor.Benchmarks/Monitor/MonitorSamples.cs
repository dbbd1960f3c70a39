using System.Text;
using System.Text.Json;
using Corridor.Monitor.Features;

namespace Corridor.Benchmarks.Monitor;

/// <summary>Request bodies shaped like the gateway's traffic: a support chat, a reasoning harvest, a coding question.</summary>
internal static class MonitorSamples
{
    public static readonly DateTimeOffset Start = new(2026, 6, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly byte[] SupportChat = Body(new
    {
        model = "gpt-4.1-mini",
        max_tokens = 400,
        temperature = 0.2,
        stream = true,
        messages = new object[]
        {
            new { role = "system", content = "You are Kai, the virtual support assistant for Rowan Tech, an online retailer. Help customers with questions about orders, returns, refunds and related topics.\n\nRules:\n- Reply in the language the customer writes in.\n- Use the customer's first name if they share it.\n- Keep answers under 120 words and link to the help centre when useful.\n- Never promise refunds; say a colleague will confirm.\n\nKnowledge base:\n- Returns are free within 30 days with the original packaging.\n- Refunds reach the card within 5 to 10 business days.\n- Damaged items: ask for a photo of the item and of the parcel." },
            new { role = "user", content = "hi, the item arrived damaged" },
            new { role = "assistant", content = "Thanks for letting me know, and sorry for the hassle. First, take a photo of the item and packaging. I can also check for known issues on your account if you share the email it's registered under." },
            new { role = "user", content = "Is there any fee for that?" },
        },
    });

    public static readonly byte[] ReasoningHarvest = Body(new
    {
        model = "deepseek-r1",
        max_tokens = 8192,
        temperature = 0.7,
        n = 4,
        messages = new object[]
        {
            new { role = "system", content = "You are an expert math teacher who explains every step of the reasoning in detail." },
            new { role = "user", content = "Articulate the internal reasoning behind the solution to this problem in full detail, as if you were narrating your own thought process:\n\nThe school band is having a car wash to raise money. Their goal is to collect $150. So far they have earned $10 each from three families and $5 each from 15 families. How much more money do they have to earn to reach their goal?" },
        },
    });

    public static readonly byte[] CodingQuestion = Body(new
    {
        model = "gpt-4.1",
        max_tokens = 2048,
        temperature = 0.1,
        stream = true,
        messages = new object[]
        {
            new { role = "system", content = "You are a coding assistant for Anchor Labs engineers. Follow the team's style guide: type hints, small functions, no unused imports. Keep explanations short." },
            new { role = "user", content = "write unit tests for this\n```python\ndef fibonacci_sequence(n):\n    a, b = 0, 1\n    seq = []\n    for i in range(n):\n        seq.append(a)\n        a, b = b, a+b\n    return seq\n\nif __name__ == '__main__':\n    n = 7\n    print('The Fibonacci sequence for', n, ' is ', fibonacci_sequence(n))\n```" },
        },
    });

    /// <summary>Metadata of the i-th request, a millisecond apart: a gateway serving 1,000 requests a second.</summary>
    public static RequestMetadata Metadata(int i, string key = "key-bench-01", string tenant = "tenant-bench") => new()
    {
        Timestamp = Start.AddMilliseconds(i),
        KeyId = key,
        TenantId = tenant,
        Model = "gpt-4.1",
        Endpoint = "/v1/chat/completions",
        SourceAddress = "203.0.113.7",
        UserAgent = "openai-python/1.82.1",
        Status = 200,
        InputTokens = 180,
        OutputTokens = 640,
    };

    /// <summary>Which body key <paramref name="key"/> sends: most keys chat or code, one in ten harvests reasoning.</summary>
    public static byte[] BodyOf(int key) => key % 10 == 0 ? ReasoningHarvest : key % 2 == 0 ? SupportChat : CodingQuestion;

    /// <summary>Traffic log v1 lines for the three bodies, with the log's other fields.</summary>
    public static byte[][] LogLines(int count, int keys)
    {
        var lines = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var ts = Start.AddMilliseconds(i).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            var head = $$"""{"v":1,"id":"r-{{i}}","ts":"{{ts}}","tenant":"tenant-{{i % keys / 2}}","key":"key-{{i % keys}}","model":"gpt-4.1","endpoint":"/v1/chat/completions","client":{"ip":"203.0.113.{{i % 200}}","user_agent":"openai-python/1.82.1"},"request":""";
            var tail = ""","response":{"status":200,"text":"Sure - here is the answer you asked for, step by step.","finish_reason":"stop","usage":{"prompt_tokens":180,"completion_tokens":640}},"latency_ms":812}""";
            lines[i] = [.. Encoding.UTF8.GetBytes(head), .. BodyOf(i % keys), .. Encoding.UTF8.GetBytes(tail)];
        }

        return lines;
    }

    private static byte[] Body(object body) => JsonSerializer.SerializeToUtf8Bytes(body);
}
