using Corridor.Monitor.Scoring;
using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Clusters;

/// <summary>A group of keys (and the tenants they wholly make up) acting in concert, scored as one subject.</summary>
internal sealed class ClusterRecord(string id, int lineage, string[] keys, ulong membershipHash)
{
    public string Id { get; } = id;

    /// <summary>Clusters that grow or shrink get a new version (and id) in the same lineage.</summary>
    public int Lineage { get; } = lineage;

    /// <summary>Member keys, sorted.</summary>
    public string[] Keys { get; } = keys;

    public ulong MembershipHash { get; } = membershipHash;

    public IReadOnlyList<SubjectRef> Members { get; set; } = [];

    public LevelTracker? Tracker { get; set; }

    public double[] SignalValues { get; } = new double[Signals.Count];

    public double Score { get; set; }

    public long TotalRequests { get; set; }

    public bool Active { get; set; }

    /// <summary>
    /// Holding a level without the evidence that links its keys: put back from the store (after a restart, or as the fleet's
    /// leader set it), or no longer linked by new traffic. It stays active, scored from its members' own profiles, until a
    /// group found from traffic takes it over or its level cools off through the hysteresis, like any subject's.
    /// </summary>
    public bool Unlinked { get; set; }

    /// <summary>
    /// A new version that took its predecessor's level: until its first scoring announces it (with its members), nothing
    /// outside the monitor knows it holds that level.
    /// </summary>
    public bool Unannounced { get; set; }

    /// <summary>The linked pairs inside the cluster at the last relink.</summary>
    public List<PairEvidence> Edges { get; set; } = [];

    public long SizeBytes => 160 + (Keys.Length * 40) + (Signals.Count * 8);
}

/// <summary>
/// Finds keys of different tenants that act in concert. Evidence is gathered as traffic flows (shared recurrent
/// prompt frames, shared sources, synchronised requests among suspects) into bounded pair records; periodically the
/// pairs with at least two kinds of evidence (a harvest-like profile on both sides counts as one) are linked, the
/// connected groups become clusters, and each cluster is scored from its members' merged profile plus the
/// coordination signals.
/// </summary>
internal sealed class ClusterEngine
{
    public const int MaxFrameMembers = 32;
    public const int MaxSourceMembers = 16;
    public const int MaxFingerprintMembers = 64;
    public const int MaxBinMembers = 64;
    private static readonly long PairTtlMs = (long)TimeSpan.FromDays(7).TotalMilliseconds;

    private readonly MonitorOptions _options;
    private readonly Func<string, SubjectState?> _findKey;
    private readonly Func<string, SubjectState?> _findTenant;
    private readonly LruMap<ulong, IndexEntry> _frames;
    private readonly LruMap<ulong, IndexEntry> _sources;
    private readonly LruMap<ulong, IndexEntry> _fingerprints;
    private readonly LruMap<KeyPair, PairEvidence> _pairs;
    private LruMap<ulong, ClusterRecord> _clusters;
    private readonly List<(string Key, string Tenant)> _bin = [];
    private readonly List<(string Key, string Tenant)> _previousBin = [];
    private readonly HourRing _scratchHours = new();
    private long _binIndex = long.MinValue;
    private int _lineages;
    private List<ClusterRecord> _active = [];
    private long _version;
    private long _linkedVersion = -1;
    private long _lastRelinkMs = long.MinValue;
    private static readonly long RelinkEveryMs = (long)TimeSpan.FromHours(6).TotalMilliseconds;

    public ClusterEngine(MonitorOptions options, Func<string, SubjectState?> findKey, Func<string, SubjectState?> findTenant)
    {
        _options = options;
        _findKey = findKey;
        _findTenant = findTenant;
        _frames = new LruMap<ulong, IndexEntry>(options.MaxFrames);
        _sources = new LruMap<ulong, IndexEntry>(options.MaxSources);
        _fingerprints = new LruMap<ulong, IndexEntry>(options.MaxSources);
        _pairs = new LruMap<KeyPair, PairEvidence>(options.MaxPairs);
        _clusters = new LruMap<ulong, ClusterRecord>(options.MaxClusters);
    }

    public IReadOnlyList<ClusterRecord> Active => _active;

    public int PairCount => _pairs.Count;

    public int FrameCount => _frames.Count;

    public int SourceCount => _sources.Count + _fingerprints.Count;

    public int ClusterCount => _clusters.Count;

