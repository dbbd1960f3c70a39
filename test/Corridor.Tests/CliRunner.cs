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

    public void Dispose() => _folder.Dispose();
}
