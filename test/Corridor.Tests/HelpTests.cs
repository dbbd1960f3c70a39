using System.CommandLine;
using System.Text.RegularExpressions;
using CorridorCli = Corridor.Cli.Cli;

namespace Corridor.Tests;

/// <summary>Every command's <c>--help</c>, as an operator reads it.</summary>
public sealed partial class HelpTests
{
    /// <summary>
    /// Each command's help prints, names every value an option or argument takes in capitals as the README and docs/ do
    /// (<c>--tenant &lt;ID&gt;</c>, <c>--top &lt;N&gt;</c>), or lists its choices (<c>--format &lt;csv|json&gt;</c>), and
    /// describes every option.
    /// </summary>
    [Fact]
    public async Task EveryCommandsHelp_NamesItsValuesInCapitals_AndDescribesEveryOption()
    {
        using var none = new StringWriter();
        var root = CorridorCli.BuildRoot(new Corridor.Cli.CliContext(none, none, TimeProvider.System));
        var paths = new List<string[]>();
        Walk(root, [], paths);
        var problems = new List<string>();

        foreach (var path in paths)
        {
            var help = await CliRunner.RunRawAsync([.. path, "--help"]);
            var name = "corridor " + string.Join(' ', path);
            if (help.ExitCode != 0)
            {
                problems.Add($"{name} --help: exit {help.ExitCode}");
                continue;
            }
            problems.AddRange(LowercaseValue().Matches(help.Out).Select(m => $"{name}: {m.Value}"));
        }
        foreach (var command in Commands(root))
        {
            problems.AddRange(command.Options.Where(o => string.IsNullOrWhiteSpace(o.Description)).Select(o => $"{command.Name} {o.Name}: no description"));
            problems.AddRange(command.Arguments.Where(a => string.IsNullOrWhiteSpace(a.Description)).Select(a => $"{command.Name} {a.Name}: no description"));
        }

        Assert.NotEmpty(paths);
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    private static void Walk(Command command, string[] path, List<string[]> paths)
    {
        foreach (var sub in command.Subcommands)
        {
            string[] next = [.. path, sub.Name];
            paths.Add(next);
            Walk(sub, next, paths);
        }
    }

    private static IEnumerable<Command> Commands(Command command) => command.Subcommands.SelectMany(s => Commands(s).Prepend(s));

    // A placeholder of one lowercase word (<tenant>, <id>), not a list of choices (<csv|json>).
    [GeneratedRegex(@"<[a-z][a-z-]*>")]
    private static partial Regex LowercaseValue();
}
