using System.Buffers;
using System.Text;
using System.Text.Json;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Translation;

namespace Corridor.Gateway.Tests.Fuzz;

/// <summary>
/// Generated and mutated input for the front door's parser and both dialect translators: whatever comes in, each
/// answers with a value (a parsed request, a translated body, an error, SSE events) and never throws; a translated
/// body is always valid JSON and the SSE written for a client always parses. Seeded, so a failure names the seed
/// and the input that caused it and can be replayed.
/// </summary>
public sealed class FrontDoorFuzzTests
{
    private const int Cases = 2_000;

    private static readonly string[] Requests =
    [
        """{"model":"gpt-4.1","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Weather in Paris?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C"}],"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"tool_choice":"auto","stream":true,"stream_options":{"include_usage":true},"n":1,"logprobs":false,"max_tokens":256,"temperature":0.2,"response_format":{"type":"json_object"}}""",
        """{"model":"claude-sonnet-4","max_tokens":512,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}}]},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"18C"}]}],"tools":[{"name":"weather","input_schema":{"type":"object"}}],"tool_choice":{"type":"auto"},"stream":false,"temperature":1,"stop_sequences":["END"]}""",
        """{"model":"text-embedding-3-small","input":["one","two"],"encoding_format":"float","dimensions":256}""",
        """{"model":"gpt-4.1","instructions":"Be brief.","input":[{"role":"user","content":[{"type":"input_text","text":"Weather in Paris?"},{"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo="}]},{"type":"function_call","call_id":"call_1","name":"weather","arguments":"{\"city\":\"Paris\"}"},{"type":"function_call_output","call_id":"call_1","output":"18C"}],"tools":[{"type":"function","name":"weather","parameters":{"type":"object"}}],"tool_choice":"auto","text":{"format":{"type":"json_schema","name":"w","schema":{"type":"object"}}},"reasoning":{"effort":"low"},"include":["message.output_text.logprobs"],"max_output_tokens":256,"stream":true,"store":false}""",
    ];

    private static readonly ResponsesContext Context = new("resp_x", 1, "{\"tools\":[]}"u8.ToArray());

    private static readonly string[] Responses =
    [
        """{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":"Sunny.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls","logprobs":null}],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}""",
        """{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4","content":[{"type":"text","text":"Sunny."},{"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":5}}""",
    ];

    private static readonly (string? Event, string Data)[] OpenAIStream =
    [
        (null, """{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Sun"}}]}"""),
        (null, """{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"ci"}}]}}]}"""),
        (null, """{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"""),
        (null, """{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"""),
        (null, "[DONE]"),
    ];

