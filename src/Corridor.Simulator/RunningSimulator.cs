using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;

namespace Corridor.Simulator;

/// <summary>A simulator started by <see cref="SimulatorHost.StartAsync(string, SimulatorOptions, CancellationToken)"/>; dispose to stop it.</summary>
public sealed class RunningSimulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    internal RunningSimulator(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>Where it listens, e.g. <c>http://127.0.0.1:51234/</c> (the real port when started on port 0).</summary>
    public Uri BaseAddress { get; }

    internal Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
