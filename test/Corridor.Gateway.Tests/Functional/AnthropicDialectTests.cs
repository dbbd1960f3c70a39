using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using Anthropic.Models.Models;
using Corridor.Core.Metering;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>The Anthropic dialect through the official Anthropic SDK, served by an Anthropic-kind deployment (pass-through).</summary>
public sealed class AnthropicDialectTests(LiveGatewayFixture fixture) : IClassFixture<LiveGatewayFixture>
{
    private LiveGateway Live => fixture.Live;

    [Fact]
    public async Task Messages_ReturnTextAndUsage_WithTheRequestIdAndRegionHeaders()
    {
        var log = new ResponseLog();
        var client = Live.Anthropic(log: log);

        var message = await client.Messages.Create(Ask("claude-sonnet-4", "Say hello to the functional tests.")).WithTimeout();

        Assert.Equal("end_turn", message.StopReason?.Raw());
        Assert.False(string.IsNullOrWhiteSpace(Text(message)));
        Assert.True(message.Usage.InputTokens > 0);
        Assert.True(message.Usage.OutputTokens > 0);
        var response = log.Last;
        Assert.Equal(200, response.Status);
        Assert.Equal("us-east", response.Region);
        Assert.StartsWith("req_", response.RequestId, StringComparison.Ordinal);

        var row = await Live.LedgerRowAsync(response.RequestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.Equal("/v1/messages", row.Endpoint);
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "claude-us", message.Usage.InputTokens, message.Usage.OutputTokens);
    }

    [Fact]
    public async Task EveryAnswer_CarriesItsRequestId_AsRequestId_WhereTheAnthropicSdksReadIt()
    {
        // The Anthropic SDKs expose the request-id header as a message's _request_id (Python, TypeScript) and an error's.
        var log = new ResponseLog();
        await Live.Anthropic(log: log).Messages.Create(Ask("claude-sonnet-4", "Hello.")).WithTimeout();
        await Live.Anthropic(log: log).Messages.Create(Ask("gpt-4.1", "Hello.")).WithTimeout();
        await Assert.ThrowsAnyAsync<Exception>(() => Live.Anthropic("sk-cor-not-a-key", log).Messages.Create(Ask("claude-sonnet-4", "Hello.")).WithTimeout());

        Assert.Equal([200, 200, 401], log.Responses.Select(r => r.Status));
        Assert.All(log.Responses, response =>
        {
            Assert.StartsWith("req_", response.RequestId, StringComparison.Ordinal);
            Assert.Equal(response.RequestId, response.Header("request-id"));
        });
    }

