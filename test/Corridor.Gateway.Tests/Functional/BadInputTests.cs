using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic.Exceptions;
using Corridor.Core.Metering;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// Requests the gateway must refuse, in each dialect: malformed or mistyped bodies, unknown models, bodies over the
/// limit, and missing, unknown or revoked keys. Every refusal leaves a ledger row that is never billed, and the next
/// good request is served.
/// </summary>
public sealed class BadInputTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private const string OpenAIPath = "/v1/chat/completions";
    private const string AnthropicPath = "/v1/messages";

    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task MalformedJson_IsA400InTheOpenAIDialect()
    {
        using var response = await PostAsync(OpenAIPath, """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}""");

        var error = await OpenAIErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.StartsWith("The request body is not valid JSON", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertRefusedAndStillServingAsync(response, RequestOutcome.ClientError);
    }

    [Fact]
    public async Task MalformedJson_IsA400InTheAnthropicDialect()
    {
        using var response = await PostAsync(AnthropicPath, """{"model":"claude-sonnet-4","max_tokens":10,"messages":[""");

        var error = await AnthropicErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.StartsWith("The request body is not valid JSON", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertRefusedAndStillServingAsync(response, RequestOutcome.ClientError);
    }

    [Theory]
    [InlineData("""{"model":42,"messages":[{"role":"user","content":"hi"}]}""", "model")]
    [InlineData("""{"model":"gpt-4.1","messages":"hi"}""", "messages")]
    [InlineData("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream")]
    [InlineData("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"n":"two"}""", "n")]
    [InlineData("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"max_tokens":"many"}""", "max_tokens")]
    [InlineData("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream_options":true}""", "stream_options")]
    public async Task WrongTypes_AreA400NamingTheParamInTheOpenAIDialect(string body, string param)
    {
        using var response = await PostAsync(OpenAIPath, body);

        var error = await OpenAIErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        await AssertRefusedAndStillServingAsync(response, RequestOutcome.ClientError);
    }

    [Theory]
    [InlineData("""{"model":"claude-sonnet-4","max_tokens":"many","messages":[{"role":"user","content":"hi"}]}""", "max_tokens")]
    [InlineData("""{"model":"claude-sonnet-4","messages":[{"role":"user","content":"hi"}]}""", "max_tokens")]
    [InlineData("""{"model":"claude-sonnet-4","max_tokens":10,"messages":{"role":"user"}}""", "messages")]
    [InlineData("""{"model":["claude-sonnet-4"],"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", "model")]
    public async Task WrongTypes_AreA400NamingTheFieldInTheAnthropicDialect(string body, string field)
    {
        using var response = await PostAsync(AnthropicPath, body);

        var error = await AnthropicErrorAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains(field, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        await AssertRefusedAndStillServingAsync(response, RequestOutcome.ClientError);
    }

    [Fact]
    public async Task UnknownModel_IsA404ModelNotFound_ForTheOpenAIClient()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI().GetChatClient("gpt-9").CompleteChatAsync([new UserChatMessage("hi")], null, default).WithTimeout());

        Assert.Equal(404, error.Status);
        var response = error.GetRawResponse()!;
        using (var body = JsonDocument.Parse(response.Content))
        {
            var detail = body.RootElement.GetProperty("error");
            Assert.Equal("model_not_found", detail.GetProperty("code").GetString());
            Assert.Equal("model", detail.GetProperty("param").GetString());
            Assert.Equal("invalid_request_error", detail.GetProperty("type").GetString());
            Assert.Contains("'gpt-9'", detail.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.True(response.Headers.TryGetValue("x-corridor-request-id", out var requestId));
        Assert.Equal("acme", (await Live.LedgerRowAsync(requestId!)).TenantId);
        await AssertRefusedAndStillServingAsync(requestId!, RequestOutcome.ClientError, 404);
    }

    [Fact]
    public async Task UnknownModel_IsA404NotFoundError_ForTheAnthropicClient()
    {
        var log = new ResponseLog();

        var error = await Assert.ThrowsAsync<AnthropicNotFoundException>(() =>
            Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask("claude-9", "hi")).WithTimeout());

        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
        using (var body = JsonDocument.Parse(error.ResponseBody))
        {
            Assert.Equal("not_found_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
            Assert.Contains("'claude-9'", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        await AssertRefusedAndStillServingAsync(log.Last.RequestId!, RequestOutcome.ClientError, 404);
    }

    [Fact]
    public async Task BodyOverTheLimit_IsA413_ForTheOpenAIClient()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage(OverTheLimit())], null, default).WithTimeout());

        Assert.Equal(413, error.Status);
        var response = error.GetRawResponse()!;
        using (var body = JsonDocument.Parse(response.Content))
        {
            Assert.Equal("request_too_large", body.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Contains("65536", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }
        Assert.True(response.Headers.TryGetValue("x-corridor-request-id", out var requestId));
        await AssertRefusedAndStillServingAsync(requestId!, RequestOutcome.ClientError, 413);
    }

    [Fact]
    public async Task BodyOverTheLimit_IsA413_ForTheAnthropicClient()
    {
        var log = new ResponseLog();

        var error = await Assert.ThrowsAnyAsync<AnthropicApiException>(() =>
            Live.Anthropic(log: log).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", OverTheLimit())).WithTimeout());

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, error.StatusCode);
        using (var body = JsonDocument.Parse(error.ResponseBody))
        {
            Assert.Equal("request_too_large", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        await AssertRefusedAndStillServingAsync(log.Last.RequestId!, RequestOutcome.ClientError, 413);
    }

    [Fact]
    public async Task ChunkedBodyOverTheLimit_IsA413Too()
    {
        using var http = Live.Http();
        var bytes = Encoding.UTF8.GetBytes($$"""{"model":"gpt-4.1","messages":[{"role":"user","content":"{{OverTheLimit()}}"}]}""");
        // No Content-Length: the gateway finds out while reading.
        using var content = new StreamContent(new MemoryStream(bytes));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, OpenAIPath) { Content = content };
        request.Headers.TransferEncodingChunked = true;

        using var response = await http.SendAsync(request).WithTimeout();

        var error = await OpenAIErrorAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("request_too_large", error.GetProperty("code").GetString());
        await AssertRefusedAndStillServingAsync(response, RequestOutcome.ClientError);
    }

    [Theory]
    [InlineData(OpenAIPath, """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData(AnthropicPath, """{"model":"claude-sonnet-4","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""")]
    public async Task MissingKey_IsA401(string path, string body)
    {
        using var response = await PostAsync(path, body, withKey: false);

        if (path == OpenAIPath)
        {
            var error = await OpenAIErrorAsync(response, HttpStatusCode.Unauthorized);
            Assert.Equal("missing_api_key", error.GetProperty("code").GetString());
        }
        else
        {
            var error = await AnthropicErrorAsync(response, HttpStatusCode.Unauthorized);
            Assert.Equal("authentication_error", error.GetProperty("type").GetString());
        }
        await AssertRefusedAndStillServingAsync(response, RequestOutcome.Unauthorized);
    }

    [Fact]
    public async Task UnknownKey_IsA401_ForBothClients()
    {
        const string Unknown = "sk-corridor-this-key-was-never-issued";
        var openAI = await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI(Unknown).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hi")], null, default).WithTimeout());
        var log = new ResponseLog();
        var anthropic = await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() =>
            Live.Anthropic(Unknown, log).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi")).WithTimeout());

        Assert.Equal(401, openAI.Status);
        using (var body = JsonDocument.Parse(openAI.GetRawResponse()!.Content))
        {
            Assert.Equal("invalid_api_key", body.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        Assert.Equal(HttpStatusCode.Unauthorized, anthropic.StatusCode);
        using (var body = JsonDocument.Parse(anthropic.ResponseBody))
        {
            Assert.Equal("authentication_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
        Assert.True(openAI.GetRawResponse()!.Headers.TryGetValue("x-corridor-request-id", out var openAIRequestId));
        await AssertRefusedAndStillServingAsync(openAIRequestId!, RequestOutcome.Unauthorized, 401);
        await AssertRefusedAndStillServingAsync(log.Last.RequestId!, RequestOutcome.Unauthorized, 401);
    }

    [Fact]
    public async Task RevokedKey_StopsWorkingWithinTheCacheRefresh_ForBothClients()
    {
        var secret = await Live.AddTenantWithKeyAsync("revoked-co", "SG").WithTimeout();
        var chat = Live.OpenAI(secret).GetChatClient("gpt-4.1");
        Assert.Equal(ChatFinishReason.Stop, (await chat.CompleteChatAsync([new UserChatMessage("hi")], null, default).WithTimeout()).Value.FinishReason);
        var key = Assert.Single(await Live.Store.ListKeysAsync("revoked-co", default).WithTimeout());

        Assert.True(await Live.Store.RevokeKeyAsync(key.Id, DateTimeOffset.UtcNow, default).WithTimeout());

        // The gateway learns of the revocation when its key cache next sees the store's revision move.
        var refused = await UntilRefusedAsync(chat);
        Assert.Equal(401, refused.Status);
        using (var body = JsonDocument.Parse(refused.GetRawResponse()!.Content))
        {
            Assert.Equal("This API key has been revoked.", body.RootElement.GetProperty("error").GetProperty("message").GetString());
        }
        var log = new ResponseLog();
        await Assert.ThrowsAsync<AnthropicUnauthorizedException>(() =>
            Live.Anthropic(secret, log).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi")).WithTimeout());
        Assert.True(refused.GetRawResponse()!.Headers.TryGetValue("x-corridor-request-id", out var requestId));
        await AssertRefusedAndStillServingAsync(requestId!, RequestOutcome.Unauthorized, 401);
        await AssertRefusedAndStillServingAsync(log.Last.RequestId!, RequestOutcome.Unauthorized, 401);
    }

    [Fact]
    public async Task NewKey_WorksForBothClients_AndIsBilledToItsTenant()
    {
        var secret = await Live.AddTenantWithKeyAsync("globex", "JP").WithTimeout();

        var completion = await Live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hi")], null, default).WithTimeout();
        var log = new ResponseLog();
        var message = await Live.Anthropic(secret, log).Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "hi")).WithTimeout();

        Assert.True(completion.GetRawResponse().Headers.TryGetValue("x-corridor-request-id", out var requestId));
        var openAIRow = await Live.LedgerRowAsync(requestId!);
        Assert.Equal("globex", openAIRow.TenantId);
        LedgerAssert.Billed(Live, openAIRow, "gpt-4.1-sg", completion.Value.Usage.InputTokenCount, completion.Value.Usage.OutputTokenCount);
        var anthropicRow = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal("globex", anthropicRow.TenantId);
        LedgerAssert.Billed(Live, anthropicRow, "claude-us", message.Usage.InputTokens, message.Usage.OutputTokens);
    }

    /// <summary>A user message that alone takes the body over the test catalog's 65536-byte limit.</summary>
    private static string OverTheLimit() => new('x', 70_000);

    private static async Task<ClientResultException> UntilRefusedAsync(ChatClient chat)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        while (true)
        {
            try
            {
                await chat.CompleteChatAsync([new UserChatMessage("still allowed?")], null, timeout.Token);
            }
            catch (ClientResultException e) when (e.Status == 401)
            {
                return e;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token);
        }
    }

    /// <summary>Posts a raw body as the dialect's clients do: with acme's key in the dialect's header unless told not to.</summary>
    private async Task<HttpResponseMessage> PostAsync(string path, string body, bool withKey = true)
    {
        using var http = new HttpClient { BaseAddress = Live.BaseAddress, Timeout = TestTimeouts.Default };
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (path == AnthropicPath)
        {
            request.Headers.Add("anthropic-version", "2023-06-01");
            if (withKey)
            {
                request.Headers.Add("x-api-key", Live.Secret);
            }
        }
        else if (withKey)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Live.Secret);
        }
        var response = await http.SendAsync(request).WithTimeout();
        await response.Content.LoadIntoBufferAsync().WithTimeout();
        return response;
    }

    private static async Task<JsonElement> OpenAIErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WithTimeout());
        return body.RootElement.GetProperty("error").Clone();
    }

    private static async Task<JsonElement> AnthropicErrorAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WithTimeout());
        Assert.Equal("error", body.RootElement.GetProperty("type").GetString());
        Assert.Equal(RequestId(response), body.RootElement.GetProperty("request_id").GetString());
        return body.RootElement.GetProperty("error").Clone();
    }

    private Task AssertRefusedAndStillServingAsync(HttpResponseMessage response, RequestOutcome outcome) =>
        AssertRefusedAndStillServingAsync(RequestId(response), outcome, (int)response.StatusCode);

    /// <summary>The refusal's ledger row is kept but not billed, and the next good request is served.</summary>
    private async Task AssertRefusedAndStillServingAsync(string requestId, RequestOutcome outcome, int status)
    {
        var row = await Live.LedgerRowAsync(requestId);
        Assert.Equal(outcome, row.Outcome);
        Assert.Equal(status, row.Status);
        LedgerAssert.NotBilled(row);

        var completion = (await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("A good request.")], null, default).WithTimeout()).Value;
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        var message = await Live.Anthropic().Messages.Create(AnthropicDialectTests.Ask("claude-sonnet-4", "A good request.")).WithTimeout();
        Assert.Equal("end_turn", message.StopReason?.Raw());
    }

    private static string RequestId(HttpResponseMessage response) => response.Headers.GetValues("x-corridor-request-id").Single();
}
