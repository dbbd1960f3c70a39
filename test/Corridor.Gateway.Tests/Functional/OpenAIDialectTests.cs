using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Testing;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// The OpenAI dialect through the official OpenAI SDK (and raw HTTP where the SDK hides a field),
/// served by OpenAI-kind and Azure-OpenAI-kind deployments without translation.
/// </summary>
public sealed class OpenAIDialectTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task Chat_ReturnsTextAndUsage_WithTheRequestIdAndRegionHeaders()
    {
        var chat = Live.OpenAI().GetChatClient("gpt-4.1");

        var result = await chat.CompleteChatAsync([new UserChatMessage("Say hello to the functional tests.")], null, default).WithTimeout();

        var completion = result.Value;
        Assert.False(string.IsNullOrWhiteSpace(Assert.Single(completion.Content).Text));
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.True(completion.Usage.OutputTokenCount > 0);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-corridor-request-id", out var requestId));
        Assert.StartsWith("req_", requestId);
        Assert.True(headers.TryGetValue("x-corridor-region", out var region));
        Assert.Equal("sg", region);

        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.Equal(200, row.Status);
        Assert.Equal("acme", row.TenantId);
        Assert.Equal("sg", row.Region);
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "gpt-4.1-sg", completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task ChatStream_AssemblesTheSameTextAsTheWholeAnswer_AndEndsWithUsage()
    {
        const string Prompt = "Stream a short answer, please.";
        var log = new ResponseLog();
        var chat = Live.OpenAI(log: log).GetChatClient("gpt-4.1");
        var whole = (await chat.CompleteChatAsync([new UserChatMessage(Prompt)], null, default).WithTimeout()).Value;

        var updates = await chat.CompleteChatStreamingAsync([new UserChatMessage(Prompt)], null, default).ToListWithTimeoutAsync();

        Assert.Equal(whole.Content[0].Text, string.Concat(updates.SelectMany(u => u.ContentUpdate).Select(part => part.Text)));
        Assert.Equal(ChatFinishReason.Stop, Assert.Single(updates, u => u.FinishReason is not null).FinishReason);
        // The SDK always asks for include_usage: the usage chunk comes last, after the finish reason.
        var usage = Assert.Single(updates, u => u.Usage is not null).Usage;
        Assert.Same(updates[^1].Usage, usage);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        var response = log.Last;
        Assert.Equal(200, response.Status);
        Assert.Equal("sg", response.Region);

        var row = await Live.LedgerRowAsync(response.RequestId!);
        Assert.Contains("\"include_usage\":true", row.RequestBody?.ToString(), StringComparison.Ordinal);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "gpt-4.1-sg", usage.InputTokenCount, usage.OutputTokenCount);
    }

    [Fact]
    public async Task ChatStream_WithoutIncludeUsage_SendsNoUsageChunk_ButTheLedgerHasTheTokens()
    {
        const string Prompt = "Stream without usage.";
        var whole = (await Live.OpenAI().GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage(Prompt)], null, default).WithTimeout()).Value;
        using var http = Live.Http();
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = Json($$"""{"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":"{{Prompt}}"}]}"""),
        };

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var events = await ServerSentEvents.ReadAllAsync(response, timeout.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", events[^1].Data);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e.Data)).ToList();
        Assert.All(chunks, chunk => Assert.True(
            !chunk.RootElement.TryGetProperty("usage", out var usage) || usage.ValueKind == JsonValueKind.Null,
            "a chunk carries usage the client did not ask for: " + chunk.RootElement));
        Assert.All(chunks, chunk => Assert.NotEqual(0, chunk.RootElement.GetProperty("choices").GetArrayLength()));
        var text = string.Concat(chunks.Select(c => c.RootElement.GetProperty("choices")[0].GetProperty("delta"))
            .Select(delta => delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString() : ""));
        Assert.Equal(whole.Content[0].Text, text);

        var row = await Live.LedgerRowAsync(RequestId(response));
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "gpt-4.1-sg", whole.Usage.InputTokenCount, whole.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task Tools_TheModelCallsTheFunction_AndAnswersInTextAfterTheToolResult()
    {
        var chat = Live.OpenAI().GetChatClient("gpt-4.1");
        var options = new ChatCompletionOptions
        {
            Tools =
            {
                ChatTool.CreateFunctionTool("get_weather", "The current weather in a city.", BinaryData.FromString(
                    """{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"]}""")),
            },
        };
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Singapore?")];

        var first = (await chat.CompleteChatAsync(messages, options, default).WithTimeout()).Value;

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.False(string.IsNullOrEmpty(call.Id));
        using (var arguments = JsonDocument.Parse(call.FunctionArguments))
        {
            Assert.Equal(JsonValueKind.String, arguments.RootElement.GetProperty("city").ValueKind);
        }

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, """{"city":"Singapore","temperature":31,"unit":"c"}"""));
        var second = (await chat.CompleteChatAsync(messages, options, default).WithTimeout()).Value;

        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Empty(second.ToolCalls);
        Assert.False(string.IsNullOrWhiteSpace(second.Content[0].Text));
    }

    [Fact]
    public async Task ToolsStream_TheToolCallArrivesInPieces_ThatJoinIntoTheWholeArguments()
    {
        var chat = Live.OpenAI().GetChatClient("gpt-4.1");
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("lookup_order", "Finds an order.", BinaryData.FromString("""{"type":"object","properties":{"order_id":{"type":"string"}},"required":["order_id"]}""")) },
        };
        ChatMessage[] messages = [new UserChatMessage("Where is order 42?")];
        var whole = (await chat.CompleteChatAsync(messages, options, default).WithTimeout()).Value;

        var updates = await chat.CompleteChatStreamingAsync(messages, options, default).ToListWithTimeoutAsync();

        var pieces = updates.SelectMany(u => u.ToolCallUpdates).ToList();
        Assert.Equal("lookup_order", Assert.Single(pieces, p => p.FunctionName is not null).FunctionName);
        Assert.StartsWith("call_", Assert.Single(pieces, p => p.ToolCallId is not null).ToolCallId, StringComparison.Ordinal);
        Assert.Equal(whole.ToolCalls[0].FunctionArguments.ToString(), string.Concat(pieces.Select(p => p.FunctionArgumentsUpdate?.ToString())));
        Assert.Equal(ChatFinishReason.ToolCalls, Assert.Single(updates, u => u.FinishReason is not null).FinishReason);
    }

    [Fact]
    public async Task ResponseFormatJsonObject_ReturnsContentThatIsAJsonObject()
    {
        var chat = Live.OpenAI().GetChatClient("gpt-4.1");
        var options = new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() };

        var completion = (await chat.CompleteChatAsync([new UserChatMessage("Answer in JSON.")], options, default).WithTimeout()).Value;

        using var json = JsonDocument.Parse(completion.Content[0].Text);
        Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        Assert.NotEmpty(json.RootElement.EnumerateObject());
    }

    [Fact]
    public async Task Logprobs_ArePassedThrough_ForEveryTokenWithTheAlternativesAskedFor()
    {
        var chat = Live.OpenAI().GetChatClient("gpt-4.1");
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 3 };

        var completion = (await chat.CompleteChatAsync([new UserChatMessage("With logprobs.")], options, default).WithTimeout()).Value;

        var tokens = completion.ContentTokenLogProbabilities;
        Assert.NotEmpty(tokens);
        Assert.Equal(completion.Content[0].Text, string.Concat(tokens.Select(t => t.Token)));
        Assert.All(tokens, t =>
        {
            Assert.True(t.LogProbability <= 0);
            Assert.Equal(3, t.TopLogProbabilities.Count);
        });
    }

    [Fact]
    public async Task NOfTwo_ReturnsTwoChoices_BilledForBoth()
    {
        using var http = Live.Http();

        using var response = await http.PostAsync("/v1/chat/completions",
            Json("""{"model":"gpt-4.1","n":2,"messages":[{"role":"user","content":"Two answers, please."}]}""")).WithTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WithTimeout());
        var choices = body.RootElement.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.All(choices, c => Assert.False(string.IsNullOrWhiteSpace(c.GetProperty("message").GetProperty("content").GetString())));
        var usage = body.RootElement.GetProperty("usage");
        var row = await Live.LedgerRowAsync(RequestId(response));
        LedgerAssert.Billed(Live, row, "gpt-4.1-sg", usage.GetProperty("prompt_tokens").GetInt64(), usage.GetProperty("completion_tokens").GetInt64());
    }

    [Fact]
    public async Task Embeddings_ReturnAVector_AndAreBilledForTheirInput()
    {
        var client = Live.OpenAI().GetEmbeddingClient("text-embedding-3-small");

        var result = await client.GenerateEmbeddingAsync("Corridor distributes models to enterprises.").WithTimeout();

        Assert.NotEqual(0, result.Value.ToFloats().Length);
        var headers = result.GetRawResponse().Headers;
        Assert.True(headers.TryGetValue("x-corridor-region", out var region));
        Assert.Equal("us-east", region);
        Assert.True(headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal("/v1/embeddings", row.Endpoint);
        Assert.True(row.InputTokens > 0);
        LedgerAssert.Billed(Live, row, "embed-us", row.InputTokens, 0);
    }

    [Fact]
    public async Task Models_ListsEveryModelOfTheCatalog()
    {
        var client = Live.OpenAI().GetOpenAIModelClient();

        var models = (await client.GetModelsAsync().WithTimeout()).Value;

        Assert.Equal(Live.Config.Catalog.Models.Select(m => m.Id).Order(StringComparer.Ordinal), models.Select(m => m.Id).Order(StringComparer.Ordinal));
        Assert.Equal("openai", models.Single(m => m.Id == "gpt-4.1").OwnedBy);
        Assert.Equal("anthropic", models.Single(m => m.Id == "claude-sonnet-4").OwnedBy);
    }

    [Fact]
    public async Task Models_TakeALimit_AndPageAfterAnId_InOpenAIsCursorListShape()
    {
        using var http = Live.Http();
        var all = Live.Config.Catalog.Models.Select(m => m.Id).Order(StringComparer.Ordinal).ToArray();

        using var first = JsonDocument.Parse(await http.GetStringAsync("/v1/models?limit=2").WithTimeout());
        using var next = JsonDocument.Parse(await http.GetStringAsync($"/v1/models?limit=100&after={all[1]}").WithTimeout());
        using var refused = await http.GetAsync("/v1/models?limit=0").WithTimeout();

        Assert.Equal("list", first.RootElement.GetProperty("object").GetString());
        Assert.Equal(all[..2], first.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!));
        Assert.Equal((true, all[0], all[1]), (first.RootElement.GetProperty("has_more").GetBoolean(),
            first.RootElement.GetProperty("first_id").GetString(), first.RootElement.GetProperty("last_id").GetString()));
        Assert.Equal(all[2..], next.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!));
        Assert.False(next.RootElement.GetProperty("has_more").GetBoolean());
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var error = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Equal("limit", error.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task EveryAnswer_CarriesItsRequestId_AsXRequestId_WhereTheOpenAISdksReadIt()
    {
        // The OpenAI SDKs expose x-request-id as a response's _request_id (Python, Node) and an error's request_id:
        // what applications log and quote to support. It must be the id the ledger and the logs know.
        var log = new ResponseLog();
        var client = Live.OpenAI(log: log);
        await client.GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Hello.")], null, default).WithTimeout();
        await client.GetChatClient("claude-sonnet-4").CompleteChatAsync([new UserChatMessage("Hello.")], null, default).WithTimeout();
        await client.GetChatClient("gpt-4.1").CompleteChatStreamingAsync([new UserChatMessage("Hello.")], null, default).ToListWithTimeoutAsync();
        await client.GetOpenAIModelClient().GetModelsAsync().WithTimeout();
        await Assert.ThrowsAsync<ClientResultException>(() => client.GetChatClient("no-such-model").CompleteChatAsync([new UserChatMessage("Hello.")], null, default).WithTimeout());
        await Assert.ThrowsAsync<ClientResultException>(() =>
            Live.OpenAI("sk-cor-not-a-key", log).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("Hello.")], null, default).WithTimeout());

        Assert.Equal([200, 200, 200, 200, 404, 401], log.Responses.Select(r => r.Status));
        Assert.All(log.Responses, response =>
        {
            Assert.StartsWith("req_", response.RequestId, StringComparison.Ordinal);
            Assert.Equal(response.RequestId, response.Header("x-request-id"));
        });
        Assert.Equal(6, log.Responses.Select(r => r.RequestId).Distinct().Count());
    }

    [Fact]
    public async Task AzureDeployment_ServesTheModel_FromEuWest_UnderItsAzureDeploymentName()
    {
        var before = await Live.SimulatorRequestsAsync();
        var chat = Live.OpenAI().GetChatClient("gpt-4.1-azure");

        var result = await chat.CompleteChatAsync([new UserChatMessage("Hello from Azure.")], null, default).WithTimeout();

        Assert.False(string.IsNullOrWhiteSpace(result.Value.Content[0].Text));
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-corridor-region", out var region));
        Assert.Equal("eu-west", region);
        var after = await Live.SimulatorRequestsAsync();
        Assert.Equal(Count(before, "/openai/deployments/gpt41-eu/chat/completions") + 1, Count(after, "/openai/deployments/gpt41-eu/chat/completions"));
        Assert.True(result.GetRawResponse().Headers.TryGetValue("x-corridor-request-id", out var requestId));
        var row = await Live.LedgerRowAsync(requestId!);
        Assert.Equal("eu-west", row.Region);
        LedgerAssert.Billed(Live, row, "gpt-4.1-azure-eu", result.Value.Usage.InputTokenCount, result.Value.Usage.OutputTokenCount);
    }

    [Fact]
    public async Task ARequestBodySentChunked_OrInPiecesWithItsLength_IsReadWhole()
    {
        using var http = Live.Http();
        foreach (var chunked in new[] { true, false })
        {
            var body = $$"""{"model":"gpt-4.1","messages":[{"role":"user","content":"A body sent {{(chunked ? "chunked" : "in two pieces")}}."}]}""";
            var bytes = Encoding.UTF8.GetBytes(body);
            using var content = new InPieces(bytes, chunked);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = content };
            request.Headers.TransferEncodingChunked = chunked;

            using var response = await http.SendAsync(request).WithTimeout();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var row = await Live.LedgerRowAsync(RequestId(response));
            Assert.Equal(RequestOutcome.Success, row.Outcome);
            Assert.Equal(body, row.RequestBody?.ToString());
        }
    }

    /// <summary>A body written in two pieces 100 ms apart; with its length declared unless sent chunked.</summary>
    private sealed class InPieces(byte[] bytes, bool chunked) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            var half = bytes.Length / 2;
            await stream.WriteAsync(bytes.AsMemory(0, half));
            await stream.FlushAsync();
            await Task.Delay(100);
            await stream.WriteAsync(bytes.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return !chunked;
        }
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string RequestId(HttpResponseMessage response) => response.Headers.GetValues("x-corridor-request-id").Single();

    private static long Count(IReadOnlyDictionary<string, long> requests, string path) => requests.TryGetValue(path, out var count) ? count : 0;
}
