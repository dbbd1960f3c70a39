namespace Corridor.Monitor.Scoring;

/// <summary>The signals a risk score is built from. docs/monitor.md describes each one.</summary>
public enum Signal : byte
{
    /// <summary>Prompts that ask for the reasoning itself, answered at length.</summary>
    CotElicitation,

    /// <summary>Prompts that ask for length and completeness.</summary>
    VerbosityElicitation,

    /// <summary>Prompts laid out as instruction-dataset records.</summary>
    DatasetFormat,

    /// <summary>Long visible answers, many times longer than the prompts.</summary>
    OutputYield,

    /// <summary>Several samples per prompt (n), or log-probabilities on open-ended generation.</summary>
    HarvestSampling,

    /// <summary>Several temperatures used side by side.</summary>
    TemperatureSweep,

    /// <summary>One-shot prompts, almost never repeated: coverage of a task space rather than a conversation.</summary>
    ScriptedCoverage,

    /// <summary>Prompts made from a few fixed frames around a changing payload.</summary>
    TemplatedPrompts,

    /// <summary>Regular machine pacing, round the clock.</summary>
    MachineCadence,

    /// <summary>Cluster: members use the same prompt frames.</summary>
    SharedTemplate,

    /// <summary>Cluster: members send at the same moments.</summary>
    SynchronisedCadence,

    /// <summary>Cluster: members send from the same network with the same client.</summary>
    SharedSource,

    /// <summary>Cluster: many light accounts, each with a harvest profile.</summary>
    SplitHarvest,
}

public static class Signals
{
    public const int Count = 13;

    /// <summary>The signals of a single subject's profile (the rest only apply to clusters).</summary>
    public const int ProfileCount = 9;

    /// <summary>What the signal measures, in one sentence, for reports and evidence bundles.</summary>
    public static string Describe(this Signal signal) => signal switch
    {
        Signal.CotElicitation => "Share of requests that ask for the model's reasoning itself and received a long answer.",
        Signal.VerbosityElicitation => "Share of requests that ask for length and completeness.",
        Signal.DatasetFormat => "Share of prompts laid out as instruction-dataset records.",
        Signal.OutputYield => "Long visible answers, many times longer than the prompts.",
        Signal.HarvestSampling => "Several samples per prompt (n), or token log-probabilities on open-ended generation.",
        Signal.TemperatureSweep => "Several sampling temperatures used side by side.",
        Signal.ScriptedCoverage => "One-shot prompts that almost never repeat: coverage of a task space rather than a conversation.",
        Signal.TemplatedPrompts => "Prompts made from a few fixed frames around a changing payload.",
        Signal.MachineCadence => "Regular machine pacing, round the clock.",
        Signal.SharedTemplate => "Cluster members use the same prompt frames.",
        Signal.SynchronisedCadence => "Cluster members send at the same moments.",
        Signal.SharedSource => "Cluster members send from the same network with the same client.",
        _ => "Many light accounts, each with a harvest profile, acting together.",
    };

    public static bool TryParse(string? name, out Signal signal)
    {
        for (var i = 0; i < Count; i++)
        {
            if (((Signal)i).Name() == name)
            {
                signal = (Signal)i;
                return true;
            }
        }

        signal = default;
        return false;
    }

    public static string Name(this Signal signal) => signal switch
    {
        Signal.CotElicitation => "cot_elicitation",
        Signal.VerbosityElicitation => "verbosity_elicitation",
        Signal.DatasetFormat => "dataset_format",
        Signal.OutputYield => "output_yield",
        Signal.HarvestSampling => "harvest_sampling",
        Signal.TemperatureSweep => "temperature_sweep",
        Signal.ScriptedCoverage => "scripted_coverage",
        Signal.TemplatedPrompts => "templated_prompts",
        Signal.MachineCadence => "machine_cadence",
        Signal.SharedTemplate => "shared_template",
        Signal.SynchronisedCadence => "synchronised_cadence",
        Signal.SharedSource => "shared_source",
        _ => "split_harvest",
    };
}

/// <summary>One signal behind a score: its value in [0,1] and how much it added to the score.</summary>
public readonly record struct SignalContribution(Signal Signal, double Value, double Contribution)
{
    public string Name => Signal.Name();
}
