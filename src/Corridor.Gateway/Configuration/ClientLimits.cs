namespace Corridor.Gateway.Configuration;

/// <summary>
/// What a client may ask of the gateway's HTTP server, set explicitly on Kestrel rather than left to its defaults, so a
/// hostile or broken client is cut off within known bounds: the size and count of its headers, how long it may take to
/// send them, and how slowly it may send its body. Kestrel answers violations itself (431, 408, or a closed
/// connection), before any of Corridor's pipeline runs.
/// </summary>
public sealed record ClientLimits(
    int MaxRequestHeaderBytes = 32 * 1024,
    int MaxRequestHeaderCount = 100,
    TimeSpan? RequestHeadersTimeout = null,
    double MinRequestBodyBytesPerSecond = 240,
    TimeSpan? MinRequestBodyGrace = null)
{
    public static readonly ClientLimits Default = new();

    public TimeSpan EffectiveRequestHeadersTimeout => RequestHeadersTimeout ?? TimeSpan.FromSeconds(30);

    public TimeSpan EffectiveMinRequestBodyGrace => MinRequestBodyGrace ?? TimeSpan.FromSeconds(5);

    public IEnumerable<string> Validate()
    {
        if (MaxRequestHeaderBytes <= 0)
        {
            yield return "server.maxRequestHeaderBytes must be positive";
        }
        if (MaxRequestHeaderCount <= 0)
        {
            yield return "server.maxRequestHeaderCount must be positive";
        }
        if (EffectiveRequestHeadersTimeout <= TimeSpan.Zero)
        {
            yield return "server.requestHeadersTimeoutSeconds must be positive";
        }
        if (MinRequestBodyBytesPerSecond < 0)
        {
            yield return "server.minRequestBodyBytesPerSecond must not be negative (0 turns the check off)";
        }
        // Kestrel checks the rate once a second, so a grace period must be longer than that.
        if (EffectiveMinRequestBodyGrace <= TimeSpan.FromSeconds(1))
        {
            yield return "server.minRequestBodyGraceSeconds must be at least 2";
        }
    }
}
