namespace Corridor.Monitor.Scoring;

/// <summary>
/// A subject's (or cluster's) level over time: the current automatic level with its hysteresis state, an operator's
/// pin, the highest level reached, when it first reached <c>flag</c>, and the score and reasons at its peak. Kept for
/// reports and cases after the subject's behaviour state is evicted.
/// </summary>
internal sealed class LevelTracker(SubjectRef subject, string? tenantId)
{
    public SubjectRef Subject { get; } = subject;

    public string? TenantId { get; } = tenantId;

    /// <summary>The level the scores put the subject at (ignoring any pin).</summary>
    public EnforcementLevel Automatic { get; set; }

    public EnforcementLevel? Pinned { get; set; }

    /// <summary>The level in force: the pin when there is one, else the automatic level.</summary>
    public EnforcementLevel Effective => Pinned ?? Automatic;

    public EnforcementLevel Highest { get; set; }

    /// <summary>Since when the score has been below the current level's band (event time), or null.</summary>
    public long? BelowSinceMs { get; set; }

    public double LastScore { get; set; }

    public double PeakScore { get; set; }

    public IReadOnlyList<SignalContribution> PeakReasons { get; set; } = [];

    public long? FirstFlagMs { get; set; }

    public long FirstFlagRequests { get; set; }

    public long LastChangeMs { get; set; }

    public long LastUpdateMs { get; set; }

    /// <summary>A cluster's members, as last reported.</summary>
    public IReadOnlyList<SubjectRef> Members { get; set; } = [];

    /// <summary>The level its record among the <see cref="LevelRecords"/> is kept under (its automatic level when last filed).</summary>
    public EnforcementLevel Filed { get; set; }

    /// <summary>Records the effective level reached at <paramref name="now"/> with <paramref name="requests"/> requests seen.</summary>
    public void NoteReached(EnforcementLevel level, long now, long requests)
    {
        if (level > Highest)
        {
            Highest = level;
        }

        if (level >= EnforcementLevel.Flag && FirstFlagMs is null)
        {
            FirstFlagMs = now;
            FirstFlagRequests = requests;
        }
    }
}

/// <summary>
/// The level state machine: a level is entered as soon as the score reaches its threshold; it is left (one step at a
/// time) only after the score has stayed more than the hysteresis below that threshold for the dwell time. A pin
/// overrides it both ways until removed.
/// </summary>
internal static class LevelMachine
{
    /// <summary>Applies a new score; returns true when the automatic level changed (<paramref name="from"/> is the old one).</summary>
    public static bool Apply(LevelTracker tracker, double score, long now, MonitorOptions options, out EnforcementLevel from)
    {
        from = tracker.Automatic;
        tracker.LastScore = score;
        tracker.LastUpdateMs = now;
        var thresholds = options.Thresholds;
        var target = EnforcementLevel.None;
        for (var level = EnforcementLevel.Suspend; level >= EnforcementLevel.Watch; level--)
        {
            if (score >= thresholds.For(level))
            {
                target = level;
                break;
            }
        }

        if (target > options.MaxAutomaticLevel)
        {
            target = options.MaxAutomaticLevel;
        }

        var current = tracker.Automatic;
        if (target > current)
        {
            tracker.Automatic = target;
            tracker.BelowSinceMs = null;
            tracker.LastChangeMs = now;
            return true;
        }

        if (current == EnforcementLevel.None)
        {
            return false;
        }

        if (score >= thresholds.For(current) - options.Hysteresis)
        {
            tracker.BelowSinceMs = null;
            return false;
        }

        if (tracker.BelowSinceMs is not { } since)
        {
            tracker.BelowSinceMs = now;
            return false;
        }

        if (now - since < options.DownDwell.TotalMilliseconds)
        {
            return false;
        }

        // One step down per dwell: a subject cools off gradually.
        tracker.Automatic = current - 1;
        tracker.BelowSinceMs = tracker.Automatic == EnforcementLevel.None ? null : now;
        tracker.LastChangeMs = now;
        return true;
    }
}
