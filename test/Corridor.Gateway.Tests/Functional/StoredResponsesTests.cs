// The OpenAI SDK marks its Responses client experimental (OPENAI001); it is what newer OpenAI applications call.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Testing;
using Corridor.Testing.Storage;
using OpenAI.Responses;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>The stored responses' tests on the embedded store.</summary>
public sealed class StoredResponsesTests(RelayedGatewayFixture fixture) : StoredResponsesContract<RelayedGatewayFixture>(fixture), IClassFixture<RelayedGatewayFixture>;

/// <summary>The stored responses' tests on PostgreSQL.</summary>
[Trait(TestPostgres.Trait, TestPostgres.Value)]
public sealed class PostgresStoredResponsesTests(PostgresRelayedGatewayFixture fixture)
    : StoredResponsesContract<PostgresRelayedGatewayFixture>(fixture), IClassFixture<PostgresRelayedGatewayFixture>;

/// <summary>
/// Stored responses (docs/responses.md, "Stored responses"), through the OpenAI SDK's Responses client: a response is kept
/// unless the client says <c>store: false</c>, is read back and deleted by id, lists its input items, and is continued by
/// <c>previous_response_id</c>, whose items reach the upstream before the new input; only by its own tenant.
/// </summary>
public abstract class StoredResponsesContract<TFixture>(TFixture fixture)
    where TFixture : RelayedGatewayFixture
{
    private LiveGateway Live => fixture.Live;

    private ResponsesClient Responses(string? secret = null, ResponseLog? log = null) => Live.OpenAI(secret, log).GetResponsesClient();

    private static CreateResponseOptions Ask(string text, string model = "gpt-4.1") => new(model, [ResponseItem.CreateUserMessageItem(text)]);

    /// <summary>The roles and texts of the chat request's messages the upstream received.</summary>
    private static List<(string Role, string Text)> Messages(string upstreamBody)
    {
        using var body = JsonDocument.Parse(upstreamBody);
        return [.. body.RootElement.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString()!,
            m.GetProperty("content") is { ValueKind: JsonValueKind.String } text ? text.GetString()! : string.Concat(m.GetProperty("content").EnumerateArray().Select(p => p.GetProperty("text").GetString()))))];
    }

    /// <summary>The answer's <c>store</c>: whether it was kept (the SDK's model does not read it).</summary>
    private static bool StoreEchoed(ClientResult<ResponseResult> created)
    {
        using var body = JsonDocument.Parse(created.GetRawResponse().Content.ToString());
        return body.RootElement.GetProperty("store").GetBoolean();
    }

    [Theory]
    [InlineData(false, "gpt-4.1", "gpt-4.1-sg")]
    [InlineData(true, "gpt-4.1", "gpt-4.1-sg")]
    [InlineData(true, "claude-sonnet-4", "claude-us")]
    public async Task ASecondTurn_WithPreviousResponseId_SendsTheFirstTurnsItemsUpstream_BeforeItsInput_WithoutItsInstructions(bool streamed, string model, string deployment)
    {
        var client = Responses();
        var log = new ResponseLog();
        var first = Ask("Where is parcel 4471?", model);
        first.Instructions = "You answer shipping questions.";
        ResponseResult answered;
        if (streamed)
        {
            first.StreamingEnabled = true;
            var updates = await (await client.CreateResponseStreamingAsync(first).WithTimeout()).ToListWithTimeoutAsync();
            answered = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]).Response;
        }
        else
        {
            answered = (await client.CreateResponseAsync(first).WithTimeout()).Value;
        }

        var next = Ask("And parcel 4472?", model);
        next.PreviousResponseId = answered.Id;
        ResponseResult? second = null;
        var upstream = await fixture.Relay.BodySentByAsync(async () => second = (await Responses(log: log).CreateResponseAsync(next).WithTimeout()).Value);

        // The first turn's input and answer, then the new input; the first turn's instructions are not carried over.
        Assert.Equal([("user", "Where is parcel 4471?"), ("assistant", answered.GetOutputText()), ("user", "And parcel 4472?")], Messages(upstream));
        Assert.Equal(answered.Id, second!.PreviousResponseId);
        Assert.Equal(ResponseStatus.Completed, second.Status);
        // Billed as any request: the longer prompt is the upstream's usage.
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(("/v1/responses", RequestOutcome.Success, true), (row.Endpoint, row.Outcome, row.Billable));
        LedgerAssert.Billed(Live, row, deployment, second.Usage.InputTokenCount, second.Usage.OutputTokenCount);

        // A third turn on the second reads the whole chain from the second alone.
        var third = Ask("Thanks.", model);
        third.PreviousResponseId = second.Id;
        var upstreamThird = await fixture.Relay.BodySentByAsync(async () => await client.CreateResponseAsync(third).WithTimeout());
        Assert.Equal(["user", "assistant", "user", "assistant", "user"], Messages(upstreamThird).Select(m => m.Role));
    }

    [Fact]
    public async Task AStoredResponse_IsRetrievedAsCreated_ListsItsInputItems_AndOnceDeletedIsNotFound()
    {
        var client = Responses();
        var first = (await client.CreateResponseAsync(Ask("Where is parcel 4471?")).WithTimeout()).Value;
        var next = Ask("And parcel 4472?");
        next.PreviousResponseId = first.Id;
        var created = await client.CreateResponseAsync(next).WithTimeout();

        var retrieved = await client.GetResponseAsync(created.Value.Id).WithTimeout();

        Assert.True(StoreEchoed(created));

        using (var asCreated = JsonDocument.Parse(created.GetRawResponse().Content.ToString()))
        using (var asRetrieved = JsonDocument.Parse(retrieved.GetRawResponse().Content.ToString()))
        {
            Assert.True(JsonElement.DeepEquals(asCreated.RootElement, asRetrieved.RootElement), $"{asCreated.RootElement} != {asRetrieved.RootElement}");
        }
        // Newest first, as OpenAI lists them: the new input, the first answer, the first input.
        var items = new List<ResponseItem>();
        await foreach (var item in client.GetResponseInputItemsAsync(created.Value.Id))
        {
            items.Add(item);
        }
        Assert.Equal(3, items.Count);
        var messages = items.Cast<MessageResponseItem>().ToList();
        Assert.Equal([MessageRole.User, MessageRole.Assistant, MessageRole.User], messages.Select(m => m.Role));
        Assert.Equal(["And parcel 4472?", first.GetOutputText(), "Where is parcel 4471?"], messages.Select(m => m.Content[0].Text));
        Assert.Equal(3, items.Select(i => i.Id).Distinct().Count());

        var deleted = (await client.DeleteResponseAsync(created.Value.Id).WithTimeout()).Value;

        Assert.True(deleted.Deleted);
        Assert.Equal(created.Value.Id, deleted.ResponseId);
        var gone = await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(created.Value.Id).WithTimeout());
        Assert.Equal(404, gone.Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => client.DeleteResponseAsync(created.Value.Id).WithTimeout())).Status);
        // The response it continued is its own, and stays.
        Assert.Equal(first.Id, (await client.GetResponseAsync(first.Id).WithTimeout()).Value.Id);
    }

    [Fact]
    public async Task AnotherTenantsResponse_IsNotFound_NotDeleted_AndNotContinued()
    {
        var acme = (await Responses().CreateResponseAsync(Ask("Where is parcel 4471?")).WithTimeout()).Value;
        var other = Responses(await Live.AddTenantWithKeyAsync("globex", "SG"));

        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => other.GetResponseAsync(acme.Id).WithTimeout())).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => other.DeleteResponseAsync(acme.Id).WithTimeout())).Status);
        var next = Ask("And then?");
        next.PreviousResponseId = acme.Id;
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => other.CreateResponseAsync(next).WithTimeout());

        Assert.Equal(400, refused.Status);
        using var error = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString());
        var body = error.RootElement.GetProperty("error");
        Assert.Equal(("invalid_request_error", "previous_response_id", $"Previous response with id '{acme.Id}' not found."),
            (body.GetProperty("type").GetString(), body.GetProperty("param").GetString(), body.GetProperty("message").GetString()));
        // Still there for its own tenant.
        Assert.Equal(acme.Id, (await Responses().GetResponseAsync(acme.Id).WithTimeout()).Value.Id);
    }

    [Fact]
    public async Task AResponseCreatedWithStoreFalse_IsNotKept_AndSaysSo()
    {
        var options = Ask("Where is parcel 4471?");
        options.StoredOutputEnabled = false;
        var client = Responses();

        var created = await client.CreateResponseAsync(options).WithTimeout();
        var response = created.Value;

        Assert.False(StoreEchoed(created));
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(response.Id).WithTimeout())).Status);
        var next = Ask("And then?");
        next.PreviousResponseId = response.Id;
        Assert.Equal(400, (await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(next).WithTimeout())).Status);
    }

    [Fact]
    public async Task AnUnknownPreviousResponseId_IsA400_AndNotBilled()
    {
        var log = new ResponseLog();
        var options = Ask("And then?");
        options.PreviousResponseId = "resp_abc";

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Responses(log: log).CreateResponseAsync(options).WithTimeout());

        Assert.Equal(400, refused.Status);
        using var error = JsonDocument.Parse(refused.GetRawResponse()!.Content.ToString());
        Assert.Equal("previous_response_id", error.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal("Previous response with id 'resp_abc' not found.", error.RootElement.GetProperty("error").GetProperty("message").GetString());
        var row = await Live.LedgerRowAsync(log.Last.RequestId!);
        Assert.Equal(("/v1/responses", RequestOutcome.ClientError, false, 0m), (row.Endpoint, row.Outcome, row.Billable, row.Cost));
    }
}

