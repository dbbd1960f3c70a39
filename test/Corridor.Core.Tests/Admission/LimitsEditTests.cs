using Corridor.Core.Admission;

namespace Corridor.Core.Tests.Admission;

public sealed class LimitsEditTests
{
    [Fact]
    public void Apply_SetsAndClearsFields_LeavingOthersAsTheyWere()
    {
        var errors = new List<string>();
        var current = new Limits { RequestsPerMinute = 60, DailyHardBudget = 10m };

        var edited = new LimitsEdit { TokensPerMinute = "100000", DailyHardBudget = "none", MonthlyHardBudget = "250.50" }.ApplyTo(current, errors);

        Assert.Empty(errors);
        Assert.Equal(new Limits { RequestsPerMinute = 60, TokensPerMinute = 100_000, MonthlyHardBudget = 250.50m }, edited);
        Assert.Equal(
            [new("tpm", null, "100000"), new("daily_budget", "10", null), new("monthly_budget", null, "250.50")],
            Limits.Changes(current, edited!));
    }

    [Fact]
    public void Apply_ReportsEveryMistakeAtOnce()
    {
        var errors = new List<string>();

        var edited = new LimitsEdit { RequestsPerMinute = "0", ConcurrentStreams = "many", DailySoftBudget = "-1", MonthlySoftBudget = "20", MonthlyHardBudget = "10" }
            .ApplyTo(Limits.None, errors);

        Assert.Null(edited);
        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("rpm '0'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("concurrent streams 'many'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("daily soft budget '-1'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("monthly soft budget (20) is above the monthly budget (10)", StringComparison.Ordinal));
    }

    [Fact]
    public void Or_FillsOnlyTheFieldsNotSet()
    {
        var own = new Limits { RequestsPerMinute = 10 };
        var defaults = new Limits { RequestsPerMinute = 600, DailyHardBudget = 5m };

        Assert.Equal(new Limits { RequestsPerMinute = 10, DailyHardBudget = 5m }, own.Or(defaults));
        Assert.Same(own, own.Or(Limits.None));
    }
}
