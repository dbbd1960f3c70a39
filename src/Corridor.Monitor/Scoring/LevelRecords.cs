using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Scoring;

/// <summary>
/// Level records of keys and tenants, by subject, within a capacity. When it is full, the record that makes room is the
/// least recently active one of the lowest level (as filed: the automatic level when it was added or last touched): a
/// throttle goes only when no record is below it, and a newcomer below every record's level is not taken. A suspension
/// never goes: when every record is one, the table grows to take another suspension (the monitor would otherwise lift a
/// suspension the store still holds, so a restart or a replica following the store would disagree with it). Suspensions
/// are of the gateway's own keys and tenants, so those bound them. Each record is counted under its level, so finding
/// that level costs nothing; the record is found from the least recently active end, and when the table holds only
/// higher levels the first one found is it.
/// </summary>
internal sealed class LevelRecords
{
    private const int Levels = (int)EnforcementLevel.Suspend + 1;

    private LruMap<SubjectRef, LevelTracker> _map;
    private readonly int[] _counts = new int[Levels];

    public LevelRecords(int capacity) => _map = new LruMap<SubjectRef, LevelTracker>(capacity);

    public int Count => _map.Count;

    public int Capacity => _map.Capacity;

    public bool TryPeek(SubjectRef subject, out LevelTracker tracker) => _map.TryPeek(subject, out tracker);

    /// <summary>Entries from most to least recently active.</summary>
    public IEnumerable<KeyValuePair<SubjectRef, LevelTracker>> Entries() => _map.Entries();

    /// <summary>Marks the subject's record as just active and files it under its level now; false when it has none here.</summary>
    public bool Touch(SubjectRef subject)
    {
        if (!_map.TryGetValue(subject, out var tracker))
        {
            return false;
        }

        _counts[(int)tracker.Filed]--;
        tracker.Filed = tracker.Automatic;
        _counts[(int)tracker.Filed]++;
        return true;
    }

    /// <summary>
    /// Adds a record (the subject must have none here), making room when full; <paramref name="evicted"/> is the subject
    /// whose record went. False when every record is of a higher level than the newcomer's: it is not taken.
    /// </summary>
    public bool TryAdd(LevelTracker tracker, out SubjectRef? evicted)
    {
        evicted = null;
        var level = tracker.Automatic;
        if (_map.Count >= _map.Capacity)
        {
            var lowest = 0;
            while (_counts[lowest] == 0)
            {
                lowest++;
            }

            if (lowest > (int)level)
            {
                return false;
            }

            if (lowest == (int)EnforcementLevel.Suspend)
            {
                Grow();
                Add(tracker, level);
                return true;
            }

            foreach (var (subject, record) in _map.EntriesFromOldest())
            {
                if ((int)record.Filed == lowest)
                {
                    evicted = subject;
                    break;
                }
            }

            Remove(evicted!.Value);
        }

        Add(tracker, level);
        return true;
    }

    private void Add(LevelTracker tracker, EnforcementLevel level)
    {
        _map.Add(tracker.Subject, tracker);
        tracker.Filed = level;
        _counts[(int)level]++;
    }

    /// <summary>Twice the room, the records kept in their order of activity.</summary>
    private void Grow()
    {
        var grown = new LruMap<SubjectRef, LevelTracker>(_map.Capacity * 2);
        foreach (var (subject, tracker) in _map.EntriesFromOldest())
        {
            grown.Add(subject, tracker);
        }

        _map = grown;
    }

    public bool Remove(SubjectRef subject)
    {
        if (!_map.TryPeek(subject, out var tracker))
        {
            return false;
        }

        _counts[(int)tracker.Filed]--;
        return _map.Remove(subject);
    }
}
