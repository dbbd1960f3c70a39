using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Corridor.Gateway.Tests.Functional;
using Corridor.Simulator;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Security;

/// <summary>
/// A gateway whose three vendors (OpenAI, Azure OpenAI, Anthropic) each need a credential that only the gateway holds (the
/// simulator refuses requests without it), reached through a <see cref="TcpRelay"/> that keeps the bytes the gateway sends;
/// and two models (echo-openai, echo-claude) on an upstream that answers with an error quoting the whole request it got,
/// head and all, as a debugging proxy may: a 400, or a 200 stream whose one event is an error (when the request streams).
/// A prompt holding "escaped" gets the quote with every character written as a JSON <c>\u</c> escape.
/// </summary>
public sealed class CredentialedUpstreamFixture : LiveGatewayFixture
{
    private readonly string _credentialEnv = "CORRIDOR_TEST_VENDOR_KEY_" + Guid.NewGuid().ToString("N");
    private TcpRelay? _relay;

    public string VendorCredential { get; } = "vendor-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public TcpRelay Relay => _relay ?? throw new InvalidOperationException("the relay has not started");

    protected override Task<LiveGateway> StartAsync()
    {
        Environment.SetEnvironmentVariable(_credentialEnv, VendorCredential);
        var echo = Own(new ScriptedUpstream());
        echo.AnswerRequests(Echo);
        var echoUrl = echo.BaseUrl.ToString().TrimEnd('/');
        return LiveGateway.StartAsync(
            simulator =>
            {
                _relay = Own(TcpRelay.Start(simulator));
                var sim = _relay.Address.ToString().TrimEnd('/');
                return $$"""
                    vendors:
                      - { id: openai, kind: openai, baseUrl: "{{sim}}/v1" }
                      - { id: azure, kind: azure-openai, baseUrl: "{{sim}}", apiVersion: "2024-10-21" }
                      - { id: anthropic, kind: anthropic, baseUrl: "{{sim}}/v1", betas: [context-management-2025-06-27, interleaved-thinking-2025-05-14, fine-grained-tool-streaming-2025-05-14] }
                    models:
                      - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1047576 }
                      - { id: gpt-4.1-azure, vendor: openai, capabilities: [chat], contextWindow: 1047576 }
                      - { id: claude-sonnet-4, vendor: anthropic, capabilities: [chat], contextWindow: 200000, maxOutputTokens: 1024 }
                      - { id: echo-openai, vendor: openai, capabilities: [chat], contextWindow: 8192 }
                      - { id: echo-claude, vendor: anthropic, capabilities: [chat], contextWindow: 8192, maxOutputTokens: 1024 }
                    deployments:
                      - { id: gpt-4.1-sg, model: gpt-4.1, region: sg, credentialEnv: {{_credentialEnv}}, price: { input: 2, output: 8 } }
                      - { id: gpt-4.1-azure-eu, model: gpt-4.1-azure, region: eu-west, via: azure, upstreamModel: gpt41-eu, credentialEnv: {{_credentialEnv}}, price: { input: 2, output: 8 } }
                      - { id: claude-us, model: claude-sonnet-4, region: us-east, credentialEnv: {{_credentialEnv}}, price: { input: 3, output: 15 } }
                      - { id: echo-openai-sg, model: echo-openai, region: sg, endpoint: "{{echoUrl}}/v1", credentialEnv: {{_credentialEnv}}, price: { input: 1, output: 1 } }
                      - { id: echo-claude-us, model: echo-claude, region: us-east, endpoint: "{{echoUrl}}/v1", credentialEnv: {{_credentialEnv}}, price: { input: 1, output: 1 } }
                    """;
            },
            new SimulatorOptions { TokenInterval = TimeSpan.Zero, RequiredApiKey = VendorCredential });
    }

