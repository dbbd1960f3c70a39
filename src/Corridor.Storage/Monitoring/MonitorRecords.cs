namespace Corridor.Storage.Monitoring;

/// <summary>
/// A subject's stored enforcement (<c>key:ID</c>, <c>tenant:ID</c>, <c>cluster:ID</c>): the level the monitor last set on
/// its own, and an operator's pin (null when none). Levels are their names: <c>none</c>, <c>watch</c>, <c>flag</c>,
/// <c>throttle</c>, <c>suspend</c>. A cluster's row lists its <see cref="Members"/> (subjects separated by spaces), which
/// its level applies to. The gateway puts all of it back at start, so enforcement survives a restart.
/// </summary>
public sealed record EnforcementRecord(
    string Subject,
    string? TenantId,
    string AutomaticLevel,
    string? PinnedLevel,
    DateTimeOffset UpdatedAt,
    string? Actor,
    string? Note,
    string? Members = null);

/// <summary>
/// One change to a subject's stored enforcement: with <see cref="Pin"/>, the operator's pin is set to <see cref="Level"/>
/// (null removes it); without, the automatic level is set. The other part is left as it is. <see cref="Members"/> (a
/// cluster's, separated by spaces) replaces the stored list when given.
/// </summary>
public sealed record EnforcementUpdate(string Subject, string? TenantId, bool Pin, string? Level, DateTimeOffset At, string Actor, string? Note, string? Members = null);

/// <summary>One request's monitor features as a replica shipped them to the fleet's shared table (PostgreSQL).</summary>
public readonly record struct FleetObservation(DateTimeOffset At, byte[] Features);

/// <summary>
/// A stored case: the columns it is found by, and the whole case as one JSON document (Corridor.Monitor's <c>CaseFile</c>).
/// <see cref="Version"/> is 1 for a new case and one more than the stored version for an update.
/// </summary>
public sealed record CaseRecord(
    string Id,
    string Subject,
    string? TenantId,
    string Status,
    DateTimeOffset OpenedAt,
    DateTimeOffset UpdatedAt,
    long Version,
    string Document);
