using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>The test catalog with tight client limits, so a test can reach each of them quickly.</summary>
public sealed class HostileClientGatewayFixture : LiveGatewayFixture
{
    protected override Task<LiveGateway> StartAsync() => LiveGateway.StartAsync(sim => TestCatalog.Yaml(sim).Replace(
        "streamIdleTimeoutSeconds: 5",
        """
        streamIdleTimeoutSeconds: 5
          maxRequestHeaderBytes: 8192
          maxRequestHeaderCount: 30
          requestHeadersTimeoutSeconds: 1
          minRequestBodyBytesPerSecond: 100
          minRequestBodyGraceSeconds: 2
        """, StringComparison.Ordinal));
}

/// <summary>
/// Clients that send too much, too slowly, too deeply, or the wrong thing: each is refused (by Kestrel or in the client's
/// dialect), never answered 500, and the gateway goes on serving. Refusals in the dialect have a ledger row, not billed.
/// </summary>
public sealed class HostileClientTests(HostileClientGatewayFixture fixture) : IClassFixture<HostileClientGatewayFixture>
{
    private const string OpenAIPath = "/v1/chat/completions";
    private const string AnthropicPath = "/v1/messages";

    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task HeadersOverTheSizeLimit_Are431()
    {
        using var http = Live.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, OpenAIPath) { Content = Json(Chat("gpt-4.1")) };
        request.Headers.Add("x-padding", new string('a', 10_000));