    private static string Echo(string request)
    {
        var quoted = request.Contains("escaped", StringComparison.Ordinal)
            ? "\"" + string.Concat(request.Select(c => $"\\u{(int)c:x4}")) + "\""
            : JsonSerializer.Serialize(request);
        var anthropic = request.StartsWith("POST /v1/messages ", StringComparison.Ordinal);
        var error = anthropic
            ? $$$"""{"type":"error","error":{"type":"invalid_request_error","message":{{{quoted}}}}}"""
            : $$$"""{"error":{"message":{{{quoted}}},"type":"invalid_request_error","param":null,"code":null}}""";
        return request.Contains("\"stream\":true", StringComparison.Ordinal)
            ? UnusualUpstreamFixture.EventStream(anthropic ? $"event: error\ndata: {error}\n\n" : $"data: {error}\n\n")
            : UnusualUpstreamFixture.Json("400 Bad Request", error);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Environment.SetEnvironmentVariable(_credentialEnv, null);
    }
}

/// <summary>
/// Clients cannot steer what carries credentials upstream: whatever credential headers (<c>Authorization</c>, <c>x-api-key</c>,
/// <c>api-key</c>), <c>Host</c>, forwarding headers or URL overrides a client sends, the upstream gets the configured URL,
/// the configured host and the vendor's credential, and never the tenant's key or the client's values.
/// </summary>
public sealed class UpstreamHeaderTests(CredentialedUpstreamFixture fixture) : IClassFixture<CredentialedUpstreamFixture>
{
    private const string Injected = "injected-by-client";

    private LiveGateway Live => fixture.Live;

