using System.Net;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The test catalog plus deployments on a scripted upstream that answers what the simulator never does: an error message
/// that decodes to no text, a 400 naming a chat parameter (for a Responses client), a <c>Retry-After</c> with a control character, a 200 that cannot be translated, an Anthropic
/// message without content, an answer DeepSeek cut for want of resources, and a
/// deployment whose answers the test switches (failing, silent, well) to drive its circuit breaker (<see cref="BreakerFailures"/>
/// failures open it for a second: more than the other tests' answers that fail after their headers, which count too, cause
/// on one deployment). gpt-4.1 is mirrored to cut-stream, whose streams the simulator cuts after five events, and
/// gpt-4.1-azure to garbage, which answers 200 with a body that is not JSON. Each shadow test has its own candidate
/// deployment, whose breaker its failures count on: mirrored-to-claude and mirrored-to-openai (answered by the simulator) go to
/// shadow-claude and shadow-openai on the scripted upstream, mirrored-to-garbage to shadow-garbage on garbage=1. A request without max_tokens may have 777
/// output tokens from a model without a maxOutputTokens of its own.
/// </summary>
public sealed class UnusualUpstreamFixture : LiveGatewayFixture
{
    public const int BreakerFailures = 20;

    private const string NoContentMessage = """{"id":"msg_1","type":"message","role":"assistant","model":"odd","stop_reason":"max_tokens","stop_sequence":null,"usage":{"input_tokens":50,"output_tokens":70}}""";
    private const string NotAMessage = """{"id":"msg_1","usage":{"input_tokens":50,"output_tokens":70}}""";
    /// <summary>Anthropic's error shape, with content and usage beside it, answered with a 200 (as a proxy may).</summary>
    private const string ErrorWithContent = """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":50,"output_tokens":70}}""";
    /// <summary>OpenAI's 400 for a token cap above what the model produces, naming the chat parameter.</summary>
    private const string CapExceeded = """{"error":{"message":"Invalid 'max_completion_tokens': integer above maximum value. Expected a value <= 4096, but got 6000 instead.","type":"invalid_request_error","param":"max_completion_tokens","code":"integer_above_max_value"}}""";
    /// <summary>Anthropic's 400 for a prompt over the model's context window.</summary>
    private const string AnthropicPromptTooLong = """{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 225007 tokens > 200000 maximum"}}""";
    /// <summary>OpenAI's 400 for a prompt over the model's context window.</summary>
    private const string OpenAIContextTooLong = """{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""";
    private const string LoneSurrogateError = """{"type":"error","error":{"type":"invalid_request_error","message":"bad \ud800 input"}}""";
    private const string Completion = """{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"probe","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}""";

    /// <summary>The raw arguments of the second call in <see cref="BadArguments"/> and <see cref="BadArgumentsStream"/>: a model's Python-style dict, not JSON.</summary>
    public const string NotJsonArguments = "{'city': 'Paris'}";

    /// <summary>Text, a call with good arguments and one whose arguments are not JSON, with the upstream's usage.</summary>
    private const string BadArguments = """
        {"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"odd","choices":[{"index":0,"message":{"role":"assistant","content":"Checking both.","tool_calls":[
          {"id":"call_A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},
          {"id":"call_B","type":"function","function":{"name":"get_weather","arguments":"{'city': 'Paris'}"}}]},"finish_reason":"tool_calls"}],
         "usage":{"prompt_tokens":61,"completion_tokens":43,"total_tokens":104}}
        """;

    /// <summary>A tool call without an id, as some OpenAI-compatible servers send it.</summary>
    private const string CallWithoutId = """
        {"id":"chatcmpl-3","object":"chat.completion","created":1,"model":"odd","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
          {"type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":"tool_calls"}],
         "usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42}}
        """;

    /// <summary>The same answer streamed, the bad arguments in fragments.</summary>
    private const string BadArgumentsStream = """
        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Checking both."},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"get_weather","arguments":"{'city'"}}]},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":": 'Paris'}"}}]},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":61,"completion_tokens":43,"total_tokens":104}}

        data: [DONE]


        """;

