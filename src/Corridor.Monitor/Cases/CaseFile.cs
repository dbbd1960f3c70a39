using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Corridor.Monitor.Scoring;
using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Cases;

/// <summary>What an analyst decided about a case.</summary>
public enum CaseDecision
{
    /// <summary>Not a harvest: the case is closed; a later flag opens a new one.</summary>
    Dismiss,

    /// <summary>A harvest: the case stays on record (and keeps gathering its timeline).</summary>
    Confirm,

    /// <summary>Needs someone else (the vendor, legal): the case stays active.</summary>
    Escalate,
}

/// <summary>The names of case statuses and decisions, as stored, shown and accepted.</summary>
public static class CaseNames
{
    public const string Open = "open";
    public const string Dismissed = "dismissed";
    public const string Confirmed = "confirmed";
    public const string Escalated = "escalated";

    public static string Name(this CaseDecision decision) => decision switch
    {
        CaseDecision.Dismiss => "dismiss",
        CaseDecision.Confirm => "confirm",
        _ => "escalate",
    };

    public static string StatusAfter(CaseDecision decision) => decision switch
    {
        CaseDecision.Dismiss => Dismissed,
        CaseDecision.Confirm => Confirmed,
        _ => Escalated,
    };

    public static bool TryParseDecision(string? text, out CaseDecision decision)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "dismiss":
                decision = CaseDecision.Dismiss;
                return true;
            case "confirm":
                decision = CaseDecision.Confirm;
                return true;
            case "escalate":
                decision = CaseDecision.Escalate;
                return true;
            default:
                decision = default;
                return false;
        }
    }

    public static bool IsStatus(string? text) => text is Open or Dismissed or Confirmed or Escalated;
}

/// <summary>One signal behind a case's peak score.</summary>
public sealed record CaseSignal(string Signal, double Value, double Contribution)
{
    public static List<CaseSignal> From(IEnumerable<SignalContribution> reasons) =>
        [.. reasons.Select(r => new CaseSignal(r.Name, r.Value, r.Contribution))];
}

/// <summary>
/// One point of a case's timeline: a level change (<c>level</c>: automatic; <c>pin</c>, <c>unpin</c>: an operator's), a
/// periodic score (<c>score</c>), or an analyst's decision (<c>decision</c>).
/// </summary>
public sealed record CaseEvent(
    DateTimeOffset At,
    string Kind,
    double? Score = null,
    string? From = null,
    string? To = null,
    string? Actor = null,
    string? Note = null);

/// <summary>A request kept as evidence: what was asked (and the start of the answer), trimmed to the retention setting.</summary>
public sealed record CaseExample(
    string RequestId,
    DateTimeOffset At,
    string? Key,
    string? Model,
    string? Endpoint,
    string? UserAgent,
    string? SourceAddress,
    int InputTokens,
    int OutputTokens,
    string? Request,
    string? Response)
{
    /// <summary>The batch Corridor ran the request for (docs/batches.md), or null for a client's live request.</summary>
    public string? Batch { get; init; }
}

/// <summary>An analyst's decision, with the status before and after it.</summary>
public sealed record CaseDecisionRecord(DateTimeOffset At, string Actor, string Decision, string? Note, string StatusBefore, string StatusAfter);

/// <summary>
/// A case: one flagged subject (key, tenant) or cluster under review. It holds the timeline of levels and scores, the
/// signals at the peak, example requests within the retention setting, and the analyst's decisions. Plain data, kept
/// in the store as one JSON document (with <see cref="Version"/> guarding concurrent writers).
/// </summary>
public sealed class CaseFile
{
    /// <summary>Timeline points kept; the oldest score points go first, level changes and decisions are always kept.</summary>
    public const int MaxTimeline = 500;

    /// <summary>A score is added to the timeline when it moved this much since the last point...</summary>
    public const double ScoreStep = 0.02;

    /// <summary>...or this long passed.</summary>
    public static readonly TimeSpan ScoreEvery = TimeSpan.FromHours(1);

    public string Id { get; set; } = "";

    /// <summary><c>key:ID</c>, <c>tenant:ID</c> or <c>cluster:ID</c>.</summary>
    public string Subject { get; set; } = "";

    public string? Tenant { get; set; }

    public string Status { get; set; } = CaseNames.Open;

    public DateTimeOffset OpenedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The subject's level in force, as last recorded.</summary>
    public string Level { get; set; } = "none";

    public string HighestLevel { get; set; } = "none";

    public double LastScore { get; set; }

    public double PeakScore { get; set; }

    /// <summary>A cluster's members (<c>key:ID</c>, <c>tenant:ID</c>), as last reported.</summary>
    public List<string> Members { get; set; } = [];

    /// <summary>The signals behind the peak score, largest contribution first.</summary>
    public List<CaseSignal> TopSignals { get; set; } = [];

    public List<CaseEvent> Timeline { get; set; } = [];

    public List<CaseExample> Examples { get; set; } = [];

    public List<CaseDecisionRecord> Decisions { get; set; } = [];

    /// <summary>Increases with every save; the store refuses a save made from an older read.</summary>
    [JsonIgnore]
    public long Version { get; set; }

    /// <summary>Dismissed cases are closed; the others (open, confirmed, escalated) keep gathering evidence.</summary>
    [JsonIgnore]
    public bool Active => Status != CaseNames.Dismissed;