    [Theory]
    [InlineData("/v1/chat/completions", "gpt-4.1", "/v1/chat/completions")]
    [InlineData("/v1/chat/completions", "gpt-4.1-azure", "/openai/deployments/gpt41-eu/chat/completions?api-version=2024-10-21")]
    [InlineData("/v1/messages", "claude-sonnet-4", "/v1/messages")]
    public async Task ClientHeadersAndOverrides_NeverReachTheUpstream(string path, string model, string upstreamTarget)
    {
        var before = fixture.Relay.Sent.Length;
        using var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        // The tenant's key in x-api-key (which authenticates); every other credential-carrying header holds the client's value.
        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"{path}?api-version={Injected}&base_url=http://{Injected}.example/&api_base=http://{Injected}.example/")
        {
            Content = new StringContent(path == "/v1/messages"
                ? $$"""{"model":"{{model}}","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}"""
                : $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", Live.Secret);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Injected + "-bearer");
        request.Headers.Add("api-key", Injected + "-azure");
        request.Headers.Host = Injected + ".example";
        request.Headers.Add("X-Forwarded-Host", Injected + ".example");
        request.Headers.Add("X-Forwarded-Proto", "gopher");
        request.Headers.Add("Forwarded", $"host={Injected}.example");
        request.Headers.Add("OpenAI-Organization", Injected);
        request.Headers.Add("anthropic-version", "1999-01-01");
        request.Headers.Add("x-upstream-url", $"http://{Injected}.example/");
        request.Headers.Add("Proxy-Authorization", "Basic " + Injected);
        request.Headers.Add("Cookie", "session=" + Injected);

        using var response = await http.SendAsync(request).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var sent = fixture.Relay.Sent[before..];
        var requestLine = sent.Split("\r\n")[0];
        Assert.Equal($"POST {upstreamTarget} HTTP/1.1", requestLine);
        Assert.Contains($"\r\nHost: {fixture.Relay.Address.Authority}\r\n", sent, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(fixture.VendorCredential, sent, StringComparison.Ordinal);
        Assert.DoesNotContain(Live.Secret, sent, StringComparison.Ordinal);
        Assert.DoesNotContain(Injected, sent, StringComparison.Ordinal);
        Assert.DoesNotContain("1999-01-01", sent, StringComparison.Ordinal);
        Assert.DoesNotContain("gopher", sent, StringComparison.Ordinal);
    }

    /// <summary>
    /// An Anthropic client's <c>anthropic-beta</c> names features its body may use (Claude Code sends
    /// <c>context_management</c> with <c>context-management-2025-06-27</c>); Anthropic refuses such a body without the header
    /// ("context_management: Extra inputs are not permitted"). So the list goes to an Anthropic-kind upstream, messages
    /// (whole and streamed) and token counts alike, every header the client sent joined into one, and to no other kind.
    /// </summary>
    [Theory]
    [InlineData("/v1/messages", false)]
    [InlineData("/v1/messages", true)]
    [InlineData("/v1/messages/count_tokens", false)]
    public async Task AnAnthropicClientsBetas_GoToAnAnthropicUpstream(string path, bool stream)
    {
        var before = fixture.Relay.Sent.Length;

        var (status, _) = await SendWithBetasAsync(path, path == "/v1/messages"
            ? $$"""{"model":"claude-sonnet-4","max_tokens":32,"stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}"""
            : """{"model":"claude-sonnet-4","messages":[{"role":"user","content":"hi"}]}""",
            "context-management-2025-06-27, interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14");

        Assert.Equal(HttpStatusCode.OK, status);
        var sent = fixture.Relay.Sent[before..];
        Assert.Contains("\r\nanthropic-beta: context-management-2025-06-27,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14\r\n", sent, StringComparison.Ordinal);
        Assert.Single(sent.Split("\r\n"), line => line.StartsWith("anthropic-beta", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Only the betas the operator enabled on the vendor (<c>vendors[].betas</c>) go upstream: a beta can change what
    /// Anthropic charges (a longer context's price), reach out of Anthropic's service (its MCP connector) or keep data
    /// there (its Files API), none of which the price book, policy or the tenant's isolation covers. The others are left
    /// out; the request is served without them.
    /// </summary>
    [Theory]
    [InlineData("context-1m-2025-08-07, context-management-2025-06-27, mcp-client-2025-04-04", "context-management-2025-06-27")]
    [InlineData("context-1m-2025-08-07,files-api-2025-04-14", null)]
    public async Task OnlyTheBetasEnabledOnTheVendor_GoUpstream(string asked, string? sent)
    {
        var before = fixture.Relay.Sent.Length;

        var (status, _) = await SendWithBetasAsync("/v1/messages", """{"model":"claude-sonnet-4","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}""", asked);

        Assert.Equal(HttpStatusCode.OK, status);
        var lines = fixture.Relay.Sent[before..].Split("\r\n");
        Assert.Equal(sent is null ? [] : [$"anthropic-beta: {sent}"], lines.Where(line => line.StartsWith("anthropic-beta", StringComparison.OrdinalIgnoreCase)));
    }

    /// <summary>
    /// A message batch's <c>anthropic-beta</c> header, sent when it is made, is kept with the batch and goes with each of its
    /// requests to an Anthropic upstream, as a live request's would: only the betas enabled on the vendor. A value that is no
    /// list of names is refused on create, and no batch is made.
    /// </summary>
    [Fact]
    public async Task AMessageBatchsBetas_GoWithEachOfItsRequests_OnlyThoseEnabledOnTheVendor()
    {
        var before = fixture.Relay.Sent.Length;
        const string Batch = """{"requests":[{"custom_id":"a","params":{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"one"}]}},"""
            + """{"custom_id":"b","params":{"model":"claude-sonnet-4","max_tokens":16,"messages":[{"role":"user","content":"two"}]}}]}""";

        var (refused, _) = await SendWithBetasAsync("/v1/messages/batches", Batch, "a b");
        var (status, body) = await SendWithBetasAsync("/v1/messages/batches", Batch, "message-batches-2024-09-24, context-management-2025-06-27", "context-1m-2025-08-07");

        Assert.Equal(HttpStatusCode.BadRequest, refused);
        Assert.Equal(HttpStatusCode.OK, status);
        using var created = JsonDocument.Parse(body);
        var id = created.RootElement.GetProperty("id").GetString()!;
        using var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        http.DefaultRequestHeaders.Add("x-api-key", Live.Secret);
        http.DefaultRequestHeaders.Add("anthropic-version", "2023-06-01");
        var succeeded = 0;
        await TestTimeouts.UntilAsync(async () =>
        {
            using var batch = JsonDocument.Parse(await http.GetStringAsync($"/v1/messages/batches/{id}").WithTimeout());
            succeeded = batch.RootElement.GetProperty("request_counts").GetProperty("succeeded").GetInt32();
            return batch.RootElement.GetProperty("processing_status").GetString() == "ended";
        });
        Assert.Equal(2, succeeded);
        var lines = fixture.Relay.Sent[before..].Split("\r\n");
        Assert.Equal(["anthropic-beta: context-management-2025-06-27", "anthropic-beta: context-management-2025-06-27"],
            lines.Where(line => line.StartsWith("anthropic-beta", StringComparison.OrdinalIgnoreCase)));
    }

    [Theory]
    [InlineData("/v1/messages", "gpt-4.1")]
    [InlineData("/v1/chat/completions", "claude-sonnet-4")]
    public async Task BetasGoNowhereElse_NotToAnOpenAIUpstream_NorFromAnOpenAIClient(string path, string model)
    {
        var before = fixture.Relay.Sent.Length;

        var (status, _) = await SendWithBetasAsync(path, path == "/v1/messages"
            ? $$"""{"model":"{{model}}","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}"""
            : $$"""{"model":"{{model}}","messages":[{"role":"user","content":"hi"}]}""", "context-management-2025-06-27");

        Assert.Equal(HttpStatusCode.OK, status);
        var sent = fixture.Relay.Sent[before..];
        Assert.NotEmpty(sent);
        Assert.DoesNotContain("anthropic-beta", sent, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("context-management", sent, StringComparison.Ordinal);
    }

    /// <summary>
    /// Only names of betas go upstream: a value that is anything else (a header's syntax, a space inside a name, a
    /// character outside letters, digits, '.', '_' and '-') is refused, naming the header, and nothing is sent.
    /// </summary>
    [Theory]
    [InlineData("context-management-2025-06-27; x-api-key=other")]
    [InlineData("a b")]
    [InlineData("beta/1")]
    [InlineData("x:y")]
    public async Task ABetaThatIsNoName_IsRefused_AndNothingGoesUpstream(string beta)
    {
        var before = fixture.Relay.Sent.Length;

        var (status, body) = await SendWithBetasAsync("/v1/messages", """{"model":"claude-sonnet-4","max_tokens":32,"messages":[{"role":"user","content":"hi"}]}""", beta);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        using var error = JsonDocument.Parse(body);
        Assert.Equal("invalid_request_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains("anthropic-beta", error.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, fixture.Relay.Sent.Length);
    }

    /// <summary>
    /// POSTs <paramref name="body"/> to <paramref name="path"/> with the tenant's key in x-api-key, <c>anthropic-version</c>
    /// on the Anthropic paths, and one <c>anthropic-beta</c> header per item of <paramref name="betas"/>; the status and body.
    /// </summary>
    private async Task<(HttpStatusCode Status, string Body)> SendWithBetasAsync(string path, string body, params string[] betas)
    {
        using var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", Live.Secret);
        if (path.StartsWith("/v1/messages", StringComparison.Ordinal))
        {
            request.Headers.Add("anthropic-version", "2023-06-01");
        }
        foreach (var beta in betas)
        {
            request.Headers.TryAddWithoutValidation("anthropic-beta", beta);
        }
        using var response = await http.SendAsync(request).WithTimeout();
        return (response.StatusCode, await response.Content.ReadAsStringAsync().WithTimeout());
    }

    /// <summary>
    /// A model name is looked up in the catalog as written, and the upstream's path (Azure's deployment in it) comes from
    /// the catalog: a name with path, query, fragment, escape or line-break characters is an unknown model, and nothing is
    /// sent upstream.
    /// </summary>
    [Theory]
    [InlineData("gpt-4.1-azure/../../v1/chat/completions")]
    [InlineData("../gpt-4.1-azure")]
    [InlineData("gpt-4.1-azure?api-version=1999-01-01")]
    [InlineData("gpt-4.1-azure#")]
    [InlineData("gpt-4.1-azure%2f..%2f")]
    [InlineData("gpt-4.1-azure\r\nHost: injected-by-client.example")]
    [InlineData("gpt-4.1-azure ")]
    [InlineData("GPT-4.1-AZURE")]
    public async Task AModelNameWithPathCharacters_IsAnUnknownModel_AndNothingGoesUpstream(string model)
    {
        var before = fixture.Relay.Sent.Length;
        using var http = Live.Http();

        using var response = await http.PostAsync("/v1/chat/completions", new StringContent(
            $$"""{"model":{{JsonSerializer.Serialize(model)}},"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json")).WithTimeout();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("model_not_found", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, fixture.Relay.Sent.Length);
    }

    [Fact]
    public async Task TheVendorCredential_NeverComesBackToTheClient()
    {
        using var http = Live.Http();
        foreach (var model in new[] { "gpt-4.1", "gpt-4.1-azure" })
        {
            using var response = await http.PostAsync("/v1/chat/completions", new StringContent(
                $$"""{"model":"{{model}}","stream":true,"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json")).WithTimeout();
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.DoesNotContain(fixture.VendorCredential, body + response.Headers + response.Content.Headers, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// An upstream's error quoting the request it got (its credential header among it) is the client's error still, with
    /// the upstream's status, but without the quote: whether relayed as is (same dialect) or as its message (translated),
    /// whole or as a stream's error event, plainly or with every character escaped.
    /// </summary>
    [Theory]
    [InlineData("/v1/chat/completions", "echo-openai", false, "plain")]
    [InlineData("/v1/chat/completions", "echo-openai", false, "escaped")]
    [InlineData("/v1/chat/completions", "echo-openai", true, "plain")]
    [InlineData("/v1/chat/completions", "echo-openai", true, "escaped")]
    [InlineData("/v1/chat/completions", "echo-claude", false, "plain")]
    [InlineData("/v1/chat/completions", "echo-claude", true, "escaped")]
    [InlineData("/v1/messages", "echo-claude", false, "plain")]
    [InlineData("/v1/messages", "echo-claude", true, "escaped")]
    [InlineData("/v1/messages", "echo-openai", false, "escaped")]
    [InlineData("/v1/messages", "echo-openai", true, "plain")]
    [InlineData("/v1/responses", "echo-openai", false, "plain")]
    [InlineData("/v1/responses", "echo-openai", true, "escaped")]
    [InlineData("/v1/responses", "echo-claude", true, "plain")]
    public async Task AnUpstreamErrorQuotingTheRequest_ReachesTheClient_WithoutTheVendorCredential(string path, string model, bool stream, string prompt)
    {
        using var http = Live.Http();
        var streamField = stream ? "\"stream\":true," : "";
        using var response = await http.PostAsync(path, new StringContent(path switch
        {
            "/v1/messages" => $$"""{"model":"{{model}}",{{streamField}}"max_tokens":32,"messages":[{"role":"user","content":"{{prompt}}"}]}""",
            "/v1/responses" => $$"""{"model":"{{model}}",{{streamField}}"input":"{{prompt}}"}""",
            _ => $$"""{"model":"{{model}}",{{streamField}}"messages":[{"role":"user","content":"{{prompt}}"}]}""",
        }, Encoding.UTF8, "application/json")).WithTimeout();
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(stream ? HttpStatusCode.OK : HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("error", body, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.VendorCredential, Decoded(body) + response.Headers + response.Content.Headers, StringComparison.Ordinal);
        if (stream)
        {
            // The error event is the stream's own: a Responses stream's named ones, the others' with the upstream's code.
            var last = body.TrimEnd('\n').Split("\n\n")[^1];
            Assert.True(path == "/v1/responses" ? last.StartsWith("event: response.failed\n", StringComparison.Ordinal) : last.Contains("\"upstream_stream_error\"", StringComparison.Ordinal)
                || last.StartsWith("event: error\n", StringComparison.Ordinal), last);
        }
    }

    /// <summary><paramref name="body"/> with every JSON string in it (the body, or each event's data) added decoded.</summary>
    private static string Decoded(string body) => string.Join("\n", body.Split('\n')
        .Select(line => line.StartsWith("data: ", StringComparison.Ordinal) ? line["data: ".Length..] : line)
        .Select(line => line.StartsWith('{') ? line + "\n" + string.Join("\n", Strings(line)) : line));

    private static List<string> Strings(string json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. Strings(document.RootElement)];
    }

    private static IEnumerable<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Strings(p.Value).Prepend(p.Name)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Strings),
        JsonValueKind.String => [element.GetString()!],
        _ => [],
    };
}
