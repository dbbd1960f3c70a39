using System.Buffers;
using System.Text;
using Corridor.Core.Metering;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Shadow;
using Corridor.Gateway.Tests.Recording;
using Corridor.Storage;
using Corridor.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Shadow;

/// <summary>
/// The request path's half of shadow evaluation, with the background workers not started: what is queued, what is
/// dropped and counted, and that queuing never waits. And the workers' stop while the store does not answer.
/// </summary>
public sealed class ShadowMirrorTests
{
    /// <summary>gpt-4.1 and mini, one deployment each on an upstream that is never reached, with <paramref name="shadow"/> added.</summary>
    internal static ActiveConfig Config(string shadow)
    {
        return TestConfigs.Active($$"""
            vendors:
              - { id: openai, kind: openai, baseUrl: "http://127.0.0.1:9/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1000 }
              - { id: mini, vendor: openai, capabilities: [chat, embeddings], contextWindow: 1000 }
            deployments:
              - { id: gpt-sg, model: gpt-4.1, region: sg, price: { input: 2, output: 8 } }
              - { id: mini-sg, model: mini, region: sg, price: { input: 1, output: 1 } }
            {{shadow}}
            """);
    }

    private static ShadowMirror Mirror(ActiveConfig config)
    {
        var state = new GatewayState(config);
        return new(state, new RouteTable(state, TimeProvider.System), null!, null!, null!, null!, null!, null!,
            new ServerOptions(), new LedgerOptions(), TimeProvider.System, NullLogger<ShadowMirror>.Instance);
    }

