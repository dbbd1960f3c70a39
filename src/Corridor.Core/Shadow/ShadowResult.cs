namespace Corridor.Core.Shadow;

/// <summary>How one mirrored request ended.</summary>
public enum ShadowOutcome
{
    /// <summary>The candidate answered; its output was compared with the primary's.</summary>
    Compared,

    /// <summary>The candidate was called and failed (status, timeout, unreachable, unreadable answer).</summary>
    CandidateFailed,

    /// <summary>The candidate was not called: policy refused it for this tenant, or none of its deployments could serve.</summary>
    Skipped,
}

/// <summary>
/// One primary request and its shadow: which models, how each did, and how alike their outputs were.
/// <see cref="RequestId"/> is the shadow request's own id (its ledger row's, when the candidate was called);
/// <see cref="Reason"/> is the skip reason or the candidate's error code.
/// </summary>
public sealed record ShadowResult(
    string RequestId,
    string PrimaryRequestId,
    DateTimeOffset Time,
    string? TenantId,
    string PrimaryModel,
    string CandidateModel,
    ShadowOutcome Outcome,
    string? Reason,
    int PrimaryLatencyMs,
    int? CandidateLatencyMs,
    decimal PrimaryCost,
    decimal CandidateCost,
    Similarity? Similarity);
