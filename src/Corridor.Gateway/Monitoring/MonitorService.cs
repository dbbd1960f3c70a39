using System.Collections.Concurrent;
using System.Text;
using Corridor.Core.Audit;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Recording;
using Corridor.Monitor;
using Corridor.Monitor.Cases;
using Corridor.Monitor.Features;
using Corridor.Monitor.Scoring;
using Corridor.Storage;
using Corridor.Storage.Monitoring;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Monitoring;

/// <summary>
/// The distillation monitor in the gateway. On the request path: <see cref="Observe"/> (step 9) extracts a request's
/// features and queues them, never blocking, and the enforcement step reads levels lock-free. In the background, every
/// tick: subjects are scored (<see cref="DistillationMonitor.Tick"/>), level changes are stored with their audit
/// records and open or extend cases, pins made elsewhere are read again, and case timelines and examples are updated.
/// Between ticks, <see cref="WatchPinsAsync"/> applies pins made through another replica or the command line within about a second. A failure here is logged and counted (<see cref="Failures"/>), never passed to a request.
/// </summary>
internal sealed partial class MonitorService : BackgroundService, IMonitorSink
{
    private readonly ICorridorStore _store;
    private readonly GatewayState _state;
    private readonly TimeProvider _time;
    private readonly ILogger<MonitorService> _logger;
    private readonly MonitorSettings _settings;
    // Level changes wait here to be stored; none is dropped (beyond the capacity, a subject's changes are merged).
    private readonly LevelChangeQueue _levelChanges;
    // Example requests for cases, queued apart from level changes. Only requests a case still wants are queued (each claims
    // one of the examples its cases lack, ExampleTargets.TryClaim), so the queue holds at most the examples active cases
    // lack, however fast their subjects send, and none a case wants is dropped.
    private readonly ConcurrentQueue<ExampleOffer> _offers = new();
    private readonly Dictionary<SubjectRef, EnforcementLevel> _appliedPins = [];

    // When each subject's pin was last applied through the admin API: a store read older than that does not undo it.
    private readonly Dictionary<SubjectRef, long> _appliedAt = [];
    private readonly SemaphoreSlim _tickGate = new(1, 1);
    private readonly StopDeadline _stop;

    // One store read of the pins at a time, so an older read is never applied after a newer one.
    private readonly SemaphoreSlim _pinGate = new(1, 1);
    private volatile ExampleTargets _examples = ExampleTargets.Empty;
    private bool _persistent = true;
    private bool _merging;
    private bool _pinsBeyondRoom;
    private long _failures;

    // Suspensions made here so far (of keys, tenants and clusters), counted as the monitor makes them: see AnnounceSuspensions.
    private int _suspensions;

    public MonitorService(ICorridorStore store, GatewayState state, TimeProvider time, ILogger<MonitorService> logger, StopDeadline? stop = null)
        : this(store, state, time, logger, pendingLevelChanges: 16_384, stop: stop)
    {
    }

    /// <summary>
    /// With <paramref name="pendingLevelChanges"/> level changes waiting as they came before a subject's are merged, and
    /// <paramref name="fleet"/> as the fleet's observation log instead of the store's (tests).
    /// </summary>
    internal MonitorService(ICorridorStore store, GatewayState state, TimeProvider time, ILogger<MonitorService> logger, int pendingLevelChanges,
        IFleetObservations? fleet = null, StopDeadline? stop = null)
    {
        _stop = stop ?? StopDeadline.None(time);
        _levelChanges = new LevelChangeQueue(pendingLevelChanges);
        _store = store;
        _state = state;
        _time = time;
        _logger = logger;
        _settings = state.Active.Config.Monitor;
        Monitor = new DistillationMonitor(_settings.Scoring, this);
        _fleet = _settings.Enabled ? fleet ?? FleetObservations.For(store) : null;
        Pump = _fleet is null ? new ObservationPump(ObserveHere, time: time) : new ObservationPump(Ship, time: time);
    }

