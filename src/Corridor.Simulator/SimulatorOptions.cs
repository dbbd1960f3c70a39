using System.Globalization;

namespace Corridor.Simulator;

/// <summary>
/// Global behaviour of the upstream simulator. Per-deployment faults come from the
/// <c>/x/{knobs}/…</c> path prefix and apply on top of these.
/// </summary>
public sealed record SimulatorOptions
{
    /// <summary>Delay added before answering every request.</summary>
    public TimeSpan Latency { get; init; } = TimeSpan.Zero;

    /// <summary>Fraction (0–1) of upstream requests answered 500.</summary>
    public double ErrorRate { get; init; }

    /// <summary>Fraction (0–1) of upstream requests answered 429 with <c>retry-after</c>.</summary>
    public double RateLimitRate { get; init; }

    /// <summary>Fraction (0–1) of streams cut mid-stream by aborting the connection.</summary>
    public double DisconnectRate { get; init; }

    /// <summary>Pause between streamed tokens.</summary>
    public TimeSpan TokenInterval { get; init; } = TimeSpan.FromMilliseconds(2);

    /// <summary>Mixed into generated text, embeddings and fault draws; same seed, same answers.</summary>
    public int Seed { get; init; }

    /// <summary>When set, requests without this credential (in the dialect's header) are answered 401.</summary>
    public string? RequiredApiKey { get; init; }

    /// <summary>Every problem at once, empty when the options are usable.</summary>
    internal IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Latency < TimeSpan.Zero)
        {
            errors.Add("Latency must not be negative.");
        }

        if (TokenInterval < TimeSpan.Zero)
        {
            errors.Add("TokenInterval must not be negative.");
        }

        CheckRate(errors, nameof(ErrorRate), ErrorRate);
        CheckRate(errors, nameof(RateLimitRate), RateLimitRate);
        CheckRate(errors, nameof(DisconnectRate), DisconnectRate);
        if (RequiredApiKey is not null && string.IsNullOrWhiteSpace(RequiredApiKey))
        {
            errors.Add("RequiredApiKey must be null or a non-blank key.");
        }

        return errors;
    }

    private static void CheckRate(List<string> errors, string name, double value)
    {
        // Written so that NaN fails too.
        if (!(value >= 0 && value <= 1))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{name} must be between 0 and 1 (was {value})."));
        }
    }
}
