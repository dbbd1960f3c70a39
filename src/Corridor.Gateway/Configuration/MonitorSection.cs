using System.Globalization;
using Corridor.Monitor;
using Corridor.Monitor.Scoring;
using Microsoft.Extensions.Configuration;

namespace Corridor.Gateway.Configuration;

/// <summary>
/// What <c>throttle</c> does to a request: the harvest-friendly features it strips and how much it lowers limits.
/// <see cref="LimitFactor"/> is carried on the request (<c>CorridorRequestFeature.Enforcement</c>) for admission to
/// multiply its rate and concurrency limits by.
/// </summary>
public sealed record ThrottleOptions(bool StripLogprobs = true, int MaxN = 1, int? MaxTokens = 1024, double LimitFactor = 0.25, bool StripReasoning = true);

/// <summary>Cases: how many example requests each keeps, how much of each, and for how long (0 examples: none kept).</summary>
public sealed record CaseOptions(int Examples = 5, int ExampleMaxChars = 4000, TimeSpan? ExampleRetention = null)
{
    public TimeSpan EffectiveExampleRetention => ExampleRetention ?? TimeSpan.FromDays(30);
}

/// <summary>The <c>monitor:</c> section of <c>corridor.yaml</c>.</summary>
/// <param name="Enabled">Off: nothing is observed or enforced (pins included).</param>
/// <param name="Scoring">Thresholds, hysteresis, windows and capacities (read at start; a change needs a restart).</param>
/// <param name="Throttle">What <c>throttle</c> does (applies to the next request after a reload).</param>
/// <param name="Cases">Example retention (applies after a reload).</param>
/// <param name="TickInterval">How often subjects are scored in the background, pins made from the command line are picked up, and case timelines are updated.</param>
public sealed record MonitorSettings(bool Enabled, MonitorOptions Scoring, ThrottleOptions Throttle, CaseOptions Cases, TimeSpan TickInterval)
{
    public static readonly MonitorSettings Default = new(true, new MonitorOptions(), new ThrottleOptions(), new CaseOptions(), TimeSpan.FromSeconds(15));