    private static readonly (string? Event, string Data)[] AnthropicStream =
    [
        ("message_start", """{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":3,"output_tokens":0}}}"""),
        ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
        ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Sun"}}"""),
        ("content_block_stop", """{"type":"content_block_stop","index":0}"""),
        ("content_block_start", """{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"weather","input":{}}}"""),
        ("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"ci"}}"""),
        ("content_block_stop", """{"type":"content_block_stop","index":1}"""),
        ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":2}}"""),
        ("message_stop", """{"type":"message_stop"}"""),
    ];

    [Fact]
    public void RequestParser_AnswersEveryInput_WithAValue()
    {
        Run(Requests, 1, input =>
        {
            foreach (var operation in new[] { Operation.ChatCompletions, Operation.Messages, Operation.Embeddings, Operation.Responses })
            {
                var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, input.Length));
                input.CopyTo(buffer, 0);
                using var request = new ClientRequest(buffer, input.Length);
                var error = RequestParser.Parse(request, operation);
                Assert.True(error is not null || request.Model.Length > 0, "a request without a model was accepted");
                Assert.True(error is not null || request.N >= 1, "n below 1 was accepted");
            }
        });
    }

    private static readonly string[] BatchInputs =
    [
        "{\"custom_id\":\"q-1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"gpt-4.1\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}}\n"
            + "{\"custom_id\":\"q-2\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"gpt-4.1\",\"max_tokens\":5}}\n",
        """{"requests":[{"custom_id":"a-1","params":{"model":"claude-sonnet-4","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}},{"custom_id":"a_2","params":{"model":"m"}}]}""",
    ];

    [Fact]
    public void BatchInputs_AreReadIntoRequests_OrRefusedWithAnError_NeverAThrow()
    {
        Run(BatchInputs, 2, input =>
        {
            var openai = Core.Batches.BatchInput.ReadOpenAI(input, "/v1/chat/completions", 100);
            Assert.True(openai.Items is not null != (openai.Error is not null), "a read must give requests or an error");
            Assert.All(openai.Items ?? [], item => Assert.True(Core.Json.JsonObjectText.IsOneObject(item.Body), "a request body is not one JSON object"));
            var anthropic = Core.Batches.BatchInput.ReadAnthropic(input, 100);
            Assert.True(anthropic.Items is not null != (anthropic.Error is not null), "a read must give requests or an error");
            Assert.All(anthropic.Items ?? [], item => Assert.True(Core.Json.JsonObjectText.IsOneObject(item.Body), "a request body is not one JSON object"));
        });
    }

    [Fact]
    public void RequestTranslators_AnswerEveryInput_WithValidJsonOrAnError()
    {
        Run(Requests, 2, input =>
        {
            AssertJsonOrError(ChatToMessages.TranslateRequest(input, "upstream-model", 4096));
            AssertJsonOrError(MessagesToChat.TranslateRequest(input, "upstream-model"));
            AssertJsonOrError(ResponsesToChat.TranslateRequest(input, out _, out _));
        });
    }

    [Fact]
    public void ResponseTranslators_AnswerEveryInput_WithValidJsonOrAnError()
    {
        Run(Responses, 3, input =>
        {
            AssertJsonOrError(ChatToMessages.TranslateResponse(input, "client-model", "chatcmpl-x"));
            AssertJsonOrError(MessagesToChat.TranslateResponse(input, "client-model", "msg_x"));
            AssertJsonOrError(ResponsesToChat.TranslateResponse(input, Context, "client-model"));
        });
    }

    [Fact]
    public void StreamTranslators_AnswerEveryEventSequence_WithWellFormedSse()
    {
        var random = new Random(4);
        for (var i = 0; i < Cases; i++)
        {
            var anthropicEvents = MutateStream(random, AnthropicStream);
            var openAIEvents = MutateStream(random, OpenAIStream);
            try
            {
                AssertWellFormedSse(Feed(ChatToMessages.CreateStreamTranslator("m", "chatcmpl-x", includeUsage: random.Next(2) == 0), anthropicEvents));
                AssertWellFormedSse(Feed(MessagesToChat.CreateStreamTranslator("m", "msg_x"), openAIEvents));
                AssertWellFormedSse(Feed(ResponsesToChat.CreateStreamTranslator(Context, "m"), openAIEvents));
                AssertWellFormedSse(Feed(ResponsesToChat.CreateStreamTranslator(Context, "m", ChatToMessages.CreateStreamTranslator("m", "chatcmpl-x", includeUsage: true)), anthropicEvents));
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"case {i} (seed 4) threw {e.GetType().Name}: {e.Message}\nanthropic: {Describe(anthropicEvents)}\nopenai: {Describe(openAIEvents)}");
            }
        }
    }

    private static void Run(string[] seeds, int seed, Action<byte[]> target)
    {
        var random = new Random(seed);
        for (var i = 0; i < Cases; i++)
        {
            var input = Mutate(random, Encoding.UTF8.GetBytes(seeds[random.Next(seeds.Length)]));
            try
            {
                target(input);
            }
            catch (Exception e) when (e is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"case {i} (seed {seed}) threw {e.GetType().Name}: {e.Message}\ninput: {Convert.ToBase64String(input)}");
            }
        }
    }

    /// <summary>One to three mutations, structural (a JSON value swapped for one of another type) or of raw bytes.</summary>
    internal static byte[] Mutate(Random random, byte[] input)
    {
        var rounds = random.Next(1, 4);
        for (var round = 0; round < rounds; round++)
        {
            input = random.Next(6) switch
            {
                0 or 1 => SwapValue(random, input),
                2 => Truncate(random, input),
                3 => FlipBytes(random, input),
                4 => Splice(random, input, InvalidUtf8[random.Next(InvalidUtf8.Length)]),
                _ => Splice(random, input, Encoding.UTF8.GetBytes(Hostile[random.Next(Hostile.Length)])),
            };
        }
        return input;
    }

    private static readonly byte[][] InvalidUtf8 = [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF]];

    /// <summary>Values of every type, the wrong one wherever they land, and some pathological ones.</summary>
    private static readonly string[] Hostile =
    [
        "null", "true", "0", "-1", "1e400", "-0.0", "99999999999999999999", "2147483648", "1.5", "\"\"", "\"x\"", "[]", "{}", "[null]",
        "{\"type\":null}", "\"\\ud800\"", "\"\\u0000\"", new string('[', 200) + new string(']', 200), "[" + string.Join(",", Enumerable.Repeat("{}", 500)) + "]",
        "\"" + new string('a', 10_000) + "\"", "{\"role\":\"tool\"}", "{\"type\":\"tool_use\",\"input\":\"not an object\"}", "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:;base64,@@@\"}}",
    ];

    private static byte[] SwapValue(Random random, byte[] input)
    {
        // Value starts in the seed text: after ':' or ',' or '['; replaced up to the next ',' '}' or ']' at the same depth.
        var starts = new List<int>();
        for (var i = 0; i < input.Length - 1; i++)
        {
            if (input[i] is (byte)':' or (byte)'[' || (input[i] == ',' && i + 1 < input.Length && input[i + 1] != '"'))
            {
                starts.Add(i + 1);
            }
        }
        if (starts.Count == 0)
        {
            return input;
        }
        var start = starts[random.Next(starts.Count)];
        var end = ValueEnd(input, start);
        var replacement = Encoding.UTF8.GetBytes(Hostile[random.Next(Hostile.Length)]);
        return [.. input.AsSpan(0, start), .. replacement, .. input.AsSpan(end)];
    }

    private static int ValueEnd(byte[] input, int start)
    {
        var depth = 0;
        var inString = false;
        for (var i = start; i < input.Length; i++)
        {
            var b = input[i];
            if (inString)
            {
                if (b == '\\')
                {
                    i++;
                }
                else if (b == '"')
                {
                    inString = false;
                }
                continue;
            }
            switch (b)
            {
                case (byte)'"': inString = true; break;
                case (byte)'{' or (byte)'[': depth++; break;
                case (byte)'}' or (byte)']' when depth == 0: return i;
                case (byte)'}' or (byte)']': depth--; break;
                case (byte)',' when depth == 0: return i;
            }
        }
        return input.Length;
    }

    private static byte[] Truncate(Random random, byte[] input) => input.AsSpan(0, random.Next(input.Length + 1)).ToArray();

    private static byte[] FlipBytes(Random random, byte[] input)
    {
        var copy = input.ToArray();
        for (var flips = random.Next(1, 4); flips > 0 && copy.Length > 0; flips--)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }
        return copy;
    }

    private static byte[] Splice(Random random, byte[] input, byte[] insert)
    {
        var at = random.Next(input.Length + 1);
        return [.. input.AsSpan(0, at), .. insert, .. input.AsSpan(at)];
    }

    private static List<(string? Event, byte[] Data)> MutateStream(Random random, (string? Event, string Data)[] stream)
    {
        var events = stream.Select(e => (e.Event, Data: Encoding.UTF8.GetBytes(e.Data))).ToList();
        var mutations = random.Next(1, 4);
        for (var m = 0; m < mutations && events.Count > 0; m++)
        {
            var at = random.Next(events.Count);
            switch (random.Next(5))
            {
                case 0: events[at] = (events[at].Event, Mutate(random, events[at].Data)); break;
                case 1: events.RemoveAt(at); break;
                case 2: events.Insert(at, events[random.Next(events.Count)]); break;
                case 3: events.RemoveRange(at, events.Count - at); break;
                default: events[at] = (Hostile[random.Next(Hostile.Length)][..1], events[at].Data); break;
            }
        }
        return events;
    }

    internal static string Feed(IStreamTranslator translator, List<(string? Event, byte[] Data)> events)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var (name, data) in events)
        {
            translator.OnEvent(name, data, output);
        }
        translator.OnEnd(output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    internal static void AssertJsonOrError(TranslationResult result)
    {
        if (result.Succeeded)
        {
            // Valid JSON, however deep: a body as deep as the front door takes may come out a level or two deeper.
            using var _ = JsonDocument.Parse(result.Body, new JsonDocumentOptions { MaxDepth = 2 * Json.MaxDepth });
        }
        else
        {
            Assert.False(string.IsNullOrWhiteSpace(result.Error));
        }
    }

    /// <summary>Every event ends with a blank line, and every data line is JSON or [DONE].</summary>
    internal static void AssertWellFormedSse(string sse)
    {
        Assert.True(sse.Length == 0 || sse.EndsWith("\n\n", StringComparison.Ordinal), "the SSE output does not end with a complete event");
        foreach (var line in sse.Split('\n'))
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal) && line != "data: [DONE]")
            {
                using var _ = JsonDocument.Parse(line["data: ".Length..]);
            }
        }
    }

    internal static string Describe(List<(string? Event, byte[] Data)> events) =>
        string.Join(" | ", events.Select(e => $"{e.Event}: {Convert.ToBase64String(e.Data)}"));
}