    /// <summary>The same answer streamed: no content block between the start and the stop.</summary>
    private const string NoContentStream = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"odd","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":50,"output_tokens":1}}}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"max_tokens","stop_sequence":null},"usage":{"output_tokens":70}}

        event: message_stop
        data: {"type":"message_stop"}


        """;

    /// <summary>What DeepSeek answers when its inference system runs out of resources mid-answer.</summary>
    private const string Interrupted = """
        {"id":"chatcmpl-4","object":"chat.completion","created":1,"model":"odd","choices":[{"index":0,"message":{"role":"assistant","content":"The answer is"},"finish_reason":"insufficient_system_resource"}],
         "usage":{"prompt_tokens":40,"completion_tokens":3,"total_tokens":43}}
        """;

    /// <summary>The same answer streamed.</summary>
    private const string InterruptedStream = """
        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"The answer is"},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":""},"finish_reason":"insufficient_system_resource"}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":3,"total_tokens":43}}

        data: [DONE]


        """;

    /// <summary>An OpenAI-kind server's error mid-stream, after some text (its connection then left open).</summary>
    private const string OpenAIStreamError = """
        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Partial"},"finish_reason":null}],"usage":null}

        data: {"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" more"},"finish_reason":null}],"usage":null}


        """;

    /// <summary>The start of an Anthropic stream whose text is "Partial" (what follows ends it).</summary>
    private const string AnthropicPartial = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"odd","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":50,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Partial"}}


        """;

    /// <summary>Anthropic's overloaded_error mid-stream, after some text (its connection then left open).</summary>
    internal const string AnthropicStreamError = AnthropicPartial + """
        event: error
        data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" more"}}


        """;

    /// <summary>An OpenAI-kind stream with an event that is not JSON after some text (its connection then left open).</summary>
    private const string OpenAIGarbledStream = """
        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Partial"},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.compl

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" more"},"finish_reason":null}],"usage":null}


        """;

    /// <summary>An Anthropic stream with an event that is not JSON after some text (its connection then left open).</summary>
    private const string AnthropicGarbledStream = AnthropicPartial + """
        event: content_block_delta
        data: <html>502 Bad Gateway</html>

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" more"}}


        """;

    /// <summary>
    /// An OpenAI stream whose second chunk is JSON but holds a tool call id that cannot be decoded (a lone surrogate), in a
    /// field the usage meter does not read, so only translating it finds it out (its connection then left open).
    /// </summary>
    private const string OpenAIUndecodableStream = """
        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Partial"},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_\ud800","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" more"},"finish_reason":null}],"usage":null}


        """;

    /// <summary>The same for an Anthropic stream: a tool_use block whose id cannot be decoded, after some text.</summary>
    private const string AnthropicUndecodableStream = AnthropicPartial + """
        event: content_block_start
        data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_\ud800","name":"f","input":{}}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" more"}}


        """;

    /// <summary>A whole OpenAI stream, [DONE] included, whose body the upstream then leaves open.</summary>
    private const string OpenAIStreamLeftOpen = """
        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Whole"},"finish_reason":null}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}

        data: {"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":1,"total_tokens":51}}

        data: [DONE]


        """;

    /// <summary>A whole Anthropic stream, message_stop included, whose body the upstream then leaves open.</summary>
    private const string AnthropicStreamLeftOpen = AnthropicPartial + """
        event: content_block_stop
        data: {"type":"content_block_stop","index":0}

        event: message_delta
        data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}

        event: message_stop
        data: {"type":"message_stop"}


        """;

    /// <summary>How the probe deployment answers: "fail" (503), "silent" (never), anything else (200).</summary>
    public string ProbeMode { get; set; } = "fail";

    /// <summary>The last request odd-claude's deployment received that none of the other answers matched (head and body).</summary>
    public string? LastAnthropicRequest { get; private set; }

    public static string Json(string status, string body, string headers = "") =>
        $"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    public static string EventStream(string body) =>
        $"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";

    /// <summary>A stream without a length whose connection stays open after <paramref name="body"/>, as an upstream that goes quiet.</summary>
    public static string OpenEventStream(string body) =>
        $"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n{body.ReplaceLineEndings("\n")}";

    private string Answered(string request, string answer)
    {
        LastAnthropicRequest = request;
        return answer;
    }

    protected override Task<LiveGateway> StartAsync()
    {
        var upstream = Own(new ScriptedUpstream());
        upstream.AnswerRequests(request => request switch
        {
            _ when request.Contains("/probe/", StringComparison.Ordinal) => ProbeMode switch
            {
                "fail" => Json("503 Service Unavailable", """{"error":{"message":"down"}}"""),
                "silent" => null,
                _ => Json("200 OK", Completion),
            },
            _ when request.Contains("error-mid-stream", StringComparison.Ordinal) && request.Contains("/chat/completions", StringComparison.Ordinal) =>
                OpenEventStream(OpenAIStreamError),
            _ when request.Contains("error-mid-stream", StringComparison.Ordinal) => OpenEventStream(AnthropicStreamError),
            _ when request.Contains("garbled-mid-stream", StringComparison.Ordinal) && request.Contains("/chat/completions", StringComparison.Ordinal) =>
                OpenEventStream(OpenAIGarbledStream),
            _ when request.Contains("garbled-mid-stream", StringComparison.Ordinal) => OpenEventStream(AnthropicGarbledStream),
            _ when request.Contains("undecodable-mid-stream", StringComparison.Ordinal) && request.Contains("/chat/completions", StringComparison.Ordinal) =>
                OpenEventStream(OpenAIUndecodableStream),
            _ when request.Contains("undecodable-mid-stream", StringComparison.Ordinal) => OpenEventStream(AnthropicUndecodableStream),
            _ when request.Contains("whole-left-open", StringComparison.Ordinal) && request.Contains("/chat/completions", StringComparison.Ordinal) =>
                OpenEventStream(OpenAIStreamLeftOpen),
            _ when request.Contains("whole-left-open", StringComparison.Ordinal) => OpenEventStream(AnthropicStreamLeftOpen),
            _ when request.Contains("bad-arguments", StringComparison.Ordinal) && request.Contains("\"stream\":true", StringComparison.Ordinal) =>
                EventStream(BadArgumentsStream.ReplaceLineEndings("\n")),
            _ when request.Contains("bad-arguments", StringComparison.Ordinal) => Json("200 OK", BadArguments),
            _ when request.Contains("no-call-id", StringComparison.Ordinal) => Json("200 OK", CallWithoutId),
            _ when request.Contains("insufficient-resource", StringComparison.Ordinal) && request.Contains("\"stream\":true", StringComparison.Ordinal) =>
                EventStream(InterruptedStream.ReplaceLineEndings("\n")),
            _ when request.Contains("insufficient-resource", StringComparison.Ordinal) => Json("200 OK", Interrupted),
            _ when request.Contains("no-content", StringComparison.Ordinal) && request.Contains("\"stream\":true", StringComparison.Ordinal) =>
                EventStream(NoContentStream.ReplaceLineEndings("\n")),
            _ when request.Contains("not-a-message", StringComparison.Ordinal) => Json("200 OK", NotAMessage),
            _ when request.Contains("an-error-with-content", StringComparison.Ordinal) => Json("200 OK", ErrorWithContent),
            _ when request.Contains("prompt-too-long", StringComparison.Ordinal) && request.Contains("/chat/completions", StringComparison.Ordinal) =>
                Json("400 Bad Request", OpenAIContextTooLong),
            _ when request.Contains("prompt-too-long", StringComparison.Ordinal) => Json("400 Bad Request", AnthropicPromptTooLong),
            _ when request.Contains("lone-surrogate", StringComparison.Ordinal) => Json("400 Bad Request", LoneSurrogateError),
            _ when request.Contains("above-the-vendors-cap", StringComparison.Ordinal) => Json("400 Bad Request", CapExceeded),
            _ when request.Contains("control-character", StringComparison.Ordinal) => Json("429 Too Many Requests", "{}", "Retry-After: 5\u0001\r\n"),
            _ => Answered(request, Json("200 OK", NoContentMessage)),
        });
        var scripted = upstream.BaseUrl.ToString().TrimEnd('/');
        return LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator)
            .Replace("models:\n", $$"""
                models:
                  - { id: odd-claude, vendor: anthropic, capabilities: [chat], contextWindow: 8192 }
                  - { id: odd-openai, vendor: openai, capabilities: [chat, tools], contextWindow: 8192 }
                  - { id: probe, vendor: openai, capabilities: [chat], contextWindow: 8192 }
                  - { id: mirrored-to-claude, vendor: openai, capabilities: [chat], contextWindow: 8192 }
                  - { id: mirrored-to-openai, vendor: openai, capabilities: [chat], contextWindow: 8192 }
                  - { id: shadow-claude, vendor: anthropic, capabilities: [chat], contextWindow: 8192 }
                  - { id: shadow-openai, vendor: openai, capabilities: [chat], contextWindow: 8192 }
                  - { id: mirrored-to-garbage, vendor: openai, capabilities: [chat], contextWindow: 8192 }
                  - { id: shadow-garbage, vendor: openai, capabilities: [chat], contextWindow: 8192 }

                """, StringComparison.Ordinal)
            .Replace("deployments:\n", $$"""
                deployments:
                  - { id: odd-claude-us, model: odd-claude, region: us-east, endpoint: "{{scripted}}/odd/v1", price: { input: 1, output: 1 } }
                  - { id: odd-openai-sg, model: odd-openai, region: sg, endpoint: "{{scripted}}/odd/v1", price: { input: 1, output: 1 } }
                  - { id: probe-sg, model: probe, region: sg, endpoint: "{{scripted}}/probe/v1", price: { input: 1, output: 1 } }
                  - { id: mirrored-to-claude-sg, model: mirrored-to-claude, region: sg, price: { input: 1, output: 1 } }
                  - { id: mirrored-to-openai-sg, model: mirrored-to-openai, region: sg, price: { input: 1, output: 1 } }
                  - { id: shadow-claude-us, model: shadow-claude, region: us-east, endpoint: "{{scripted}}/odd/v1", price: { input: 1, output: 1 } }
                  - { id: shadow-openai-sg, model: shadow-openai, region: sg, endpoint: "{{scripted}}/odd/v1", price: { input: 1, output: 1 } }
                  - { id: mirrored-to-garbage-sg, model: mirrored-to-garbage, region: sg, price: { input: 1, output: 1 } }
                  - { id: shadow-garbage-sg, model: shadow-garbage, region: sg, endpoint: "{{simulator.ToString().TrimEnd('/')}}/x/garbage=1/v1", price: { input: 1, output: 1 } }

                """, StringComparison.Ordinal)
            + $$"""

            limits:
              defaultMaxOutputTokens: 777
            routing:
              breaker: { failures: {{BreakerFailures}}, openSeconds: 1 }
            shadow:
              models:
                gpt-4.1: { candidate: cut-stream, share: 1 }
                gpt-4.1-azure: { candidate: garbage, share: 1 }
                mirrored-to-claude: { candidate: shadow-claude, share: 1 }
                mirrored-to-openai: { candidate: shadow-openai, share: 1 }
                mirrored-to-garbage: { candidate: shadow-garbage, share: 1 }
            """);
    }
}