    /// <summary>
    /// Raised once a key, a tenant or a cluster is suspended here (by the scores, a pin made here or read from the store, or, on
    /// a replica that follows the fleet's, a level read from the store), when the suspension is in force: work done on a key's
    /// behalf (a batch) can stop at once rather than at its next look. Handlers must be quick.
    /// </summary>
    public event Action? Suspended;

    public DistillationMonitor Monitor { get; }

    public ObservationPump Pump { get; }

    public bool Enabled => _settings.Enabled;

    private void ObserveHere(in RequestFeatures features)
    {
        var suspensions = Volatile.Read(ref _suspensions);
        Monitor.Observe(features);
        AnnounceSuspensions(suspensions);
    }

    /// <summary>
    /// Raises <see cref="Suspended"/> when a suspension was made since <paramref name="before"/> (the count read before a call
    /// of the monitor that may make one), once that call has returned: not from the sink, since a cluster's level reaches its
    /// members only after the sink hears of its change (<see cref="DistillationMonitor"/> publishes cluster levels last). A
    /// suspension made by another thread meanwhile is announced by that thread too, after its own call.
    /// </summary>
    private void AnnounceSuspensions(int before)
    {
        if (Volatile.Read(ref _suspensions) != before)
        {
            Suspended?.Invoke();
        }
    }

    /// <summary>Failures in the gateway's monitoring (observation, background work, the monitor itself).</summary>
    public long Failures => Interlocked.Read(ref _failures) + Monitor.Stats.Failures;