    public long EstimatedBytes
    {
        get
        {
            long bytes = _pairs.Count * PairEvidence.SizeBytes;
            bytes += (_frames.Count * 64L) + (_sources.Count * 64L) + (_fingerprints.Count * 64L);
            foreach (var entry in _frames.Entries())
            {
                bytes += entry.Value.SizeBytes;
            }

            foreach (var entry in _sources.Entries().Concat(_fingerprints.Entries()))
            {
                bytes += entry.Value.SizeBytes;
            }

            foreach (var entry in _clusters.Entries())
            {
                bytes += entry.Value.SizeBytes;
            }

            return bytes + ((_bin.Capacity + _previousBin.Capacity) * 16L);
        }
    }

    public IEnumerable<ClusterRecord> All() => _clusters.Entries().Select(e => e.Value);

    /// <summary>
    /// The cluster <paramref name="id"/> with these members, put back from the store (see <see cref="ClusterRecord.Unlinked"/>):
    /// the existing record when the engine has it, else a new active one. The store is right about the members: an existing
    /// record takes them (one with other keys is replaced, keeping its level record). Ids given from now on continue after
    /// its lineage.
    /// </summary>
    public ClusterRecord Restore(string id, IReadOnlyList<SubjectRef> members)
    {
        var keys = members.Where(m => m.Kind == SubjectKind.Key).Select(m => m.Id).Distinct(StringComparer.Ordinal).ToList();
        keys.Sort(StringComparer.Ordinal);
        LevelTracker? kept = null;
        foreach (var (existingHash, existing) in _clusters.Entries())
        {
            if (existing.Id == id)
            {
                if (existing.Keys.SequenceEqual(keys, StringComparer.Ordinal))
                {
                    existing.Members = [.. members];
                    return existing;
                }

                // Other keys under this id (an older view of the cluster, or an id this engine gave to another group).
                kept = existing.Tracker;
                _clusters.Remove(existingHash);
                _active = [.. _active.Where(c => c != existing)];
                break;
            }
        }

        var hash = 17UL;
        foreach (var key in keys)
        {
            hash = Hashing.Combine(hash, Hashing.OfString(key));
        }

        var lineage = LineageOf(id);
        _lineages = Math.Max(_lineages, lineage);
        var record = new ClusterRecord(id, lineage, [.. keys], hash) { Members = [.. members], Active = true, Unlinked = true, Tracker = kept };
        if (_clusters.TryGetValue(hash, out var same))
        {
            // The same members under another id: the stored id is the one operators and cases know.
            _clusters.Remove(hash);
            record.Tracker ??= same.Tracker is { } tracker ? new LevelTracker(SubjectRef.Cluster(id), null) { Automatic = tracker.Automatic, BelowSinceMs = tracker.BelowSinceMs } : null;
        }

        AddCluster(hash, record);
        _active = [.. _active.Where(c => c != same), record];
        return record;

        static int LineageOf(string id)
        {
            var digits = id.StartsWith("cl-", StringComparison.Ordinal) ? id[3..].Split('.')[0] : "";
            return int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : 0;
        }
    }

    /// <summary>A key's prompt frame became recurrent: pair it with the other tenants' keys that use the frame.</summary>
    public void RegisterFrame(ulong frame, SubjectState key, long now) =>
        Register(_frames, frame, key, now, MaxFrameMembers, static evidence => evidence.SharedFrames++);

    /// <summary>A key sent from a (network, user agent) it had not sent from just before.</summary>
    public void RegisterSource(ulong source, SubjectState key, long now) =>
        Register(_sources, source, key, now, MaxSourceMembers, static evidence => evidence.SharedSources++);

    /// <summary>A key's client fingerprint (user agent, model, sampling settings) changed.</summary>
    public void RegisterFingerprint(ulong fingerprint, SubjectState key, long now) =>
        Register(_fingerprints, fingerprint, key, now, MaxFingerprintMembers, static evidence => evidence.SharedFingerprints++);

    /// <summary>A suspect key sent a request: count the bins in which suspects of different tenants send together.</summary>
    public void RegisterCadence(SubjectState key, long now)
    {
        var binMs = (long)_options.CadenceBin.TotalMilliseconds;
        var bin = now / binMs;
        if (bin != _binIndex)
        {
            CloseBin();
            if (bin == _binIndex + 1)
            {
                _previousBin.Clear();
                _previousBin.AddRange(_bin);
            }
            else
            {
                _previousBin.Clear();
            }

            _bin.Clear();
            _binIndex = bin;
        }

        if (key.FirstSuspectMs == long.MinValue)
        {
            key.FirstSuspectMs = now;
        }

        if (key.LastCadenceBin != bin)
        {
            key.LastCadenceBin = bin;
            key.CadenceBins++;
        }

        if (_bin.Count < MaxBinMembers && !Contains(_bin, key.Id))
        {
            _bin.Add((key.Id, key.TenantId ?? string.Empty));
        }
    }

