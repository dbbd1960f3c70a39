using System.Text.Json;
using Anthropic.Models.Messages;
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
    public async Task Models_ListsEveryModelOfTheCatalog_InTheAnthropicShape()
    {
        var page = await Live.Anthropic().Models.List().WithTimeout();

        Assert.Equal(Live.Config.Catalog.Models.Select(m => m.Id).Order(StringComparer.Ordinal), page.Items.Select(m => m.ID).Order(StringComparer.Ordinal));
        Assert.False(page.HasNext());
        Assert.All(page.Items, m => Assert.Equal("model", m.Type.GetString()));
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
