using Corridor.Monitor.Scoring;

namespace Corridor.Gateway.Monitoring;

/// <summary>
/// The monitor's level changes waiting to be stored with their audit records, in order; none is dropped. Up to
/// <see cref="Capacity"/> wait as they came. Beyond that (the store away for long, or a great many changes at once), a
/// change of a subject that already has one waiting is merged into it (from the level of the first to that of the
/// latest, with the latest's score, reasons and members): only the latest level of a subject is enforced and stored, so
/// the queue holds at most <see cref="Capacity"/> changes plus one or two per subject, and the monitor bounds its subjects.
/// A merge never takes away the change that opens a case: a change to <c>flag</c> or above is not merged with a later
/// one below <c>flag</c> unless another change to <c>flag</c> or above waits before it. The change being recorded
/// (<see cref="TryPeek"/>) is not merged into; it goes only when recorded (<see cref="Remove"/>), so a store that
/// fails it gets it again, first.
/// </summary>
internal sealed class LevelChangeQueue(int capacity)
{
    private readonly Queue<Waiting> _waiting = new();

    // Each subject's last waiting change (not the one being recorded), and whether one before it reached flag.
    private readonly Dictionary<SubjectRef, (Waiting Last, bool FlagBefore)> _last = [];

    public int Capacity { get; } = capacity;

    public int Count
    {
        get
        {
            lock (_waiting)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Queues a change; true when it was merged into a waiting change of its subject (the queue is beyond its capacity).</summary>
    public bool Add(LevelChange change)
    {
        lock (_waiting)
        {
            var found = _last.TryGetValue(change.Subject, out var last);
            if (found && _waiting.Count >= Capacity
                && (last.FlagBefore || last.Last.Change.To < EnforcementLevel.Flag || change.To >= EnforcementLevel.Flag))
            {
                var first = last.Last.Change;
                last.Last.Change = change with { From = first.From, TenantId = change.TenantId ?? first.TenantId };
                return true;
            }

            var waiting = new Waiting(change);
            _waiting.Enqueue(waiting);
            _last[change.Subject] = (waiting, found && (last.FlagBefore || last.Last.Change.To >= EnforcementLevel.Flag));
            return false;
        }
    }

    /// <summary>The oldest waiting change, to record; it stays first until <see cref="Remove"/>, and nothing is merged into it meanwhile.</summary>
    public bool TryPeek(out LevelChange change)
    {
        lock (_waiting)
        {
            if (!_waiting.TryPeek(out var first))
            {
                change = null!;
                return false;
            }

            if (_last.TryGetValue(first.Change.Subject, out var last) && last.Last == first)
            {
                _last.Remove(first.Change.Subject);
            }

            change = first.Change;
            return true;
        }
    }

    /// <summary>Removes the oldest waiting change, once recorded.</summary>
    public void Remove()
    {
        lock (_waiting)
        {
            _waiting.Dequeue();
        }
    }

    private sealed class Waiting(LevelChange change)
    {
        public LevelChange Change { get; set; } = change;
    }
}