public sealed class UnusualUpstreamAnswerTests(UnusualUpstreamFixture fixture) : IClassFixture<UnusualUpstreamFixture>
{
    private LiveGateway Live => fixture.Live;

    private static object Ask(string model, string content, bool stream = false) =>
        new { model, stream, messages = new[] { new { role = "user", content } } };

    [Fact]
    public async Task AnUpstreamErrorMessageThatIsNotText_IsRelayedWithItsStatus_NotA500()
    {
        using var http = Live.Http();

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", Ask("odd-claude", "lone-surrogate")).WithTimeout();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task ARetryAfterThatIsNotHttp_IsDropped_AndTheClientStillGetsIts429()
    {
        using var http = Live.Http();

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", Ask("odd-openai", "control-character")).WithTimeout();

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.False(response.Headers.Contains("Retry-After"));
        Assert.Contains("upstream_rate_limited", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-message")]
    [InlineData("an-error-with-content")]
    public async Task AnAnswerThatCannotBeTranslated_Is502_AndBilledNothing(string answer)
    {
        using var http = Live.Http();

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", Ask("odd-claude", answer)).WithTimeout();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("upstream_invalid_response", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var row = await Live.LedgerRowAsync(response.Headers.GetValues("x-corridor-request-id").Single());
        Assert.Equal(RequestOutcome.UpstreamError, row.Outcome);
        LedgerAssert.NotBilled(row);
    }

    [Fact]
    public async Task AnAnthropicMessageWithoutContent_ReachesTheOpenAIClientAsAnEmptyCompletion_AndIsBilled()
    {
        var log = new ResponseLog();

        var completion = (await Live.OpenAI(log: log).GetChatClient("odd-claude").CompleteChatAsync([new UserChatMessage("no-content")]).WithTimeout()).Value;

        Assert.Equal("", string.Concat(completion.Content.Select(p => p.Text)));
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal((50, 70), (completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount));
        await AssertServedAsync(log.Last.RequestId!, "odd-claude-us", 50, 70);
    }

    [Fact]
    public async Task AnAnthropicStreamWithoutContent_ReachesTheOpenAIClientAsAnEmptyCompletion_AndIsBilled()
    {
        var log = new ResponseLog();

        // The OpenAI .NET SDK always asks for the stream's usage.
        var updates = await Live.OpenAI(log: log).GetChatClient("odd-claude").CompleteChatStreamingAsync([new UserChatMessage("no-content")], null, default).ToListWithTimeoutAsync();

        Assert.Equal("", string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text)));
        Assert.Equal(ChatFinishReason.Length, Assert.Single(updates, u => u.FinishReason is not null).FinishReason);
        var usage = Assert.Single(updates, u => u.Usage is not null).Usage;
        Assert.Equal((50, 70), (usage.InputTokenCount, usage.OutputTokenCount));
        await AssertServedAsync(log.Last.RequestId!, "odd-claude-us", 50, 70);
    }

    private async Task AssertServedAsync(string requestId, string deployment, long inputTokens, long outputTokens)
    {
        var row = await Live.LedgerRowAsync(requestId);
        Assert.Equal((RequestOutcome.Success, 200, null), (row.Outcome, row.Status, row.ErrorCode));
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, deployment, inputTokens, outputTokens);
    }