    [Fact]
    public async Task MessagesStream_RunsFromMessageStartToMessageStop_WithTheWholeAnswersTextAndUsage()
    {
        const string Prompt = "Stream a short answer, please.";
        var log = new ResponseLog();
        var client = Live.Anthropic(log: log);
        var whole = await client.Messages.Create(Ask("claude-sonnet-4", Prompt)).WithTimeout();

        var events = await client.Messages.CreateStreaming(Ask("claude-sonnet-4", Prompt)).ToListWithTimeoutAsync();

        Assert.True(events[0].TryPickStart(out var start));
        Assert.True(events[^1].TryPickStop(out _));
        Assert.Equal(
            ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Json.GetProperty("type").GetString()).Distinct());
        var text = string.Concat(events.Select(e => e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var piece) ? piece.Text : ""));
        Assert.Equal(Text(whole), text);
        var messageDelta = Assert.Single(events, e => e.TryPickDelta(out _));
        Assert.True(messageDelta.TryPickDelta(out var final));
        Assert.Equal("end_turn", final.Delta.StopReason?.Raw());
        Assert.Equal(whole.Usage.InputTokens, start.Message.Usage.InputTokens);
        Assert.Equal(whole.Usage.OutputTokens, final.Usage.OutputTokens);
        var response = log.Last;
        Assert.Equal("us-east", response.Region);

        var row = await Live.LedgerRowAsync(response.RequestId!);
        Assert.Equal(RequestOutcome.Success, row.Outcome);
        Assert.False(row.Estimated);
        LedgerAssert.Billed(Live, row, "claude-us", start.Message.Usage.InputTokens, final.Usage.OutputTokens);
    }

    [Fact]
    public async Task ToolUse_TheModelCallsTheTool_AndAnswersInTextAfterTheToolResult()
    {
        var client = Live.Anthropic();
        var question = new UserMessageParam { Content = "What is the weather in Singapore?" };
        var ask = Ask("claude-sonnet-4", question) with { Tools = [WeatherTool()] };

        var first = await client.Messages.Create(ask).WithTimeout();

        Assert.Equal("tool_use", first.StopReason?.Raw());
        var toolUse = Assert.Single(first.Content, c => c.TryPickToolUse(out _));
        Assert.True(toolUse.TryPickToolUse(out var call));
        Assert.Equal("get_weather", call.Name);
        Assert.Equal(JsonValueKind.String, call.Input["city"].ValueKind);

        var second = await client.Messages.Create(ask with
        {
            Messages =
            [
                question,
                new AssistantMessageParam { Content = new List<ContentBlockParam> { new ToolUseBlockParam { ID = call.ID, Name = call.Name, Input = call.Input } } },
                new UserMessageParam
                {
                    Content = new List<ContentBlockParam> { new ToolResultBlockParam(call.ID) { Content = """{"city":"Singapore","temperature":31}""" } },
                },
            ],
        }).WithTimeout();

        Assert.Equal("end_turn", second.StopReason?.Raw());
        Assert.DoesNotContain(second.Content, c => c.TryPickToolUse(out _));
        Assert.False(string.IsNullOrWhiteSpace(Text(second)));
    }

    [Fact]
    public async Task ToolUseStream_TheInputArrivesAsJsonPieces_ThatJoinIntoTheWholeInput()
    {
        var client = Live.Anthropic();
        var ask = Ask("claude-sonnet-4", "What is the weather in Oslo?") with { Tools = [WeatherTool()] };
        var whole = await client.Messages.Create(ask).WithTimeout();
        Assert.True(whole.Content.Single(c => c.TryPickToolUse(out _)).TryPickToolUse(out var wholeCall));

        var events = await client.Messages.CreateStreaming(ask).ToListWithTimeoutAsync();

        var blockStart = Assert.Single(events, e => e.TryPickContentBlockStart(out _));
        Assert.True(blockStart.TryPickContentBlockStart(out var started));
        Assert.True(started.ContentBlock.TryPickToolUse(out var streamedCall));
        Assert.Equal("get_weather", streamedCall.Name);
        var json = string.Concat(events.Select(e => e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickInputJson(out var piece) ? piece.PartialJson : ""));
        using var input = JsonDocument.Parse(json);
        Assert.Equal(wholeCall.Input["city"].GetString(), input.RootElement.GetProperty("city").GetString());
        Assert.True(events.Single(e => e.TryPickDelta(out _)).TryPickDelta(out var final));
        Assert.Equal("tool_use", final.Delta.StopReason?.Raw());
    }

    [Fact]
    public async Task Models_ListsTheModelsItCanCallThroughMessages_InTheAnthropicShape_NotTheEmbeddingModels()
    {
        var page = await Live.Anthropic().Models.List().WithTimeout();

        Assert.Equal(ChatModels(), page.Items.Select(m => m.ID));
        Assert.DoesNotContain(page.Items, m => m.ID == "text-embedding-3-small");
        Assert.False(page.HasNext());
        Assert.All(page.Items, m => Assert.Equal("model", m.Type.GetString()));
        var error = await Assert.ThrowsAsync<AnthropicNotFoundException>(() => Live.Anthropic().Models.Retrieve("text-embedding-3-small").WithTimeout());
        Assert.Equal(404, (int)error.StatusCode);
        Assert.Equal("claude-sonnet-4", (await Live.Anthropic().Models.Retrieve("claude-sonnet-4").WithTimeout()).ID);
    }

    [Fact]
    public async Task Models_PageAsTheAnthropicSdkPagesThem_AfterAndBeforeAnId()
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Default);
        var client = Live.Anthropic();
        var chat = ChatModels();

        var first = await client.Models.List(new ModelListParams { Limit = 4 }).WithTimeout();
        var all = new List<string>();
        await foreach (var model in first.Paginate(timeout.Token))
        {
            all.Add(model.ID);
        }
        var before = await client.Models.List(new ModelListParams { BeforeID = chat[^1], Limit = 3 }).WithTimeout();
        var earliest = await client.Models.List(new ModelListParams { BeforeID = chat[2], Limit = 3 }).WithTimeout();

        Assert.Equal(chat[..4], first.Items.Select(m => m.ID));
        Assert.True(first.HasNext());
        Assert.Equal(chat, all);
        Assert.Equal(chat[^4..^1], before.Items.Select(m => m.ID));
        Assert.True(before.HasNext());
        Assert.Equal(chat[..2], earliest.Items.Select(m => m.ID));
        Assert.False(earliest.HasNext());
    }

    [Fact]
    public async Task Models_AnswerAnthropicsPageShape_AndRefuseALimitOutOfRange()
    {
        using var http = Live.Http();
        var chat = ChatModels();

        using var page = await ModelsPageAsync(http, $"?limit=2&after_id={chat[0]}");
        using var last = await ModelsPageAsync(http, $"?after_id={chat[^2]}");
        using var none = await ModelsPageAsync(http, $"?after_id={chat[^1]}");

        Assert.Equal(chat[1..3], page.RootElement.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()!));
        Assert.Equal((true, chat[1], chat[2]), (page.RootElement.GetProperty("has_more").GetBoolean(),
            page.RootElement.GetProperty("first_id").GetString(), page.RootElement.GetProperty("last_id").GetString()));
        Assert.Equal((false, chat[^1], chat[^1]), (last.RootElement.GetProperty("has_more").GetBoolean(),
            last.RootElement.GetProperty("first_id").GetString(), last.RootElement.GetProperty("last_id").GetString()));
        Assert.Equal((0, false, JsonValueKind.Null), (none.RootElement.GetProperty("data").GetArrayLength(),
            none.RootElement.GetProperty("has_more").GetBoolean(), none.RootElement.GetProperty("first_id").ValueKind));
        foreach (var query in new[] { "?limit=0", "?limit=1001", "?limit=many" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models" + query);
            request.Headers.Add("anthropic-version", "2023-06-01");
            using var response = await http.SendAsync(request).WithTimeout();
            Assert.Equal(400, (int)response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("invalid_request_error", body.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
    }

    /// <summary>The test catalog's chat models (those an Anthropic client can call through /v1/messages), ordered by id.</summary>
    private string[] ChatModels() => [.. Live.Config.Catalog.Models
        .Where(m => m.Capabilities.HasFlag(Core.Catalog.ModelCapabilities.Chat)).Select(m => m.Id).Order(StringComparer.Ordinal)];

    private static async Task<JsonDocument> ModelsPageAsync(HttpClient http, string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models" + query);
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await http.SendAsync(request).WithTimeout();
        Assert.Equal(200, (int)response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }

    internal static MessageCreateParams Ask(string model, string prompt) => Ask(model, new UserMessageParam { Content = prompt });

    internal static MessageCreateParams Ask(string model, UserMessageParam prompt) => new()
    {
        Model = model,
        MaxTokens = 512,
        Messages = [prompt],
    };

    internal static Tool WeatherTool() => new()
    {
        Name = "get_weather",
        Description = "The current weather in a city.",
        InputSchema = new InputSchema
        {
            Properties = new Dictionary<string, JsonElement>
            {
                ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }),
            },
            Required = ["city"],
        },
    };

    internal static string Text(Message message) =>
        string.Concat(message.Content.Select(c => c.TryPickText(out var text) ? text.Text : ""));
}