    /// <summary>Evidence changed outside the engine (a key's profile started or stopped looking like a harvest).</summary>
    public void NoteChanged() => _version++;

    /// <summary>
    /// Links the pairs with enough evidence, rebuilds the clusters and scores them. When no evidence changed since the
    /// last relink (and it is recent), only the existing clusters are rescored.
    /// </summary>
    public void Pass(long now, Action<ClusterRecord, double, double[]> scored)
    {
        if (_version == _linkedVersion && now - _lastRelinkMs < RelinkEveryMs)
        {
            foreach (var cluster in _active)
            {
                Score(cluster, [.. cluster.Keys], cluster.Edges, now, scored);
            }

            return;
        }

        _linkedVersion = _version;
        _lastRelinkMs = now;
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>();
        var links = new UnionFind();
        var linked = new List<PairEvidence>();
        foreach (var (_, evidence) in _pairs.Entries())
        {
            var a = _findKey(evidence.Pair.A);
            var b = _findKey(evidence.Pair.B);

            // Evidence holds while both keys stay active; a pair whose keys went quiet for the TTL is stale.
            if (a is null || b is null || now - Math.Max(evidence.LastMs, Math.Min(a.LastMs, b.LastMs)) > PairTtlMs || !IsLinked(evidence, a, b, now))
            {
                continue;
            }

            links.Union(Id(evidence.Pair.A), Id(evidence.Pair.B));
            linked.Add(evidence);
        }

        var components = new Dictionary<int, List<string>>();
        for (var i = 0; i < names.Count; i++)
        {
            var root = links.Find(i);
            if (!components.TryGetValue(root, out var members))
            {
                components[root] = members = [];
            }

            members.Add(names[i]);
        }

        foreach (var cluster in _active)
        {
            cluster.Active = false;
        }

        var active = new List<ClusterRecord>(components.Count);
        foreach (var members in components.Values)
        {
            members.Sort(StringComparer.Ordinal);
            var hash = 17UL;
            foreach (var member in members)
            {
                hash = Hashing.Combine(hash, Hashing.OfString(member));
            }

            if (!_clusters.TryGetValue(hash, out var record))
            {
                // A group that only lost members (keys went quiet or were evicted) stays the cluster it was.
                record = _active.FirstOrDefault(c => !c.Active && members.All(m => Array.BinarySearch(c.Keys, m, StringComparer.Ordinal) >= 0))
                    ?? NewVersion(members, hash);
            }

            record.Active = true;
            record.Unlinked = false;
            if (record.Keys.Length == members.Count)
            {
                record.Members = MemberRefs(members);
            }
            var root = links.Find(ids[members[0]]);
            record.Edges = linked.Where(e => links.Find(ids[e.Pair.A]) == root).ToList();
            Score(record, members, record.Edges, now, scored);
            active.Add(record);
        }

        // A cluster holding a level that no group from traffic took over (restored, its evidence lost with the process; or its
        // keys no longer linked) keeps its level, scored from its members' own profiles without the coordination evidence,
        // so it cools off through the hysteresis and dwell like any subject rather than dropping its level at once.
        foreach (var cluster in _active)
        {
            if (!cluster.Active && (cluster.Unlinked || cluster.Tracker is { Automatic: > EnforcementLevel.None })
                && !active.Any(a => a.Keys.Any(k => Array.BinarySearch(cluster.Keys, k, StringComparer.Ordinal) >= 0)))
            {
                cluster.Edges = [];
                Score(cluster, [.. cluster.Keys], [], now, scored);
                cluster.Active = cluster.Tracker is { Automatic: > EnforcementLevel.None };
                cluster.Unlinked = cluster.Active;
                if (cluster.Active)
                {
                    active.Add(cluster);
                }
            }
        }

        _active = active;

        int Id(string key)
        {
            if (!ids.TryGetValue(key, out var id))
            {
                id = links.Add();
                ids[key] = id;
                names.Add(key);
            }

            return id;
        }
    }

    private bool IsLinked(PairEvidence evidence, SubjectState a, SubjectState b, long now)
    {
        var kinds = 0;
        if (evidence.SharedFrames >= 2)
        {
            kinds++;
        }

        if (evidence.SharedSources >= 1)
        {
            kinds++;
        }

        if (evidence.SharedFingerprints >= 1)
        {
            kinds++;
        }

        if (IsSynchronised(evidence, a, b, now))
        {
            kinds++;
        }

        if (a.Raw >= _options.HarvestProfile && b.Raw >= _options.HarvestProfile)
        {
            kinds++;
        }

        return kinds >= 2;
    }