    /// <summary>Puts back stored pins and automatic levels before the gateway serves its first request.</summary>
    public async Task RestoreAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }

        IReadOnlyList<EnforcementRecord> stored;
        try
        {
            stored = await _store.ListEnforcementAsync(cancellationToken);
        }
        catch (NotSupportedException e)
        {
            _persistent = false;
            LogNotPersistent(e.Message);
            return;
        }

        foreach (var record in stored)
        {
            if (SubjectRef.TryParse(record.Subject, out var subject)
                && EnforcementLevels.TryParse(record.AutomaticLevel, out var automatic)
                && (automatic > EnforcementLevel.None || subject.Kind == SubjectKind.Cluster))
            {
                // A cluster is put back even when only pinned: the pin needs its members.
                Monitor.Restore(subject, automatic, record.UpdatedAt, MembersOf(record));
            }
        }

        SyncPins(stored, _time.GetTimestamp());
        await UpdateCasesAsync(cancellationToken);
    }

    /// <summary>
    /// Step 9: observes a finished request. Never throws; copies the body into a pooled buffer and queues it with the
    /// metadata (feature extraction runs on the pump's background loop), no other allocation unless the caller's case wants an example.
    /// </summary>
    public void Observe(HttpContext context, CorridorRequestFeature call)
    {
        if (!Enabled || call.Caller is not { } caller || call.Request is not { } request)
        {
            return;
        }

        try
        {
            var original = request.Original;
            var metadata = new RequestMetadata
            {
                Timestamp = call.ReceivedAt,
                TenantId = caller.Tenant.Id,
                KeyId = caller.Key.Id,
                Model = original.Model,
                Endpoint = call.Operation.Endpoint(),
                SourceAddress = context.Connection.RemoteIpAddress?.ToString(),
                UserAgent = context.Request.Headers.UserAgent.Count > 0 ? context.Request.Headers.UserAgent[0] : null,
                Status = call.Status != 0 ? call.Status : context.Response.StatusCode,
                InputTokens = (int)Math.Min(int.MaxValue, call.Usage.InputTokens),
                OutputTokens = (int)Math.Min(int.MaxValue, call.Usage.OutputTokens),
                ReasoningTokens = (int)Math.Min(int.MaxValue, call.Usage.ReasoningTokens),
                ReasoningReturned = call.Usage.ReasoningReturned && call.Deployment is { } served
                    && ReasoningReachesClient(call.Dialect, call.Config.Upstreams[served].Dialect, call.Request!.Reasoning),
                BatchId = call.InProcess?.BatchId,
            };
            // A request refused as suspended got no answer and says nothing of what its caller harvests; counted, the retries
            // of a suspended harvester diluted its shares of reasoning and long answers until the suspension lifted on its own.
            if (call.Enforcement.Level != EnforcementLevel.Suspend)
            {
                Pump.TryEnqueue(metadata, original.Body.Span);
            }

            if (_examples.TryClaim(caller.Key.Id, caller.Tenant.Id))
            {
                OfferExample(call, metadata, original.Body.Span);
            }
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failures);
            LogObserveFailed(e);
        }
    }

    /// <summary>
    /// Applies a pin made through the admin API at once (the store already holds it: <paramref name="stored"/> is its row,
    /// whose members a cluster's pin holds).
    /// </summary>
    public void ApplyPin(SubjectRef subject, EnforcementLevel? level, string actor, string? note, DateTimeOffset at, EnforcementRecord? stored = null)
    {
        var suspensions = Volatile.Read(ref _suspensions);
        lock (_appliedPins)
        {
            _appliedAt[subject] = _time.GetTimestamp();
            if (level is { } pinned)
            {
                if (Monitor.Pin(subject, pinned, actor, note, at, stored is null ? null : MembersOf(stored)))
                {
                    _appliedPins[subject] = pinned;
                }
            }
            else if (_appliedPins.Remove(subject))
            {
                Monitor.Unpin(subject, actor, note, at);
            }
        }

        AnnounceSuspensions(suspensions);
    }

    /// <summary>
    /// One round of background work; the service runs it every tick, tests may run it directly. Scoring never waits on the
    /// store; the round's store work (level changes, examples, pins, cases) is waited for at most the store deadline, in its
    /// turn (<see cref="InTurnAsync"/>).
    /// </summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return;
        }

        // In a fleet, only the replica that scores the fleet's traffic moves levels; the others follow the store.
        if (Scores)
        {
            var suspensions = Volatile.Read(ref _suspensions);
            Monitor.Tick(_time.GetUtcNow());
            AnnounceSuspensions(suspensions);
        }

        await Guard("tick", () => InTurnAsync(_tickGate, StoreRoundAsync, StoreDeadline.Timeout, cancellationToken));
    }

    private async Task StoreRoundAsync(CancellationToken cancellationToken)
    {
        await Guard("level changes", () => RecordLevelChangesAsync(cancellationToken));
        await Guard("examples", () => AddExamplesAsync(cancellationToken));
        if (_persistent)
        {
            await Guard("pins", () => ReadPinsAsync(cancellationToken));
            await Guard("cases", () => UpdateCasesAsync(cancellationToken));
        }
    }

    /// <summary>
    /// Runs a round of store work in its turn (one round of its kind at a time), waiting for the turn and the round together
    /// at most <paramref name="timeout"/> (<see cref="StoreDeadline.Timeout"/>, less at the stop): a database that stops
    /// answering holds neither scoring nor the next tick nor the stop for the driver's timeouts (30 s a command, more for a
    /// round of several). A round given up on is asked to
    /// cancel and keeps its turn until it has really ended, so the next round never runs beside it: a level change it was
    /// storing is not stored twice at once, and it stays first in the queue until stored. (As with any call given up on, one
    /// whose commit had reached the database when it stopped answering may still land; the next round then stores it again.)
    /// </summary>
    private Task InTurnAsync(SemaphoreSlim turn, Func<CancellationToken, Task> round, TimeSpan timeout, CancellationToken cancellationToken) =>
        StoreDeadline.RunAsync(async token =>
        {
            await turn.WaitAsync(token);
            try
            {
                await round(token);
            }
            finally
            {
                turn.Release();
            }
        }, _time, timeout, cancellationToken);

    void IMonitorSink.LevelChanged(LevelChange change)
    {
        if (change.To == EnforcementLevel.Suspend)
        {
            Interlocked.Increment(ref _suspensions);
        }

        // Pins are stored and audited by whoever made them; the monitor's own changes are recorded here (in a fleet, only
        // by the replica that scores it).
        if (change.Cause == LevelChangeCause.Automatic && Scores && _levelChanges.Add(change) && !_merging)
        {
            // Said once each time the queue goes beyond its capacity (it is recorded empty again at the end of a tick).
            _merging = true;
            LogLevelChangesMerged(_levelChanges.Capacity);
        }
    }

    void IMonitorSink.Failed(string operation, Exception exception) => LogMonitorFailed(exception, operation);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            return;
        }

        var pump = Task.Run(() => Pump.RunAsync(stoppingToken), CancellationToken.None);
        var pins = _persistent ? Task.Run(() => WatchPinsAsync(stoppingToken), CancellationToken.None) : Task.CompletedTask;
        var fleet = _fleet is not null && _persistent ? Task.Run(() => RunFleetAsync(stoppingToken), CancellationToken.None) : Task.CompletedTask;
        using var timer = new PeriodicTimer(_settings.TickInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // A tick's store work left to a store that does not heed the stop (a hung database) is not waited for: the
                // stop's last round waits for it no longer than the store deadline.
                await TickAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
        }

        await pump;
        await pins;
        await fleet;
    }

    /// <summary>
    /// Pins made elsewhere (another replica's admin API, the command line) move the store's revision: it is checked every
    /// <see cref="StoreSync.RefreshInterval"/>, and at once when a shared store announces a change, so such a pin is
    /// enforced here within about a second rather than at the next tick. The tick reads the pins as well, as a backstop.
    /// </summary>
    private async Task WatchPinsAsync(CancellationToken stoppingToken)
    {
        var notifications = _store as IStoreChangeNotifications;
        var changed = notifications?.WaitForChangeAsync(stoppingToken);
        long? seen = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var poll = Task.Delay(StoreSync.RefreshInterval, _time, stoppingToken);
            await (changed is null ? Task.WhenAny(poll) : Task.WhenAny(changed, poll));
            if (stoppingToken.IsCancellationRequested)
            {
                break;
            }

            // Taken before the read, so a pin committed while it runs wakes the next one.
            if (changed is { IsCompleted: true })
            {
                changed = notifications!.WaitForChangeAsync(stoppingToken);
            }

            // A read left to a store that does not answer is waited for no longer than the store deadline, at the stop too.
            await Guard("pins", () => StoreDeadline.RunAsync(async token =>
            {
                var revision = await _store.GetRevisionAsync(token);
                if (revision != seen)
                {
                    await ReadPinsAsync(token);
                    seen = revision;
                }
            }, _time, stoppingToken));
        }
    }

    private async Task ReadPinsAsync(CancellationToken cancellationToken)
    {
        await _pinGate.WaitAsync(cancellationToken);
        try
        {
            var readAt = _time.GetTimestamp();
            SyncPins(await _store.ListEnforcementAsync(cancellationToken), readAt);
        }
        finally
        {
            _pinGate.Release();
        }
    }

    /// <summary>Records what is still queued (level changes are audited) before the gateway stops.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        Pump.Complete();
        await base.StopAsync(cancellationToken);
        if (Enabled)
        {
            // What is still queued is recorded in the tick's turn (a tick left waiting on the store holds it, so the two never
            // record one change twice), and the fleet's outbox shipped in the fleet's; a store that does not answer holds the
            // stop no longer than the store deadline, nor past the stop's (both wait together): what it did not take is logged
            // as failed (docs/shutdown.md). Neither heeds the host's shutdown token, which has passed when the requests in
            // flight took the whole deadline: they are bounded all the same (StopDeadline), and the stop never fails on it.
            var timeout = _stop.StoreTimeout;
            await Task.WhenAll(
                Guard("level changes", () => InTurnAsync(_tickGate, RecordQueuedAsync, timeout, CancellationToken.None)),
                Guard("fleet", () => InTurnAsync(_fleetGate, StopFleetAsync, timeout, CancellationToken.None)));
        }
    }

    private async Task RecordQueuedAsync(CancellationToken cancellationToken)
    {
        await RecordLevelChangesAsync(cancellationToken);
        await AddExamplesAsync(cancellationToken);
    }

    private async Task RecordLevelChangesAsync(CancellationToken cancellationToken)
    {
        // Each change stays first in the queue until its row and audit record are stored: when the store fails, the next
        // round records it first, in its order, rather than leave the store (and a restart, and the replicas following it)
        // at the level before.
        while (_levelChanges.TryPeek(out var change))
        {
            await RecordLevelChangeAsync(change, cancellationToken);
        }

        _merging = false;
    }

    private async Task AddExamplesAsync(CancellationToken cancellationToken)
    {
        // Each stays until added, so a store that fails it gets it again rather than a later request in its place.
        while (_offers.TryPeek(out var offer))
        {
            await AddExampleAsync(offer, cancellationToken);
            _offers.TryDequeue(out _);
        }
    }

    private async Task RecordLevelChangeAsync(LevelChange change, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var audit = MonitorAudit.Level(change, now);
        if (!_persistent)
        {
            await _store.AppendAuditAsync([audit], cancellationToken);
            _levelChanges.Remove();
            return;
        }

        // A cluster's row carries its members, so its level can be put back after a restart and applied by other replicas.
        var members = change.Subject.Kind == SubjectKind.Cluster ? JoinMembers(change.Members) : null;
        await _store.SetEnforcementAsync(new EnforcementUpdate(change.Subject.ToString(), change.TenantId, Pin: false, change.To.Name(), change.At,
            AuditActors.Gateway, null, members), [audit], cancellationToken);
        _levelChanges.Remove();

        if (await CaseBook.RecordLevelChangeAsync(_store, change, now, cancellationToken) is { } file && file.Timeline.Count == 1)
        {
            LogCaseOpened(file.Id, file.Subject, change.To.Name(), change.Score);
        }
    }

    private void SyncPins(IReadOnlyList<EnforcementRecord> stored, long readAt)
    {
        var suspensions = Volatile.Read(ref _suspensions);
        if (!Scores)
        {
            FollowLevels(stored);
        }

        var desired = new Dictionary<SubjectRef, EnforcementRecord>();
        foreach (var record in stored)
        {
            if (record.PinnedLevel is not null && SubjectRef.TryParse(record.Subject, out var subject))
            {
                desired[subject] = record;
                if (subject.Kind == SubjectKind.Cluster && Monitor.Standing(subject) is null)
                {
                    // Pinned through another replica or the command line: this monitor learns the cluster's members from the row.
                    Monitor.Restore(subject, EnforcementLevels.TryParse(record.AutomaticLevel, out var automatic) ? automatic : EnforcementLevel.None,
                        record.UpdatedAt, MembersOf(record));
                }
            }
        }

        lock (_appliedPins)
        {
            foreach (var subject in _appliedAt.Where(a => a.Value >= readAt).Select(a => a.Key).ToList())
            {
                // Changed through the admin API after this list was read: the next read has it.
                desired.Remove(subject);
                if (_appliedPins.TryGetValue(subject, out var level))
                {
                    desired[subject] = new EnforcementRecord(subject.ToString(), null, "none", level.Name(), default, null, null);
                }
            }

            foreach (var (subject, record) in desired)
            {
                if (EnforcementLevels.TryParse(record.PinnedLevel, out var level)
                    && (!_appliedPins.TryGetValue(subject, out var applied) || applied != level)
                    && Monitor.Pin(subject, level, record.Actor ?? "store", record.Note, record.UpdatedAt, MembersOf(record)))
                {
                    _appliedPins[subject] = level;
                }
            }

            foreach (var subject in _appliedPins.Keys.Where(s => !desired.ContainsKey(s)).ToList())
            {
                _appliedPins.Remove(subject);
                Monitor.Unpin(subject, "store", null, _time.GetUtcNow());
            }

            foreach (var subject in _appliedAt.Where(a => a.Value < readAt).Select(a => a.Key).ToList())
            {
                _appliedAt.Remove(subject);
            }

            // Every stored pin is enforced, beyond the room too (kept from before monitor.maxRecords was lowered, or made from
            // the command line): said once, so the operator can raise the setting or unpin.
            var beyondRoom = _appliedPins.Count > Monitor.Options.MaxRecords;
            if (beyondRoom && !_pinsBeyondRoom)
            {
                LogPinsBeyondRoom(_appliedPins.Count, Monitor.Options.MaxRecords);
            }

            _pinsBeyondRoom = beyondRoom;
        }

        AnnounceSuspensions(suspensions);
    }

    /// <summary>Adds score points to active cases' timelines, applies example retention, and notes which callers' examples are wanted.</summary>
    private async Task UpdateCasesAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var options = _state.Active.Config.Monitor.Cases;
        var keep = _state.Active.Config.Ledger.RetainBodies ? options.Examples : 0;
        var keys = new Dictionary<string, List<ExampleTargets.Wanted>>(StringComparer.Ordinal);
        var tenants = new Dictionary<string, List<ExampleTargets.Wanted>>(StringComparer.Ordinal);
        var active = new List<(string Id, HashSet<string> Subjects)>();
        // Claims are handed out again only once the examples claimed before are added: the queue never holds more than
        // the examples the cases lack, even while the store refuses them.
        var offering = _offers.IsEmpty;
        foreach (var file in await CaseBook.ListAsync(_store, "active", null, cancellationToken))
        {
            var changed = false;
            if (Scores && SubjectRef.TryParse(file.Subject, out var subject) && Monitor.Standing(subject) is { } standing)
            {
                changed |= file.AddScore(now, standing);
            }

            changed |= file.PruneExamples(keep == 0 ? DateTimeOffset.MaxValue : now - options.EffectiveExampleRetention);
            if (changed)
            {
                file.Version++;
                await _store.SaveCaseAsync(CaseBook.ToRecord(file), [], cancellationToken); // a concurrent write wins; the next tick adds the point
            }

            var subjects = new HashSet<string>(file.Members, StringComparer.Ordinal) { file.Subject };
            active.Add((file.Id, subjects));
            if (offering && file.Examples.Count < keep)
            {
                var wanted = new ExampleTargets.Wanted(keep - file.Examples.Count);
                foreach (var member in subjects)
                {
                    if (SubjectRef.TryParse(member, out var m) && (m.Kind == SubjectKind.Tenant ? tenants : m.Kind == SubjectKind.Key ? keys : null) is { } callers)
                    {
                        if (!callers.TryGetValue(m.Id, out var list))
                        {
                            callers[m.Id] = list = [];
                        }

                        list.Add(wanted);
                    }
                }
            }
        }

        _examples = new ExampleTargets(keys, tenants, active);
    }

    private void OfferExample(CorridorRequestFeature call, in RequestMetadata metadata, ReadOnlySpan<byte> body)
    {
        var max = call.Config.Config.Monitor.Cases.ExampleMaxChars;
        var request = Encoding.UTF8.GetString(body.Length > max * 4 ? body[..(max * 4)] : body);
        var response = call.Usage.Text;
        var example = new CaseExample(call.RequestId, call.ReceivedAt, metadata.KeyId, metadata.Model, metadata.Endpoint, metadata.UserAgent, metadata.SourceAddress,
            metadata.InputTokens, metadata.OutputTokens, Trim(request, max), response is null ? null : Trim(response, max))
        {
            Batch = metadata.BatchId,
        };
        _offers.Enqueue(new ExampleOffer(example, metadata.TenantId));

        static string Trim(string text, int max) => text.Length <= max ? text : text[..max];
    }

    private async Task AddExampleAsync(ExampleOffer offer, CancellationToken cancellationToken)
    {
        var keep = _state.Active.Config.Monitor.Cases.Examples;
        var key = "key:" + offer.Example.Key;
        var tenant = "tenant:" + offer.TenantId;
        foreach (var (id, subjects) in _examples.Cases)
        {
            if (subjects.Contains(key) || subjects.Contains(tenant))
            {
                await CaseBook.UpdateAsync(_store, id, file => file.AddExample(offer.Example, keep) ? [] : null, cancellationToken);
            }
        }
    }

    private async Task Guard(string work, Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Interlocked.Increment(ref _failures);
            LogBackgroundFailed(e, work);
        }
    }

    private sealed record ExampleOffer(CaseExample Example, string TenantId);

    /// <summary>
    /// Callers whose active cases still want example requests, and how many each case lacks; swapped whole every tick
    /// (from the cases as stored, once the queued examples are added).
    /// </summary>
    private sealed class ExampleTargets(Dictionary<string, List<ExampleTargets.Wanted>> keys, Dictionary<string, List<ExampleTargets.Wanted>> tenants,
        List<(string Id, HashSet<string> Subjects)> cases)
    {
        public static readonly ExampleTargets Empty = new([], [], []);

        public List<(string Id, HashSet<string> Subjects)> Cases { get; } = cases;

        /// <summary>
        /// Whether a request of this key and tenant is wanted as an example: it takes one of the examples each of its cases
        /// still lacks, so the first requests after a case opened are queued and the rest are not.
        /// </summary>
        public bool TryClaim(string keyId, string tenantId)
        {
            var claimed = false;
            List<Wanted>? byKey = null;
            if (keys.Count > 0 && keys.TryGetValue(keyId, out byKey))
            {
                foreach (var wanted in byKey)
                {
                    claimed |= wanted.TryTake();
                }
            }

            if (tenants.Count > 0 && tenants.TryGetValue(tenantId, out var byTenant))
            {
                foreach (var wanted in byTenant)
                {
                    // A cluster's case can list both the key and its tenant: one request is one example of it.
                    if (byKey is null || !byKey.Contains(wanted))
                    {
                        claimed |= wanted.TryTake();
                    }
                }
            }

            return claimed;
        }

        /// <summary>The examples one case still lacks.</summary>
        public sealed class Wanted(int missing)
        {
            private int _missing = missing;

            public bool TryTake()
            {
                while (Volatile.Read(ref _missing) is var missing && missing > 0)
                {
                    if (Interlocked.CompareExchange(ref _missing, missing - 1, missing) == missing)
                    {
                        return true;
                    }
                }

                return false;
            }
        }
    }

    /// <summary>
    /// Whether reasoning an upstream of <paramref name="upstream"/>'s dialect returned reaches a client of
    /// <paramref name="client"/>'s: as it came, or translated (Claude's thinking to a chat or Responses client, DeepSeek's
    /// reasoning_content to a Responses client, or to an Anthropic client that asked for thinking, in a thinking block);
    /// not to an Anthropic client that did not ask (<paramref name="thinkingAsked"/>), which gets it sealed in a redacted
    /// thinking block it cannot read (docs/translation.md). The meter sees the upstream's answer, so the monitor counts its
    /// reasoning as returned only when this holds.
    /// </summary>
    internal static bool ReasoningReachesClient(Dialect client, Dialect upstream, bool thinkingAsked) =>
        thinkingAsked || UpstreamBody.Direction(client, upstream) != TranslationDirection.MessagesToChat;

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "Observing a request for the monitor failed; the request was not affected")]
    private partial void LogObserveFailed(Exception exception);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "The distillation monitor failed in {Operation}; requests were not affected")]
    private partial void LogMonitorFailed(Exception exception, string operation);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "Monitor background work ({Work}) failed; retried at the next tick")]
    private partial void LogBackgroundFailed(Exception exception, string work);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "More than {Capacity} level changes wait to be recorded (is the store away?); until they are, a subject's later changes are merged into its waiting one, so the store still gets its latest level")]
    private partial void LogLevelChangesMerged(int capacity);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Warning, Message = "Case {CaseId} opened: {Subject} reached {Level} (score {Score})")]
    private partial void LogCaseOpened(string caseId, string subject, string level, double score);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Warning, Message = "The store holds {Pins} pins, more than monitor.maxRecords ({MaxRecords}); all are enforced, and the admin API refuses new ones until pins are removed or monitor.maxRecords is raised")]
    private partial void LogPinsBeyondRoom(int pins, int maxRecords);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "The store keeps no monitor enforcement or cases ({Reason}); levels and pins last until the gateway stops")]
    private partial void LogNotPersistent(string reason);
}
