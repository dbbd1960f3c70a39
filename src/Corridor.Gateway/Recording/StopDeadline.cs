using Microsoft.Extensions.Hosting;

namespace Corridor.Gateway.Recording;

/// <summary>
/// The one deadline of a graceful stop (docs/shutdown.md): the signal plus <c>server.shutdownTimeoutSeconds</c>. The store
/// work the stop does once the requests in flight are over (the shadow's last results, the monitor's last level changes and
/// shipping, the key cache's last-used times, the writers' last batches and the wait for their spool replays, the fleet's
/// give-backs) waits for the store until that one instant, not <see cref="StoreDeadline.Timeout"/> each in turn: with a
/// database that did not answer those added up to 16 s and more, past any shorter deadline. What the store has not taken
/// by then stays where it is kept for the next start (the spool, the journal). So that a stop whose requests in flight
/// took the whole deadline still gives back its slices and stores its last level changes to a database that answers, that
/// store work gets at least <see cref="Grace"/> from when it begins.
/// <para>
/// A hosted service, registered after every other one of the gateway: the host tells it the stop begins (before the
/// server stops accepting), and stops it first of them, right after the requests in flight, which is when the store work
/// begins. Until then (and without a host, in tests) each store call waits <see cref="StoreDeadline.Timeout"/>.
/// </para>
/// <para>
/// A call begun before the store work (a ledger or audit batch in flight, a row a request writes alone) is held to the same
/// instant (<see cref="StoreWorkOver"/>): with its own <see cref="StoreDeadline.Timeout"/> a stop overran the deadline by up
/// to those 5 s when the database stopped answering mid-batch.
/// </para>
/// </summary>
internal sealed class StopDeadline(TimeProvider time, TimeSpan shutdownTimeout) : IHostedLifecycleService, IDisposable
{
    /// <summary>The least the stop's store work gets, however little of the deadline the requests in flight left.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    // Timestamps of the deadline (signal + shutdown timeout) and of the end of the store work; 0 until known.
    private long _deadline;
    private long _storeWorkEnds;
    private readonly CancellationTokenSource _storeWorkOver = new();
    private ITimer? _timer;

    /// <summary>A stop that never comes (a service made without a host, in tests): every call waits <see cref="StoreDeadline.Timeout"/>.</summary>
    public static StopDeadline None(TimeProvider time) => new(time, TimeSpan.Zero);

    /// <summary>
    /// How long a call to the store may wait now: <see cref="StoreDeadline.Timeout"/>, or once the stop's store work has
    /// begun what is left until it must end (zero once past: the store is not asked).
    /// </summary>
    public TimeSpan StoreTimeout
    {
        get
        {
            var ends = Interlocked.Read(ref _storeWorkEnds);
            if (ends == 0)
            {
                return StoreDeadline.Timeout;
            }

            var left = time.GetElapsedTime(time.GetTimestamp(), ends);
            return left <= TimeSpan.Zero ? TimeSpan.Zero : left < StoreDeadline.Timeout ? left : StoreDeadline.Timeout;
        }
    }

    /// <summary>
    /// Cancelled once the stop's store work must end (never before the stop): a store call under way then is given up on
    /// whenever it began (<see cref="StoreDeadline.RunAsync(Func{CancellationToken, Task}, TimeProvider, StopDeadline, CancellationToken)"/>).
    /// </summary>
    public CancellationToken StoreWorkOver => _storeWorkOver.Token;

    /// <summary>The stop begins: the deadline is the shutdown timeout from now.</summary>
    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        Interlocked.CompareExchange(ref _deadline, time.GetTimestamp() + Ticks(shutdownTimeout), 0);
        return Task.CompletedTask;
    }

    /// <summary>The requests in flight are over: the store work begins, and ends at the deadline (at least <see cref="Grace"/> from now).</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        var deadline = Interlocked.Read(ref _deadline);
        if (Interlocked.CompareExchange(ref _storeWorkEnds, Math.Max(deadline == 0 ? now + Ticks(shutdownTimeout) : deadline, now + Ticks(Grace)), 0) == 0)
        {
            // Only the waits for store calls hang on this token, as on a call's own deadline (each call's own token is cancelled
            // apart, StoreDeadline.CancelApart): no driver's cancellation runs on the timer's thread.
            _timer = time.CreateTimer(static state => ((CancellationTokenSource)state!).Cancel(), _storeWorkOver,
                time.GetElapsedTime(now, Interlocked.Read(ref _storeWorkEnds)), Timeout.InfiniteTimeSpan);
        }
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