    [Fact]
    public async Task ToolArgumentsThatAreNotJson_ReachTheAnthropicClientWrapped_AndAreBilledAsTheUpstreamReported()
    {
        var log = new ResponseLog();
        var ask = AnthropicDialectTests.Ask("odd-openai", "bad-arguments") with { Tools = [AnthropicDialectTests.WeatherTool()] };

        var message = await Live.Anthropic(log: log).Messages.Create(ask).WithTimeout();

        AssertBothCalls(message);
        Assert.Equal((61L, 43L), (message.Usage.InputTokens, message.Usage.OutputTokens));
        await AssertBilledAndMarkedAsync(log.Last.RequestId!);
    }

    [Fact]
    public async Task StreamedToolArgumentsThatAreNotJson_ReachTheAnthropicClientWrapped_AndAreBilledAsTheUpstreamReported()
    {
        var log = new ResponseLog();
        var ask = AnthropicDialectTests.Ask("odd-openai", "bad-arguments") with { Tools = [AnthropicDialectTests.WeatherTool()] };

        var message = await Live.Anthropic(log: log).Messages.CreateStreaming(ask).Aggregate().WithTimeout();

        AssertBothCalls(message);
        await AssertBilledAndMarkedAsync(log.Last.RequestId!);
    }

    [Fact]
    public async Task AClaudePromptOverItsContextWindow_IsContextLengthExceeded_ToAnOpenAIClient_AsOpenAIsOwnModelsSayIt()
    {
        // Applications and frameworks trim history or move to a larger model on OpenAI's code context_length_exceeded
        // (or its message's "maximum context length"); Anthropic says "prompt is too long" with no code.
        var refused = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() =>
            Live.OpenAI().GetChatClient("odd-claude").CompleteChatAsync([new UserChatMessage("prompt-too-long")], null, default).WithTimeout());

