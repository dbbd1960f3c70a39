using Corridor.Testing;

namespace Corridor.Tests;

/// <summary><c>corridor policy test</c> against the shipped example policy and demo catalog.</summary>
public sealed class PolicyCommandTests
{
    private static string Root()
    {
        var directory = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(directory, "Corridor.slnx")))
        {
            directory = Path.GetDirectoryName(directory)!;
        }
        return directory;
    }

    [Fact]
    public async Task ShippedExamplePolicy_PassesItsTestFile()
    {
        var root = Root();

        var result = await CliRunner.RunRawAsync("policy", "test", Path.Combine(root, "policy/example.tests.yaml"), "--config", Path.Combine(root, "corridor.yaml")).WithTimeout();

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("policy test cases passed", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMismatch_FailsTheRun_AndNamesTheCase()
    {
        var root = Root();
        using var folder = new TempDirectory();
        var cases = folder.File("wrong.tests.yaml");
        var original = await File.ReadAllTextAsync(Path.Combine(root, "policy/example.tests.yaml"));
        // The first case expects Singapore first; expect Japan instead.
        var flipped = ReplaceFirst(original, "first_region: sg", "first_region: jp-east");
        await File.WriteAllTextAsync(cases, flipped);

        var result = await CliRunner.RunRawAsync("policy", "test", cases, "--config", Path.Combine(root, "corridor.yaml")).WithTimeout();

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("FAIL", result.Out, StringComparison.Ordinal);
    }

    private static string ReplaceFirst(string text, string from, string to)
    {
        var at = text.IndexOf(from, StringComparison.Ordinal);
        return text[..at] + to + text[(at + from.Length)..];
    }
}
