using Corridor.Gateway.Recording;
using Corridor.Storage;

namespace Corridor.Gateway.Observability;

/// <summary>
/// <c>/readyz</c>'s question to the store: a real query, bounded by <see cref="Timeout"/>. Its answer serves every probe for
/// <see cref="Reuse"/>, and probes that come while a query is out share it, so callers of <c>/readyz</c> (which needs no
/// credential: load balancers call it) make the store work at most once a second however often they call.
/// </summary>
internal sealed class StoreProbe(ICorridorStore store, TimeProvider time)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan Reuse = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private Task<string?>? _last;
    private long _askedAt;

    /// <summary>Null when the store answered in time, else why not (no connection details: they may hold a password).</summary>
    public Task<string?> CheckAsync()
    {
        lock (_gate)
        {
            if (_last is null || (_last.IsCompleted && time.GetElapsedTime(_askedAt) >= Reuse))
            {
                _askedAt = time.GetTimestamp();
                _last = AskAsync();
            }
            return _last;
        }
    }

    private async Task<string?> AskAsync()
    {
        try
        {
            await StoreDeadline.RunAsync(token => store.GetRevisionAsync(token).AsTask(), time, Timeout);
            return null;
        }
        catch (TimeoutException)
        {
            return $"no answer within {Timeout.TotalSeconds:0} s";
        }
        catch (Exception e)
        {
            return e.GetType().Name;
        }
    }
}
