using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Corridor.Monitor.Clusters;
using Corridor.Monitor.Features;
using Corridor.Monitor.Scoring;
using Corridor.Monitor.Sketches;

namespace Corridor.Monitor;

/// <summary>
/// The distillation monitor. <c>Observe</c> takes one request's features (event time is the request's
/// timestamp, so the live gateway and <c>replay</c> run the same code); subjects (keys and tenants) and clusters are
/// scored periodically in event time and moved between levels with hysteresis. <see cref="GetEnforcement"/> and
/// <see cref="GetLevel"/> are lock-free reads for the request path; level changes go to the <see cref="IMonitorSink"/>.
/// Nothing here throws to the caller: failures are counted and reported to the sink. Memory is bounded by the
/// options' capacities, whatever the traffic.
/// </summary>
public sealed class DistillationMonitor
{
    private readonly MonitorOptions _options;
    private readonly IMonitorSink? _sink;
    private readonly object _gate = new();
    private readonly LruMap<string, SubjectState> _keys;
    private readonly LruMap<string, SubjectState> _tenants;
    private readonly LruMap<ClientId, SubjectState> _clientStates;
    private readonly LevelRecords _watched;
    private readonly LevelRecords _flagged;
    private readonly Dictionary<SubjectRef, LevelTracker> _pinned = [];
    private readonly ClusterEngine _clusters;
    private readonly ConcurrentDictionary<SubjectRef, EnforcementLevel> _board = new();
    private volatile Dictionary<SubjectRef, (EnforcementLevel Level, string ClusterId)> _clusterLevels = [];
    private readonly long _scoreIntervalMs;
    private readonly long _clusterIntervalMs;
    private long _now = long.MinValue;
    private long _nextClusterPass = long.MinValue;
    private long _observed;
    private long _observedBatch;
    private long _ignored;
    private long _failures;
    private long _levelChanges;
    private long _evictions;

    public DistillationMonitor(MonitorOptions? options = null, IMonitorSink? sink = null)
    {
        _options = options ?? new MonitorOptions();
        var errors = _options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid monitor options: " + string.Join("; ", errors), nameof(options));
        }

