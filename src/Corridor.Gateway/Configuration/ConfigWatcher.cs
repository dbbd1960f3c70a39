using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Configuration;

/// <summary>
/// Reloads <c>corridor.yaml</c> when it or a policy file it includes changes (checked every two seconds, so an editor's
/// partial writes settle).
/// A file that fails to load or validate leaves the last good configuration serving; the failure is logged
/// and shown by <c>/healthz</c>. Server, storage and ledger settings need a restart; the catalog, routing and
/// policy apply to the next request.
/// </summary>
internal sealed partial class ConfigWatcher(string path, GatewayState state, TimeProvider time, ILogger<ConfigWatcher> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    // corridor.yaml and the policy files it included at the last load: a change to any of them reloads.
    private IReadOnlyList<string> _files = [path];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The gateway started from a configuration loaded elsewhere: learn which files it was read from.
        Volatile.Write(ref _files, ConfigLoader.Load(path).Files);
        var seen = Stamp();
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
                seen = stamp;
                var files = Volatile.Read(ref _files);
                Reload();
                if (!files.SequenceEqual(Volatile.Read(ref _files), StringComparer.Ordinal))
                {
                    // The includes changed: watch the new set from here on.
                    seen = Stamp();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public ReloadStatus Reload()
    {
        var loaded = ConfigLoader.Load(path);
        Volatile.Write(ref _files, loaded.Files);
        var status = state.Reload(loaded, Environment.GetEnvironmentVariable, time.GetUtcNow());
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

    private DateTime[] Stamp() => [.. Volatile.Read(ref _files).Select(LastWrite)];

    private static DateTime LastWrite(string file)
    {
        try
        {
            return File.GetLastWriteTimeUtc(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return DateTime.MinValue;
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Reloaded configuration from {Path}")]
    private partial void LogReloaded(string path);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Reloading {Path} failed; still serving the last good configuration: {Errors}")]
    private partial void LogReloadFailed(string path, string errors);
}
