using System.Globalization;

namespace Corridor.Core.Audit;

/// <summary>What is wrong with a record of the chain.</summary>
public enum AuditFault
{
    /// <summary>The record's fields do not give its hash: it was edited after it was written.</summary>
    Edited,

    /// <summary>Sequence numbers skip: records were removed (or the log does not start at 1).</summary>
    Missing,

    /// <summary>A sequence number repeats or goes back: records were inserted or reordered.</summary>
    OutOfOrder,

    /// <summary>The record does not name the hash of the record before it: one of them was replaced, inserted or moved.</summary>
    BrokenLink,

    /// <summary>The record does not have the hash an auditor noted down for it (<see cref="AuditAnchor"/>), or the log ends before it.</summary>
    AnchorMismatch,
}

/// <summary>The first bad record: its sequence (as found, or as expected where one is missing) and what is wrong.</summary>
public sealed record AuditProblem(long Sequence, AuditFault Fault, string Message);

/// <summary>A record's hash noted down outside Corridor (a ticket, an email), so a rewritten or truncated log is caught too.</summary>
public sealed record AuditAnchor(long Sequence, string Hash)
{
    /// <summary>Parses <c>SEQUENCE:HASH</c>.</summary>
    public static bool TryParse(string? text, out AuditAnchor? anchor)
    {
        anchor = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0
            || !long.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            || sequence < 1)
        {
            return false;
        }

        var hash = text[(colon + 1)..].Trim().ToLowerInvariant();
        if (hash.Length != AuditChain.HashLength || !hash.All(char.IsAsciiHexDigitLower))
        {
            return false;
        }

        anchor = new AuditAnchor(sequence, hash);
        return true;
    }
}

/// <summary>The outcome of a verification: how many records were checked, the last good one, and the first problem if any.</summary>
public sealed record AuditVerification(long Checked, AuditRecord? Last, AuditProblem? Problem)
{
    public bool IsValid => Problem is null;
}

/// <summary>
/// Checks a chain record by record, in sequence order, from sequence 1. Stops at the first bad record:
/// after it nothing can be trusted. Streaming, so a long log never needs to be in memory at once.
/// </summary>
public sealed class AuditVerifier
{
    private readonly Dictionary<long, string> _anchors;
    private long _checked;
    private AuditRecord? _last;
    private AuditProblem? _problem;

    public AuditVerifier(IEnumerable<AuditAnchor>? anchors = null)
    {
        _anchors = (anchors ?? []).ToDictionary(a => a.Sequence, a => a.Hash);
    }

    public AuditProblem? Problem => _problem;

    /// <summary>Checks the next record; returns false (and keeps the first problem) once the chain is broken.</summary>
    public bool Add(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_problem is not null)
        {
            return false;
        }

        _problem = Check(record);
        if (_problem is not null)
        {
            return false;
        }

        _checked++;
        _last = record;
        return true;
    }

    /// <summary>The result so far; an anchor beyond the last record fails here (the log was cut short).</summary>
    public AuditVerification Complete()
    {
        if (_problem is null)
        {
            var lastSequence = _last?.Sequence ?? 0;
            var beyond = _anchors.Keys.Where(s => s > lastSequence).Order().FirstOrDefault();
            if (beyond > 0)
            {
                _problem = new AuditProblem(beyond, AuditFault.AnchorMismatch,
                    $"record {beyond} is missing: the log ends at {lastSequence}, but record {beyond} was noted down with hash {_anchors[beyond]} (records were removed from the end)");
            }
        }

        return new AuditVerification(_checked, _last, _problem);
    }

    /// <summary>Verifies a whole chain, from sequence 1.</summary>
    public static AuditVerification Verify(IEnumerable<AuditRecord> records, IEnumerable<AuditAnchor>? anchors = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        var verifier = new AuditVerifier(anchors);
        foreach (var record in records)
        {
            if (!verifier.Add(record))
            {
                break;
            }
        }

        return verifier.Complete();
    }

    private AuditProblem? Check(AuditRecord record)
    {
        var expectedSequence = (_last?.Sequence ?? 0) + 1;
        var expectedPrevious = _last?.Hash ?? AuditChain.GenesisHash;

        if (record.Sequence > expectedSequence)
        {
            var missing = record.Sequence - 1 == expectedSequence
                ? $"record {expectedSequence} is missing"
                : $"records {expectedSequence} to {record.Sequence - 1} are missing";
            return new AuditProblem(expectedSequence, AuditFault.Missing, $"{missing}: the next record found is {record.Sequence} (records were removed)");
        }

        if (record.Sequence < expectedSequence)
        {
            return new AuditProblem(record.Sequence, AuditFault.OutOfOrder,
                $"record {record.Sequence} comes after record {expectedSequence - 1} (records were inserted or reordered)");
        }

        if (!string.Equals(AuditChain.ComputeHash(record), record.Hash, StringComparison.Ordinal))
        {
            return new AuditProblem(record.Sequence, AuditFault.Edited,
                $"record {record.Sequence} ({record.Action} {record.Subject}) does not match its hash: it was edited after it was written");
        }

        if (!string.Equals(record.PreviousHash, expectedPrevious, StringComparison.Ordinal))
        {
            var before = record.Sequence == 1 ? "the start of the log" : $"record {record.Sequence - 1}";
            return new AuditProblem(record.Sequence, AuditFault.BrokenLink,
                $"record {record.Sequence} ({record.Action} {record.Subject}) does not link to {before}: one of them was replaced, or a record was inserted or moved");
        }

        if (_anchors.TryGetValue(record.Sequence, out var anchored) && !string.Equals(anchored, record.Hash, StringComparison.Ordinal))
        {
            return new AuditProblem(record.Sequence, AuditFault.AnchorMismatch,
                $"record {record.Sequence} has hash {record.Hash}, but {anchored} was noted down for it: the log was rewritten up to here");
        }

        return null;
    }
}
