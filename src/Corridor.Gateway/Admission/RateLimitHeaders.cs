using System.Globalization;
using Corridor.Core.Admission;
using Corridor.Gateway.FrontDoor;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Admission;

/// <summary>
/// The rate-limit headers each dialect's clients read: OpenAI's <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c>
/// (resets as durations, <c>1s</c>, <c>6m0s</c>, <c>20ms</c>) and Anthropic's
/// <c>anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}</c> (resets as RFC 3339 times, rounded up to the second).
/// </summary>
internal static class RateLimitHeaders
{
    public static void Write(IHeaderDictionary headers, Dialect dialect, RateStatus requests, RateStatus tokens, DateTimeOffset now)
    {
        if (dialect == Dialect.Anthropic)
        {
            Write(headers, "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset", RequestSlots, requests, Format.Time, now);
            Write(headers, "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset", TokenSlots, tokens, Format.Time, now);
            return;
        }
        Write(headers, "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests", RequestSlots, requests, Format.Duration, now);
        Write(headers, "x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens", TokenSlots, tokens, Format.Duration, now);
    }

    /// <summary><c>Retry-After</c> in whole seconds, rounded up, at least one.</summary>
    public static string RetryAfterSeconds(TimeSpan wait) => Number(Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)));

    /// <summary>A duration as OpenAI writes it (Go's format), to the millisecond: <c>20ms</c>, <c>1.5s</c>, <c>6m0s</c>.</summary>
    public static string OpenAIDuration(TimeSpan duration) => OpenAIDuration(Milliseconds(duration));

    private static long Milliseconds(TimeSpan duration) => Math.Max(0, (long)Math.Ceiling(duration.TotalMilliseconds));

    private static string OpenAIDuration(long ms)
    {
        Span<char> text = stackalloc char[48];
        int at;
        if (ms < 1000)
        {
            ms.TryFormat(text, out at, provider: CultureInfo.InvariantCulture);
            text[at++] = 'm';
            text[at++] = 's';
            return new string(text[..at]);
        }
        at = 0;
        if (ms >= 60_000)
        {
            (ms / 60_000).TryFormat(text, out at, provider: CultureInfo.InvariantCulture);
            text[at++] = 'm';
            ms %= 60_000;
        }
        (ms / 1000).TryFormat(text[at..], out var written, provider: CultureInfo.InvariantCulture);
        at += written;
        var fraction = (int)(ms % 1000);
        if (fraction > 0)
        {
            text[at++] = '.';
            for (var divisor = 100; fraction > 0; divisor /= 10)
            {
                text[at++] = (char)('0' + (fraction / divisor));
                fraction %= divisor;
            }
        }
        text[at++] = 's';
        return new string(text[..at]);
    }

    /// <summary>One limit's three headers, when it applies; the reset as a duration (OpenAI) or a time (Anthropic).</summary>
    private static void Write(IHeaderDictionary headers, string limit, string remaining, string reset, int slots, RateStatus status, Format resetAs, DateTimeOffset now)
    {
        if (!status.IsSet)
        {
            return;
        }
        headers[limit] = Remembered(slots, status.Limit, Format.Number);
        headers[remaining] = Remembered(slots + 1, status.Remaining, Format.Number);
        headers[reset] = Remembered(slots + 2,
            resetAs == Format.Time ? UnixSecondsRoundedUp(now + status.ResetAfter) : Milliseconds(status.ResetAfter), resetAs);
    }

    /// <summary>The first whole second at or after <paramref name="at"/>: a reset written earlier would have the client retry too soon.</summary>
    private static long UnixSecondsRoundedUp(DateTimeOffset at) =>
        at.ToUnixTimeSeconds() + (at.UtcTicks % TimeSpan.TicksPerSecond == 0 ? 0 : 1);

    // Per thread, the value each header was last written with and its text: a limit is the same on every request of a key,
    // a reset the same for every request in its millisecond (or second), so most of these headers reuse the string written
    // before instead of formatting and allocating one anew. Three slots a limit (limit, remaining, reset), requests first.
    [ThreadStatic]
    private static (long Value, Format Format, string? Text)[]? t_written;

    private const int RequestSlots = 0;
    private const int TokenSlots = 3;

    private enum Format
    {
        Number,
        Duration,
        Time,
    }

    private static string Remembered(int slot, long value, Format format)
    {
        ref var written = ref (t_written ??= new (long, Format, string?)[6])[slot];
        if (written.Text is null || written.Value != value || written.Format != format)
        {
            written = (value, format, format switch
            {
                Format.Duration => OpenAIDuration(value),
                Format.Time => DateTimeOffset.FromUnixTimeSeconds(value).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                _ => Number(value),
            });
        }
        return written.Text;
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