    /// <summary>Co-firing well above what two independent keys with these activity levels would show by chance.</summary>
    private bool IsSynchronised(PairEvidence evidence, SubjectState a, SubjectState b, long now)
    {
        if (evidence.CoFired < 4 || a.CadenceBins == 0 || b.CadenceBins == 0)
        {
            return false;
        }

        var since = Math.Max(a.FirstSuspectMs, b.FirstSuspectMs);
        var bins = Math.Max(1.0, (now - since) / _options.CadenceBin.TotalMilliseconds);
        var expected = Math.Max(0.5, a.CadenceBins * (double)b.CadenceBins / bins * 2);
        return evidence.CoFired / expected >= 3;
    }

    private void Score(ClusterRecord record, List<string> keys, List<PairEvidence> edges, long now, Action<ClusterRecord, double, double[]> scored)
    {
        var values = record.SignalValues;
        Array.Clear(values);
        double requests = 0;
        long total = 0;
        var light = 0;
        _scratchHours.Reset();
        var states = 0;
        foreach (var id in keys)
        {
            var state = _findKey(id);
            if (state is null)
            {
                continue;
            }

            states++;
            var n = state.Counters[SubjectState.Requests];
            requests += n;
            total += state.TotalRequests;
            _scratchHours.Or(state.Hours);
            for (var i = 0; i < Signals.ProfileCount; i++)
            {
                values[i] += n * state.SignalValues[i];
            }

            if (state.TotalRequests <= _options.LightAccountRequests && state.Raw >= _options.HarvestProfile)
            {
                light++;
            }
        }

        if (requests > 0)
        {
            for (var i = 0; i < Signals.ProfileCount; i++)
            {
                values[i] /= requests;
            }
        }

        if (edges.Count > 0)
        {
            values[(int)Signal.SharedTemplate] = edges.Average(e => Math.Min(1.0, e.SharedFrames / 4.0));
            values[(int)Signal.SynchronisedCadence] = edges.Count(e => e.CoFired >= 4) / (double)edges.Count;
            values[(int)Signal.SharedSource] = edges.Average(e => (e.SharedSources > 0 ? 0.6 : 0) + (e.SharedFingerprints > 0 ? 0.4 : 0));
        }

        if (states > 0)
        {
            values[(int)Signal.SplitHarvest] = light / (double)states * Math.Min(1.0, states / 4.0);
        }

        var weights = _options.Weights;
        var coordination = 0.0;
        for (var i = Signals.ProfileCount; i < Signals.Count; i++)
        {
            coordination += weights.For((Signal)i);
        }

        var profileScale = Math.Max(0, 1 - coordination);
        var raw = 0.0;
        for (var i = 0; i < Signals.Count; i++)
        {
            raw += (i < Signals.ProfileCount ? profileScale : 1) * weights.For((Signal)i) * values[i];
        }

        var confidence = SubjectState.ConfidenceOf(requests, _scratchHours.ActiveHours(now), _options);
        record.Score = SubjectState.Clamp(raw) * confidence;
        record.TotalRequests = total;
        scored(record, confidence, values);
    }

    private ClusterRecord NewVersion(List<string> members, ulong hash)
    {
        // A regrouping of an existing cluster continues its lineage (and its level); a new group starts one.
        ClusterRecord? predecessor = null;
        foreach (var cluster in _active)
        {
            if (cluster.Keys.Any(k => members.BinarySearch(k, StringComparer.Ordinal) >= 0)
                && (predecessor is null || (cluster.Tracker?.Automatic ?? 0) > (predecessor.Tracker?.Automatic ?? 0)))
            {
                predecessor = cluster;
            }
        }

        string id;
        int lineage;
        if (predecessor is null)
        {
            lineage = ++_lineages;
            id = $"cl-{lineage}";
        }
        else
        {
            lineage = predecessor.Lineage;
            var version = 2;
            while (_clusters.Entries().Any(e => e.Value.Id == $"cl-{lineage}.{version}"))
            {
                version++;
            }

            id = $"cl-{lineage}.{version}";
        }

        var record = new ClusterRecord(id, lineage, [.. members], hash);
        if (predecessor?.Tracker is { } previous)
        {
            record.Tracker = new LevelTracker(SubjectRef.Cluster(id), null)
            {
                Automatic = previous.Automatic,
                BelowSinceMs = previous.BelowSinceMs,
            };
            record.Unannounced = true;
        }

        AddCluster(hash, record);
        return record;
    }

