using Corridor.Gateway.Observability;
using Corridor.Gateway.Tests.Recording;
using Corridor.Storage;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>/readyz's question to the store: asked at most once a second, however many callers; bounded when the store hangs.</summary>
public sealed class StoreProbeTests : SqliteStoreTestBase
{
    [Fact]
    public async Task ManyProbes_AskTheStoreOnceASecond_AndProbesWhileAQueryIsOut_ShareIt()
    {
        var clock = new FakeClock();
        var asked = 0;
        var store = InterceptedStore.Failing(Store, method =>
        {
            if (method == nameof(ICorridorStore.GetRevisionAsync))
            {
                Interlocked.Increment(ref asked);
            }
            return null;
        });
        var probe = new StoreProbe(store, clock);

        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => probe.CheckAsync())).WithTimeout();
        Assert.All(answers, Assert.Null);
        Assert.Equal(1, asked);

        clock.Advance(StoreProbe.Reuse - TimeSpan.FromMilliseconds(1));
        Assert.Null(await probe.CheckAsync().WithTimeout());
        Assert.Equal(1, asked);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Null(await probe.CheckAsync().WithTimeout());
        Assert.Equal(2, asked);
    }

    [Fact]
    public async Task AStoreThatDoesNotAnswer_IsUnreachable_AtTheProbesTimeout()
    {
        var clock = new FakeClock();
        var probe = new StoreProbe(InterceptedStore.Hanging(Store, method => method == nameof(ICorridorStore.GetRevisionAsync)), clock);

        var checking = probe.CheckAsync();
        var second = probe.CheckAsync();
        clock.Advance(StoreProbe.Timeout);

        Assert.Equal("no answer within 2 s", await checking.WithTimeout());
        Assert.Same(checking, second);
    }
}
