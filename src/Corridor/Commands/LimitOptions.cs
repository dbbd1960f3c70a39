using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Corridor.Cli.Output;
using Corridor.Core.Admission;
using Corridor.Storage;
using Corridor.Storage.Compliance;

namespace Corridor.Cli.Commands;

/// <summary>
/// The limit and budget options shared by <c>tenants update</c> and <c>keys update</c>. Changes are audited
/// (<c>limits.update</c>) and reach a running gateway within its store refresh interval.
/// </summary>
internal sealed class LimitOptions
{
    public Option<string?> RequestsPerMinute { get; } = new("--rpm") { Description = "Requests per minute; 'none' removes the limit", HelpName = "N" };

    public Option<string?> TokensPerMinute { get; } = new("--tpm")
    {
        Description = "Tokens per minute, input and output weighted by limits.inputTokenWeight/outputTokenWeight; 'none' removes it",
        HelpName = "N",
    };

    public Option<string?> ConcurrentStreams { get; } = new("--concurrent-streams") { Description = "Streams open at once; 'none' removes the limit", HelpName = "N" };

    public Option<string?> DailyBudget { get; } = new("--daily-budget")
    {
        Description = "Hard budget per UTC day, in the operator's currency: refused with insufficient_quota beyond it; 'none' removes it",
        HelpName = "AMOUNT",
    };

    public Option<string?> DailySoftBudget { get; } = new("--daily-soft-budget") { Description = "Soft budget per UTC day: alerts once a day; 'none' removes it", HelpName = "AMOUNT" };

    public Option<string?> MonthlyBudget { get; } = new("--monthly-budget") { Description = "Hard budget per UTC month; 'none' removes it", HelpName = "AMOUNT" };

    public Option<string?> MonthlySoftBudget { get; } = new("--monthly-soft-budget") { Description = "Soft budget per UTC month: alerts once a month; 'none' removes it", HelpName = "AMOUNT" };

    public const string Names = "--rpm, --tpm, --concurrent-streams, --daily-budget, --daily-soft-budget, --monthly-budget, --monthly-soft-budget";

    public void AddTo(Command command)
    {
        command.Add(RequestsPerMinute);
        command.Add(TokensPerMinute);
        command.Add(ConcurrentStreams);
        command.Add(DailyBudget);
        command.Add(DailySoftBudget);
        command.Add(MonthlyBudget);
        command.Add(MonthlySoftBudget);
    }

    public LimitsEdit Read(ParseResult parseResult) => new()
    {
        RequestsPerMinute = parseResult.GetValue(RequestsPerMinute),
        TokensPerMinute = parseResult.GetValue(TokensPerMinute),
        ConcurrentStreams = parseResult.GetValue(ConcurrentStreams),
        DailyHardBudget = parseResult.GetValue(DailyBudget),
        DailySoftBudget = parseResult.GetValue(DailySoftBudget),
        MonthlyHardBudget = parseResult.GetValue(MonthlyBudget),
        MonthlySoftBudget = parseResult.GetValue(MonthlySoftBudget),
    };

    /// <summary>
    /// Adds to <paramref name="errors"/> what is wrong with <paramref name="edit"/> of the subject's own limits, so that a
    /// command changing more than limits refuses all of it, with every problem listed, before it changes any of it.
    /// </summary>
    public static async Task CheckAsync(ICorridorStore store, LimitScope scope, string id, LimitsEdit edit, List<string> errors, CancellationToken cancellationToken)
    {
        if (!edit.IsEmpty)
        {
            edit.ApplyTo(await AdminChanges.GetLimitsAsync(store, scope, id, cancellationToken), errors, Flag);
        }
    }

    /// <summary>A limit's option as the operator typed it: <c>daily soft budget</c> is <c>--daily-soft-budget</c>.</summary>
    private static string Flag(string name) => "--" + name.Replace(' ', '-');

    /// <summary>Stores the edit and prints what changed.</summary>
    public static async Task ApplyAsync(CliContext context, ICorridorStore store, LimitScope scope, string id, LimitsEdit edit, CancellationToken cancellationToken)
    {
        var (before, after) = await AdminChanges.UpdateLimitsAsync(store, scope, id, edit, context.Actor, context.Time.GetUtcNow(), cancellationToken);
        var changes = Limits.Changes(before, after);
        var who = scope == LimitScope.Tenant ? "tenant" : "key";
        if (changes.Count == 0)
        {
            context.Out.WriteLine($"The {who} {id} already has those limits; nothing changed.");
            return;
        }
        context.Out.WriteLine($"Updated the limits of {who} {id}:");
        foreach (var change in changes)
        {
            context.Out.WriteLine($"  {change.Name}: {CliFormat.OrNone(change.From)} -> {CliFormat.OrNone(change.To)}");
        }
    }

    /// <summary>A tenant's or key's own limits as one JSON object, as the admin API's <c>own</c>: counts as numbers, money as decimal strings, null for none.</summary>
    public static void WriteJson(Utf8JsonWriter json, Limits limits)
    {
        json.WriteStartObject();
        WriteNumberOrNull(json, "rpm", limits.RequestsPerMinute);
        WriteNumberOrNull(json, "tpm", limits.TokensPerMinute);
        WriteNumberOrNull(json, "concurrent_streams", limits.ConcurrentStreams);
        WriteMoneyOrNull(json, "daily_soft_budget", limits.DailySoftBudget);
        WriteMoneyOrNull(json, "daily_budget", limits.DailyHardBudget);
        WriteMoneyOrNull(json, "monthly_soft_budget", limits.MonthlySoftBudget);
        WriteMoneyOrNull(json, "monthly_budget", limits.MonthlyHardBudget);
        json.WriteEndObject();

        static void WriteNumberOrNull(Utf8JsonWriter json, string name, long? value)
        {
            if (value is { } v)
            {
                json.WriteNumber(name, v);
            }
            else
            {
                json.WriteNull(name);
            }
        }

        static void WriteMoneyOrNull(Utf8JsonWriter json, string name, decimal? value) =>
            json.WriteString(name, value?.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Adds a tenant's or key's own limits to a show table.</summary>
    public static void AddRows(TextTable table, Limits limits)
    {
        foreach (var field in limits.Fields())
        {
            table.Add(field.Name, CliFormat.OrNone(field.Value));
        }
    }
}
