using System.Diagnostics;

namespace Corridor.Cli;

internal static class Program
{
    private const string TieredCompilation = "DOTNET_TieredCompilation";

    private static async Task<int> Main(string[] args)
    {
        if (args is ["replay", ..] && Environment.GetEnvironmentVariable(TieredCompilation) is null && Environment.ProcessPath is { } self)
        {
            return await ReplayWithoutTieringAsync(self, args);
        }

        return await Cli.RunAsync(args);
    }

    /// <summary>
    /// <c>corridor replay</c> is a batch job of a second or two: the JIT's tiers (quick code first, then profiled, then
    /// optimised again) cost it more than they earn, about a third of its CPU on the development corpus. Tiering is a
    /// process-wide setting read at start, and <c>serve</c> needs it (dynamic PGO pays off over a server's lifetime), so
    /// replay runs itself again, once, with every method compiled fully optimised the first time. The child shares this
    /// console, so its output and Ctrl+C reach it directly.
    /// </summary>
    private static async Task<int> ReplayWithoutTieringAsync(string self, string[] args)
    {
        var start = new ProcessStartInfo(self) { UseShellExecute = false };
        if (!string.Equals(Path.GetFileNameWithoutExtension(self), "corridor", StringComparison.Ordinal))
        {
            // Run through the dotnet host: pass the assembly first.
            start.ArgumentList.Add(typeof(Program).Assembly.Location);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment[TieredCompilation] = "0";
        using var child = Process.Start(start);
        if (child is null)
        {
            return await Cli.RunAsync(args);
        }

        await child.WaitForExitAsync();
        return child.ExitCode;
    }
}