    /// <summary>With PostgreSQL: how often a replica ships its observations to the fleet's table, and the leader scores them.</summary>
    public TimeSpan FleetInterval { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>Reads the <c>monitor:</c> section, collecting every error.</summary>
internal static class MonitorSection
{
    public static MonitorSettings Read(IConfigurationSection s, List<string> errors)
    {
        var d = MonitorSettings.Default;
        var o = d.Scoring;
        var thresholds = s.GetSection("thresholds");
        var scoring = o with
        {
            Thresholds = new LevelThresholds
            {
                Watch = Double(thresholds, "watch") ?? o.Thresholds.Watch,
                Flag = Double(thresholds, "flag") ?? o.Thresholds.Flag,
                Throttle = Double(thresholds, "throttle") ?? o.Thresholds.Throttle,
                Suspend = Double(thresholds, "suspend") ?? o.Thresholds.Suspend,
            },
            Hysteresis = Double(s, "hysteresis") ?? o.Hysteresis,
            DownDwell = Minutes(s, "downDwellMinutes") ?? o.DownDwell,
            MaxAutomaticLevel = Level(s, "maxAutomaticLevel") ?? o.MaxAutomaticLevel,
            HalfLife = Minutes(s, "halfLifeMinutes") ?? o.HalfLife,
            ScoreInterval = Seconds(s, "scoreIntervalSeconds") ?? o.ScoreInterval,
            ScoreEveryRequests = Int(s, "scoreEveryRequests") ?? o.ScoreEveryRequests,
            ClusterInterval = Minutes(s, "clusterIntervalMinutes") ?? o.ClusterInterval,
            ConfidenceRequests = Double(s, "confidenceRequests") ?? o.ConfidenceRequests,
            ConfidenceHours = Double(s, "confidenceHours") ?? o.ConfidenceHours,
            MaxKeys = Int(s, "maxKeys") ?? o.MaxKeys,
            MaxTenants = Int(s, "maxTenants") ?? o.MaxTenants,
            MaxClients = Int(s, "maxClients") ?? o.MaxClients,
            MaxRecords = Int(s, "maxRecords") ?? o.MaxRecords,
        };
        errors.AddRange(scoring.Validate());

        var t = s.GetSection("throttle");
        var throttle = new ThrottleOptions(
            Bool(t, "stripLogprobs") ?? d.Throttle.StripLogprobs,
            Int(t, "maxN") ?? d.Throttle.MaxN,
            t["maxTokens"] is "none" ? null : Int(t, "maxTokens") ?? d.Throttle.MaxTokens,
            Double(t, "limitFactor") ?? d.Throttle.LimitFactor,
            Bool(t, "stripReasoning") ?? d.Throttle.StripReasoning);
        if (throttle.MaxN < 1)
        {
            errors.Add("monitor.throttle.maxN must be at least 1");
        }

        if (throttle.MaxTokens is < 1)
        {
            errors.Add("monitor.throttle.maxTokens must be at least 1 (or none)");
        }

        if (throttle.LimitFactor is <= 0 or > 1 || double.IsNaN(throttle.LimitFactor))
        {
            errors.Add("monitor.throttle.limitFactor must be in (0, 1]");
        }

        var c = s.GetSection("cases");
        var cases = new CaseOptions(
            Int(c, "examples") ?? d.Cases.Examples,
            Int(c, "exampleMaxChars") ?? d.Cases.ExampleMaxChars,
            Int(c, "exampleRetentionDays") is { } days ? TimeSpan.FromDays(days) : null);
        if (cases.Examples is < 0 or > 100)
        {
            errors.Add("monitor.cases.examples must be from 0 (none kept) to 100");
        }

        if (cases.ExampleMaxChars < 100)
        {
            errors.Add("monitor.cases.exampleMaxChars must be at least 100");
        }

        if (cases.ExampleRetention is { } retention && retention <= TimeSpan.Zero)
        {
            errors.Add("monitor.cases.exampleRetentionDays must be at least 1 (set examples: 0 to keep none)");
        }

        var tick = Int(s, "tickIntervalMs") is { } ms ? TimeSpan.FromMilliseconds(ms) : d.TickInterval;
        if (tick < TimeSpan.FromMilliseconds(10))
        {
            errors.Add("monitor.tickIntervalMs must be at least 10");
        }

        var fleet = Int(s, "fleetIntervalMs") is { } fleetMs ? TimeSpan.FromMilliseconds(fleetMs) : d.FleetInterval;
        if (fleet < TimeSpan.FromMilliseconds(10))
        {
            errors.Add("monitor.fleetIntervalMs must be at least 10");
        }

        return new MonitorSettings(Bool(s, "enabled") ?? d.Enabled, scoring, throttle, cases, tick) { FleetInterval = fleet };

        double? Double(IConfigurationSection section, string key)
        {
            if (section[key] is not { } text)
            {
                return null;
            }

            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            errors.Add($"{section.Path}.{key}: '{text}' is not a number");
            return null;
        }

        int? Int(IConfigurationSection section, string key)
        {
            if (section[key] is not { } text)
            {
                return null;
            }

            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            errors.Add($"{section.Path}.{key}: '{text}' is not a whole number");
            return null;
        }

        bool? Bool(IConfigurationSection section, string key)
        {
            if (section[key] is not { } text)
            {
                return null;
            }

            if (bool.TryParse(text, out var value))
            {
                return value;
            }

            errors.Add($"{section.Path}.{key}: '{text}' is not true or false");
            return null;
        }

        TimeSpan? Seconds(IConfigurationSection section, string key) => Double(section, key) is { } v ? TimeSpan.FromSeconds(v) : null;

        TimeSpan? Minutes(IConfigurationSection section, string key) => Double(section, key) is { } v ? TimeSpan.FromMinutes(v) : null;

        EnforcementLevel? Level(IConfigurationSection section, string key)
        {
            if (section[key] is not { } text)
            {
                return null;
            }

            if (EnforcementLevels.TryParse(text, out var level) && level != EnforcementLevel.None)
            {
                return level;
            }

            errors.Add($"{section.Path}.{key}: '{text}' is not one of watch, flag, throttle, suspend");
            return null;
        }
    }
}
