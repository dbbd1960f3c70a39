using Npgsql;

namespace Corridor.Storage.Postgres;

/// <summary>
/// LISTEN on <see cref="PostgresMigrations.ChangesChannel"/>: the revision trigger notifies there when a change to tenants or
/// keys commits, from any replica or the command line. One connection per store listens, from the first wait until disposal,
/// and reconnects after a failure.
/// </summary>
internal sealed partial class PostgresStore
{
    private static readonly TimeSpan ListenRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>How long disposing the store waits for its listener when no stop said how long (<see cref="StopListeningAsync"/>).</summary>
    internal static readonly TimeSpan ListenerStopWait = TimeSpan.FromSeconds(5);

    private readonly CancellationTokenSource _listening = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _listener;
    private int _listenerStopped;

    public Task WaitForChangeAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _listener) is null)
        {
            var started = new Task<Task>(() => ListenAsync(_listening.Token));
            if (Interlocked.CompareExchange(ref _listener, started.Unwrap(), null) is null)
            {
                started.Start(TaskScheduler.Default);
            }
        }

        return Volatile.Read(ref _changed).Task.WaitAsync(cancellationToken);
    }

    private void SignalChange() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                connection.Notification += (_, _) => SignalChange();
                await using (var listen = new NpgsqlCommand($"LISTEN {PostgresMigrations.ChangesChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken);
                }

                // Listening (again): whatever changed while not listening was not announced.
                SignalChange();
                while (true)
                {
                    await connection.WaitAsync(cancellationToken);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // The database went away, or the connection broke in a way Npgsql reports otherwise (an
                // InvalidOperationException on a broken connection): the caches keep polling meanwhile. Try again shortly;
                // a listener that ended here would never be started again.
                try
                {
                    await Task.Delay(ListenRetryDelay, _timeProvider, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    public async Task StopListeningAsync(TimeSpan wait)
    {
        if (Interlocked.Exchange(ref _listenerStopped, 1) == 1)
        {
            return;
        }

        // Not cancelled inline: Npgsql cancels a command under way (the LISTEN of a listener connecting again) on the thread
        // that cancels, and with a database that does not answer that thread waited twice the connect timeout (30 s).
        StoreCancellation.CancelApart(_listening);
        if (Volatile.Read(ref _listener) is not { } listener)
        {
            return;
        }

        try
        {
            await listener.WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, _timeProvider);
        }
        catch (TimeoutException)
        {
            // Left: its connection ends with the process. A disposal waited for it unbounded (60 s measured).
        }
    }
}
