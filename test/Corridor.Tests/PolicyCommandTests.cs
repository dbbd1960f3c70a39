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

    /// <summary>
    /// YAML nested deep, in a policy file the configuration includes or in the test file, overflowed the stack of
    /// YamlDotNet's recursive loader: the process died ("Stack overflow."), with no word of where. 100,000 levels here,
    /// as a process's main thread has a larger stack than others (a reload of <c>corridor serve</c> runs on another).
    /// Now the nesting is refused before it is loaded, with its line. Run in a process of its own, which a stack overflow
    /// would kill.
    /// </summary>
    [Theory]
    [InlineData("include", "deep.yaml line 3, column 67: nested deeper than 64 levels")]
    [InlineData("test file", "deep.tests.yaml line 3, column 67: nested deeper than 64 levels")]
    public async Task YamlNestedDeep_IsAnErrorWithItsLine_NotAStackOverflow(string where, string error)
    {
        var root = Root();
        using var folder = new TempDirectory();
        var deep = "  - " + new string('[', 100_000) + new string(']', 100_000) + "\n";
        var config = folder.File("corridor.yaml");
        await File.WriteAllTextAsync(config, (await File.ReadAllTextAsync(Path.Combine(root, "corridor.yaml")))
            .Replace("include: [policy/example.yaml]", $"include: [{Path.Combine(root, "policy/example.yaml")}{(where == "include" ? ", deep.yaml" : "")}]", StringComparison.Ordinal));
        await File.WriteAllTextAsync(folder.File("deep.yaml"), "groups: {}\nrules:\n" + deep);
        var cases = folder.File("deep.tests.yaml");
        await File.WriteAllTextAsync(cases, "at: 2025-07-01\ncases:\n" + deep);

        var result = await CliRunner.RunProcessAsync("policy", "test", cases, "--config", config);

        Assert.True(result.ExitCode == 1, $"exit code {result.ExitCode}:\n{result.Out}\n{result.Error}");
        Assert.Contains(error, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_ListsRecentRequestsWhoseDecisionWouldChange()
    {
        var root = Root();
        using var cli = new CliRunner();
        Assert.Equal(0, (await cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme Pte. Ltd.", "--country", "SG", "--tier", "verified")).ExitCode);
        await RecordAsync(cli,
            Corridor.Testing.Storage.LedgerSamples.Entry("r-gpt", DateTimeOffset.UtcNow, model: "gpt-4.1"),
            Corridor.Testing.Storage.LedgerSamples.Entry("r-deepseek", DateTimeOffset.UtcNow, model: "deepseek-v4"),
            // A request naming an alias keeps the alias in its row; the gateway decides each of its models.
            Corridor.Testing.Storage.LedgerSamples.Entry("r-alias", DateTimeOffset.UtcNow, model: "chat-default"));

        // The proposal stops offering OpenAI's models to anyone.
        var result = await DiffWithProposalAsync(cli, root, example => example
            .Replace("  - id: openai\n", "  - id: openai\n    effective: { until: 2025-01-01 }\n", StringComparison.Ordinal));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("r-gpt", result.Out, StringComparison.Ordinal);
        Assert.Contains("-> deny model_not_entitled", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("r-deepseek", result.Out, StringComparison.Ordinal);
        Assert.Contains("r-alias", result.Out, StringComparison.Ordinal);
        Assert.Contains("-> gpt-4.1: deny model_not_entitled; deepseek-v4: allow [sg,eu-west]", result.Out, StringComparison.Ordinal);
        Assert.Contains("2 of 3 recent requests would be decided differently (2025-07-01.1 -> 2025-08-01.1)", result.Out, StringComparison.Ordinal);
    }

    /// <summary>
    /// The diff reads the newest rows it decides again, not the ledger: a row far older than the --limit newest (here one
    /// the store cannot read back, standing for the years of ledger a diff has no use for) is never read.
    /// </summary>
    [Fact]
    public async Task Diff_ReadsOnlyTheRecentRequestsItDecides_NotTheWholeLedger()
    {
        var config = Path.Combine(Root(), "corridor.yaml");
        using var cli = new CliRunner();
        Assert.Equal(0, (await cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme Pte. Ltd.", "--country", "SG", "--tier", "verified")).ExitCode);
        await RecordAsync(cli,
            Corridor.Testing.Storage.LedgerSamples.Entry("r-old", DateTimeOffset.UtcNow.AddYears(-2), model: "gpt-4.1"),
            Corridor.Testing.Storage.LedgerSamples.Entry("r-1", DateTimeOffset.UtcNow.AddMinutes(-2), model: "gpt-4.1"),
            Corridor.Testing.Storage.LedgerSamples.Entry("r-2", DateTimeOffset.UtcNow.AddMinutes(-1), model: "deepseek-v4"));
        await using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={cli.DbPath};Pooling=False"))
        {
            await db.OpenAsync().WithTimeout();
            using var damage = db.CreateCommand();
            damage.CommandText = "UPDATE ledger SET outcome = 'not an outcome' WHERE request_id = 'r-old'";
            Assert.Equal(1, await damage.ExecuteNonQueryAsync().WithTimeout());
        }

        var result = await cli.RunAsync("policy", "diff", config, config, "--limit", "2");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Contains("0 of 2 recent requests would be decided differently", result.Out, StringComparison.Ordinal);
    }

    /// <summary>A limit below 1 replays nothing: refused, rather than reporting "0 of 0" as if no request would change.</summary>
    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public async Task Diff_WithALimitBelowOne_IsRefused(string limit)
    {
        var config = Path.Combine(Root(), "corridor.yaml");
        using var cli = new CliRunner();

        var result = await cli.RunAsync("policy", "diff", config, config, "--limit", limit);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--limit must be at least 1", result.Error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Out);
    }

    [Fact]
    public async Task Diff_DecidesAnAliasRow_OnlyForTheModelsThatCanServeIt()
    {
        // An image: of chat-default's models only gpt-4.1 has vision, so the gateway never decides deepseek-v4 for it, and
        // without OpenAI's models would refuse the request, not serve it from DeepSeek.
        var result = await DiffAliasRowWithoutOpenAIAsync("r-image", "/v1/chat/completions",
            """{"model":"chat-default","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}""");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("-> gpt-4.1: deny model_not_entitled", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("deepseek-v4", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_DecidesAnAliasCountCarryingThinking_ForItsModelsThatReason()
    {
        // Of chat-default's models only deepseek-v4 reasons: the gateway counts this prompt there, and never decides gpt-4.1.
        var result = await DiffAliasRowWithoutOpenAIAsync("r-count", Corridor.Core.Metering.LedgerEntry.TokenCountEndpoint,
            """{"model":"chat-default","thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("0 of 1 recent requests would be decided differently", result.Out, StringComparison.Ordinal);
    }

    /// <summary>`policy diff` of one verified tenant's request to chat-default, recorded with its body, against a proposal without OpenAI's models.</summary>
    private static async Task<CliResult> DiffAliasRowWithoutOpenAIAsync(string id, string endpoint, string body)
    {
        using var cli = new CliRunner();
        Assert.Equal(0, (await cli.RunAsync("tenants", "add", "--id", "acme", "--name", "Acme Pte. Ltd.", "--country", "SG", "--tier", "verified")).ExitCode);
        await RecordAsync(cli, Corridor.Testing.Storage.LedgerSamples.Entry(id, DateTimeOffset.UtcNow, model: "chat-default") with
        {
            Endpoint = endpoint,
            RequestBody = Corridor.Core.Metering.Utf8Text.From(body),
        });
        return await DiffWithProposalAsync(cli, Root(), example => example
            .Replace("  - id: openai\n", "  - id: openai\n    effective: { until: 2025-01-01 }\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Diff_ListsChangedRestrictions_AndReadsTheRequestAsTheGatewayDoes()
    {
        var root = Root();
        using var cli = new CliRunner();
        await RecordBasicTenantsRequestsAsync(cli,
            ("r-capped", """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"max_tokens":8000}"""),
            // top_logprobs asks for log probabilities, as the front door reads it.
            ("r-top", """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"top_logprobs":2,"max_tokens":100}"""));

        // The proposal lowers the low tiers' cap from 4096 to 2048 and strips their log probabilities instead of refusing them.
        var result = await DiffWithProposalAsync(cli, root, example => example
            .Replace("max_tokens: 4096 ", "max_tokens: 2048 ", StringComparison.Ordinal)
            .Replace("logprobs: deny", "logprobs: strip", StringComparison.Ordinal));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("r-capped", result.Out, StringComparison.Ordinal);
        Assert.Contains("max_tokens=4096 -> allow", result.Out, StringComparison.Ordinal);
        Assert.Contains("max_tokens=2048", result.Out, StringComparison.Ordinal);
        Assert.Contains("deny feature_restricted -> allow", result.Out, StringComparison.Ordinal);
        Assert.Contains("strip_logprobs", result.Out, StringComparison.Ordinal);
        Assert.Contains("2 of 2 recent requests would be decided differently", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Diff_ListsStrippedReasoning_ReadFromEitherDialect()
    {
        var root = Root();
        using var cli = new CliRunner();
        await RecordBasicTenantsRequestsAsync(cli,
            ("r-effort", """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high","max_tokens":100}"""),
            ("r-thinking", """{"model":"deepseek-v4","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"hi"}]}"""),
            // minimal asks for no reasoning to speak of, as the front door reads it.
            ("r-minimal", """{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"minimal","max_tokens":100}"""));

        // The proposal strips the low tiers' reasoning.
        var result = await DiffWithProposalAsync(cli, root, example => example
            .Replace("      max_n: { limit: 1, mode: refuse }\n", "      max_n: { limit: 1, mode: refuse }\n      reasoning: strip\n", StringComparison.Ordinal));

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("r-effort", result.Out, StringComparison.Ordinal);
        Assert.Contains("r-thinking", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("r-minimal", result.Out, StringComparison.Ordinal);
        Assert.Contains("strip_reasoning", result.Out, StringComparison.Ordinal);
        Assert.Contains("2 of 3 recent requests would be decided differently", result.Out, StringComparison.Ordinal);
    }

    /// <summary>Adds the basic Singapore tenant <c>small</c> and records <paramref name="requests"/> (id, retained body) as its recent requests.</summary>
    private static async Task RecordBasicTenantsRequestsAsync(CliRunner cli, params (string Id, string Body)[] requests)
    {
        Assert.Equal(0, (await cli.RunAsync("tenants", "add", "--id", "small", "--name", "Small Pte. Ltd.", "--country", "SG", "--tier", "basic")).ExitCode);
        await RecordAsync(cli, [.. requests.Select(r => Corridor.Testing.Storage.LedgerSamples.Entry(r.Id, DateTimeOffset.UtcNow, tenantId: "small")
            with { RequestBody = Corridor.Core.Metering.Utf8Text.From(r.Body) })]);
    }

    /// <summary>Writes <paramref name="rows"/> into the ledger of the command line's database, as recent requests.</summary>
    private static async Task RecordAsync(CliRunner cli, params Corridor.Core.Metering.LedgerEntry[] rows)
    {
        await using var store = await Corridor.Storage.CorridorStores.OpenAsync(new Corridor.Storage.StorageOptions(cli.DbPath), CancellationToken.None).WithTimeout();
        await store.AppendLedgerAsync(rows, CancellationToken.None).WithTimeout();
    }

    /// <summary>
    /// Runs `corridor policy diff` of the repository's configuration against a proposal: the same file with its example
    /// policy (version 2025-07-01.1) replaced by <paramref name="change"/>'s version 2025-08-01.1 of it.
    /// </summary>
    private static async Task<CliResult> DiffWithProposalAsync(CliRunner cli, string root, Func<string, string> change)
    {
        var proposed = cli.File("proposed.yaml");
        var current = await File.ReadAllTextAsync(Path.Combine(root, "corridor.yaml"));
        var example = await File.ReadAllTextAsync(Path.Combine(root, "policy/example.yaml"));
        await File.WriteAllTextAsync(cli.File("example-v2.yaml"),
            change(example.Replace("version: \"2025-07-01.1\"", "version: \"2025-08-01.1\"", StringComparison.Ordinal)));
        await File.WriteAllTextAsync(proposed, current
            .Replace("./data/corridor.db", cli.DbPath, StringComparison.Ordinal)
            .Replace("include: [policy/example.yaml]", "include: [example-v2.yaml]", StringComparison.Ordinal));
        return await cli.RunAsync("policy", "diff", Path.Combine(root, "corridor.yaml"), proposed);
    }

    private static string ReplaceFirst(string text, string from, string to)
    {
        var at = text.IndexOf(from, StringComparison.Ordinal);
        return text[..at] + to + text[(at + from.Length)..];
    }
}
