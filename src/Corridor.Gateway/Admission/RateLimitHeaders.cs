using System.Globalization;
using Corridor.Core.Admission;
using Corridor.Gateway.FrontDoor;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Admission;

/// <summary>
/// The rate-limit headers each dialect's clients read: OpenAI's <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c>
/// (resets as durations, <c>1s</c>, <c>6m0s</c>, <c>20ms</c>) and Anthropic's
/// <c>anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}</c> (resets as RFC 3339 times).
/// </summary>
internal static class RateLimitHeaders
{
    public static void Write(IHeaderDictionary headers, Dialect dialect, RateStatus requests, RateStatus tokens, DateTimeOffset now)
    {
        if (dialect == Dialect.Anthropic)
        {
            WriteAnthropic(headers, "anthropic-ratelimit-requests-limit", "anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset", requests, now);
            WriteAnthropic(headers, "anthropic-ratelimit-tokens-limit", "anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset", tokens, now);
            return;
        }
        if (requests.IsSet)
        {
            headers["x-ratelimit-limit-requests"] = Number(requests.Limit);
            headers["x-ratelimit-remaining-requests"] = Number(requests.Remaining);
            headers["x-ratelimit-reset-requests"] = OpenAIDuration(requests.ResetAfter);
        }
        if (tokens.IsSet)
        {
            headers["x-ratelimit-limit-tokens"] = Number(tokens.Limit);
            headers["x-ratelimit-remaining-tokens"] = Number(tokens.Remaining);
            headers["x-ratelimit-reset-tokens"] = OpenAIDuration(tokens.ResetAfter);
        }
    }

    /// <summary><c>Retry-After</c> in whole seconds, rounded up, at least one.</summary>
    public static string RetryAfterSeconds(TimeSpan wait) => Number(Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)));

    /// <summary>A duration as OpenAI writes it (Go's format), to the millisecond: <c>20ms</c>, <c>1.5s</c>, <c>6m0s</c>.</summary>
    public static string OpenAIDuration(TimeSpan duration)
    {
        var ms = Math.Max(0, (long)Math.Ceiling(duration.TotalMilliseconds));
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

    private static void WriteAnthropic(IHeaderDictionary headers, string limit, string remaining, string reset, RateStatus status, DateTimeOffset now)
    {
        if (!status.IsSet)
        {
            return;
        }
        headers[limit] = Number(status.Limit);
        headers[remaining] = Number(status.Remaining);
        headers[reset] = (now + status.ResetAfter).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
