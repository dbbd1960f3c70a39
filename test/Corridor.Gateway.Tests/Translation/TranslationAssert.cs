using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Translation;

/// <summary>Compares JSON by value and drives stream translators with recorded SSE text.</summary>
internal static class TranslationAssert
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Asserts the translation succeeded with a body equal (as JSON) to <paramref name="expectedJson"/>.</summary>
    public static void Body(string expectedJson, TranslationResult result)
    {
        Assert.True(result.Body is not null, $"translation failed: {result.Error} (param {result.ErrorParam})");
        JsonEqual(expectedJson, Encoding.UTF8.GetString(result.Body));
    }

    /// <summary>Asserts the translation failed naming <paramref name="expectedParam"/>, with a message containing <paramref name="messagePart"/>.</summary>
    public static void Error(TranslationResult result, string? expectedParam, string messagePart)
    {
        Assert.Null(result.Body);
        Assert.NotNull(result.Error);
        Assert.Equal(expectedParam, result.ErrorParam);
        Assert.Contains(messagePart, result.Error, StringComparison.Ordinal);
    }

    public static void JsonEqual(string expectedJson, string actualJson)
    {
        var expected = JsonNode.Parse(expectedJson);
        var actual = JsonNode.Parse(actualJson);
        if (!JsonNode.DeepEquals(expected, actual))
        {
            Assert.Fail($"JSON differs.\nExpected:\n{expected?.ToJsonString(Indented)}\nActual:\n{actual?.ToJsonString(Indented)}");
        }
    }

    /// <summary>Feeds a recorded SSE stream (event:/data: lines, events separated by blank lines) to a translator, then ends it.</summary>
    public static string Feed(IStreamTranslator translator, string recordedSse, bool end = true)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var (eventName, data) in ParseSse(recordedSse))
        {
            translator.OnEvent(eventName, Encoding.UTF8.GetBytes(data), output);
        }
        if (end)
        {
            translator.OnEnd(output);
        }
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    /// <summary>Asserts the exact sequence of SSE events: names and data (data compared as JSON unless it is [DONE]).</summary>
    public static void Events(IReadOnlyList<(string? Event, string Data)> expected, string actualSse)
    {
        Assert.EndsWith("\n\n", actualSse, StringComparison.Ordinal);
        var actual = ParseSse(actualSse);
        for (var i = 0; i < Math.Min(expected.Count, actual.Count); i++)
        {
            Assert.True(expected[i].Event == actual[i].Event, $"event {i}: expected name '{expected[i].Event}', got '{actual[i].Event}'");
            if (expected[i].Data == "[DONE]" || actual[i].Data == "[DONE]")
            {
                Assert.Equal(expected[i].Data, actual[i].Data);
                continue;
            }
            var expectedNode = JsonNode.Parse(expected[i].Data);
            var actualNode = JsonNode.Parse(actual[i].Data);
            Assert.True(JsonNode.DeepEquals(expectedNode, actualNode),
                $"event {i} ({actual[i].Event}) differs.\nExpected: {expectedNode?.ToJsonString()}\nActual:   {actualNode?.ToJsonString()}");
        }
        Assert.True(expected.Count == actual.Count,
            $"expected {expected.Count} events, got {actual.Count}:\n{string.Join("\n", actual.Select(a => $"{a.Event}: {a.Data}"))}");
    }

    /// <summary>Splits SSE text into events; each event's data lines must be one line (as both vendors send).</summary>
    public static List<(string? Event, string Data)> ParseSse(string sse)
    {
        var events = new List<(string? Event, string Data)>();
        foreach (var block in sse.Replace("\r\n", "\n", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            string? data = null;
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    name = line["event:".Length..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    Assert.Null(data);
                    data = line["data:".Length..].TrimStart();
                }
            }
            if (data is not null)
            {
                events.Add((name, data));
            }
        }
        return events;
    }
}

/// <summary>A clock stopped at one instant, for the OpenAI <c>created</c> field.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public static readonly FixedTimeProvider At1700000000 = new(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));

    public override DateTimeOffset GetUtcNow() => now;
}
