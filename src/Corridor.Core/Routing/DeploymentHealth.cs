namespace Corridor.Core.Routing;

/// <summary>
/// What Corridor has observed of one deployment: a time-decayed latency average and a circuit breaker.
/// After <c>threshold</c> consecutive failures the breaker opens for a while; then one request may probe it
/// (half-open), and a success closes it. Only the outcome of a request let through in the breaker's present state changes
/// that state: one let through before the breaker opened, or before its probe, that ends later (a long stream) is stale
/// and counts for nothing, as Polly's breaker ignores outcomes while open and Envoy's outlier detection ignores an ejected
/// host's. Thread-safe; callers pass the time so tests use a fake clock.
/// </summary>
public sealed class DeploymentHealth(int failureThreshold, TimeSpan openFor)
{
    private static readonly TimeSpan LatencyHalfLife = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How old a latency may be before the deployment is measured again. A deployment measured slow is otherwise never
    /// chosen by lowest latency again, so its average would never learn that it recovered.
    /// </summary>
    public static readonly TimeSpan ExploreAfter = 2 * LatencyHalfLife;

    private readonly Lock _gate = new();
    private int _failureThreshold = failureThreshold;
    private TimeSpan _openFor = openFor;
    private double _latencyMs = double.NaN;
    private DateTimeOffset _latencyAt;
    private DateTimeOffset _exploredAt;
    private int _consecutiveFailures;
    private DateTimeOffset _openUntil = DateTimeOffset.MinValue;
    private bool _probing;

    // Changes whenever the breaker does (it opens, lets its probe through, or closes): an outcome is counted only for a
    // request let through in the present generation.
    private long _generation;

    /// <summary>The decayed latency in milliseconds, or NaN before the first success.</summary>
    public double LatencyMs
    {
        get
        {
            lock (_gate)
            {
                return _latencyMs;
            }
        }
    }

    /// <summary>
    /// The latency to order by for lowest latency: -1 (first) before the first success and, for one request per
    /// <see cref="ExploreAfter"/>, once the last measurement is that old (unless the breaker is open), so the deployment
    /// is measured again; else the decayed average.
    /// </summary>
    public double RoutingLatencyMs(DateTimeOffset now)
    {
        lock (_gate)
        {
            if (double.IsNaN(_latencyMs))
            {
                return -1;
            }
            var last = _latencyAt > _exploredAt ? _latencyAt : _exploredAt;
            if (now - last >= ExploreAfter && !(_consecutiveFailures >= _failureThreshold && (now < _openUntil || _probing)))
            {
                _exploredAt = now;
                return -1;
            }
            return _latencyMs;
        }
    }

    /// <summary>
    /// Applies the breaker settings of a reloaded configuration. A breaker that is open stays open until the time it was
    /// given; the new threshold counts the failures already seen.
    /// </summary>
    public void Configure(int failureThreshold, TimeSpan openFor)
    {
        lock (_gate)
        {
            _failureThreshold = failureThreshold;
            _openFor = openFor;
        }
    }

    /// <summary>What an operator is shown of this deployment at <paramref name="now"/> (<c>GET /admin/deployments</c>, metrics).</summary>
    public DeploymentCondition Condition(DateTimeOffset now)
    {
        lock (_gate)
        {
            var state = _consecutiveFailures < _failureThreshold ? BreakerState.Closed
                : now < _openUntil ? BreakerState.Open
                : BreakerState.HalfOpen;
            return new DeploymentCondition(state, _consecutiveFailures, state == BreakerState.Open ? _openUntil : null, state == BreakerState.HalfOpen && _probing,
                double.IsNaN(_latencyMs) ? null : _latencyMs, double.IsNaN(_latencyMs) ? null : _latencyAt);
        }
    }

    public bool IsOpen(DateTimeOffset now)
    {
        lock (_gate)
        {
            return _consecutiveFailures >= _failureThreshold && (now < _openUntil || _probing);
        }
    }

    /// <summary>Whether a request may go to this deployment now; in half-open state only the first caller gets the probe.</summary>
    public bool TryEnter(DateTimeOffset now) => TryEnter(now, out _);

    /// <summary>
    /// As <see cref="TryEnter(DateTimeOffset)"/>; <paramref name="attempt"/> is what the request's outcome is recorded with,
    /// and says whether it is the half-open state's probe. A probe that ends with neither outcome recorded (its client left,
    /// or it was never sent) must be given back by disposing of the attempt, or no request would probe again; disposing of
    /// one whose outcome was recorded, or of an attempt that is no probe, does nothing.
    /// </summary>
    public bool TryEnter(DateTimeOffset now, out BreakerAttempt attempt)
    {
        lock (_gate)
        {
            if (_consecutiveFailures < _failureThreshold)
            {
                attempt = new BreakerAttempt(this, _generation, isProbe: false);
                return true;
            }
            if (now < _openUntil || _probing)
            {
                attempt = default;
                return false;
            }
            _probing = true;
            attempt = new BreakerAttempt(this, ++_generation, isProbe: true);
            return true;
        }
    }

