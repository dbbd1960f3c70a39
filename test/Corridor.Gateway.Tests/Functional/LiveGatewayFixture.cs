using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>One live simulator and gateway (<see cref="TestCatalog"/>) shared by the tests of a class.</summary>
public class LiveGatewayFixture : IAsyncLifetime
{
    private LiveGateway? _live;

    public LiveGateway Live => _live ?? throw new InvalidOperationException("the gateway has not started");

    private readonly List<IAsyncDisposable> _owned = [];

    protected virtual Task<LiveGateway> StartAsync() => LiveGateway.StartAsync();

    /// <summary>Keeps <paramref name="resource"/> (an upstream of the test's own, say) until the gateway has stopped, then disposes of it.</summary>
    protected T Own<T>(T resource)
        where T : IAsyncDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    public async Task InitializeAsync() => _live = await StartAsync().WithTimeout();

    public virtual async Task DisposeAsync()
    {
        if (_live is not null)
        {
            await _live.DisposeAsync().AsTask().WithTimeout();
        }
        foreach (var resource in _owned)
        {
            await resource.DisposeAsync();
        }
    }
}
