using System.Diagnostics;
using CorridorCli = Corridor.Cli.Cli;
using Corridor.Testing;

namespace Corridor.Tests;

/// <summary>What one in-process run of <c>corridor</c> printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error);

/// <summary>Runs the command line in-process against one temporary database.</summary>
internal sealed class CliRunner : IDisposable
{
    private readonly TempDirectory _folder = new();

    public string DbPath => _folder.File("corridor.db");

    public string File(string name) => _folder.File(name);

    /// <summary>Runs <paramref name="args"/> with <c>--db</c> pointing at this runner's database.</summary>
    public Task<CliResult> RunAsync(params string[] args) => RunRawAsync([.. args, "--db", DbPath]);

    /// <summary>Runs <paramref name="args"/> exactly as given.</summary>
    public static async Task<CliResult> RunRawAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await CorridorCli.InvokeAsync(args, stdout, stderr).WithTimeout();
        return new CliResult(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>
    /// Runs <paramref name="args"/> in a <c>corridor</c> process of its own, for what would take the test host down with
    /// it (a stack overflow, which no catch survives).
    /// </summary>
    public static async Task<CliResult> RunProcessAsync(params string[] args)
    {
        // The corridor executable is built next to these tests (project reference); run it with the same dotnet host.
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "corridor.dll"));
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TestTimeouts.ProcessStart);
            return new CliResult(process.ExitCode, await stdout.WithTimeout(), await stderr.WithTimeout());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    public void Dispose() => _folder.Dispose();
}
