using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Configuration;

/// <summary>
/// Reloads <c>corridor.yaml</c> when it or a policy file it includes changes (checked every two seconds, so an editor's
/// partial writes settle).
/// A file that fails to load or validate leaves the last good configuration serving; the failure is logged
/// and shown by <c>/healthz</c>. Server, storage and ledger settings need a restart; the catalog, routing and
/// policy apply to the next request. It starts from the files the serving configuration was read from, stamped as they
/// were read, so a change made since then, even before the watcher started, reloads.
/// </summary>
internal sealed partial class ConfigWatcher(IReadOnlyList<ConfigFile> files, GatewayState state, TimeProvider time, ILogger<ConfigWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly string _path = files[0].Path;

    // corridor.yaml and the policy files it included at the last load: a change to any of them reloads.
    private IReadOnlyList<ConfigFile> _files = files;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var seen = Volatile.Read(ref _files).Select(file => file.LastWrite).ToArray();
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var stamp = Stamp();
                if (stamp.SequenceEqual(seen))
                {
                    continue;
                }
                Reload();
                // What the reload read, stamped as it read it (the includes may have changed).
                seen = [.. Volatile.Read(ref _files).Select(file => file.LastWrite)];
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public ReloadStatus Reload()
    {
        var loaded = ConfigLoader.Load(_path);
        Volatile.Write(ref _files, loaded.Files);
        var status = state.Reload(loaded, Environment.GetEnvironmentVariable, time.GetUtcNow());
        if (status.Succeeded)
        {
            LogReloaded(_path);
        }
        else
        {
            LogReloadFailed(_path, string.Join("; ", status.Errors));
        }
        return status;
    }

    private DateTime[] Stamp() => [.. Volatile.Read(ref _files).Select(file => ConfigFile.Stamp(file.Path).LastWrite)];

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Reloaded configuration from {Path}")]
    private partial void LogReloaded(string path);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Reloading {Path} failed; still serving the last good configuration: {Errors}")]
    private partial void LogReloadFailed(string path, string errors);
}