        using var response = await http.SendAsync(request).WithTimeout();

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task TooManyHeaders_Are431()
    {
        using var http = Live.Http();
        using var request = new HttpRequestMessage(HttpMethod.Post, OpenAIPath) { Content = Json(Chat("gpt-4.1")) };
        for (var i = 0; i < 40; i++)
        {
            request.Headers.Add($"x-extra-{i}", "1");
        }

        using var response = await http.SendAsync(request).WithTimeout();

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task ASenderThatNeverFinishesItsHeaders_IsCutOff()
    {
        using var socket = await ConnectAsync();
        await socket.SendAsync(Encoding.ASCII.GetBytes("POST /v1/chat/completions HTTP/1.1\r\nHost: corridor\r\n"));

        // Kestrel answers 408 (or just closes) once requestHeadersTimeoutSeconds has passed; either way the connection ends.
        var answer = await ReadUntilClosedAsync(socket);

        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 408", StringComparison.Ordinal), answer);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task ASenderThatTricklesItsBody_IsCutOff_With408InItsDialect()
    {
        using var socket = await ConnectAsync();
        var body = Encoding.UTF8.GetBytes(Chat("gpt-4.1"));
        await socket.SendAsync(Encoding.ASCII.GetBytes(
            $"POST /v1/chat/completions HTTP/1.1\r\nHost: corridor\r\nAuthorization: Bearer {Live.Secret}\r\nContent-Type: application/json\r\nContent-Length: {body.Length + 10_000}\r\n\r\n"));
        await socket.SendAsync(body.AsMemory(0, 10));

        // Far below 100 bytes a second: one byte every half second until the gateway gives up on the body.
        var trickle = TrickleAsync(socket, body.AsMemory(10));
        var answer = await ReadUntilClosedAsync(socket);
        await trickle;

        Assert.StartsWith("HTTP/1.1 408", answer, StringComparison.Ordinal);
        Assert.Contains("\"code\":\"request_timeout\"", answer, StringComparison.Ordinal);
        var requestId = answer.Split("\r\n").Single(l => l.StartsWith("x-corridor-request-id:", StringComparison.OrdinalIgnoreCase)).Split(':')[1].Trim();
        var row = await Live.LedgerRowAsync(requestId);
        Assert.Equal(RequestOutcome.ClientError, row.Outcome);
        LedgerAssert.NotBilled(row);
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData(OpenAIPath)]
    [InlineData(AnthropicPath)]
    public async Task JsonNestedDeeperThanTheLimit_IsA400InTheDialect(string path)
    {
        var deep = new string('[', 200) + new string(']', 200);
        var body = path == OpenAIPath
            ? $$"""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi","extra":{{deep}}}]}"""
            : $$"""{"model":"claude-sonnet-4","max_tokens":10,"messages":[{"role":"user","content":"hi","extra":{{deep}}}]}""";

        using var response = await PostAsync(path, body);

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.StartsWith("The request body is not valid JSON", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertRefusedAsync(response);
    }

    [Theory]
    [InlineData(OpenAIPath, "gpt-4.1")]
    [InlineData(OpenAIPath, "claude-sonnet-4")]
    [InlineData(AnthropicPath, "claude-sonnet-4")]
    [InlineData(AnthropicPath, "gpt-4.1")]
    public async Task JsonNestedJustWithinTheLimit_IsNeverA500(string path, string model)
    {
        var deep = new string('[', 100) + new string(']', 100);
        var body = $$$"""{"model":"{{{model}}}","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"metadata":{"deep":{{{deep}}}}}""";

        using var response = await PostAsync(path, body);

        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"status {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task HugeN_IsA400_AsOpenAIAnswersIt()
    {
        using var response = await PostAsync(OpenAIPath, """{"model":"gpt-4.1","n":100000,"messages":[{"role":"user","content":"hi"}]}""");

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("n", error.GetProperty("param").GetString());
        Assert.Equal("integer_above_max_value", error.GetProperty("code").GetString());
        Assert.Equal("Invalid 'n': integer above maximum value. Expected a value <= 128, but got 100000 instead.", error.GetProperty("message").GetString());
        await AssertRefusedAsync(response);
    }

    [Fact]
    public async Task MaxTokensAboveTheModelsBound_IsA400_InTheOpenAIDialect()
    {
        using var response = await PostAsync(OpenAIPath, """{"model":"gpt-4.1","max_tokens":2000000,"messages":[{"role":"user","content":"hi"}]}""");

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("max_tokens", error.GetProperty("param").GetString());
        Assert.Equal("invalid_value", error.GetProperty("code").GetString());
        Assert.Equal("max_tokens is too large: 2000000. This model supports at most 1047576 completion tokens, whereas you provided 2000000.",
            error.GetProperty("message").GetString());
        await AssertRefusedAsync(response);
    }

    [Fact]
    public async Task MaxTokensAboveTheModelsBound_IsA400_InTheAnthropicDialect()
    {
        using var response = await PostAsync(AnthropicPath, """{"model":"claude-sonnet-4","max_tokens":100000,"messages":[{"role":"user","content":"hi"}]}""");

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("max_tokens: 100000 > 1024, which is the maximum allowed number of output tokens for claude-sonnet-4", error.GetProperty("message").GetString());
        await AssertRefusedAsync(response);
    }

    [Theory]
    [InlineData(OpenAIPath, "2147483648")]
    [InlineData(OpenAIPath, "1e400")]
    [InlineData(AnthropicPath, "99999999999999999999")]
    [InlineData(AnthropicPath, "-5")]
    public async Task MaxTokensThatIsNoPositiveInteger_IsA400(string path, string value)
    {
        using var response = await PostAsync(path, $$"""{"model":"claude-sonnet-4","max_tokens":{{value}},"messages":[{"role":"user","content":"hi"}]}""");

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        await AssertRefusedAsync(response);
    }

    [Theory]
    [InlineData(OpenAIPath, "gpt-4.1", true)]
    [InlineData(OpenAIPath, "claude-sonnet-4", true)]
    [InlineData(AnthropicPath, "claude-sonnet-4", true)]
    [InlineData(AnthropicPath, "gpt-4.1", true)]
    [InlineData(OpenAIPath, "gpt-4.1", false)]
    [InlineData(AnthropicPath, "gpt-4.1", false)]
    public async Task InvalidUtf8_IsA400InTheDialect(string path, string model, bool inContent)
    {
        var body = new List<byte>();
        body.AddRange(Encoding.UTF8.GetBytes(inContent ? $$"""{"model":"{{model}}","max_tokens":10,"messages":[{"role":"user","content":"bad """ : """{"model":"gpt"""));
        body.AddRange(new byte[] { 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80 });
        body.AddRange(Encoding.UTF8.GetBytes(inContent ? "\"}]}" : "\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));

        using var response = await PostAsync(path, body.ToArray());

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        await AssertRefusedAsync(response);
        // The body is retained as valid UTF-8, each invalid sequence replaced as decoding would.
        var row = await Live.LedgerRowAsync(response.Headers.GetValues("x-corridor-request-id").Single());
        Assert.Equal(Encoding.UTF8.GetString(body.ToArray()), row.RequestBody?.ToString());
    }

    [Theory]
    [InlineData(OpenAIPath, "gpt-4.1", """[42]""")]
    [InlineData(OpenAIPath, "gpt-4.1", """[{"role":"user","content":42}]""")]
    [InlineData(OpenAIPath, "gpt-4.1", """[{"role":7,"content":"hi"}]""")]
    [InlineData(OpenAIPath, "gpt-4.1", """[{"role":"user","content":[{"type":"text","text":5}]}]""")]
    [InlineData(OpenAIPath, "claude-sonnet-4", """[{"role":"user","content":{"text":"hi"}}]""")]
    [InlineData(OpenAIPath, "claude-sonnet-4", """[{"role":"user","content":[{"type":"image_url","image_url":7}]}]""")]
    [InlineData(AnthropicPath, "claude-sonnet-4", """[{"role":"user","content":42}]""")]
    [InlineData(AnthropicPath, "claude-sonnet-4", """[{"role":"user","content":[{"type":"text","text":["hi"]}]}]""")]
    [InlineData(AnthropicPath, "gpt-4.1", """[{"role":"user","content":null}]""")]
    [InlineData(AnthropicPath, "gpt-4.1", """[{"role":"user","content":[{"type":"tool_result","tool_use_id":5,"content":"x"}]}]""")]
    public async Task PromptFieldsOfTheWrongType_AreA400InTheDialect(string path, string model, string messages)
    {
        using var response = await PostAsync(path, $$"""{"model":"{{model}}","max_tokens":10,"messages":{{messages}}}""");

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        await AssertRefusedAsync(response);
    }

    [Theory]
    [InlineData(AnthropicPath, "claude-sonnet-4", "\"system\":5")]
    [InlineData(AnthropicPath, "gpt-4.1", "\"system\":[{\"type\":\"text\",\"text\":5}]")]
    [InlineData(OpenAIPath, "claude-sonnet-4", "\"tools\":\"all\"")]
    [InlineData(OpenAIPath, "claude-sonnet-4", "\"stop\":5")]
    public async Task OtherFieldsOfTheWrongType_AreA400InTheDialect(string path, string model, string field)
    {
        using var response = await PostAsync(path, $$"""{"model":"{{model}}","max_tokens":10,{{field}},"messages":[{"role":"user","content":"hi"}]}""");

        var error = await ErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        await AssertRefusedAsync(response);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string Chat(string model) => $$"""{"model":"{{model}}","messages":[{"role":"user","content":"Hello there, slowly."}]}""";

    private Task<HttpResponseMessage> PostAsync(string path, string body) => PostAsync(path, Encoding.UTF8.GetBytes(body));

    private async Task<HttpResponseMessage> PostAsync(string path, byte[] body)
    {
        using var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (path == AnthropicPath)
        {
            request.Headers.Add("anthropic-version", "2023-06-01");
            request.Headers.Add("x-api-key", Live.Secret);
        }
        else
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Live.Secret);
        }
        var response = await http.SendAsync(request).WithTimeout();
        await response.Content.LoadIntoBufferAsync().WithTimeout();
        return response;
    }

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
        using var body = JsonDocument.Parse(text);
        return body.RootElement.GetProperty("error").Clone();
    }

    private async Task AssertRefusedAsync(HttpResponseMessage response)
    {
        var row = await Live.LedgerRowAsync(response.Headers.GetValues("x-corridor-request-id").Single());
        Assert.Equal(RequestOutcome.ClientError, row.Outcome);
        Assert.Equal((int)response.StatusCode, row.Status);
        LedgerAssert.NotBilled(row);
    }

    private async Task AssertStillServingAsync()
    {
        var completion = (await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Still there?")], null, default).WithTimeout()).Value;
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Live.BaseAddress.Port)).WithTimeout();
        return socket;
    }

    /// <summary>Everything the server sends until it closes the connection (or the test's timeout passes).</summary>
    private static async Task<string> ReadUntilClosedAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) is var read and > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // A reset after the answer: what arrived before it stands.
        }
        return Encoding.UTF8.GetString(received.ToArray());
    }

    private static async Task TrickleAsync(Socket socket, ReadOnlyMemory<byte> rest)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        try
        {
            for (var i = 0; i < rest.Length; i++)
            {
                await Task.Delay(500, timeout.Token);
                await socket.SendAsync(rest.Slice(i, 1), SocketFlags.None, timeout.Token);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The gateway has given up on this client: that is the point.
        }
    }
}
