namespace Corridor.Cli;

internal static class Program
{
    private static Task<int> Main(string[] args) => Cli.RunAsync(args);
}
