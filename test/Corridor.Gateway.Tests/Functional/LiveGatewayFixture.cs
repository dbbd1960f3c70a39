using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>One live simulator and gateway (<see cref="TestCatalog"/>) shared by the tests of a class.</summary>
public class LiveGatewayFixture : IAsyncLifetime
{
    private LiveGateway? _live;

    public LiveGateway Live => _live ?? throw new InvalidOperationException("the gateway has not started");

    protected virtual Task<LiveGateway> StartAsync() => LiveGateway.StartAsync();

    public async Task InitializeAsync() => _live = await StartAsync().WithTimeout();

    public virtual async Task DisposeAsync()
    {
        if (_live is not null)
        {
            await _live.DisposeAsync().AsTask().WithTimeout();
        }
    }
}