/// <summary>A stored response is kept for <c>responses.retentionDays</c> of the gateway's clock, then not found, and swept.</summary>
public sealed class StoredResponseRetentionTests : IAsyncLifetime
{
    private FakeClock _clock = null!;
    private LiveGateway _live = null!;

    public async Task InitializeAsync() => _live = await LiveGateway.StartOnFakeClockAsync(out _clock, """
        responses:
          retentionDays: 2
        """);

    public async Task DisposeAsync() => await _live.DisposeAsync();

    [Fact]
    public async Task AStoredResponse_IsFoundUntilItsRetentionEnds_ThenNotFoundNorContinued_AndTheSweepRemovesIt()
    {
        var client = _live.OpenAI().GetResponsesClient();
        var created = (await client.CreateResponseAsync(new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("Where is parcel 4471?")])).WithTimeout()).Value;
        var createdAt = created.CreatedAt;

        _clock.Advance(createdAt + TimeSpan.FromDays(2) - TimeSpan.FromSeconds(1) - _clock.GetUtcNow());
        Assert.Equal(created.Id, (await client.GetResponseAsync(created.Id).WithTimeout()).Value.Id);

        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(created.Id).WithTimeout())).Status);
        var next = new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("And then?")]) { PreviousResponseId = created.Id };
        Assert.Equal(400, (await Assert.ThrowsAsync<ClientResultException>(() => client.CreateResponseAsync(next).WithTimeout())).Status);

        // The sweep (every few minutes of the gateway's clock) deletes it: read as of when it was made, it is not there.
        await TestTimeouts.UntilAsync(async () =>
        {
            _clock.Advance(Corridor.Gateway.Batches.BatchRetentionSweep.Interval);
            return await _live.Store.GetResponseAsync("acme", created.Id, createdAt, CancellationToken.None) is null;
        });
    }
}
