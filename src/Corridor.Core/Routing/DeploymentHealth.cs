namespace Corridor.Core.Routing;

/// <summary>
/// What Corridor has observed of one deployment: a time-decayed latency average and a circuit breaker.
/// After <c>threshold</c> consecutive failures the breaker opens for a while; then one request may probe it
/// (half-open), and a success closes it. Thread-safe; callers pass the time so tests use a fake clock.
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
    private long _lastProbe;

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
    /// As <see cref="TryEnter(DateTimeOffset)"/>; <paramref name="probe"/> holds the half-open state's probe when this caller
    /// got it. A probe that ends with neither <see cref="RecordSuccess"/> nor <see cref="RecordFailure"/> (its client left,
    /// or it was never sent) must be given back by disposing of it, or no request would probe again; disposing of one whose
    /// outcome was recorded, or of no probe, does nothing.
    /// </summary>
    public bool TryEnter(DateTimeOffset now, out HalfOpenProbe probe)
    {
        probe = default;
        lock (_gate)
        {
            if (_consecutiveFailures < _failureThreshold)
            {
                return true;
            }
            if (now < _openUntil || _probing)
            {
                return false;
            }
            _probing = true;
            probe = new HalfOpenProbe(this, ++_lastProbe);
            return true;
        }
    }

    /// <summary>
    /// Gives back a probe that found out nothing, so the next request may probe. Does nothing once the probe's outcome
    /// was recorded, or for another caller's probe.
    /// </summary>
    internal void EndProbe(long probe)
    {
        lock (_gate)
        {
            if (_probing && _lastProbe == probe)
            {
                _probing = false;
            }
        }
    }

    public void RecordSuccess(TimeSpan latency, DateTimeOffset now)
    {
        lock (_gate)
        {
            _consecutiveFailures = 0;
            _probing = false;
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
        }
    }

    public void RecordFailure(DateTimeOffset now)
    {
        lock (_gate)
        {
            _probing = false;
            _consecutiveFailures++;
            if (_consecutiveFailures >= _failureThreshold)
            {
                _openUntil = now + _openFor;
            }
        }
    }
}

/// <summary>
/// The probe a half-open <see cref="DeploymentHealth"/> let one request make (<see cref="Id"/> 0: none). Disposing of it
/// gives it back unless its outcome was recorded, so a request that learns nothing (its client left) cannot keep the
/// deployment shut.
/// </summary>
public readonly struct HalfOpenProbe(DeploymentHealth? health, long id) : IDisposable
{
    public long Id => id;

    public void Dispose() => health?.EndProbe(id);
}
