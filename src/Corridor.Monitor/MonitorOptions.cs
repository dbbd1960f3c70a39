using Corridor.Monitor.Scoring;

namespace Corridor.Monitor;

/// <summary>Score thresholds for each level; a level is entered when the score reaches its threshold.</summary>
public sealed record LevelThresholds
{
    public double Watch { get; init; } = 0.20;

    public double Flag { get; init; } = 0.40;

    public double Throttle { get; init; } = 0.60;

    public double Suspend { get; init; } = 0.80;

    public double For(EnforcementLevel level) => level switch
    {
        EnforcementLevel.Watch => Watch,
        EnforcementLevel.Flag => Flag,
        EnforcementLevel.Throttle => Throttle,
        EnforcementLevel.Suspend => Suspend,
        _ => 0,
    };
}

/// <summary>
/// Each profile signal's weight in a subject's score (they sum to 1) and each coordination signal's weight in a
/// cluster's score (the profile's weights are scaled down by their sum).
/// </summary>
public sealed record SignalWeights
{
    public double CotElicitation { get; init; } = 0.17;

    public double VerbosityElicitation { get; init; } = 0.12;

    public double DatasetFormat { get; init; } = 0.08;

    public double OutputYield { get; init; } = 0.16;

    public double HarvestSampling { get; init; } = 0.14;

    public double TemperatureSweep { get; init; } = 0.05;

    public double ScriptedCoverage { get; init; } = 0.12;

    public double TemplatedPrompts { get; init; } = 0.08;

    public double MachineCadence { get; init; } = 0.08;

    public double SharedTemplate { get; init; } = 0.05;

    public double SynchronisedCadence { get; init; } = 0.04;

    public double SharedSource { get; init; } = 0.03;

    public double SplitHarvest { get; init; } = 0.03;

    public double For(Signal signal) => signal switch
    {
        Signal.CotElicitation => CotElicitation,
        Signal.VerbosityElicitation => VerbosityElicitation,
        Signal.DatasetFormat => DatasetFormat,
        Signal.OutputYield => OutputYield,
        Signal.HarvestSampling => HarvestSampling,
        Signal.TemperatureSweep => TemperatureSweep,
        Signal.ScriptedCoverage => ScriptedCoverage,
        Signal.TemplatedPrompts => TemplatedPrompts,
        Signal.MachineCadence => MachineCadence,
        Signal.SharedTemplate => SharedTemplate,
        Signal.SynchronisedCadence => SynchronisedCadence,
        Signal.SharedSource => SharedSource,
        _ => SplitHarvest,
    };
}

/// <summary>The distillation monitor's settings: thresholds, hysteresis, windows, signal weights and memory bounds.</summary>
public sealed record MonitorOptions
{
    public LevelThresholds Thresholds { get; init; } = new();

    /// <summary>A level is left only when the score is this far below its threshold...</summary>
    public double Hysteresis { get; init; } = 0.05;

    /// <summary>...and has stayed there this long (event time). Levels go up at once.</summary>
    public TimeSpan DownDwell { get; init; } = TimeSpan.FromHours(6);

    /// <summary>The highest level the monitor sets on its own; operators can pin any level.</summary>
    public EnforcementLevel MaxAutomaticLevel { get; init; } = EnforcementLevel.Suspend;

    public SignalWeights Weights { get; init; } = new();

