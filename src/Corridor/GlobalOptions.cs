using System.CommandLine;
using System.CommandLine.Parsing;
using Corridor.Core.Reports;

namespace Corridor.Cli;

/// <summary>
/// Options shared by several commands, so each is declared (and described) once. Factories, not shared instances:
/// an option belongs to the command tree it was added to, and tests build many trees at once.
/// </summary>
internal static class GlobalOptions
{
    public const string DefaultConfigPath = "corridor.yaml";

    public static Option<string> Config() => new("--config")
    {
        Description = "Configuration file; the store commands read its storage section",
        DefaultValueFactory = _ => DefaultConfigPath,
        Recursive = true,
        HelpName = "PATH",
    };

    public static Option<string?> Db() => new("--db")
    {
        Description = "SQLite database file, or a PostgreSQL connection string (Host=... or Server=...;Database=...), to use instead of the configured storage (the config is then not read)",
        Recursive = true,
        HelpName = "PATH|CONNECTION",
    };

    public static Option<bool> Json() => new("--json") { Description = "Write JSON instead of a table" };

    public static Option<DateTimeOffset?> From() => DateOption("--from", "Start of the period, inclusive (2026-06-01 or 2026-06-01T08:00:00Z; UTC unless an offset is given)");

    public static Option<DateTimeOffset?> To() => DateOption("--to", "End of the period, exclusive (2026-07-01 covers all of June)");

    /// <summary>Reads <c>--from</c> and <c>--to</c>, refusing an empty period.</summary>
    public static (DateTimeOffset? From, DateTimeOffset? To) Period(ParseResult parseResult, Option<DateTimeOffset?> from, Option<DateTimeOffset?> to)
    {
        var start = parseResult.GetValue(from);
        var end = parseResult.GetValue(to);
        if (start >= end)
        {
            throw new CliUserException("--from must be earlier than --to.");
        }

        return (start, end);
    }

    private static Option<DateTimeOffset?> DateOption(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "DATE",
        CustomParser = ParseDate,
    };

    private static DateTimeOffset? ParseDate(ArgumentResult result)
    {
        var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Empty;
        if (ReportDates.TryParse(text, out var value))
        {
            return value;
        }

        var option = result.Parent is OptionResult parent ? parent.Option.Name + ": " : string.Empty;
        result.AddError($"{option}'{text}' is not a date: use 2026-06-01 or 2026-06-01T08:00:00Z.");
        return null;
    }
}
