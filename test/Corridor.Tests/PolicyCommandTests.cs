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

    [Fact]
    public async Task Diff_ListsRecentRequestsWhoseDecisionWouldChange()
    {
        var root = Root();
        using var cli = new CliRunner();
        Assert.Equal(0, (await cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme Pte. Ltd.", "--country", "SG", "--tier", "verified")).ExitCode);
        await using (var store = await Corridor.Storage.CorridorStores.OpenAsync(new Corridor.Storage.StorageOptions(cli.DbPath), CancellationToken.None).WithTimeout())
        {
            await store.AppendLedgerAsync(
            [
                Corridor.Testing.Storage.LedgerSamples.Entry("r-gpt", DateTimeOffset.UtcNow, model: "gpt-4.1"),
                Corridor.Testing.Storage.LedgerSamples.Entry("r-deepseek", DateTimeOffset.UtcNow, model: "deepseek-v4"),
            ], CancellationToken.None).WithTimeout();
        }
        var proposed = cli.File("proposed.yaml");
        var current = await File.ReadAllTextAsync(Path.Combine(root, "corridor.yaml"));
        var example = await File.ReadAllTextAsync(Path.Combine(root, "policy/example.yaml"));
        // The proposal stops offering OpenAI's models to anyone.
        await File.WriteAllTextAsync(cli.File("example-v2.yaml"), example
            .Replace("version: \"2025-07-01.1\"", "version: \"2025-08-01.1\"", StringComparison.Ordinal)
            .Replace("  - id: openai\n", "  - id: openai\n    effective: { until: 2025-01-01 }\n", StringComparison.Ordinal));
        await File.WriteAllTextAsync(proposed, current
            .Replace("./data/corridor.db", cli.DbPath, StringComparison.Ordinal)
            .Replace("include: [policy/example.yaml]", "include: [example-v2.yaml]", StringComparison.Ordinal));

        var result = await cli.RunAsync("policy", "diff", Path.Combine(root, "corridor.yaml"), proposed);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("r-gpt", result.Out, StringComparison.Ordinal);
        Assert.Contains("-> deny model_not_entitled", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("r-deepseek", result.Out, StringComparison.Ordinal);
        Assert.Contains("1 of 2 recent requests would be decided differently (2025-07-01.1 -> 2025-08-01.1)", result.Out, StringComparison.Ordinal);
    }

    private static string ReplaceFirst(string text, string from, string to)
    {
        var at = text.IndexOf(from, StringComparison.Ordinal);
        return text[..at] + to + text[(at + from.Length)..];
    }
}