    /// <summary>Half-life of the decayed counters behind every fraction: older traffic weighs less.</summary>
    public TimeSpan HalfLife { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Epoch of the distinct-prompt sketches and of the prompt-frame top-k (the window is two epochs).</summary>
    public TimeSpan Epoch { get; init; } = TimeSpan.FromHours(24);

    /// <summary>A subject is rescored when this much event time has passed since its last score...</summary>
    public TimeSpan ScoreInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>...or after this many of its requests, whichever comes first.</summary>
    public int ScoreEveryRequests { get; init; } = 8;

    /// <summary>Clusters are rebuilt and scored this often (event time).</summary>
    public TimeSpan ClusterInterval { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Confidence grows with requests as n/(n + this)...</summary>
    public double ConfidenceRequests { get; init; } = 8;

    /// <summary>...and with active hours as h/(h + this): a one-off burst is not a campaign.</summary>
    public double ConfidenceHours { get; init; } = 1.0;

    /// <summary>A request counts as reasoning harvested when it asked for reasoning and got this many tokens of it: visible answer tokens when asked in words, reasoning tokens when asked through the API.</summary>
    public int MinReasoningAnswerTokens { get; init; } = 150;

    /// <summary>Mean visible answer length where output yield starts, and the span over which it reaches 1.</summary>
    public double YieldTokensFloor { get; init; } = 400;

    public double YieldTokensSpan { get; init; } = 1000;

    /// <summary>Answer/prompt token ratio where output yield starts, and the span over which it reaches 1.</summary>
    public double YieldRatioFloor { get; init; } = 4;

    public double YieldRatioSpan { get; init; } = 10;

    /// <summary>A key whose own profile (before confidence) reaches this looks like a harvester: cluster evidence.</summary>
    public double HarvestProfile { get; init; } = 0.40;

    /// <summary>Keys whose profile reaches this are watched for synchronised cadence.</summary>
    public double CadenceSuspect { get; init; } = 0.30;

    /// <summary>Width of the time bins in which synchronised requests are counted.</summary>
    public TimeSpan CadenceBin { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>A light account, for split-harvest evidence, has sent at most this many requests.</summary>
    public int LightAccountRequests { get; init; } = 300;

    /// <summary>Keys with behaviour state; the coldest is evicted (and its state reused) to make room.</summary>
    public int MaxKeys { get; init; } = 50_000;

    public int MaxTenants { get; init; } = 20_000;

    /// <summary>(Key, user agent) profiles: one client's use of a key, seen apart from the key's other clients.</summary>
    public int MaxClients { get; init; } = 50_000;

    public int MaxPairs { get; init; } = 50_000;

    public int MaxFrames { get; init; } = 65_536;

    public int MaxSources { get; init; } = 65_536;

    public int MaxClusters { get; init; } = 2_000;

    /// <summary>
    /// Subjects that reached a level keep a record for reports and cases, in two tables (watched, flagged) of this many:
    /// a full table makes room only by a record whose level cooled off to none, and grows rather than drop a level.
    /// </summary>
    public int MaxRecords { get; init; } = 20_000;

    /// <summary>
    /// Every problem at once; empty when the options are usable. Each names the setting as <c>corridor.yaml</c> spells it
    /// (<c>monitor.halfLifeMinutes</c>), so the message points at the line to change.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var t = Thresholds;
        if (!(t.Watch > 0 && t.Watch < t.Flag && t.Flag < t.Throttle && t.Throttle < t.Suspend && t.Suspend <= 1))
        {
            errors.Add("monitor.thresholds must rise strictly: 0 < watch < flag < throttle < suspend <= 1");
        }

        if (Hysteresis is < 0 or >= 0.5)
        {
            errors.Add("monitor.hysteresis must be in [0, 0.5)");
        }

        if (DownDwell < TimeSpan.Zero)
        {
            errors.Add("monitor.downDwellMinutes must not be negative");
        }

        var profile = 0.0;
        for (var i = 0; i < Signals.Count; i++)
        {
            var weight = Weights.For((Signal)i);
            if (weight is < 0 or > 1 || double.IsNaN(weight))
            {
                errors.Add($"monitor weight of {((Signal)i).Name()} must be in [0, 1]");
            }

            if (i < Signals.ProfileCount)
            {
                profile += weight;
            }
        }

        if (Math.Abs(profile - 1) > 0.001)
        {
            errors.Add($"monitor profile signal weights must sum to 1 (they sum to {profile:0.###})");
        }

        Positive(HalfLife, "halfLifeMinutes");
        Positive(Epoch, "epoch");
        Positive(ScoreInterval, "scoreIntervalSeconds");
        Positive(ClusterInterval, "clusterIntervalMinutes");
        Positive(CadenceBin, "cadenceBin");
        if (ScoreEveryRequests < 1)
        {
            errors.Add("monitor.scoreEveryRequests must be at least 1");
        }

        if (ConfidenceRequests < 0 || ConfidenceHours < 0)
        {
            errors.Add("monitor.confidenceRequests and monitor.confidenceHours must not be negative");
        }

        if (YieldTokensSpan <= 0 || YieldRatioSpan <= 0)
        {
            errors.Add("monitor yield spans must be positive");
        }

        foreach (var (value, name) in new[] { (MaxKeys, "maxKeys"), (MaxTenants, "maxTenants"), (MaxClients, "maxClients"), (MaxPairs, "maxPairs"), (MaxFrames, "maxFrames"), (MaxSources, "maxSources"), (MaxClusters, "maxClusters"), (MaxRecords, "maxRecords") })
        {
            if (value < 16)
            {
                errors.Add($"monitor.{name} must be at least 16");
            }
        }

        return errors;

        void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"monitor.{name} must be positive");
            }
        }
    }
}
