namespace Corridor.Monitor.Scoring;

/// <summary>Why a level changed.</summary>
public enum LevelChangeCause : byte
{
    /// <summary>The score crossed a threshold (up at once; down after the hysteresis band and dwell time).</summary>
    Automatic,

    /// <summary>An operator pinned the level.</summary>
    Pinned,

    /// <summary>An operator removed a pin; the automatic level applies again.</summary>
    Unpinned,
}

/// <summary>
/// A subject's enforcement level changed: for the audit log and for cases. For an <see cref="LevelChangeCause.Automatic"/>
/// change, <paramref name="From"/> and <paramref name="To"/> are the automatic level (the level in force too, unless a pin
/// holds the subject); for a pin or an unpin, the level in force. <paramref name="Members"/> lists a cluster's keys and
/// tenants (empty for keys and tenants).
/// </summary>
public sealed record LevelChange(
    SubjectRef Subject,
    string? TenantId,
    EnforcementLevel From,
    EnforcementLevel To,
    double Score,
    LevelChangeCause Cause,
    DateTimeOffset At,
    IReadOnlyList<SignalContribution> Reasons,
    IReadOnlyList<SubjectRef> Members,
    string? Actor = null,
    string? Note = null);

/// <summary>
/// Receives the monitor's events on the thread that observes (the gateway's background recorder, or replay).
/// Implementations must be quick; an exception thrown here is caught and counted, never propagated.
/// </summary>
public interface IMonitorSink
{
    void LevelChanged(LevelChange change);

    /// <summary>A failure inside the monitor, swallowed so the caller never sees it: log it.</summary>
    void Failed(string operation, Exception exception);
}