        Assert.Equal(400, refused.Status);
        using var body = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString());
        var error = body.RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Equal("This model's maximum context length is 200000 tokens. However, your messages resulted in 225007 tokens. "
            + "Please reduce the length of the messages. (prompt is too long: 225007 tokens > 200000 maximum)", error.GetProperty("message").GetString());
        var row = await Live.LedgerRowAsync(refused.GetRawResponse()!.Headers.Header("x-corridor-request-id")!);
        Assert.Equal((RequestOutcome.ClientError, 400), (row.Outcome, row.Status));
        LedgerAssert.NotBilled(row);
    }

    [Fact]
    public async Task AnOpenAIPromptOverItsContextWindow_IsPromptTooLong_ToAnAnthropicClient_AsAnthropicsOwnModelsSayIt()
    {
        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Live.Anthropic().Messages.Create(AnthropicDialectTests.Ask("odd-openai", "prompt-too-long"))).WithTimeout();

        Assert.Equal(400, (int)error.StatusCode);
        using var body = JsonDocument.Parse(error.ResponseBody);
        Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal("prompt is too long: 130512 tokens > 128000 maximum (This model's maximum context length is 128000 tokens. "
            + "However, your messages resulted in 130512 tokens. Please reduce the length of the messages.)",
            body.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task AnAnswerCutForWantOfUpstreamResources_IsAnOverloadedErrorToTheAnthropicClient_AndNotBilled()
    {
        var log = new ResponseLog();

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask("odd-openai", "insufficient-resource"))).WithTimeout();

        Assert.Equal(529, (int)error.StatusCode);
        using (var body = JsonDocument.Parse(error.ResponseBody))
        {
            Assert.Equal("overloaded_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal((RequestOutcome.UpstreamError, 529, "upstream_insufficient_resource"), (row.Outcome, row.Status, row.ErrorCode));
        LedgerAssert.NotBilled(row);
    }

    [Fact]
    public async Task AStreamCutForWantOfUpstreamResources_EndsWithAnOverloadedErrorEvent_BilledAsTheUpstreamReported()
    {
        var log = new ResponseLog();
        var events = new List<RawMessageStreamEvent>();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);

        var error = await Assert.ThrowsAsync<AnthropicSseException>(async () =>
        {
            await foreach (var e in Live.Anthropic(log: log).Messages.CreateStreaming(AnthropicDialectTests.Ask("odd-openai", "insufficient-resource"), timeout.Token))
            {
                events.Add(e);
            }
        });

        Assert.Contains("overloaded_error", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(events, e => e.TryPickStop(out _) || e.TryPickDelta(out _));
        Assert.Equal("The answer is", string.Concat(events.Select(e => e.TryPickContentBlockDelta(out var d) && d.Delta.TryPickText(out var t) ? t.Text : "")));
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal((RequestOutcome.UpstreamError, "upstream_insufficient_resource"), (row.Outcome, row.ErrorCode));
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "odd-openai-sg", 40, 3);
    }

    [Fact]
    public async Task AnUpstreams400NamingAChatParameter_NamesTheResponsesParameter_ToAResponsesClient()
    {
#pragma warning disable OPENAI001 // the Responses client is marked experimental in the SDK
        var options = new OpenAI.Responses.CreateResponseOptions("odd-openai", [OpenAI.Responses.ResponseItem.CreateUserMessageItem("above-the-vendors-cap")])
        {
            MaxOutputTokenCount = 6000,
        };
        var refused = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => Live.OpenAI().GetResponsesClient().CreateResponseAsync(options).WithTimeout());
