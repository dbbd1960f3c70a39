using Corridor.Monitor.Scoring;

namespace Corridor.Monitor;

/// <summary>A key's or tenant's standing, as a report or a case needs it.</summary>
public sealed record SubjectReport(
    SubjectRef Subject,
    string? TenantId,
    EnforcementLevel HighestLevel,
    EnforcementLevel CurrentLevel,
    EnforcementLevel? PinnedLevel,
    double PeakScore,
    double LastScore,
    DateTimeOffset? FirstFlagAt,
    long FirstFlagRequest,
    IReadOnlyList<SignalContribution> Reasons);

/// <summary>A cluster's standing: its members and what links them.</summary>
public sealed record ClusterReport(
    string Id,
    EnforcementLevel HighestLevel,
    EnforcementLevel CurrentLevel,
    bool Active,
    double PeakScore,
    double LastScore,
    DateTimeOffset? FirstFlagAt,
    IReadOnlyList<SubjectRef> Members,
    IReadOnlyList<SignalContribution> Reasons);

/// <summary>Every subject and cluster that reached a level, at one moment.</summary>
public sealed record MonitorSnapshot(long Requests, IReadOnlyList<SubjectReport> Subjects, IReadOnlyList<ClusterReport> Clusters);

/// <summary>The level that applies to one request's caller, and which subject it comes from.</summary>
public readonly record struct EnforcementDecision(EnforcementLevel Level, SubjectRef? Source);

/// <summary>
/// Counters and sizes of the monitor's structures: its memory is the sum of bounded parts. <see cref="ObservedBatch"/>: of
/// the requests observed, those Corridor ran for a batch (<see cref="Features.RequestTraits.Batch"/>).
/// </summary>
public sealed record MonitorStats(
    long Observed,
    long ObservedBatch,
    long Ignored,
    long Failures,
    long LevelChanges,
    int Keys,
    int Tenants,
    long Evictions,
    int Records,
    int Pins,
    int Pairs,
    int Frames,
    int Sources,
    int Clusters,
    long EstimatedBytes);

/// <summary>One subject's level in force (with its automatic and pinned parts), its last and peak scores and the reasons at the peak.</summary>
public sealed record SubjectStanding(
    SubjectRef Subject,
    EnforcementLevel Level,
    EnforcementLevel Automatic,
    EnforcementLevel? Pinned,
    double LastScore,
    double PeakScore,
    IReadOnlyList<SignalContribution> Reasons,
    IReadOnlyList<SubjectRef> Members);