    /// <summary>
    /// Gives back a probe that found out nothing, so the next request may probe. Does nothing once the probe's outcome
    /// was recorded, or for another caller's probe.
    /// </summary>
    internal void EndProbe(long generation)
    {
        lock (_gate)
        {
            if (_probing && _generation == generation)
            {
                _probing = false;
            }
        }
    }

    /// <summary>
    /// A success of the request <paramref name="attempt"/> let through: its latency is measured whenever it began; it resets
    /// the failures, or closes a half-open breaker, only when it began in the breaker's present state.
    /// </summary>
    public void RecordSuccess(in BreakerAttempt attempt, TimeSpan latency, DateTimeOffset now)
    {
        lock (_gate)
        {
            Succeeded(attempt.Generation, latency, now);
        }
    }

    /// <summary>A success, as of a request let through in the breaker's present state.</summary>
    public void RecordSuccess(TimeSpan latency, DateTimeOffset now)
    {
        lock (_gate)
        {
            Succeeded(_generation, latency, now);
        }
    }

    /// <summary>
    /// A failure of the request <paramref name="attempt"/> let through: counted, opening the breaker at the threshold or
    /// again after a failed probe, only when it began in the breaker's present state.
    /// </summary>
    public void RecordFailure(in BreakerAttempt attempt, DateTimeOffset now)
    {
        lock (_gate)
        {
            Failed(attempt.Generation, now);
        }
    }

    /// <summary>A failure, as of a request let through in the breaker's present state.</summary>
    public void RecordFailure(DateTimeOffset now)
    {
        lock (_gate)
        {
            Failed(_generation, now);
        }
    }

    private void Succeeded(long generation, TimeSpan latency, DateTimeOffset now)
    {
        var sample = latency.TotalMilliseconds;
        if (double.IsNaN(_latencyMs))
        {
            _latencyMs = sample;
        }
        else
        {
            // Weight of the old average halves every half-life since it was last updated.
            var age = Math.Max(0, (now - _latencyAt).TotalSeconds);
            var keep = Math.Pow(0.5, age / LatencyHalfLife.TotalSeconds) * 0.8;
            _latencyMs = keep * _latencyMs + (1 - keep) * sample;
        }
        _latencyAt = now;
        if (generation != _generation)
        {
            return;
        }
        if (_probing)
        {
            _probing = false;
            _generation++;
        }
        _consecutiveFailures = 0;
    }

    private void Failed(long generation, DateTimeOffset now)
    {
        if (generation != _generation)
        {
            return;
        }
        _probing = false;
        _consecutiveFailures++;
        if (_consecutiveFailures >= _failureThreshold)
        {
            _openUntil = now + _openFor;
            _generation++;
        }
    }
}

/// <summary>
/// One request a <see cref="DeploymentHealth"/>'s breaker let through: the breaker's generation then, and whether it is the
/// half-open state's probe (<see cref="Id"/> 0: it is not). Disposing of a probe gives it back unless its outcome was
/// recorded, so a request that learns nothing (its client left) cannot keep the deployment shut.
/// </summary>
public readonly struct BreakerAttempt(DeploymentHealth? health, long generation, bool isProbe) : IDisposable
{
    /// <summary>The breaker's generation when the request was let through; its outcome counts only in that generation.</summary>
    public long Generation => generation;

    /// <summary>The probe's id, or 0 when the request is no probe.</summary>
    public long Id => isProbe ? generation : 0;

    public void Dispose()
    {
        if (isProbe)
        {
            health?.EndProbe(generation);
        }
    }
}

/// <summary>
/// A circuit breaker's state: <see cref="Closed"/> (requests go through), <see cref="Open"/> (skipped until its time is up),
/// <see cref="HalfOpen"/> (its time is up: the next request probes it, or a probe is in flight).
/// </summary>
public enum BreakerState
{
    Closed,
    Open,
    HalfOpen,
}

/// <summary>
/// One deployment as observed: its breaker's state, the failures in a row it has counted, until when it is open, whether a
/// half-open breaker's probe is in flight, and the decayed latency in milliseconds (null before the first success) with when
/// it was last measured.
/// </summary>
public readonly record struct DeploymentCondition(
    BreakerState State, int ConsecutiveFailures, DateTimeOffset? OpenUntil, bool Probing, double? LatencyMs, DateTimeOffset? MeasuredAt)
{
    /// <summary>A deployment no request has gone to yet.</summary>
    public static DeploymentCondition Unobserved => new(BreakerState.Closed, 0, null, false, null, null);
}