#pragma warning restore OPENAI001

        Assert.Equal(400, refused.Status);
        using var error = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString());
        Assert.Equal("max_output_tokens", error.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.StartsWith("Invalid 'max_completion_tokens': integer above maximum value.", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("integer_above_max_value", error.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task AnAnswerCutForWantOfUpstreamResources_IsA503ToAResponsesClient_AndNotBilled()
    {
        var log = new ResponseLog();
#pragma warning disable OPENAI001 // the Responses client is marked experimental in the SDK
        var refused = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() =>
            Live.OpenAI(log: log).GetResponsesClient().CreateResponseAsync("odd-openai", "insufficient-resource")).WithTimeout();
#pragma warning restore OPENAI001

        Assert.Equal(503, refused.Status);
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal((RequestOutcome.UpstreamError, 503, "upstream_insufficient_resource"), (row.Outcome, row.Status, row.ErrorCode));
        LedgerAssert.NotBilled(row);
    }

    [Fact]
    public async Task AStreamCutForWantOfUpstreamResources_EndsAResponsesStreamWithResponseFailed_BilledAsTheUpstreamReported()
    {
        var log = new ResponseLog();
#pragma warning disable OPENAI001 // the Responses client is marked experimental in the SDK
        var options = new OpenAI.Responses.CreateResponseOptions("odd-openai", [OpenAI.Responses.ResponseItem.CreateUserMessageItem("insufficient-resource")]) { StreamingEnabled = true };
        var updates = await (await Live.OpenAI(log: log).GetResponsesClient().CreateResponseStreamingAsync(options).WithTimeout()).ToListWithTimeoutAsync();

        Assert.IsType<OpenAI.Responses.StreamingResponseErrorUpdate>(updates[^2]);
        var failed = Assert.IsType<OpenAI.Responses.StreamingResponseFailedUpdate>(updates[^1]).Response;
        Assert.Equal(OpenAI.Responses.ResponseStatus.Failed, failed.Status);
#pragma warning restore OPENAI001
        Assert.Equal("The answer is", failed.GetOutputText());
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal((RequestOutcome.UpstreamError, "upstream_insufficient_resource"), (row.Outcome, row.ErrorCode));
        LedgerAssert.Billed(Live, row, "odd-openai-sg", 40, 3);
    }

    /// <summary>
    /// An upstream's own error event mid-stream, translated (an OpenAI client on odd-claude, an Anthropic client on odd-openai)
    /// or relayed as it is (the same dialect): the client gets the text so far and then one error event, its last, released
    /// only once the ledger row is durable (the row is in the ledger the moment the client has it), though the upstream's
    /// connection stays open; the row says the upstream sent an error.
    /// </summary>
    [Theory]
    [InlineData("/v1/chat/completions", "odd-claude", "overloaded_error", "upstream_overloaded")]
    [InlineData("/v1/chat/completions", "odd-openai", "server_error", "upstream_stream_error")]
    [InlineData("/v1/messages", "odd-openai", "api_error", "upstream_stream_error")]
    [InlineData("/v1/messages", "odd-claude", "overloaded_error", "upstream_overloaded")]
    public async Task AnUpstreamsErrorEventMidStream_IsTheStreamsLastEvent_HeldUntilItsRowIsDurable(string path, string model, string errorType, string code)
    {
        var (events, row) = await StreamEndedByAnErrorEventAsync(path, model, "error-mid-stream");

        using (var error = JsonDocument.Parse(events[^1].Data))
        {
            Assert.Equal(errorType, error.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        Assert.Equal((RequestOutcome.UpstreamError, code), (row.Outcome, row.ErrorCode));
    }

    [Theory]
    [InlineData("/v1/chat/completions", "odd-claude")]
    [InlineData("/v1/chat/completions", "odd-openai")]
    [InlineData("/v1/messages", "odd-openai")]
    [InlineData("/v1/messages", "odd-claude")]
    public async Task AnEventThatIsNotJsonMidStream_EndsTheStreamWithAnErrorEvent_HeldUntilItsRowIsDurable(string path, string model)
    {
        var (events, row) = await StreamEndedByAnErrorEventAsync(path, model, "garbled-mid-stream");

        Assert.DoesNotContain(events, e => e.Data.Contains("502 Bad Gateway", StringComparison.Ordinal) || e.Data.EndsWith("chat.compl", StringComparison.Ordinal));
        Assert.Equal((RequestOutcome.UpstreamError, "upstream_invalid_response"), (row.Outcome, row.ErrorCode));
    }

    [Theory]
    [InlineData("/v1/chat/completions", "odd-claude")]
    [InlineData("/v1/messages", "odd-openai")]
    public async Task ATranslatedEventWithAStringThatCannotBeDecoded_EndsTheStreamWithAnErrorEvent_HeldUntilItsRowIsDurable(string path, string model)
    {
        var (_, row) = await StreamEndedByAnErrorEventAsync(path, model, "undecodable-mid-stream");

        Assert.Equal((RequestOutcome.UpstreamError, "upstream_invalid_response"), (row.Outcome, row.ErrorCode));
    }

    [Theory]
    [InlineData("/v1/chat/completions", "odd-claude")]
    [InlineData("/v1/chat/completions", "odd-openai")]
    [InlineData("/v1/messages", "odd-openai")]
    [InlineData("/v1/messages", "odd-claude")]
    public async Task AStreamWhoseUpstreamLeavesItsBodyOpenAfterItsEndMarker_EndsComplete_NotAsATimeout(string path, string model)
    {
        using var http = Live.Http();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        object body = path == "/v1/messages"
            ? new { model, stream = true, max_tokens = 100, messages = new[] { new { role = "user", content = "whole-left-open" } } }
            : Ask(model, "whole-left-open", stream: true);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var requestId = response.Headers.GetValues("x-corridor-request-id").Single();
        var events = new List<ServerSentEvent>();
        await foreach (var e in ServerSentEvents.ReadAsync(response, timeout.Token))
        {
            events.Add(e);
        }

        Assert.DoesNotContain(events, e => e.Data.Contains("\"error\"", StringComparison.Ordinal));
        Assert.True(path == "/v1/messages" ? events[^1].Name == "message_stop" : events[^1].Data == "[DONE]", "the stream ends with its end marker");
        var row = await Live.LedgerRowAsync(requestId);
        Assert.Equal((RequestOutcome.Success, (string?)null), (row.Outcome, row.ErrorCode));
    }

    /// <summary>
    /// Streams <paramref name="content"/>'s scripted answer, whose text "Partial" is followed by an event that ends the stream
    /// and then " more" on a connection left open, and checks what both cases share: one error event, the last, which reached
    /// the client only once the request's row was durable; nothing the upstream sent after it; the stream billed.
    /// </summary>
    private async Task<(List<ServerSentEvent> Events, LedgerEntry Row)> StreamEndedByAnErrorEventAsync(string path, string model, string content)
    {
        using var http = Live.Http();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        object body = path == "/v1/messages"
            ? new { model, stream = true, max_tokens = 100, messages = new[] { new { role = "user", content } } }
            : Ask(model, content, stream: true);
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = response.Headers.GetValues("x-corridor-request-id").Single();
        var events = new List<ServerSentEvent>();
        LedgerEntry? rowWhenTheErrorCame = null;
        await foreach (var e in ServerSentEvents.ReadAsync(response, timeout.Token))
        {
            events.Add(e);
            if (rowWhenTheErrorCame is null && e.Data.Contains("\"error\"", StringComparison.Ordinal))
            {
                rowWhenTheErrorCame = await LedgerRowNowAsync(requestId, timeout.Token);
                Assert.True(rowWhenTheErrorCame is not null, "the error event reached the client before its ledger row was durable");
            }
        }

        Assert.Contains("\"error\"", events[^1].Data, StringComparison.Ordinal);
        Assert.Single(events, e => e.Data.Contains("\"error\"", StringComparison.Ordinal));
        Assert.Contains(events, e => e.Data.Contains("Partial", StringComparison.Ordinal));
        Assert.DoesNotContain(events, e => e.Data.Contains(" more", StringComparison.Ordinal) || e.Data == "[DONE]" || e.Name == "message_stop");
        var row = await Live.LedgerRowAsync(requestId);
        Assert.True(row.Billable, "a stream that began is billed");
        return (events, row);
    }

    /// <summary>The request's row if the ledger has it now (a read of the store, which sees every durable row), else null.</summary>
    private async Task<LedgerEntry?> LedgerRowNowAsync(string requestId, CancellationToken cancellationToken)
    {
        await foreach (var row in Live.Store.ReadLedgerAsync(null, null, cancellationToken))
        {
            if (row.RequestId == requestId)
            {
                return row;
            }
        }
        return null;
    }

    [Fact]
    public async Task AnOpenAIUpstreamsErrorEventMidStream_RaisesAnSseErrorInTheAnthropicClient_WithTheRowAlreadyDurable()
    {
        var log = new ResponseLog();
        var events = new List<RawMessageStreamEvent>();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);

        var error = await Assert.ThrowsAsync<AnthropicSseException>(async () =>
        {
            await foreach (var e in Live.Anthropic(log: log).Messages.CreateStreaming(AnthropicDialectTests.Ask("odd-openai", "error-mid-stream"), timeout.Token))
            {
                events.Add(e);
            }
        });

        Assert.NotNull(await LedgerRowNowAsync(log.Last.RequestId!, timeout.Token));
        Assert.Contains("The server had an error", error.Message, StringComparison.Ordinal);
        Assert.Equal("Partial", string.Concat(events.Select(e => e.TryPickContentBlockDelta(out var d) && d.Delta.TryPickText(out var t) ? t.Text : "")));
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal((RequestOutcome.UpstreamError, "upstream_stream_error"), (row.Outcome, row.ErrorCode));
    }

    [Fact]
    public async Task AToolCallWithoutAnId_ReachesTheAnthropicClientWithOne()
    {
        var ask = AnthropicDialectTests.Ask("odd-openai", "no-call-id") with { Tools = [AnthropicDialectTests.WeatherTool()] };

        var message = await Live.Anthropic().Messages.Create(ask).WithTimeout();

        Assert.True(Assert.Single(message.Content).TryPickToolUse(out var call));
        Assert.StartsWith("toolu_", call.ID, StringComparison.Ordinal);
        Assert.Equal("Oslo", call.Input["city"].GetString());
    }

    /// <summary>The text, the good call as it was, and the bad one's text whole under INVALID_JSON, as Anthropic's documentation wraps invalid input.</summary>
    private static void AssertBothCalls(Message message)
    {
        Assert.Equal("tool_use", message.StopReason?.Raw());
        Assert.Equal("Checking both.", AnthropicDialectTests.Text(message));
        var calls = message.Content.Select(c => c.TryPickToolUse(out var call) ? call : null).OfType<ToolUseBlock>().ToList();
        Assert.Equal(["call_A", "call_B"], calls.Select(c => c.ID));
        Assert.Equal("Oslo", calls[0].Input["city"].GetString());
        Assert.Equal(UnusualUpstreamFixture.NotJsonArguments, Assert.Single(calls[1].Input).Value.GetString());
        Assert.Equal("INVALID_JSON", calls[1].Input.Keys.Single());
    }

    private async Task AssertBilledAndMarkedAsync(string requestId)
    {
        var row = await Live.LedgerRowAsync(requestId);
        Assert.Equal((RequestOutcome.Success, 200, "upstream_tool_arguments_not_json"), (row.Outcome, row.Status, row.ErrorCode));
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "odd-openai-sg", 61, 43);
    }

    [Fact]
    public async Task AnAnthropicUpstream_IsSentTheOutputCapThatWasReserved()
    {
        using var http = Live.Http();

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", Ask("odd-claude", "what max_tokens were you sent?")).WithTimeout();

        Assert.Contains("\"max_tokens\":777", fixture.LastAnthropicRequest, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHalfOpenBreakersProbe_WhoseClientLeft_LetsTheNextRequestProbe()
    {
        using var http = Live.Http();
        fixture.ProbeMode = "fail";
        for (var i = 0; i < UnusualUpstreamFixture.BreakerFailures; i++)
        {
            using var failed = await http.PostAsJsonAsync("/v1/chat/completions", Ask("probe", "hello")).WithTimeout();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }
        await Task.Delay(TimeSpan.FromSeconds(1.2));

        // The breaker is half-open: this request is its probe, and its client leaves before the upstream says anything.
        fixture.ProbeMode = "silent";
        using (var leaving = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => http.PostAsJsonAsync("/v1/chat/completions", Ask("probe", "hello"), leaving.Token));
        }
        fixture.ProbeMode = "well";

        // The gateway notices the client left as it reads its connection's end, however long a busy machine takes over that;
        // then expect a new probe. (Were the probe kept, the breaker would stay shut: no answer would ever be 200.)
        HttpStatusCode status = 0;
        var body = "";
        using var patience = new CancellationTokenSource(TestTimeouts.Default);
        while (status != HttpStatusCode.OK && !patience.IsCancellationRequested)
        {
            await Task.Delay(100);
            using var after = await http.PostAsJsonAsync("/v1/chat/completions", Ask("probe", "hello")).WithTimeout();
            (status, body) = (after.StatusCode, await after.Content.ReadAsStringAsync());
        }
        Assert.True(status == HttpStatusCode.OK, $"{(int)status}: {body}");
    }

    [Fact]
    public async Task AShadowCandidatesStreamCutMidway_CostsTheOperatorWhatItProduced()
    {
        using var http = Live.Http();

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", Ask("gpt-4.1", "tell me a long story please", stream: true)).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        var primary = response.Headers.GetValues("x-corridor-request-id").Single();

        var shadow = await Live.LedgerRowAsync(row => row.ShadowOf == primary);
        Assert.False(shadow.Billable);
        Assert.Equal(("upstream_stream_broken", RequestOutcome.UpstreamError), (shadow.ErrorCode, shadow.Outcome));
        Assert.True(shadow.OutputTokens > 0 && shadow.Cost > 0m && shadow.Estimated,
            $"shadow row: tokens {shadow.InputTokens}/{shadow.OutputTokens}, cost {shadow.Cost}, estimated {shadow.Estimated}");
    }

    [Fact]
    public async Task AShadowCandidatesWholeAnswerThatIsNotJson_CostsNothing_AsATenantsWouldNot()
    {
        using var http = Live.Http();

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", Ask("gpt-4.1-azure", "hello")).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var primary = response.Headers.GetValues("x-corridor-request-id").Single();

        var shadow = await Live.LedgerRowAsync(row => row.ShadowOf == primary);
        Assert.Equal(("upstream_invalid_response", 0m, 0L), (shadow.ErrorCode, shadow.Cost, shadow.OutputTokens));
        Assert.False(shadow.Billable);
    }

    [Theory]
    [InlineData("mirrored-to-garbage", "hello", "upstream_invalid_response")]
    [InlineData("mirrored-to-claude", "error-mid-stream", "upstream_overloaded")]
    [InlineData("mirrored-to-openai", "error-mid-stream", "upstream_stream_error")]
    public async Task AShadowCandidatesStreamEndedByAnEventOfTheUpstreams_HasTheCodeATenantsRowWould_AndCostsTheOperator(string model, string content, string code)
    {
        using var http = Live.Http();

        using var response = await http.PostAsJsonAsync("/v1/chat/completions", Ask(model, content, stream: true)).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync().WithTimeout();
        var primary = response.Headers.GetValues("x-corridor-request-id").Single();

        var shadow = await Live.LedgerRowAsync(row => row.ShadowOf == primary);
        Assert.Equal((code, RequestOutcome.UpstreamError), (shadow.ErrorCode, shadow.Outcome));
        Assert.False(shadow.Billable);
        Assert.True(shadow.Cost > 0m, $"a candidate's stream that began costs the operator what it carried; cost {shadow.Cost}");
    }
}
