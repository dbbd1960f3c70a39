using System.Text;

namespace Corridor.Gateway.Tests.Fuzz;

/// <summary>
/// Generates JSON in the shape of each dialect's requests, responses and stream events, from their grammar rather than
/// from seeds: every field may be left out, and any value may be replaced by one of another type, an extreme number, an
/// odd string or a deep nest. Seeded, so a failing input can be regenerated.
/// </summary>
internal sealed class DialectGenerator(Random random)
{
    private static readonly string[] OddStrings =
    [
        "", " ", "x", "\\u0000", "\\ud800", "\\udfff\\ud800", "\\\"", "\u00e9\u4e2d\ud83d\ude00", "data: [DONE]", "\\n\\n", "{\\\"a\\\":1}",
    ];

    private static readonly string[] Roles = ["system", "developer", "user", "assistant", "tool", "function", "robot", ""];

    private bool Chance(double p) => random.NextDouble() < p;

    private T Pick<T>(params T[] items) => items[random.Next(items.Length)];

    /// <summary>Any JSON value, at most <paramref name="depth"/> deep.</summary>
    public string AnyValue(int depth = 3) => random.Next(depth <= 0 ? 6 : 8) switch
    {
        0 => "null",
        1 => Pick("true", "false"),
        2 => Pick("0", "-1", "1", "2147483647", "2147483648", "-9223372036854775809", "1e308", "1e-400", "0.5", "-0.0", "12345678901234567890"),
        3 or 4 => Str(),
        5 => Pick("[]", "{}"),
        6 => "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => AnyValue(depth - 1))) + "]",
        _ => "{" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => $"{Str()}:{AnyValue(depth - 1)}")) + "}",
    };

    private string Str() => Chance(0.3) ? "\"" + Pick(OddStrings) + "\"" : "\"" + new string('a', random.Next(0, Chance(0.05) ? 5000 : 12)) + "\"";

    /// <summary>The value most of the time; now and then a value of any type instead.</summary>
    private string Or(string value) => Chance(0.08) ? AnyValue() : value;

    private string Object(params (string Name, Func<string> Value, double Presence)[] fields)
    {
        var parts = new List<string>();
        foreach (var (name, value, presence) in fields)
        {
            if (Chance(presence))
            {
                parts.Add($"\"{name}\":{Or(value())}");
            }
        }
        if (Chance(0.1))
        {
            parts.Add($"{Str()}:{AnyValue()}");
        }
        Shuffle(parts);
        return "{" + string.Join(",", parts) + "}";
    }

    private string Array(Func<string> item, int max) =>
        "[" + string.Join(",", Enumerable.Range(0, random.Next(max + 1)).Select(_ => Or(item()))) + "]";

    private void Shuffle<T>(List<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private string Number(int max) => random.Next(max + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private string Text() => Pick("\"Hello.\"", "\"Weather in Paris?\"", Str());

    private string Id(string prefix) => $"\"{prefix}{random.Next(1000)}\"";

    // OpenAI chat completions

    public string OpenAIRequest() => Object(
        ("model", () => Pick("\"gpt-4.1\"", "\"claude-sonnet-4\"", Str()), 0.97),
        ("messages", () => Array(OpenAIMessage, 5), 0.97),
        ("stream", () => Pick("true", "false"), 0.5),
        ("stream_options", () => Object(("include_usage", () => Pick("true", "false"), 0.8)), 0.2),
        ("max_tokens", () => Number(5000), 0.4),
        ("max_completion_tokens", () => Number(5000), 0.2),
        ("n", () => Number(3), 0.2),
        ("temperature", () => Pick("0", "0.7", "2"), 0.3),
        ("stop", () => Pick(Text(), Array(Text, 3)), 0.2),
        ("logprobs", () => Pick("true", "false"), 0.1),
        ("top_logprobs", () => Number(5), 0.1),
        ("tools", () => Array(OpenAITool, 3), 0.3),
        ("tool_choice", () => Pick("\"auto\"", "\"none\"", "\"required\"", """{"type":"function","function":{"name":"weather"}}"""), 0.2),
        ("response_format", () => Pick("""{"type":"json_object"}""", """{"type":"text"}""", """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}"""), 0.1),
        ("user", Text, 0.1),
        ("metadata", () => Object(("k", Text, 0.5)), 0.1));

    private string OpenAIMessage() => Object(
        ("role", () => "\"" + Pick(Roles) + "\"", 0.95),
        ("content", () => Pick("null", Text(), Array(OpenAIPart, 3)), 0.9),
        ("name", Text, 0.1),
        ("tool_calls", () => Array(OpenAIToolCall, 2), 0.2),
        ("tool_call_id", () => Id("call_"), 0.2),
        ("refusal", Text, 0.05));

    private string OpenAIPart() => Pick(
        Object(("type", () => "\"text\"", 0.95), ("text", Text, 0.9)),
        Object(("type", () => "\"image_url\"", 0.95), ("image_url", () => Object(("url", () => Pick("\"https://example.com/a.png\"", "\"data:image/png;base64,iVBORw0KGgo=\"", "\"data:;base64,@@\"", Str()), 0.9), ("detail", () => "\"low\"", 0.2)), 0.9)),
        Object(("type", () => "\"input_audio\"", 0.9), ("input_audio", () => Object(("data", Text, 0.9), ("format", () => "\"wav\"", 0.9)), 0.9)),
        Object(("type", () => Str(), 0.9), ("text", Text, 0.5)));

    private string OpenAIToolCall() => Object(
        ("id", () => Id("call_"), 0.9),
        ("type", () => "\"function\"", 0.9),
        ("function", () => Object(("name", () => Pick("\"weather\"", Str()), 0.9), ("arguments", () => Pick("\"{\\\"city\\\":\\\"Paris\\\"}\"", "\"{\"", "\"\"", Str()), 0.9)), 0.9));

    private string OpenAITool() => Object(
        ("type", () => "\"function\"", 0.9),
        ("function", () => Object(("name", () => Pick("\"weather\"", Str()), 0.9), ("description", Text, 0.3), ("parameters", () => Pick("""{"type":"object","properties":{"city":{"type":"string"}}}""", AnyValue()), 0.7), ("strict", () => "true", 0.1)), 0.9));

    // OpenAI responses

    public string ResponsesRequest() => Object(
        ("model", () => Pick("\"gpt-4.1\"", "\"claude-sonnet-4\"", Str()), 0.97),
        ("input", () => Pick(Text(), Array(ResponsesItem, 5)), 0.97),
        ("instructions", Text, 0.3),
        ("stream", () => Pick("true", "false"), 0.5),
        ("max_output_tokens", () => Number(5000), 0.4),
        ("temperature", () => Pick("0", "0.7", "2"), 0.2),
        ("tools", () => Array(ResponsesTool, 3), 0.3),
        ("tool_choice", () => Pick("\"auto\"", "\"none\"", "\"required\"", """{"type":"function","name":"weather"}""", AnyValue()), 0.2),
        ("text", () => Object(("format", () => Pick("""{"type":"json_object"}""", """{"type":"text"}""", """{"type":"json_schema","name":"x","schema":{"type":"object"}}""", AnyValue()), 0.9)), 0.1),
        ("reasoning", () => Object(("effort", () => Pick("\"low\"", "\"high\"", Str()), 0.9)), 0.1),
        ("include", () => Array(() => Pick("\"message.output_text.logprobs\"", Str()), 2), 0.1),
        ("top_logprobs", () => Number(5), 0.1),
        ("store", () => Pick("true", "false"), 0.3),
        ("previous_response_id", () => Id("resp_"), 0.03),
        ("metadata", () => Object(("k", Text, 0.5)), 0.1));

    private string ResponsesItem() => Pick(
        Object(("type", () => "\"message\"", 0.5), ("role", () => "\"" + Pick(Roles) + "\"", 0.95),
            ("content", () => Pick(Text(), Array(ResponsesPart, 3)), 0.9)),
        Object(("type", () => "\"function_call\"", 0.95), ("call_id", () => Id("call_"), 0.9), ("name", () => Pick("\"weather\"", Str()), 0.9),
            ("arguments", () => Pick("\"{\\\"city\\\":\\\"Paris\\\"}\"", "\"{\"", Str()), 0.9)),
        Object(("type", () => "\"function_call_output\"", 0.95), ("call_id", () => Id("call_"), 0.9), ("output", () => Pick(Text(), Array(ResponsesPart, 2)), 0.9)),
        Object(("type", () => Pick("\"reasoning\"", "\"item_reference\"", Str()), 0.9), ("id", () => Id("rs_"), 0.5)));

    private string ResponsesPart() => Pick(
        Object(("type", () => Pick("\"input_text\"", "\"output_text\""), 0.95), ("text", Text, 0.9)),
        Object(("type", () => "\"input_image\"", 0.95), ("image_url", () => Pick("\"https://example.com/a.png\"", "\"data:image/png;base64,iVBORw0KGgo=\"", Str()), 0.8), ("file_id", Text, 0.1)),
        Object(("type", () => "\"input_file\"", 0.95), ("file_data", Text, 0.5), ("filename", Text, 0.5), ("file_url", Text, 0.1)),
        Object(("type", () => Str(), 0.9), ("text", Text, 0.5)));

    private string ResponsesTool() => Pick(
        Object(("type", () => "\"function\"", 0.9), ("name", () => Pick("\"weather\"", Str()), 0.9), ("description", Text, 0.3),
            ("parameters", () => Pick("""{"type":"object","properties":{"city":{"type":"string"}}}""", AnyValue()), 0.7), ("strict", () => "true", 0.1)),
        Object(("type", () => Pick("\"web_search\"", "\"file_search\"", Str()), 0.9)));

    // Anthropic messages

    public string AnthropicRequest() => Object(
        ("model", () => Pick("\"claude-sonnet-4\"", "\"gpt-4.1\"", Str()), 0.97),
        ("max_tokens", () => Number(5000), 0.9),
        ("messages", () => Array(AnthropicMessage, 5), 0.97),
        ("system", () => Pick(Text(), Array(() => Object(("type", () => "\"text\"", 0.9), ("text", Text, 0.9), ("cache_control", () => """{"type":"ephemeral"}""", 0.1)), 2)), 0.3),
        ("stream", () => Pick("true", "false"), 0.5),
        ("temperature", () => Pick("0", "1"), 0.2),
        ("stop_sequences", () => Array(Text, 3), 0.2),
        ("tools", () => Array(AnthropicTool, 3), 0.3),
        ("tool_choice", () => Pick("""{"type":"auto"}""", """{"type":"any"}""", """{"type":"none"}""", """{"type":"tool","name":"weather"}""", AnyValue()), 0.2),
        ("thinking", () => Pick("""{"type":"enabled","budget_tokens":1024}""", """{"type":"disabled"}"""), 0.1),
        ("metadata", () => Object(("user_id", Text, 0.9)), 0.1),
        ("top_k", () => Number(50), 0.1));

    private string AnthropicMessage() => Object(
        ("role", () => "\"" + Pick("user", "assistant", "system", "tool", "") + "\"", 0.95),
        ("content", () => Pick(Text(), Array(AnthropicBlock, 3)), 0.95));

    private string AnthropicBlock() => Pick(
        Object(("type", () => "\"text\"", 0.95), ("text", Text, 0.9)),
        Object(("type", () => "\"image\"", 0.95), ("source", () => Pick(
            Object(("type", () => "\"base64\"", 0.9), ("media_type", () => "\"image/png\"", 0.9), ("data", () => "\"iVBORw0KGgo=\"", 0.9)),
            Object(("type", () => "\"url\"", 0.9), ("url", () => "\"https://example.com/a.png\"", 0.9))), 0.9)),
        Object(("type", () => "\"tool_use\"", 0.95), ("id", () => Id("toolu_"), 0.9), ("name", () => Pick("\"weather\"", Str()), 0.9), ("input", () => Pick("""{"city":"Paris"}""", AnyValue()), 0.9)),
        Object(("type", () => "\"tool_result\"", 0.95), ("tool_use_id", () => Id("toolu_"), 0.9), ("content", () => Pick(Text(), Array(AnthropicBlock, 2)), 0.8), ("is_error", () => "true", 0.2)),
        Object(("type", () => "\"thinking\"", 0.95), ("thinking", Text, 0.9), ("signature", Text, 0.5)),
        Object(("type", () => "\"document\"", 0.95), ("source", () => AnyValue(), 0.9)),
        Object(("type", () => Str(), 0.9)));

    private string AnthropicTool() => Object(
        ("name", () => Pick("\"weather\"", Str()), 0.9),
        ("description", Text, 0.3),
        ("input_schema", () => Pick("""{"type":"object","properties":{"city":{"type":"string"}}}""", AnyValue()), 0.8),
        ("type", () => Pick("\"custom\"", "\"web_search_20250305\""), 0.1));

    // Responses

    public string OpenAIResponse() => Object(
        ("id", () => Id("chatcmpl-"), 0.9),
        ("object", () => "\"chat.completion\"", 0.9),
        ("created", () => Number(100), 0.8),
        ("model", () => "\"gpt-4.1\"", 0.9),
        ("choices", () => Array(() => Object(
            ("index", () => Number(2), 0.9),
            ("message", () => Object(("role", () => "\"assistant\"", 0.9), ("content", () => Pick("null", Text()), 0.9), ("tool_calls", () => Array(OpenAIToolCall, 2), 0.3), ("refusal", () => Pick("null", Text()), 0.2)), 0.95),
            ("finish_reason", () => Pick("\"stop\"", "\"length\"", "\"tool_calls\"", "\"content_filter\"", "null", Str()), 0.9),
            ("logprobs", () => "null", 0.3)), 3), 0.95),
        ("usage", OpenAIUsage, 0.8));

    private string OpenAIUsage() => Object(("prompt_tokens", () => Number(100), 0.9), ("completion_tokens", () => Number(100), 0.9), ("total_tokens", () => Number(200), 0.7));

    public string AnthropicResponse() => Object(
        ("id", () => Id("msg_"), 0.9),
        ("type", () => "\"message\"", 0.9),
        ("role", () => "\"assistant\"", 0.9),
        ("model", () => "\"claude-sonnet-4\"", 0.9),
        ("content", () => Array(AnthropicBlock, 3), 0.95),
        ("stop_reason", () => Pick("\"end_turn\"", "\"max_tokens\"", "\"tool_use\"", "\"stop_sequence\"", "\"refusal\"", "null", Str()), 0.9),
        ("stop_sequence", () => "null", 0.5),
        ("usage", AnthropicUsage, 0.8));

    private string AnthropicUsage() => Object(("input_tokens", () => Number(100), 0.9), ("output_tokens", () => Number(100), 0.9), ("cache_read_input_tokens", () => Number(10), 0.2));

    // Stream events

    public List<(string? Event, byte[] Data)> OpenAIStream()
    {
        var events = new List<(string?, byte[])>();
        var count = random.Next(0, 10);
        for (var i = 0; i < count; i++)
        {
            events.Add((null, Encoding.UTF8.GetBytes(Object(
                ("id", () => "\"c\"", 0.9),
                ("object", () => "\"chat.completion.chunk\"", 0.9),
                ("choices", () => Array(() => Object(
                    ("index", () => Number(2), 0.9),
                    ("delta", () => Object(
                        ("role", () => "\"assistant\"", 0.2),
                        ("content", () => Pick("null", Text()), 0.6),
                        ("tool_calls", () => Array(() => Object(("index", () => Number(2), 0.9), ("id", () => Id("call_"), 0.4), ("type", () => "\"function\"", 0.4),
                            ("function", () => Object(("name", () => "\"weather\"", 0.4), ("arguments", () => Pick("\"{\\\"ci\"", "\"ty\\\":1}\"", Str()), 0.8)), 0.9)), 2), 0.3),
                        ("refusal", Text, 0.05)), 0.9),
                    ("finish_reason", () => Pick("null", "\"stop\"", "\"length\"", "\"tool_calls\"", Str()), 0.4)), 2), 0.9),
                ("usage", OpenAIUsage, 0.15),
                ("error", () => Object(("message", Text, 0.9), ("type", Text, 0.5)), 0.03)))));
        }
        if (Chance(0.7))
        {
            events.Add((null, "[DONE]"u8.ToArray()));
        }
        return events;
    }

    public List<(string? Event, byte[] Data)> AnthropicStream()
    {
        var events = new List<(string?, byte[])>();
        var count = random.Next(0, 12);
        for (var i = 0; i < count; i++)
        {
            var type = Pick("message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop", "ping", "error", "unknown_event");
            var data = type switch
            {
                "message_start" => Object(("type", () => "\"message_start\"", 0.95), ("message", () => Object(("id", () => Id("msg_"), 0.9), ("role", () => "\"assistant\"", 0.9), ("content", () => "[]", 0.9), ("model", () => "\"m\"", 0.9), ("usage", AnthropicUsage, 0.9)), 0.95)),
                "content_block_start" => Object(("type", () => "\"content_block_start\"", 0.95), ("index", () => Number(3), 0.9), ("content_block", AnthropicBlock, 0.95)),
                "content_block_delta" => Object(("type", () => "\"content_block_delta\"", 0.95), ("index", () => Number(3), 0.9), ("delta", () => Pick(
                    Object(("type", () => "\"text_delta\"", 0.95), ("text", Text, 0.95)),
                    Object(("type", () => "\"input_json_delta\"", 0.95), ("partial_json", () => Pick("\"{\\\"ci\"", "\"ty\\\":1}\"", Str()), 0.95)),
                    Object(("type", () => "\"thinking_delta\"", 0.95), ("thinking", Text, 0.95)),
                    Object(("type", () => "\"signature_delta\"", 0.95), ("signature", Text, 0.95))), 0.95)),
                "content_block_stop" => Object(("type", () => "\"content_block_stop\"", 0.95), ("index", () => Number(3), 0.9)),
                "message_delta" => Object(("type", () => "\"message_delta\"", 0.95), ("delta", () => Object(("stop_reason", () => Pick("\"end_turn\"", "\"tool_use\"", "\"max_tokens\"", "null", Str()), 0.9)), 0.9), ("usage", AnthropicUsage, 0.8)),
                "message_stop" => Object(("type", () => "\"message_stop\"", 0.95)),
                "ping" => Object(("type", () => "\"ping\"", 0.95)),
                "error" => Object(("type", () => "\"error\"", 0.95), ("error", () => Object(("type", () => "\"overloaded_error\"", 0.9), ("message", Text, 0.9)), 0.9)),
                _ => AnyValue(),
            };
            events.Add((Chance(0.9) ? type : Pick<string?>(null, "x", "content_block_delta"), Encoding.UTF8.GetBytes(data)));
        }
        return events;
    }
}
