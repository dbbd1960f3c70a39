using System.Globalization;
using Corridor.Core.Tenants;

namespace Corridor.Core.Admission;

/// <summary>Whose limits: a tenant's (all its keys together) or one key's.</summary>
public enum LimitScope
{
    Tenant,
    Key,
}

/// <summary>
/// The limits and budgets of one tenant or key. A null field sets no limit of its own (the configured default applies,
/// else none). Budgets are in the operator's currency, per UTC day and per UTC month; a soft budget alerts once per
/// period, a hard budget refuses.
/// </summary>
public sealed record Limits
{
    public static readonly Limits None = new();

    public int? RequestsPerMinute { get; init; }

    /// <summary>Weighted tokens per minute: input tokens times the input weight plus output tokens times the output weight.</summary>
    public long? TokensPerMinute { get; init; }

    public int? ConcurrentStreams { get; init; }

    public decimal? DailySoftBudget { get; init; }

    public decimal? DailyHardBudget { get; init; }

    public decimal? MonthlySoftBudget { get; init; }

    public decimal? MonthlyHardBudget { get; init; }

    public bool IsEmpty => this == None;

    public bool HasRateLimits => RequestsPerMinute is not null || TokensPerMinute is not null;

    public bool HasBudgets => DailySoftBudget is not null || DailyHardBudget is not null || MonthlySoftBudget is not null || MonthlyHardBudget is not null;

    /// <summary>These limits, each field not set taken from <paramref name="defaults"/>.</summary>
    public Limits Or(Limits defaults)
    {
        ArgumentNullException.ThrowIfNull(defaults);
        return defaults.IsEmpty ? this : new Limits
        {
            RequestsPerMinute = RequestsPerMinute ?? defaults.RequestsPerMinute,
            TokensPerMinute = TokensPerMinute ?? defaults.TokensPerMinute,
            ConcurrentStreams = ConcurrentStreams ?? defaults.ConcurrentStreams,
            DailySoftBudget = DailySoftBudget ?? defaults.DailySoftBudget,
            DailyHardBudget = DailyHardBudget ?? defaults.DailyHardBudget,
            MonthlySoftBudget = MonthlySoftBudget ?? defaults.MonthlySoftBudget,
            MonthlyHardBudget = MonthlyHardBudget ?? defaults.MonthlyHardBudget,
        };
    }

    /// <summary>The fields in one fixed order, as text (null when not set), for the audit log, the CLI and the admin API.</summary>
    public IReadOnlyList<TenantField> Fields() =>
    [
        new("rpm", Text(RequestsPerMinute)),
        new("tpm", Text(TokensPerMinute)),
        new("concurrent_streams", Text(ConcurrentStreams)),
        new("daily_soft_budget", Text(DailySoftBudget)),
        new("daily_budget", Text(DailyHardBudget)),
        new("monthly_soft_budget", Text(MonthlySoftBudget)),
        new("monthly_budget", Text(MonthlyHardBudget)),
    ];

    /// <summary>The fields whose text differs, in field order (the same shape as a tenant's changes, for the audit log).</summary>
    public static IReadOnlyList<TenantFieldChange> Changes(Limits before, Limits after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return TenantFields.Changes(before.Fields(), after.Fields());
    }

    private static string? Text(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string? Text(decimal? value) => value?.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Limits as an operator typed them; a null field is left as it is, <c>none</c> removes that limit.</summary>
public sealed record LimitsEdit
{
    public const string ClearKeyword = "none";

    public string? RequestsPerMinute { get; init; }

    public string? TokensPerMinute { get; init; }

    public string? ConcurrentStreams { get; init; }

    public string? DailySoftBudget { get; init; }

    public string? DailyHardBudget { get; init; }

    public string? MonthlySoftBudget { get; init; }

    public string? MonthlyHardBudget { get; init; }

    public bool IsEmpty =>
        RequestsPerMinute is null && TokensPerMinute is null && ConcurrentStreams is null && DailySoftBudget is null
        && DailyHardBudget is null && MonthlySoftBudget is null && MonthlyHardBudget is null;

    /// <summary>
    /// <paramref name="current"/> with these fields applied; every problem goes to <paramref name="errors"/>, each field named
    /// as <paramref name="nameOf"/> says the caller's user wrote it (<c>rpm</c>, <c>daily budget</c>, … when null).
    /// </summary>
    public Limits? ApplyTo(Limits current, ICollection<string> errors, Func<string, string>? nameOf = null)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(errors);
        nameOf ??= static name => name;
        var before = errors.Count;
        var limits = current with
        {
            RequestsPerMinute = (int?)Count(RequestsPerMinute, current.RequestsPerMinute, nameOf("rpm"), int.MaxValue, errors),
            TokensPerMinute = Count(TokensPerMinute, current.TokensPerMinute, nameOf("tpm"), long.MaxValue / 1_000_000, errors),
            ConcurrentStreams = (int?)Count(ConcurrentStreams, current.ConcurrentStreams, nameOf("concurrent streams"), int.MaxValue, errors),
            DailySoftBudget = Money(DailySoftBudget, current.DailySoftBudget, nameOf("daily soft budget"), errors),
            DailyHardBudget = Money(DailyHardBudget, current.DailyHardBudget, nameOf("daily budget"), errors),
            MonthlySoftBudget = Money(MonthlySoftBudget, current.MonthlySoftBudget, nameOf("monthly soft budget"), errors),
            MonthlyHardBudget = Money(MonthlyHardBudget, current.MonthlyHardBudget, nameOf("monthly budget"), errors),
        };
        if (limits.DailySoftBudget > limits.DailyHardBudget)
        {
            errors.Add($"the {nameOf("daily soft budget")} ({limits.DailySoftBudget}) is above the {nameOf("daily budget")} ({limits.DailyHardBudget}).");
        }
        if (limits.MonthlySoftBudget > limits.MonthlyHardBudget)
        {
            errors.Add($"the {nameOf("monthly soft budget")} ({limits.MonthlySoftBudget}) is above the {nameOf("monthly budget")} ({limits.MonthlyHardBudget}).");
        }
        return errors.Count > before ? null : limits;
    }

    private static long? Count(string? text, long? current, string name, long max, ICollection<string> errors)
    {
        if (text is null)
        {
            return current;
        }
        if (IsClear(text))
        {
            return null;
        }
        if (long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1 && value <= max)
        {
            return value;
        }
        errors.Add($"{name} '{text}' is not a whole number from 1 to {max} (or '{ClearKeyword}' to remove it).");
        return current;
    }

    private static decimal? Money(string? text, decimal? current, string name, ICollection<string> errors)
    {
        if (text is null)
        {
            return current;
        }
        if (IsClear(text))
        {
            return null;
        }
        if (decimal.TryParse(text.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value >= 0)
        {
            return value;
        }
        errors.Add($"{name} '{text}' is not an amount such as 250 or 99.50 (or '{ClearKeyword}' to remove it).");
        return current;
    }

    private static bool IsClear(string text) =>
        string.IsNullOrWhiteSpace(text) || string.Equals(text.Trim(), ClearKeyword, StringComparison.OrdinalIgnoreCase);
}
