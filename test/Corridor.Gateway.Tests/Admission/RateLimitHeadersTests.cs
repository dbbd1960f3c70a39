using Corridor.Core.Admission;
using Corridor.Gateway.Admission;
using Corridor.Gateway.FrontDoor;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Tests.Admission;

public sealed class RateLimitHeadersTests
{
    [Theory]
    [InlineData(0, "0ms")]
    [InlineData(19.2, "20ms")]
    [InlineData(1000, "1s")]
    [InlineData(1500, "1.5s")]
    [InlineData(59_999, "59.999s")]
    [InlineData(60_000, "1m0s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(361_050, "6m1.05s")]
    public void Durations_AreWrittenAsOpenAIWritesThem(double milliseconds, string expected) =>
        Assert.Equal(expected, RateLimitHeaders.OpenAIDuration(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData(0.2, "1")]
    [InlineData(1.0, "1")]
    [InlineData(1.01, "2")]
    [InlineData(59.5, "60")]
    public void RetryAfter_IsWholeSecondsRoundedUp_AtLeastOne(double seconds, string expected) =>
        Assert.Equal(expected, RateLimitHeaders.RetryAfterSeconds(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void EachDialect_GetsItsOwnHeaders_OnlyForTheLimitsThatApply()
    {
        var now = new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);
        var openAI = new HeaderDictionary();
        var anthropic = new HeaderDictionary();

        RateLimitHeaders.Write(openAI, Dialect.OpenAI, new RateStatus(60, 59, TimeSpan.FromSeconds(1)), default, now);
        RateLimitHeaders.Write(anthropic, Dialect.Anthropic, new RateStatus(60, 59, TimeSpan.FromSeconds(1)), new RateStatus(1000, 400, TimeSpan.FromSeconds(36)), now);

        Assert.Equal(
            ["x-ratelimit-limit-requests: 60", "x-ratelimit-remaining-requests: 59", "x-ratelimit-reset-requests: 1s"],
            openAI.Select(h => $"{h.Key}: {h.Value}"));
        Assert.Equal(
            [
                "anthropic-ratelimit-requests-limit: 60", "anthropic-ratelimit-requests-remaining: 59", "anthropic-ratelimit-requests-reset: 2026-12-03T09:00:01Z",
                "anthropic-ratelimit-tokens-limit: 1000", "anthropic-ratelimit-tokens-remaining: 400", "anthropic-ratelimit-tokens-reset: 2026-12-03T09:00:36Z",
            ],
            anthropic.Select(h => $"{h.Key}: {h.Value}"));
    }

    [Fact]
    public void AnAnthropicReset_IsRoundedUpToTheSecond_NeverBeforeTheWindowIsWhole()
    {
        // Half a second into a second, a window whole in 300 ms is whole at 09:00:00.8: 09:00:00 would already have passed.
        var now = new DateTimeOffset(2026, 12, 3, 9, 0, 0, 500, TimeSpan.Zero);
        var anthropic = new HeaderDictionary();

        RateLimitHeaders.Write(anthropic, Dialect.Anthropic, new RateStatus(60, 59, TimeSpan.FromMilliseconds(300)), new RateStatus(1000, 0, TimeSpan.FromSeconds(60)), now);

        Assert.Equal("2026-12-03T09:00:01Z", anthropic["anthropic-ratelimit-requests-reset"].ToString());
        Assert.Equal("2026-12-03T09:01:01Z", anthropic["anthropic-ratelimit-tokens-reset"].ToString());
    }

    [Fact]
    public void HeadersWrittenAgain_CarryTheNewValues_AndAnUnchangedValueReusesItsText()
    {
        var now = new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);
        var first = new HeaderDictionary();
        var second = new HeaderDictionary();
        var third = new HeaderDictionary();

        RateLimitHeaders.Write(first, Dialect.OpenAI, new RateStatus(60, 59, TimeSpan.FromSeconds(1)), new RateStatus(1000, 900, TimeSpan.FromSeconds(6)), now);
        RateLimitHeaders.Write(second, Dialect.OpenAI, new RateStatus(60, 58, TimeSpan.FromMilliseconds(999)), new RateStatus(1000, 800, TimeSpan.FromSeconds(6)), now);
        RateLimitHeaders.Write(third, Dialect.Anthropic, new RateStatus(60, 58, TimeSpan.FromMilliseconds(999)), default, now.AddSeconds(2));

        Assert.Equal(["60", "59", "1s", "1000", "900", "6s"], first.Select(h => h.Value.ToString()));
        Assert.Equal(["60", "58", "999ms", "1000", "800", "6s"], second.Select(h => h.Value.ToString()));
        Assert.Same(first["x-ratelimit-limit-tokens"].ToString(), second["x-ratelimit-limit-tokens"].ToString());
        Assert.Equal(["60", "58", "2026-12-03T09:00:03Z"], third.Select(h => h.Value.ToString()));
    }

    [Fact]
    public void AResetOfTheSameNumber_InTheOtherDialect_IsWrittenInThatDialectsForm()
    {
        var openAI = new HeaderDictionary();
        var anthropic = new HeaderDictionary();

        RateLimitHeaders.Write(openAI, Dialect.OpenAI, new RateStatus(60, 59, TimeSpan.FromMilliseconds(5)), default, DateTimeOffset.UnixEpoch);
        RateLimitHeaders.Write(anthropic, Dialect.Anthropic, new RateStatus(60, 59, TimeSpan.Zero), default, DateTimeOffset.UnixEpoch.AddSeconds(5));

        Assert.Equal("5ms", openAI["x-ratelimit-reset-requests"].ToString());
        Assert.Equal("1970-01-01T00:00:05Z", anthropic["anthropic-ratelimit-requests-reset"].ToString());
    }
}
