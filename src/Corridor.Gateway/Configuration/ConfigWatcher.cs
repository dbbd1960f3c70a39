using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Configuration;

/// <summary>
/// Reloads <c>corridor.yaml</c> when it changes (checked every two seconds, so an editor's partial writes settle).
/// A file that fails to load or validate leaves the last good configuration serving; the failure is logged
/// and shown by <c>/healthz</c>. Server, storage and ledger settings need a restart; the catalog, routing and
/// policy apply to the next request.
/// </summary>
internal sealed partial class ConfigWatcher(string path, GatewayState state, TimeProvider time, ILogger<ConfigWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seen = Stamp();
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var stamp = Stamp();
                if (stamp == seen)
                {
                    continue;
                }
                seen = stamp;
                Reload();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public ReloadStatus Reload()
    {
        var status = state.Reload(ConfigLoader.Load(path), Environment.GetEnvironmentVariable, time.GetUtcNow());
        if (status.Succeeded)
        {
            LogReloaded(path);
        }
        else
        {
            LogReloadFailed(path, string.Join("; ", status.Errors));
        }
        return status;
    }

    private DateTime Stamp()
    {
        try
        {
            return File.GetLastWriteTimeUtc(path);
        }
        catch (IOException)
        {
            return DateTime.MinValue;
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Reloaded configuration from {Path}")]
    private partial void LogReloaded(string path);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Reloading {Path} failed; still serving the last good configuration: {Errors}")]
    private partial void LogReloadFailed(string path, string errors);
}
