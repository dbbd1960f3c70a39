using System.Threading.Channels;
using Corridor.Gateway.Recording;
using Corridor.Monitor.Features;
using Corridor.Monitor.Scoring;
using Corridor.Storage.Monitoring;
using Microsoft.Extensions.Logging;

namespace Corridor.Gateway.Monitoring;

/// <summary>
/// The monitor of a fleet (a shared PostgreSQL store, several replicas): every replica ships its requests' features, in
/// batches off the request path, to the shared observation table; the one replica holding the leadership (an advisory
/// lock) takes them all and scores them together, as one machine would, and writes the levels to the enforcement table,
/// whose changes reach every replica within about a second. The others follow those levels. Memory stays bounded (the
/// outbox drops and counts when full) and a failure here is logged and counted, never passed to a request.
/// </summary>
internal sealed partial class MonitorService
{
    private const int FleetBatch = 5_000;

    private readonly IFleetObservations? _fleet;
    private readonly Channel<FleetObservation> _outbox = Channel.CreateBounded<FleetObservation>(new BoundedChannelOptions(65_536)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });
    private readonly Dictionary<SubjectRef, (EnforcementLevel Level, string? Members)> _followed = [];
    // One round of shipping and scoring at a time (the outbox has one reader; the lease's connection serves one command).
    private readonly SemaphoreSlim _fleetGate = new(1, 1);
    private IFleetMonitorLease? _lease;
    private volatile bool _leading;
    private long _shipped;
    private long _unshipped;
    private long _fleetObserved;

    /// <summary>Whether the store is shared by a fleet of replicas (PostgreSQL), whose traffic one of them scores.</summary>
    public bool Fleet => _fleet is not null;

    /// <summary>Whether this replica's monitor scores traffic and sets levels: always on one machine; in a fleet, the leader.</summary>
    public bool Scores => _fleet is null || _leading;

    /// <summary>In a fleet: observations shipped, those dropped (outbox full or the database unreachable), and those scored here as leader.</summary>
    public (long Shipped, long Dropped, long Scored) FleetCounts => (Interlocked.Read(ref _shipped), Interlocked.Read(ref _unshipped), Interlocked.Read(ref _fleetObserved));

    /// <summary>Subjects separated by spaces, as a cluster's enforcement row keeps them.</summary>
    internal static string JoinMembers(IEnumerable<SubjectRef> members) => string.Join(' ', members.Select(m => m.ToString()));

    private static SubjectRef[]? MembersOf(EnforcementRecord record) =>
        record.Members is null ? null
            : [.. record.Members.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(m => SubjectRef.TryParse(m, out var s) ? (SubjectRef?)s : null).OfType<SubjectRef>()];

    /// <summary>On the pump's loop: the request's features go to the outbox (never waits; dropped and counted when full).</summary>
    private void Ship(in RequestFeatures features)
    {
        if (!_outbox.Writer.TryWrite(new FleetObservation(DateTimeOffset.FromUnixTimeMilliseconds(features.TimestampMs), FeatureCodec.Encode(features))))
        {
            Interlocked.Increment(ref _unshipped);
        }
    }

    private async Task RunFleetAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_settings.FleetInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                // A round left to a database that does not answer is waited for at most the store deadline (and not at all
                // once the gateway stops); it keeps the fleet's turn until it ends.
                await Guard("fleet", () => InTurnAsync(_fleetGate, FleetRoundAsync, StoreDeadline.Timeout, stoppingToken));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task FleetRoundAsync(CancellationToken cancellationToken)
    {
        await Guard("fleet shipping", () => ShipOutboxAsync(cancellationToken));
        await Guard("fleet scoring", () => LeadAsync(cancellationToken));
    }

    private async Task ShipOutboxAsync(CancellationToken cancellationToken)
    {
        var batch = new List<FleetObservation>(Math.Min(FleetBatch, _outbox.Reader.Count));
        while (true)
        {
            batch.Clear();
            while (batch.Count < FleetBatch && _outbox.Reader.TryRead(out var observation))
            {
                batch.Add(observation);
            }

            if (batch.Count == 0)
            {
                return;
            }

            try
            {
                await _fleet!.ShipAsync(batch, cancellationToken);
                Interlocked.Add(ref _shipped, batch.Count);
            }
            catch (Exception)
            {
                // Memory stays bounded while the database is away: the batch is dropped and counted, not kept (given up on at
                // the store deadline or the stop too).
                Interlocked.Add(ref _unshipped, batch.Count);
                throw;
            }
        }
    }

    /// <summary>Takes the leadership when free, and while holding it scores everything the fleet shipped.</summary>
    private async Task LeadAsync(CancellationToken cancellationToken)
    {
        if (_lease is null)
        {
            _lease = await _fleet!.TryLeadAsync(cancellationToken);
            if (_lease is null)
            {
                return;
            }

            lock (_followed)
            {
                _followed.Clear();
            }

            _leading = true;
            LogLeading();
        }

        try
        {
            IReadOnlyList<FleetObservation> taken;
            do
            {
                // Replicas' batches interleave by arrival at the database; the monitor's cadence evidence wants event time.
                taken = await _lease.TakeAsync(FleetBatch, cancellationToken);
                var suspensions = Volatile.Read(ref _suspensions);
                foreach (var observation in taken.OrderBy(o => o.At))
                {
                    if (FeatureCodec.TryDecode(observation.Features, out var features))
                    {
                        Monitor.Observe(features);
                        Interlocked.Increment(ref _fleetObserved);
                    }
                    else
                    {
                        Interlocked.Increment(ref _failures);
                    }
                }

                AnnounceSuspensions(suspensions);
            }
            while (taken.Count == FleetBatch && !cancellationToken.IsCancellationRequested);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The lease's connection is gone (and the lock with it): another replica may lead now; this one follows again.
            await StepDownAsync();
            throw;
        }
    }

    private async Task StepDownAsync()
    {
        _leading = false;
        if (_lease is { } lease)
        {
            _lease = null;
            await lease.DisposeAsync();
            LogSteppedDown();
        }
    }

    private async Task StopFleetAsync(CancellationToken cancellationToken)
    {
        if (_fleet is null || !_persistent)
        {
            return;
        }

        try
        {
            await ShipOutboxAsync(cancellationToken);
        }
        finally
        {
            await StepDownAsync();
        }
    }

    /// <summary>
    /// On a replica that does not lead: the automatic levels the leader stored (keys, tenants and clusters with their
    /// members) are put on this monitor, up and down, so its enforcement reads give the fleet's levels. A cluster whose
    /// members changed is put back with its new members, at the same level too.
    /// </summary>
    private void FollowLevels(IReadOnlyList<EnforcementRecord> stored)
    {
        lock (_followed)
        {
            var seen = new HashSet<SubjectRef>();
            foreach (var record in stored)
            {
                if (!SubjectRef.TryParse(record.Subject, out var subject) || !EnforcementLevels.TryParse(record.AutomaticLevel, out var level))
                {
                    continue;
                }

                seen.Add(subject);
                var members = subject.Kind == SubjectKind.Cluster ? record.Members : null;
                if ((!_followed.TryGetValue(subject, out var followed) || followed != (level, members))
                    && Monitor.Restore(subject, level, record.UpdatedAt, MembersOf(record)))
                {
                    _followed[subject] = (level, members);
                    if (level == EnforcementLevel.Suspend)
                    {
                        // Not published to the sink (Restore): counted here, and announced once the pins are read too (SyncPins).
                        Interlocked.Increment(ref _suspensions);
                    }
                }
            }

            foreach (var subject in _followed.Keys.Where(s => !seen.Contains(s)).ToList())
            {
                Monitor.Restore(subject, EnforcementLevel.None, _time.GetUtcNow(), Monitor.Standing(subject)?.Members);
                _followed.Remove(subject);
            }
        }
    }

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "This replica now scores the fleet's traffic for the distillation monitor")]
    private partial void LogLeading();

    [LoggerMessage(EventId = 5008, Level = LogLevel.Warning, Message = "This replica stopped scoring the fleet's traffic; another replica takes over")]
    private partial void LogSteppedDown();
}