    /// <summary>
    /// Adds a cluster, making room when full by one no longer active (its level none): one that never reached a level first,
    /// the LRU order deciding among the rest. An active cluster is never dropped: its level is enforced on its members and
    /// stored, so dropping it would leave the monitor enforcing a cluster it no longer knows (no standing for the admin
    /// API, no pin). When every cluster is active the map grows; active clusters are groups of the gateway's own keys.
    /// </summary>
    private void AddCluster(ulong hash, ClusterRecord record)
    {
        if (_clusters.Count >= _clusters.Capacity)
        {
            ulong? victim = null;
            foreach (var (key, value) in _clusters.EntriesFromOldest())
            {
                if (!value.Active && value.Tracker is not { Automatic: > EnforcementLevel.None })
                {
                    victim ??= key;
                    if ((value.Tracker?.Highest ?? EnforcementLevel.None) == EnforcementLevel.None)
                    {
                        victim = key;
                        break;
                    }
                }
            }

            if (victim is { } gone)
            {
                _clusters.Remove(gone);
            }
            else
            {
                _clusters = _clusters.Doubled();
            }
        }

        _clusters.Add(hash, record);
    }

    private List<SubjectRef> MemberRefs(List<string> keys)
    {
        var refs = new List<SubjectRef>(keys.Count + 2);
        var tenants = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            refs.Add(SubjectRef.Key(key));
            if (_findKey(key)?.TenantId is { } tenant)
            {
                tenants[tenant] = tenants.GetValueOrDefault(tenant) + 1;
            }
        }

        // A tenant is a member when every key it has sent from is in the cluster.
        foreach (var (tenant, count) in tenants)
        {
            var state = _findTenant(tenant);
            if (state is not null && !state.KeysOverflow && state.Keys.Count == count && state.Keys.All(k => keys.BinarySearch(k, StringComparer.Ordinal) >= 0))
            {
                refs.Add(SubjectRef.Tenant(tenant));
            }
        }

        return refs;
    }

    private void Register(LruMap<ulong, IndexEntry> index, ulong item, SubjectState key, long now, int maxMembers, Action<PairEvidence> count)
    {
        var tenant = key.TenantId ?? string.Empty;
        if (!index.TryGetValue(item, out var entry))
        {
            entry = new IndexEntry();
            index.Add(item, entry);
        }

        if (entry.Common)
        {
            return;
        }

        foreach (var member in entry.Members)
        {
            if (member.Key == key.Id)
            {
                return;
            }
        }

        foreach (var member in entry.Members)
        {
            if (member.Tenant != tenant)
            {
                var evidence = Pair(member.Key, key.Id, now);
                count(evidence);
                _version++;
            }
        }

        if (entry.Members.Count >= maxMembers)
        {
            entry.Common = true;
            entry.Members.Clear();
            entry.Members.TrimExcess();
            return;
        }

        entry.Members.Add((key.Id, tenant));
    }

    private PairEvidence Pair(string a, string b, long now)
    {
        var pair = new KeyPair(a, b);
        if (!_pairs.TryGetValue(pair, out var evidence))
        {
            evidence = new PairEvidence(pair);
            _pairs.Add(pair, evidence);
        }

        evidence.LastMs = Math.Max(evidence.LastMs, now);
        return evidence;
    }

    private static bool Contains(List<(string Key, string Tenant)> bin, string key)
    {
        foreach (var member in bin)
        {
            if (member.Key == key)
            {
                return true;
            }
        }

        return false;
    }

    private void CloseBin()
    {
        if (_bin.Count == 0)
        {
            return;
        }

        // Requests a few seconds apart may straddle a bin edge: members of the previous bin count too.
        for (var i = 0; i < _bin.Count; i++)
        {
            var (key, tenant) = _bin[i];
            for (var j = i + 1; j < _bin.Count; j++)
            {
                CoFire(key, tenant, _bin[j]);
            }

            foreach (var other in _previousBin)
            {
                if (!Contains(_bin, other.Key))
                {
                    CoFire(key, tenant, other);
                }
            }
        }

        void CoFire(string key, string tenant, (string Key, string Tenant) other)
        {
            if (other.Tenant == tenant || other.Key == key)
            {
                return;
            }

            var evidence = Pair(key, other.Key, _binIndex * (long)_options.CadenceBin.TotalMilliseconds);
            if (evidence.LastCoFireBin < _binIndex - 1)
            {
                evidence.CoFired++;
                _version++;
            }

            evidence.LastCoFireBin = _binIndex;
        }
    }
}
