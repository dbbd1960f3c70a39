using System.Diagnostics;
using System.Text;
using Corridor.Testing;

namespace Corridor.Tests.Replicas;

/// <summary>
/// <c>corridor serve</c> as a process of its own, on a free loopback port, as an operator runs each replica.
/// Its output is kept for the failure message; disposing it kills the process.
/// </summary>
internal sealed class ServeProcess : IAsyncDisposable
{
    private const string ServingLine = "Corridor is serving on ";

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServeProcess(Process process) => _process = process;

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>What the process printed so far, stdout and stderr interleaved.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static async Task<ServeProcess> StartAsync(string configPath, IReadOnlyDictionary<string, string> environment)
    {
        // The corridor executable is built next to these tests (project reference); run it with the same dotnet host.
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "corridor.dll"), "serve", "--config", configPath, "--urls", "http://127.0.0.1:0" })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var serving = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var serve = new ServeProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                serve.Append(line);
                if (line.StartsWith(ServingLine, StringComparison.Ordinal))
                {
                    serving.TrySetResult(new Uri(line[ServingLine.Length..].Split(' ')[0]));
                }
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                serve.Append(line);
            }
        };
        process.Exited += (_, _) => serving.TrySetException(new InvalidOperationException("corridor serve exited before serving:\n" + serve.Output));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            serve.BaseAddress = await serving.Task.WaitAsync(TestTimeouts.ProcessStart);
            return serve;
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the process with SIGKILL, as a crash would: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().WithTimeout();
    }

    /// <summary>Sends SIGTERM, as a service manager does to stop it; <see cref="WaitForExitAsync"/> returns the exit code.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })!;
        await kill.WaitForExitAsync().WithTimeout();
    }

    /// <summary>
    /// How long a stop may take before the test calls it a hang: the gateway's own shutdown deadline (30 s unless a test sets
    /// <c>server.shutdownTimeoutSeconds</c>), which a stop on a loaded machine may use up, and <see cref="TestTimeouts.Default"/>
    /// beyond it. Waiting only the latter raced a stop that took its deadline (a clean clone's full run, 2026-12-05).
    /// </summary>
    private static readonly TimeSpan StopWait = TimeSpan.FromSeconds(30) + TestTimeouts.Default;

    /// <summary>
    /// Waits for the process to end on its own; returns its exit code. A process that does not end in time is killed, and
    /// the failure carries what it printed (where it hung is the question the next reader has).
    /// </summary>
    public async Task<int> WaitForExitAsync()
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(StopWait);
        }
        catch (TimeoutException e)
        {
            _process.Kill();
            throw new TimeoutException($"corridor serve did not exit within {StopWait.TotalSeconds:0} s; it printed:\n{Output}", e);
        }
        return _process.ExitCode;
    }

    private void Append(string line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WithTimeout();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
    }
}