        _sink = sink;
        _keys = new LruMap<string, SubjectState>(_options.MaxKeys, StringComparer.Ordinal);
        _tenants = new LruMap<string, SubjectState>(_options.MaxTenants, StringComparer.Ordinal);
        _clientStates = new LruMap<ClientId, SubjectState>(_options.MaxClients);
        _watched = new LevelRecords(_options.MaxRecords);
        _flagged = new LevelRecords(_options.MaxRecords);
        _clusters = new ClusterEngine(_options, id => _keys.TryPeek(id, out var s) ? s : null, id => _tenants.TryPeek(id, out var s) ? s : null);
        _scoreIntervalMs = (long)_options.ScoreInterval.TotalMilliseconds;
        _clusterIntervalMs = (long)_options.ClusterInterval.TotalMilliseconds;
    }

    public MonitorOptions Options => _options;

    /// <summary>Takes one request into account. Never throws; a failure is counted and reported to the sink.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Observe(in RequestFeatures request)
    {
        try
        {
            lock (_gate)
            {
                ObserveCore(request);
            }
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            Report("observe", ex);
        }
    }

    /// <summary>Extracts the features of one request and observes them. Never throws.</summary>
    public void Observe(in RequestMetadata metadata, ReadOnlySpan<byte> requestJson)
    {
        RequestFeatures features;
        try
        {
            FeatureExtractor.Extract(metadata, requestJson, out features);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            Report("extract", ex);
            return;
        }

        Observe(features);
    }

    /// <summary>The subject's level in force (pinned or automatic); <c>None</c> when it has none. Lock-free.</summary>
    public EnforcementLevel GetLevel(SubjectRef subject) =>
        _board.TryGetValue(subject, out var level) ? level : EnforcementLevel.None;

    /// <summary>
    /// The level that applies to a request from this key of this tenant: the highest of the key's, the tenant's and
    /// those of the clusters holding either, with the subject it comes from. Lock-free, for the request path.
    /// </summary>
    public EnforcementDecision GetEnforcement(string tenantId, string keyId)
    {
        var best = new EnforcementDecision(EnforcementLevel.None, null);
        Consider(SubjectRef.Key(keyId), ref best);
        Consider(SubjectRef.Tenant(tenantId), ref best);
        var clusters = _clusterLevels;
        foreach (var member in (ReadOnlySpan<SubjectRef>)[SubjectRef.Key(keyId), SubjectRef.Tenant(tenantId)])
        {
            if (clusters.TryGetValue(member, out var entry) && entry.Level > best.Level)
            {
                best = new EnforcementDecision(entry.Level, SubjectRef.Cluster(entry.ClusterId));
            }
        }

        return best;

        void Consider(SubjectRef subject, ref EnforcementDecision decision)
        {
            if (_board.TryGetValue(subject, out var level) && level > decision.Level)
            {
                decision = new EnforcementDecision(level, subject);
            }
        }
    }

    /// <summary>
    /// Whether a new pin of <paramref name="subject"/> fits the monitor's room: it is pinned already, or fewer than
    /// <see cref="MonitorOptions.MaxRecords"/> subjects are. Asked before a new pin is stored (the admin API refuses one
    /// beyond the room); <see cref="Pin"/> itself enforces every pin it is given, since a stored pin is an operator's
    /// decision and must not be dropped (one kept from before <c>maxRecords</c> was lowered, or made from the command line).
    /// </summary>
    public bool HasRoomToPin(SubjectRef subject)
    {
        lock (_gate)
        {
            return _pinned.ContainsKey(subject) || _pinned.Count < _options.MaxRecords;
        }
    }

    /// <summary>
    /// Pins a subject's level (either way) until <see cref="Unpin"/>: the scores keep being computed and reported but
    /// do not move it. A cluster's pin holds the members it has when pinned, or <paramref name="members"/> when given (those
    /// the pin was stored and audited with), whatever the cluster becomes later. Returns false when the subject cannot be
    /// pinned (an unknown cluster). Pins are not limited by the room (see <see cref="HasRoomToPin"/>).
    /// </summary>
    public bool Pin(SubjectRef subject, EnforcementLevel level, string actor, string? note, DateTimeOffset at, IReadOnlyList<SubjectRef>? members = null)
    {
        try
        {
            lock (_gate)
            {
                var tracker = FindTracker(subject, create: true);
                if (tracker is null)
                {
                    return false;
                }

                var from = tracker.Effective;
                tracker.Pinned = level;
                if (subject.Kind == SubjectKind.Cluster && members is { Count: > 0 })
                {
                    tracker.Members = [.. members];
                }

                _pinned[subject] = tracker;
                var now = at.ToUnixTimeMilliseconds();
                tracker.NoteReached(level, now, RequestsOf(subject));
                tracker.LastChangeMs = now;
                Publish(tracker, from, LevelChangeCause.Pinned, now, actor, note);
                if (subject.Kind == SubjectKind.Cluster)
                {
                    PublishClusterLevels();
                }

                return true;
            }
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            Report("pin", ex);
            return false;
        }
    }

    /// <summary>Removes a pin; the automatic level applies again. Returns false when the subject had no pin.</summary>
    public bool Unpin(SubjectRef subject, string actor, string? note, DateTimeOffset at)
    {
        try
        {
            lock (_gate)
            {
                if (!_pinned.Remove(subject, out var tracker))
                {
                    return false;
                }

                var from = tracker.Effective;
                tracker.Pinned = null;
                var now = at.ToUnixTimeMilliseconds();
                tracker.LastChangeMs = now;
                if (subject.Kind != SubjectKind.Cluster && tracker.Highest > EnforcementLevel.None)
                {
                    // Back among the records the scores maintain, so reports and cases still find it.
                    if (tracker.Highest >= EnforcementLevel.Flag)
                    {
                        Promote(tracker);
                    }
                    else
                    {
                        Store(tracker);
                    }
                }

                Publish(tracker, from, LevelChangeCause.Unpinned, now, actor, note);
                if (subject.Kind == SubjectKind.Cluster)
                {
                    PublishClusterLevels();
                }

                return true;
            }
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            Report("unpin", ex);
            return false;
        }
    }

    /// <summary>Scores every subject with unscored requests and rebuilds the clusters (the end of a replay).</summary>
    public void Flush()
    {
        try
        {
            lock (_gate)
            {
                if (_now == long.MinValue)
                {
                    return;
                }

                foreach (var (_, state) in _keys.Entries().ToList())
                {
                    if (state.SinceScored > 0)
                    {
                        Score(state, _now);
                    }
                }

                foreach (var (_, state) in _tenants.Entries().ToList())
                {
                    if (state.SinceScored > 0)
                    {
                        Score(state, _now);
                    }
                }

                ClusterPass(_now);
            }
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            Report("flush", ex);
        }
    }

    /// <summary>
    /// The live gateway's periodic scoring, at <paramref name="now"/> (wall-clock time, the same clock its requests are
    /// stamped with): subjects with unscored requests are scored, subjects holding a level are rescored so a silent one
    /// cools off through the hysteresis, and clusters are rebuilt when their interval has passed. Never throws.
    /// </summary>
    public void Tick(DateTimeOffset now)
    {
        try
        {
            lock (_gate)
            {
                var at = now.ToUnixTimeMilliseconds();
                if (at > _now)
                {
                    _now = at;
                }

                if (_now == long.MinValue)
                {
                    return;
                }

                foreach (var map in (ReadOnlySpan<LruMap<string, SubjectState>>)[_keys, _tenants])
                {
                    foreach (var (_, state) in map.Entries().ToList())
                    {
                        // Pinned too: the automatic level under a pin (down to none, say) cools off, so an unpin applies the current one.
                        var leveled = state.Tracker is { } tracker && (tracker.Automatic > EnforcementLevel.None || tracker.Effective > EnforcementLevel.None);
                        if (state.SinceScored > 0 || (leveled && _now - state.LastScoredMs >= _scoreIntervalMs))
                        {
                            Score(state, _now);
                        }
                    }
                }

                CoolStatelessLevels();

                if (_nextClusterPass != long.MinValue && _now >= _nextClusterPass)
                {
                    ClusterPass(_now);
                    _nextClusterPass = _now + _clusterIntervalMs;
                }
            }
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            Report("tick", ex);
        }
    }

    /// <summary>
    /// A key or tenant holding an automatic level without behaviour state to rescore (its level restored after a restart, or
    /// its state evicted from the maps) has no requests seen: it is scored 0 every score interval, so it cools off through
    /// the hysteresis and dwell like a silent subject instead of keeping its level until it sends again. So does a pinned
    /// one that has no level record (pinned before it had a level, or its record evicted).
    /// </summary>
    private void CoolStatelessLevels()
    {
        List<LevelTracker>? stateless = null;
        foreach (var records in (ReadOnlySpan<LevelRecords>)[_flagged, _watched])
        {
            foreach (var (_, tracker) in records.Entries())
            {
                Consider(tracker);
            }
        }

        foreach (var (subject, tracker) in _pinned)
        {
            if (!_flagged.TryPeek(subject, out _) && !_watched.TryPeek(subject, out _))
            {
                Consider(tracker);
            }
        }

        foreach (var tracker in stateless ?? [])
        {
            ApplyScore(tracker, 0, _now, 0, static () => []);
        }

        void Consider(LevelTracker tracker)
        {
            var subject = tracker.Subject;
            if (subject.Kind != SubjectKind.Cluster && tracker.Automatic > EnforcementLevel.None
                && _now - tracker.LastUpdateMs >= _scoreIntervalMs
                && !((subject.Kind == SubjectKind.Key ? _keys : _tenants).TryPeek(subject.Id, out var state) && state.Tracker == tracker))
            {
                (stateless ??= []).Add(tracker);
            }
        }
    }

    /// <summary>
    /// Puts back an automatic level kept in the store: from before a restart, or, on a replica that does not score the
    /// fleet itself, as the replica that does set it (then it may also go down). A cluster needs its
    /// <paramref name="members"/>, which its level applies to; it is kept until a group found from new traffic takes it over
    /// (and its level) or, scored from its members' own profiles, it cools off. The level then follows the scores as usual:
    /// it goes down only through the hysteresis and dwell. Not published to the sink (the change was recorded when it
    /// happened). Returns false for a cluster without members or a subject without a level to set.
    /// </summary>
    public bool Restore(SubjectRef subject, EnforcementLevel automatic, DateTimeOffset at, IReadOnlyList<SubjectRef>? members = null)
    {
        if (subject.Kind == SubjectKind.Cluster && (members is null || members.Count == 0))
        {
            return false;
        }

        lock (_gate)
        {
            var now = at.ToUnixTimeMilliseconds();
            LevelTracker? tracker;
            if (subject.Kind == SubjectKind.Cluster)
            {
                var cluster = _clusters.Restore(subject.Id, members!);
                tracker = cluster.Tracker ??= new LevelTracker(subject, null);
                tracker.Members = cluster.Members;
            }
            else
            {
                tracker = FindTracker(subject, create: automatic > EnforcementLevel.None);
                if (tracker is null)
                {
                    return false;
                }
            }

            tracker.Automatic = automatic;
            tracker.BelowSinceMs = null;
            tracker.LastChangeMs = now;
            Refile(tracker);
            tracker.NoteReached(automatic, now, RequestsOf(subject));
            Keep(tracker);

            if (tracker.Effective > EnforcementLevel.None)
            {
                _board[subject] = tracker.Effective;
            }
            else
            {
                _board.TryRemove(subject, out _);
            }

            if (subject.Kind == SubjectKind.Cluster)
            {
                PublishClusterLevels();
            }

            return true;
        }
    }

    /// <summary>One subject's standing (a key, a tenant or a cluster that has a level record), or null.</summary>
    public SubjectStanding? Standing(SubjectRef subject)
    {
        lock (_gate)
        {
            var tracker = FindTracker(subject, create: false);
            return tracker is null ? null
                : new SubjectStanding(subject, tracker.Effective, tracker.Automatic, tracker.Pinned, Math.Round(tracker.LastScore, 3),
                    Math.Round(tracker.PeakScore, 3), tracker.PeakReasons, tracker.Members);
        }
    }

    /// <summary>Every subject and cluster that reached a level, with its reasons.</summary>
    public MonitorSnapshot Snapshot()
    {
        lock (_gate)
        {
            var subjects = new List<SubjectReport>();
            var seen = new HashSet<SubjectRef>();
            foreach (var tracker in _pinned.Values.Concat(_flagged.Entries().Select(e => e.Value)).Concat(_watched.Entries().Select(e => e.Value)))
            {
                if (tracker.Subject.Kind == SubjectKind.Cluster || !seen.Add(tracker.Subject) || tracker.Highest == EnforcementLevel.None)
                {
                    continue;
                }

                subjects.Add(new SubjectReport(tracker.Subject, tracker.TenantId, tracker.Highest, tracker.Effective, tracker.Pinned,
                    tracker.PeakScore, tracker.LastScore, ToTime(tracker.FirstFlagMs), tracker.FirstFlagRequests, tracker.PeakReasons));
            }

            var clusters = new List<ClusterReport>();
            foreach (var cluster in _clusters.All())
            {
                if (cluster.Tracker is not { } tracker || tracker.Highest == EnforcementLevel.None)
                {
                    continue;
                }

                clusters.Add(new ClusterReport(cluster.Id, tracker.Highest, tracker.Effective, cluster.Active, tracker.PeakScore,
                    tracker.LastScore, ToTime(tracker.FirstFlagMs), cluster.Members, tracker.PeakReasons));
            }

            subjects.Sort((a, b) => b.HighestLevel != a.HighestLevel ? b.HighestLevel.CompareTo(a.HighestLevel)
                : Nullable.Compare(a.FirstFlagAt, b.FirstFlagAt) != 0 ? Nullable.Compare(a.FirstFlagAt, b.FirstFlagAt)
                : string.CompareOrdinal(a.Subject.ToString(), b.Subject.ToString()));
            clusters.Sort((a, b) => b.HighestLevel != a.HighestLevel ? b.HighestLevel.CompareTo(a.HighestLevel)
                : Nullable.Compare(a.FirstFlagAt, b.FirstFlagAt) != 0 ? Nullable.Compare(a.FirstFlagAt, b.FirstFlagAt)
                : string.CompareOrdinal(a.Id, b.Id));
            return new MonitorSnapshot(_observed, subjects, clusters);
        }
    }

    public MonitorStats Stats
    {
        get
        {
            lock (_gate)
            {
                var records = _watched.Count + _flagged.Count;
                var bytes = ((long)(_keys.Count + _tenants.Count + _clientStates.Count) * SubjectState.SizeBytes)
                    + ((long)(_keys.Capacity + _tenants.Capacity + _clientStates.Capacity + _watched.Capacity + _flagged.Capacity) * 32)
                    + ((long)(records + _pinned.Count) * 256)
                    + _clusters.EstimatedBytes
                    + ((long)_board.Count * 64);
                return new MonitorStats(_observed, _observedBatch, _ignored, Interlocked.Read(ref _failures), _levelChanges, _keys.Count, _tenants.Count,
                    _evictions, records, _pinned.Count, _clusters.PairCount, _clusters.FrameCount, _clusters.SourceCount, _clusters.ClusterCount, bytes);
            }
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void ObserveCore(in RequestFeatures request)
    {
        var keyId = request.KeyId;
        var tenantId = request.TenantId;
        if (string.IsNullOrEmpty(keyId) && string.IsNullOrEmpty(tenantId))
        {
            _ignored++;
            return;
        }

        var now = request.TimestampMs;
        if (now > _now)
        {
            _now = now;
        }

        _observed++;
        if (request.Has(RequestTraits.Batch))
        {
            _observedBatch++;
        }

        if (!string.IsNullOrEmpty(keyId))
        {
            var key = Acquire(_keys, SubjectKind.Key, keyId, tenantId ?? string.Empty);
            Span<ulong> frames = stackalloc ulong[3];
            var found = key.Update(request, _options, frames);
            for (var i = 0; i < found; i++)
            {
                _clusters.RegisterFrame(frames[i], key, now);
            }

            if (request.SourceNetworkHash != 0)
            {
                var source = Hashing.Combine(request.SourceNetworkHash, request.UserAgentHash);
                if (source != key.LastSource)
                {
                    key.LastSource = source;
                    _clusters.RegisterSource(source, key, now);
                }
            }

            var fingerprint = Fingerprint(request);
            if (fingerprint != key.LastFingerprint)
            {
                key.LastFingerprint = fingerprint;
                _clusters.RegisterFingerprint(fingerprint, key, now);
            }

            // A batch's request runs when Corridor's runner gets to it: two tenants' batches running in the same minutes say
            // nothing of their clients' clocks.
            if (key.Raw >= _options.CadenceSuspect && !request.Has(RequestTraits.Batch))
            {
                _clusters.RegisterCadence(key, now);
            }

            // The key as used by this one client (user agent): its own profile, undiluted by the key's other clients.
            var clientId = new ClientId(keyId, request.UserAgentHash);
            var client = AcquireClient(clientId, tenantId ?? string.Empty);
            client.Update(request, _options, []);
            client.SinceScored++;
            if (client.LastScoredMs == long.MinValue || client.SinceScored >= _options.ScoreEveryRequests || now - client.LastScoredMs >= _scoreIntervalMs)
            {
                ScoreClient(client, key, request.UserAgentHash, now);
            }

            MaybeScore(key, now);
        }

        if (!string.IsNullOrEmpty(tenantId))
        {
            var tenant = Acquire(_tenants, SubjectKind.Tenant, tenantId, null);
            if (!string.IsNullOrEmpty(keyId))
            {
                tenant.TrackKey(keyId);
            }

            tenant.Update(request, _options, []);
            MaybeScore(tenant, now);
        }

        if (now >= _nextClusterPass)
        {
            if (_nextClusterPass != long.MinValue)
            {
                ClusterPass(now);
            }

            _nextClusterPass = now + _clusterIntervalMs;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SubjectState Acquire(LruMap<string, SubjectState> map, SubjectKind kind, string id, string? tenantId)
    {
        if (map.TryGetValue(id, out var state))
        {
            return state;
        }

        // At capacity the coldest subject's state is reset and reused: no allocation once warm.
        if (map.Count >= map.Capacity && map.TryPeekOldest(out var oldId, out var cold))
        {
            map.Remove(oldId);
            _evictions++;
            state = cold;
        }
        else
        {
            state = new SubjectState();
        }

        state.Reset(kind, id, tenantId);
        var subject = new SubjectRef(kind, id);
        state.Tracker = _pinned.TryGetValue(subject, out var pinned) ? pinned
            : _flagged.TryPeek(subject, out var flagged) ? flagged
            : _watched.TryPeek(subject, out var watched) ? watched
            : null;
        map.Add(id, state);
        return state;
    }

    /// <summary>What a client sends with: user agent, model and sampling settings. Scripts share it; people vary.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ulong Fingerprint(in RequestFeatures request)
    {
        var hash = Hashing.Combine(request.UserAgentHash, Hashing.OfString(request.Model));
        hash = Hashing.Combine(hash, (ulong)request.MaxTokens);
        hash = Hashing.Combine(hash, (ulong)BitConverter.SingleToInt32Bits(request.Temperature));
        return Hashing.Combine(hash, (ulong)request.N);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private SubjectState AcquireClient(ClientId id, string tenantId)
    {
        if (_clientStates.TryGetValue(id, out var state))
        {
            return state;
        }

        if (_clientStates.Count >= _clientStates.Capacity && _clientStates.TryPeekOldest(out var oldId, out var cold))
        {
            _clientStates.Remove(oldId);
            _evictions++;
            state = cold;
        }
        else
        {
            state = new SubjectState();
        }

        state.Reset(SubjectKind.Key, id.Key, tenantId);
        _clientStates.Add(id, state);
        return state;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ScoreClient(SubjectState client, SubjectState key, ulong owner, long now)
    {
        var raw = client.ComputeProfile(now, _options);
        var confidence = client.ComputeConfidence(now, _options);
        var score = raw * confidence;
        client.Score = score;
        client.LastScoredMs = now;
        client.SinceScored = 0;
        if (score >= key.ClientScore || owner == key.ClientScoreOwner)
        {
            key.ClientScore = score;
            key.ClientScoreMs = now;
            key.ClientConfidence = confidence;
            key.ClientScoreOwner = owner;
            client.SignalValues.CopyTo(key.ClientSignalValues, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void MaybeScore(SubjectState state, long now)
    {
        state.SinceScored++;
        if (state.LastScoredMs == long.MinValue || state.SinceScored >= _options.ScoreEveryRequests || now - state.LastScoredMs >= _scoreIntervalMs)
        {
            Score(state, now);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Score(SubjectState state, long now)
    {
        var raw = state.ComputeProfile(now, _options);
        var confidence = state.ComputeConfidence(now, _options);
        var score = raw * confidence;
        state.Confidence = confidence;
        state.Score = score;
        state.LastScoredMs = now;
        state.SinceScored = 0;

        if (state.Kind == SubjectKind.Key && (raw >= _options.HarvestProfile) != state.HarvestLike)
        {
            state.HarvestLike = !state.HarvestLike;
            _clusters.NoteChanged();
        }

        // A key is as suspect as its most suspect client (while that client is still active).
        var values = state.SignalValues;
        if (state.Kind == SubjectKind.Key && now - state.ClientScoreMs > 2 * _options.HalfLife.TotalMilliseconds)
        {
            state.ClientScore = 0;
        }

        if (state.Kind == SubjectKind.Key && state.ClientScore > score)
        {
            score = state.ClientScore;
            confidence = state.ClientConfidence;
            values = state.ClientSignalValues;
        }

        var tracker = state.Tracker;
        var created = false;
        if (tracker is null)
        {
            if (score < _options.Thresholds.Watch)
            {
                return;
            }

            tracker = new LevelTracker(new SubjectRef(state.Kind, state.Id), state.TenantId);
            state.Tracker = tracker;
            created = true;
        }

        if (score > tracker.PeakScore)
        {
            tracker.PeakScore = score;
            tracker.PeakReasons = Reasons(values, confidence, 1.0);
        }

        ApplyScore(tracker, score, now, state.TotalRequests, () => Reasons(values, confidence, 1.0));
        if (created)
        {
            // Kept for the reports even when its level stays at none (a maximum automatic level of none).
            Store(tracker);
        }
    }

    /// <summary>
    /// Applies a score to a level record and publishes the change of its automatic level, if any (pinned or not: the store
    /// keeps the automatic level apart from the pin, for when the pin goes). <paramref name="announceFrom"/> is the level the
    /// rest of the world knows the subject at when that differs from its record (a new cluster version, unknown outside the
    /// monitor until now); <paramref name="announce"/> publishes even an unchanged level (a cluster whose members changed).
    /// </summary>
    private void ApplyScore(LevelTracker tracker, double score, long now, long requests, Func<IReadOnlyList<SignalContribution>> reasons,
        EnforcementLevel? announceFrom = null, bool announce = false)
    {
        var before = announceFrom ?? tracker.Automatic;
        if (LevelMachine.Apply(tracker, score, now, _options, out _))
        {
            Refile(tracker);
        }

        tracker.NoteReached(tracker.Effective, now, requests);
        Keep(tracker);

        if (tracker.Automatic != before || (announce && tracker.Automatic > EnforcementLevel.None))
        {
            Publish(tracker, before, LevelChangeCause.Automatic, now, null, null, reasons(), announce);
        }
    }

    private void ClusterPass(long now)
    {
        var changed = false;
        var before = _clusters.Active;
        _clusters.Pass(now, (cluster, confidence, values) =>
        {
            var tracker = cluster.Tracker;
            if (tracker is null)
            {
                if (cluster.Score < _options.Thresholds.Watch)
                {
                    return;
                }

                tracker = new LevelTracker(SubjectRef.Cluster(cluster.Id), null);
                cluster.Tracker = tracker;
            }

            // A pin holds the members it was made over, whatever the cluster becomes. Otherwise a level applies to the members
            // the cluster has now: a change of members is published, even at the same level, so the store (and every replica
            // following it) has them.
            var membersChanged = false;
            if (tracker.Pinned is null && !tracker.Members.SequenceEqual(cluster.Members))
            {
                membersChanged = tracker.Members.Count > 0;
                tracker.Members = cluster.Members;
            }

            var scale = 1 - CoordinationWeight();
            if (cluster.Score > tracker.PeakScore)
            {
                tracker.PeakScore = cluster.Score;
                tracker.PeakReasons = Reasons(values, confidence, scale);
            }

            // A new version is announced at the level it took from its predecessor even when its score keeps it there.
            var wasNew = cluster.Unannounced;
            cluster.Unannounced = false;
            var previous = tracker.Effective;
            ApplyScore(tracker, cluster.Score, now, cluster.TotalRequests, () => Reasons(values, confidence, scale),
                wasNew ? EnforcementLevel.None : null, membersChanged);
            changed |= previous != tracker.Effective || tracker.Effective > EnforcementLevel.None;
        });

        // A cluster no longer active (its keys now in another group: a new version, which took its level over) no longer applies
        // its level to anyone: its automatic level goes to none, published so the store stops listing it at the level it had.
        // One whose keys are merely no longer linked stays active and cools off through the hysteresis (ClusterEngine.Pass).
        foreach (var cluster in before)
        {
            if (!cluster.Active && cluster.Tracker is { Automatic: > EnforcementLevel.None } tracker)
            {
                var from = tracker.Automatic;
                tracker.Automatic = EnforcementLevel.None;
                tracker.BelowSinceMs = null;
                tracker.LastChangeMs = now;
                Publish(tracker, from, LevelChangeCause.Automatic, now, null, null);
                changed = true;
            }
        }

        if (changed || _clusterLevels.Count > 0)
        {
            PublishClusterLevels();
        }
    }

    /// <summary>
    /// Which cluster level applies to each member, swapped in whole for the lock-free readers: that of every active cluster
    /// to its members now, and that of every pinned one to the members it was pinned over (whatever the cluster becomes later).
    /// </summary>
    private void PublishClusterLevels()
    {
        var levels = new Dictionary<SubjectRef, (EnforcementLevel, string)>();
        foreach (var cluster in _clusters.Active)
        {
            if (cluster.Tracker is { Effective: > EnforcementLevel.None, Pinned: null } tracker)
            {
                Add(cluster.Members, tracker.Effective, cluster.Id);
            }
        }

        foreach (var (subject, tracker) in _pinned)
        {
            if (subject.Kind == SubjectKind.Cluster && tracker.Effective > EnforcementLevel.None)
            {
                Add(tracker.Members, tracker.Effective, subject.Id);
            }
        }

        _clusterLevels = levels;

        void Add(IReadOnlyList<SubjectRef> members, EnforcementLevel level, string id)
        {
            foreach (var member in members)
            {
                if (!levels.TryGetValue(member, out var existing) || existing.Item1 < level)
                {
                    levels[member] = (level, id);
                }
            }
        }
    }

    private double CoordinationWeight()
    {
        var sum = 0.0;
        for (var i = Signals.ProfileCount; i < Signals.Count; i++)
        {
            sum += _options.Weights.For((Signal)i);
        }

        return Math.Min(1, sum);
    }

    /// <summary>Each signal's value and contribution (confidence × weight × value), largest contribution first.</summary>
    private SignalContribution[] Reasons(double[] values, double confidence, double profileScale)
    {
        var count = 0;
        Span<SignalContribution> buffer = stackalloc SignalContribution[Signals.Count];
        for (var i = 0; i < Signals.Count; i++)
        {
            if (values[i] <= 0)
            {
                continue;
            }

            var weight = _options.Weights.For((Signal)i) * (i < Signals.ProfileCount ? profileScale : 1);
            buffer[count++] = new SignalContribution((Signal)i, Math.Round(values[i], 3), Math.Round(confidence * weight * values[i], 3));
        }

        var result = buffer[..count].ToArray();
        Array.Sort(result, (a, b) => b.Contribution != a.Contribution ? b.Contribution.CompareTo(a.Contribution) : a.Signal.CompareTo(b.Signal));
        return result;
    }

    /// <summary>
    /// Keeps a key's or tenant's record among those its automatic level belongs to: every level has a record (unless
    /// pinned: the pins hold it), which is how the tick finds a subject without behaviour state to cool off and the admin
    /// API finds its live level. A subject can reach a level with a tracker but no record: one filed while its level was
    /// still none, when no record could make room, or one whose pin went before it had a level.
    /// </summary>
    private void Keep(LevelTracker tracker)
    {
        if (tracker.Subject.Kind == SubjectKind.Cluster)
        {
            return;
        }

        if (tracker.Automatic >= EnforcementLevel.Flag)
        {
            Promote(tracker);
        }
        else if (tracker.Automatic > EnforcementLevel.None)
        {
            Store(tracker);
        }
    }

    private void Store(LevelTracker tracker)
    {
        if (_pinned.ContainsKey(tracker.Subject) || _flagged.TryPeek(tracker.Subject, out _) || _watched.TryPeek(tracker.Subject, out _))
        {
            return;
        }

        File(_watched, tracker);
    }

    private void Promote(LevelTracker tracker)
    {
        if (_pinned.ContainsKey(tracker.Subject) || _flagged.Touch(tracker.Subject))
        {
            return;
        }

        // A table takes every level (it grows rather than drop one); only a subject whose level went back to none before it
        // was promoted (an unpin) can find no room among the flagged, and then stays among the watched if it can.
        _watched.Remove(tracker.Subject);
        if (!File(_flagged, tracker))
        {
            File(_watched, tracker);
        }
    }

    /// <summary>
    /// Adds a level record to a table, which makes room only by records that cooled off to none, and grows when every
    /// record holds a level (<see cref="LevelRecords"/>): no subject loses its level in force to make room.
    /// </summary>
    private bool File(LevelRecords records, LevelTracker tracker)
    {
        if (!records.TryAdd(tracker, out _))
        {
            return false;
        }

        if (tracker.Effective > EnforcementLevel.None)
        {
            _board[tracker.Subject] = tracker.Effective;
        }

        return true;
    }

    /// <summary>Files a record under its automatic level after a change, in whichever table holds it.</summary>
    private void Refile(LevelTracker tracker)
    {
        if (tracker.Subject.Kind != SubjectKind.Cluster)
        {
            _watched.Refile(tracker);
            _flagged.Refile(tracker);
        }
    }

    private LevelTracker? FindTracker(SubjectRef subject, bool create)
    {
        if (_pinned.TryGetValue(subject, out var tracker) || _flagged.TryPeek(subject, out tracker) || _watched.TryPeek(subject, out tracker))
        {
            return tracker;
        }

        if (subject.Kind == SubjectKind.Cluster)
        {
            var cluster = _clusters.All().FirstOrDefault(c => c.Id == subject.Id);
            if (cluster is null)
            {
                return null;
            }

            cluster.Tracker ??= new LevelTracker(subject, null) { Members = cluster.Members };
            return cluster.Tracker;
        }

        if (!create)
        {
            return null;
        }

        var map = subject.Kind == SubjectKind.Key ? _keys : _tenants;
        var state = map.TryPeek(subject.Id, out var s) ? s : null;
        tracker = state?.Tracker ?? new LevelTracker(subject, state?.TenantId);
        if (state is not null)
        {
            state.Tracker = tracker;
        }

        return tracker;
    }

    private long RequestsOf(SubjectRef subject) => subject.Kind switch
    {
        SubjectKind.Key => _keys.TryPeek(subject.Id, out var key) ? key.TotalRequests : 0,
        SubjectKind.Tenant => _tenants.TryPeek(subject.Id, out var tenant) ? tenant.TotalRequests : 0,
        _ => _clusters.All().FirstOrDefault(c => c.Id == subject.Id)?.TotalRequests ?? 0,
    };

    private void Publish(LevelTracker tracker, EnforcementLevel from, LevelChangeCause cause, long now, string? actor, string? note,
        IReadOnlyList<SignalContribution>? reasons = null, bool announce = false)
    {
        if (tracker.Effective == EnforcementLevel.None)
        {
            _board.TryRemove(tracker.Subject, out _);
        }
        else
        {
            _board[tracker.Subject] = tracker.Effective;
        }

        // An automatic change is one of the automatic level (the level in force too, unless pinned); a pin or unpin, of the level in force.
        var to = cause == LevelChangeCause.Automatic ? tracker.Automatic : tracker.Effective;
        if (to == from && cause == LevelChangeCause.Automatic && !announce)
        {
            return;
        }

        _levelChanges++;
        if (_sink is null)
        {
            return;
        }

        var change = new LevelChange(tracker.Subject, tracker.TenantId, from, to, Math.Round(tracker.LastScore, 3), cause,
            DateTimeOffset.FromUnixTimeMilliseconds(now), reasons ?? tracker.PeakReasons, tracker.Members, actor, note);
        try
        {
            _sink.LevelChanged(change);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _failures);
            Report("sink", ex);
        }
    }

    private void Report(string operation, Exception exception)
    {
        try
        {
            _sink?.Failed(operation, exception);
        }
        catch (Exception)
        {
            // The sink's own failure has nowhere else to go; the failure counter already has it.
        }
    }

    private static DateTimeOffset? ToTime(long? ms) => ms is { } value ? DateTimeOffset.FromUnixTimeMilliseconds(value) : null;

    /// <summary>One client (user agent) of one key.</summary>
    private readonly record struct ClientId(string Key, ulong UserAgent);
}
