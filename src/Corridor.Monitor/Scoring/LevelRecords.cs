using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Scoring;

/// <summary>
/// Level records of keys and tenants, by subject. Only a record whose automatic level has cooled off to none makes room
/// (the least recently active such one): a record holding a level never goes, since the monitor would then stop
/// enforcing (and stop cooling off) a level the store still holds, and a restart or a replica following the store would
/// disagree with it. When every record holds a level, the table grows to take another; levels are of the gateway's own
/// keys and tenants, which it holds in memory anyway, and each cools off to none (one step per dwell, a subject without
/// behaviour state scored 0) once its subject stops earning it, and then makes room. A newcomer without a level is not
/// taken when no record has cooled off. A grown table halves again once at most a quarter of it holds a level
/// (<see cref="Shrink"/>). Each record is counted under its automatic level (<see cref="Refile"/> after
/// every change), so whether a cooled one exists costs nothing; it is found from the least recently active end.
/// </summary>
internal sealed class LevelRecords
{
    private const int Levels = (int)EnforcementLevel.Suspend + 1;

    private LruMap<SubjectRef, LevelTracker> _map;
    private readonly int[] _counts = new int[Levels];
    private readonly int _capacity;

    public LevelRecords(int capacity)
    {
        _capacity = capacity;
        _map = new LruMap<SubjectRef, LevelTracker>(capacity);
    }

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

        Refile(tracker);
        return true;
    }

    /// <summary>Files the subject's record (if here) under its automatic level now, without changing its recency.</summary>
    public void Refile(LevelTracker tracker)
    {
        if (!_map.TryPeek(tracker.Subject, out var held) || held != tracker)
        {
            return;
        }

        _counts[(int)tracker.Filed]--;
        tracker.Filed = tracker.Automatic;
        _counts[(int)tracker.Filed]++;
        while (_map.Capacity > _capacity && _map.Count - _counts[(int)EnforcementLevel.None] <= _map.Capacity / 4)
        {
            Shrink();
        }
    }

    /// <summary>
    /// Adds a record (the subject must have none here), making room when full; <paramref name="evicted"/> is the subject
    /// whose record went (one whose automatic level is none). False when the newcomer has no level and no record has
    /// cooled off: it is not taken.
    /// </summary>
    public bool TryAdd(LevelTracker tracker, out SubjectRef? evicted)
    {
        evicted = null;
        var level = tracker.Automatic;
        if (_map.Count >= _map.Capacity)
        {
            if (_counts[(int)EnforcementLevel.None] == 0)
            {
                if (level == EnforcementLevel.None)
                {
                    return false;
                }

                Grow();
            }
            else
            {
                foreach (var (subject, record) in _map.EntriesFromOldest())
                {
                    if (record.Filed == EnforcementLevel.None)
                    {
                        evicted = subject;
                        break;
                    }
                }

                Remove(evicted!.Value);
            }
        }

        _map.Add(tracker.Subject, tracker);
        tracker.Filed = level;
        _counts[(int)level]++;
        return true;
    }

    /// <summary>Twice the room, the records kept in their order of activity.</summary>
    private void Grow() => _map = _map.Doubled();

    /// <summary>
    /// Half the room, once the levels that made the table grow have cooled off (at most a quarter of it holds a level, so
    /// halving it leaves room as large again as the levels held): every record holding a level is kept, and of those
    /// that cooled off, the most recently active that fit. Otherwise a grown table would keep as many cooled records as
    /// its largest size, long after the levels went. Records in their order of activity.
    /// </summary>
    private void Shrink()
    {
        var capacity = _map.Capacity / 2;
        var cooledKept = capacity - (_map.Count - _counts[(int)EnforcementLevel.None]);
        var keep = new HashSet<SubjectRef>();
        foreach (var (subject, record) in _map.Entries())
        {
            if (record.Filed == EnforcementLevel.None && cooledKept-- > 0)
            {
                keep.Add(subject);
            }
        }

        var shrunk = new LruMap<SubjectRef, LevelTracker>(capacity);
        foreach (var (subject, record) in _map.EntriesFromOldest())
        {
            if (record.Filed != EnforcementLevel.None || keep.Contains(subject))
            {
                shrunk.Add(subject, record);
            }
            else
            {
                _counts[(int)EnforcementLevel.None]--;
            }
        }

        _map = shrunk;
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