    /// <summary>An answered request of tenant acme (or of <paramref name="caller"/>) for gpt-4.1, served by its first deployment.</summary>
    internal static CorridorRequestFeature Answered(ActiveConfig config, Operation operation = Operation.ChatCompletions, bool served = true,
        AuthenticatedKey? caller = null)
    {
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}""");
        var buffer = ArrayPool<byte>.Shared.Rent(body.Length);
        body.CopyTo(buffer, 0);
        var tenant = new Tenant("acme", "Acme Ltd.", "SG", DateTimeOffset.UtcNow);
        config.Catalog.TryGetModel("gpt-4.1", out var model);
        return new CorridorRequestFeature(config, "req_1", Dialect.OpenAI, operation, DateTimeOffset.UtcNow, TimeProvider.System.GetTimestamp(), 100)
        {
            Request = new ClientRequest(buffer, body.Length) { Model = "gpt-4.1" },
            Caller = caller ?? new AuthenticatedKey(ApiKeys.Create("acme", DateTimeOffset.UtcNow).Key, tenant),
            Deployment = model.Deployments[0],
            Served = served,
        };
    }

    [Fact]
    public void AFullQueue_DropsAndCounts_WithoutWaiting()
    {
        var config = Config("shadow: { queue: 2, models: { gpt-4.1: { candidate: mini, share: 1 } } }");
        using var mirror = Mirror(config);

        for (var i = 0; i < 5; i++)
        {
            mirror.Mirror(Answered(config));
        }

        Assert.Equal(new ShadowStatus(Enqueued: 2, DroppedQueueFull: 3, DroppedPairLimit: 0, Pending: 2), mirror.Status);
    }

    [Fact]
    public void APairAtItsCap_DropsAndCounts_BeforeTheQueueFills()
    {
        var config = Config("shadow: { queue: 10, models: { gpt-4.1: { candidate: mini, share: 1, maxInFlight: 3 } } }");
        using var mirror = Mirror(config);

        for (var i = 0; i < 5; i++)
        {
            mirror.Mirror(Answered(config));
        }

        Assert.Equal(new ShadowStatus(Enqueued: 3, DroppedQueueFull: 0, DroppedPairLimit: 2, Pending: 3), mirror.Status);
    }

    [Fact]
    public void OnlyAnsweredChatRequests_OfAShadowedModel_AtItsShare_AreMirrored()
    {
        var none = Config("shadow: { models: { gpt-4.1: { candidate: mini, share: 0 } } }");
        var all = Config("shadow: { models: { gpt-4.1: { candidate: mini, share: 1 } } }");
        var other = Config("shadow: { models: { mini: { candidate: gpt-4.1, share: 1 } } }");
        using var noneMirror = Mirror(none);
        using var allMirror = Mirror(all);
        using var otherMirror = Mirror(other);

        for (var i = 0; i < 20; i++)
        {
            noneMirror.Mirror(Answered(none));
            otherMirror.Mirror(Answered(other));
        }
        allMirror.Mirror(Answered(all));
        allMirror.Mirror(Answered(all, served: false));
        allMirror.Mirror(Answered(all, Operation.Embeddings));
        var failed = Answered(all);
        failed.Outcome = RequestOutcome.ClientDisconnected;
        allMirror.Mirror(failed);

        Assert.Equal(0, noneMirror.Status.Enqueued);
        Assert.Equal(0, otherMirror.Status.Enqueued);
        Assert.Equal(1, allMirror.Status.Enqueued);
    }

    /// <summary>
    /// A stop while a worker stores its result in a database that does not answer waits for it at most the store deadline
    /// (one try: a failed one is not repeated once stopping). Before, the store was called without a bound or a token, three
    /// times: a hung database held the gateway's stop past its shutdown deadline (from a driver deaf to cancellation, for ever).
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)] // a driver whose cancellation waits on the server that stopped answering
    public async Task AStopWhileAResultWaitsOnAStoreThatDoesNotAnswer_EndsAtTheStoreDeadline(bool storeHeedsTheStop)
    {
        using var folder = new TempDirectory();
        var clock = new FakeClock();
        await using var real = await CorridorStores.OpenAsync(new StorageOptions(folder.File("data/corridor.db")), CancellationToken.None).WithTimeout();
        var saving = 0;
        var store = InterceptedStore.Hanging(real, method => method == nameof(ICorridorStore.AppendShadowResultsAsync), storeHeedsTheStop,
            _ => Interlocked.Increment(ref saving));
        var config = Config("shadow: { models: { gpt-4.1: { candidate: mini, share: 1 } } }");
        var state = new GatewayState(config);
        using var mirror = new ShadowMirror(state, new RouteTable(state, clock), null!, null!, null!, store, null!, null!,
            new ServerOptions(), new LedgerOptions(), clock, NullLogger<ShadowMirror>.Instance);
        await mirror.StartAsync(CancellationToken.None).WithTimeout();

        // A mirror asking for more output than the candidate produces is skipped without an upstream; its result is stored.
        var call = Answered(config);
        call.Request!.MaxTokens = 5_000;
        mirror.Mirror(call);
        await TestTimeouts.UntilAsync(() => Task.FromResult(Volatile.Read(ref saving) > 0));

        var stopping = mirror.StopAsync(CancellationToken.None);
        await clock.AdvanceUntilDoneAsync(stopping);
        Assert.Equal(1, Volatile.Read(ref saving));
    }

    [Fact]
    public void TheMeterKeepsEnoughTextToCompare_OnlyWhenShadowIsOn()
    {
        var on = Config("shadow: { compareChars: 9000, models: { gpt-4.1: { candidate: mini, share: 0.5 } } }");
        var off = Config("");

        Assert.Equal(9000, ShadowMirror.RetainChars(new LedgerOptions(RetainMaxChars: 600), on));
        Assert.Equal(9000, ShadowMirror.RetainChars(new LedgerOptions(RetainBodies: false), on));
        Assert.Equal(600, ShadowMirror.RetainChars(new LedgerOptions(RetainMaxChars: 600), off));
        Assert.Equal(0, ShadowMirror.RetainChars(new LedgerOptions(RetainBodies: false), off));
    }
}