    /// <summary>Opens a case for a subject that reached <c>flag</c> or above.</summary>
    public static CaseFile Open(SubjectRef subject, string? tenant, DateTimeOffset at)
    {
        var hash = Hashing.Combine(Hashing.OfString(subject.ToString()), (ulong)at.ToUnixTimeMilliseconds());
        return new CaseFile
        {
            Id = string.Create(CultureInfo.InvariantCulture, $"case_{at:yyyyMMdd}_{hash & 0xFFFF_FFFF:x8}"),
            Subject = subject.ToString(),
            Tenant = tenant,
            OpenedAt = at,
            UpdatedAt = at,
        };
    }

    /// <summary>Records a level change (automatic, pinned or unpinned) with the score and reasons that came with it.</summary>
    public void AddLevelChange(LevelChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var kind = change.Cause switch
        {
            LevelChangeCause.Pinned => "pin",
            LevelChangeCause.Unpinned => "unpin",
            _ => "level",
        };
        Timeline.Add(new CaseEvent(change.At, kind, change.Score, change.From.Name(), change.To.Name(), change.Actor, change.Note));
        Level = change.To.Name();
        if (change.Members.Count > 0)
        {
            Members = [.. change.Members.Select(m => m.ToString())];
        }

        NoteScore(change.Score, change.Reasons);
        if (EnforcementLevels.TryParse(HighestLevel, out var highest) && change.To > highest)
        {
            HighestLevel = change.To.Name();
        }

        Trim();
        UpdatedAt = change.At;
    }

    /// <summary>Records an operator's pin (a level, or null when the pin was removed).</summary>
    public void AddPin(DateTimeOffset at, EnforcementLevel? level, string actor, string? note)
    {
        Timeline.Add(new CaseEvent(at, level is null ? "unpin" : "pin", To: level?.Name(), Actor: actor, Note: note));
        Trim();
        UpdatedAt = at;
    }

    /// <summary>Adds a periodic score when it moved by <see cref="ScoreStep"/> or an hour passed; returns whether it was added.</summary>
    public bool AddScore(DateTimeOffset at, SubjectStanding standing)
    {
        ArgumentNullException.ThrowIfNull(standing);
        var last = Timeline.LastOrDefault(e => e.Score is not null);
        if (last is not null && Math.Abs(last.Score!.Value - standing.LastScore) < ScoreStep && at - last.At < ScoreEvery)
        {
            return false;
        }

        Timeline.Add(new CaseEvent(at, "score", standing.LastScore, To: standing.Level.Name()));
        Level = standing.Level.Name();
        // The standing's peak may have been reached between ticks, above both the case's peak and the current score: its
        // reasons are the signals at that peak.
        if (standing.PeakScore > PeakScore)
        {
            NoteScore(standing.PeakScore, standing.Reasons);
        }

        NoteScore(standing.LastScore, null);
        if (standing.Members.Count > 0)
        {
            Members = [.. standing.Members.Select(m => m.ToString())];
        }

        Trim();
        UpdatedAt = at;
        return true;
    }

    /// <summary>Keeps a request as evidence while fewer than <paramref name="keep"/> are kept; returns whether it was kept.</summary>
    public bool AddExample(CaseExample example, int keep)
    {
        ArgumentNullException.ThrowIfNull(example);
        if (Examples.Count >= keep || Examples.Any(e => e.RequestId == example.RequestId))
        {
            return false;
        }

        Examples.Add(example);
        UpdatedAt = example.At > UpdatedAt ? example.At : UpdatedAt;
        return true;
    }

    /// <summary>Drops examples older than <paramref name="cutoff"/> (retention); returns whether any was dropped.</summary>
    public bool PruneExamples(DateTimeOffset cutoff) => Examples.RemoveAll(e => e.At < cutoff) > 0;

    /// <summary>Records an analyst's decision and moves the status.</summary>
    public CaseDecisionRecord Decide(CaseDecision decision, string actor, string? note, DateTimeOffset at)
    {
        var record = new CaseDecisionRecord(at, actor, decision.Name(), note, Status, CaseNames.StatusAfter(decision));
        Decisions.Add(record);
        Timeline.Add(new CaseEvent(at, "decision", From: record.StatusBefore, To: record.StatusAfter, Actor: actor, Note: note));
        Status = record.StatusAfter;
        Trim();
        UpdatedAt = at;
        return record;
    }

    public string ToJson() => JsonSerializer.Serialize(this, CaseJson.Default.CaseFile);

    public static CaseFile FromJson(string json, long version)
    {
        var file = JsonSerializer.Deserialize(json, CaseJson.Default.CaseFile) ?? throw new JsonException("a case document is null");
        file.Version = version;
        return file;
    }

    private void NoteScore(double score, IReadOnlyList<SignalContribution>? reasons)
    {
        LastScore = score;
        if (score >= PeakScore)
        {
            PeakScore = score;
            if (reasons is { Count: > 0 })
            {
                TopSignals = CaseSignal.From(reasons);
            }
        }
    }

    private void Trim()
    {
        while (Timeline.Count > MaxTimeline)
        {
            var oldest = Timeline.FindIndex(e => e.Kind == "score");
            Timeline.RemoveAt(oldest >= 0 ? oldest : 0);
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CaseFile))]
internal sealed partial class CaseJson : JsonSerializerContext;
