namespace Corridor.Testing;

/// <summary>
/// A clock that moves only when told; timestamps in nanoseconds. Its timers (and so <c>Task.Delay</c> with this clock)
/// fire inside <see cref="Advance"/>, in the order they are due, each with the clock set to its due time and, as on the
/// thread pool, no synchronization context. Code that awaited such a delay without a synchronization context of its own
/// runs on in that call, so when <see cref="Advance"/> returns, all it set off has run (up to its next await of
/// something else).
/// </summary>
public sealed class FakeClock(DateTimeOffset start) : TimeProvider
{
    private readonly List<Timer> _timers = [];
    private readonly Lock _gate = new();
    private long _elapsedTicks;
    private long _created;

    public FakeClock()
        : this(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero))
    {
    }

    public override long TimestampFrequency => 1_000_000_000;

    /// <summary>Timers that will still fire: neither disposed nor fired for the last time.</summary>
    public int ActiveTimers
    {
        get
        {
            using (_gate.EnterScope())
            {
                return _timers.Count;
            }
        }
    }

    public override DateTimeOffset GetUtcNow() => start + TimeSpan.FromTicks(Interlocked.Read(ref _elapsedTicks));

    public override long GetTimestamp() => Interlocked.Read(ref _elapsedTicks) * 100;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Timer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>
    /// Moves the clock on a second at a time until <paramref name="task"/> has ended (work that gives up at a deadline on this
    /// clock, such as a stop while the store does not answer), then awaits it; each wait is bounded by <see cref="TestTimeouts.Default"/>.
    /// </summary>
    public async Task AdvanceUntilDoneAsync(Task task)
    {
        ArgumentNullException.ThrowIfNull(task);
        await TestTimeouts.UntilAsync(() =>
        {
            Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(task.IsCompleted);
        });
        await task.WithTimeout();
    }

    /// <summary>Moves the clock on by <paramref name="by"/>, firing every timer that falls due on the way (also those set meanwhile).</summary>
    public void Advance(TimeSpan by)
    {
        var until = Interlocked.Read(ref _elapsedTicks) + by.Ticks;
        while (true)
        {
            Timer? next = null;
            using (_gate.EnterScope())
            {
                foreach (var timer in _timers)
                {
                    if (timer.Due <= until && (next is null || (timer.Due, timer.Sequence).CompareTo((next.Due, next.Sequence)) < 0))
                    {
                        next = timer;
                    }
                }
                if (next is null)
                {
                    Interlocked.Exchange(ref _elapsedTicks, until);
                    return;
                }
                Interlocked.Exchange(ref _elapsedTicks, Math.Max(Interlocked.Read(ref _elapsedTicks), next.Due));
                if (next.Period > 0)
                {
                    next.Due += next.Period;
                }
                else
                {
                    _timers.Remove(next);
                }
            }
            // As on the thread pool, where real timers fire: without the caller's synchronization context (a test
            // framework's), so what awaited the timer runs on here rather than being posted.
            var caller = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            try
            {
                next.Callback(next.State);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(caller);
            }
        }
    }

    private sealed class Timer(FakeClock clock, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        /// <summary>When it fires next, in ticks since the clock's start.</summary>
        public long Due { get; set; }

        public long Period { get; private set; }

        /// <summary>Timers due at the same moment fire in the order they were set.</summary>
        public long Sequence { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            using (clock._gate.EnterScope())
            {
                clock._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    return true;
                }
                Due = Interlocked.Read(ref clock._elapsedTicks) + dueTime.Ticks;
                Period = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
                Sequence = ++clock._created;
                clock._timers.Add(this);
                return true;
            }
        }

        public void Dispose()
        {
            using (clock._gate.EnterScope())
            {
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
