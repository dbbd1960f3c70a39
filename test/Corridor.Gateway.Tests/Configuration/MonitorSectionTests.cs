using Corridor.Gateway.Configuration;
using Corridor.Monitor.Scoring;

namespace Corridor.Gateway.Tests.Configuration;

public sealed class MonitorSectionTests
{
    private const string Catalog = TestConfigs.OneDeployment;

    [Fact]
    public void WithoutAMonitorSection_TheDefaultsApply()
    {
        var result = ConfigLoader.Parse(Catalog, "/srv");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(MonitorSettings.Default, result.Config!.Monitor);
    }

    [Fact]
    public void EverySetting_IsRead()
    {
        var result = ConfigLoader.Parse(Catalog + """

            monitor:
              enabled: true
              tickIntervalMs: 500
              thresholds: { watch: 0.1, flag: 0.3, throttle: 0.5, suspend: 0.9 }
              hysteresis: 0.1
              downDwellMinutes: 30
              maxAutomaticLevel: throttle
              scoreIntervalSeconds: 5
              confidenceHours: 0
              throttle: { stripLogprobs: false, maxN: 2, maxTokens: none, limitFactor: 0.5, stripReasoning: false }
              cases: { examples: 0, exampleMaxChars: 1000, exampleRetentionDays: 3 }
            """, "/srv");

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        var monitor = result.Config!.Monitor;
        Assert.Equal(TimeSpan.FromMilliseconds(500), monitor.TickInterval);
        Assert.Equal(0.3, monitor.Scoring.Thresholds.Flag);
        Assert.Equal(0.9, monitor.Scoring.Thresholds.Suspend);
        Assert.Equal(0.1, monitor.Scoring.Hysteresis);
        Assert.Equal(TimeSpan.FromMinutes(30), monitor.Scoring.DownDwell);
        Assert.Equal(EnforcementLevel.Throttle, monitor.Scoring.MaxAutomaticLevel);
        Assert.Equal(TimeSpan.FromSeconds(5), monitor.Scoring.ScoreInterval);
        Assert.Equal(0, monitor.Scoring.ConfidenceHours);
        Assert.Equal(new ThrottleOptions(false, 2, null, 0.5, StripReasoning: false), monitor.Throttle);
        Assert.Equal(new CaseOptions(0, 1000, TimeSpan.FromDays(3)), monitor.Cases);
    }

    [Fact]
    public void ScoringErrors_NameTheSettingAsTheFileSpellsIt()
    {
        var result = ConfigLoader.Parse(Catalog + """

            monitor:
              halfLifeMinutes: 0
              scoreIntervalSeconds: 0
              clusterIntervalMinutes: 0
              downDwellMinutes: -1
              confidenceHours: -1
              maxKeys: 1
            """, "/srv");

        Assert.Equal(
            [
                "monitor.downDwellMinutes must not be negative",
                "monitor.halfLifeMinutes must be positive",
                "monitor.scoreIntervalSeconds must be positive",
                "monitor.clusterIntervalMinutes must be positive",
                "monitor.confidenceRequests and monitor.confidenceHours must not be negative",
                "monitor.maxKeys must be at least 16",
            ],
            result.Errors);
    }

    [Fact]
    public void BadSettings_AreAllReported()
    {
        var result = ConfigLoader.Parse(Catalog + """

            monitor:
              thresholds: { flag: 0.7 }
              maxAutomaticLevel: ban
              hysteresis: lots
              throttle: { maxN: 0, limitFactor: 2 }
              cases: { examples: -1 }
            """, "/srv");

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.Contains("thresholds must rise strictly", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("maxAutomaticLevel: 'ban'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("hysteresis: 'lots' is not a number", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("monitor.throttle.maxN", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("monitor.throttle.limitFactor", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Contains("monitor.cases.examples", StringComparison.Ordinal));
    }

    [Fact]
    public void EnvironmentVariables_OverrideMonitorSettings()
    {
        var result = ConfigLoader.Parse(Catalog, "/srv", new Dictionary<string, string> { ["CORRIDOR__monitor__thresholds__suspend"] = "0.95" });

        Assert.True(result.Succeeded, string.Join("; ", result.Errors));
        Assert.Equal(0.95, result.Config!.Monitor.Scoring.Thresholds.Suspend);
    }
}
