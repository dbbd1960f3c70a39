using System.Text;
using Corridor.Gateway.Metering;

namespace Corridor.Gateway.Tests.Metering;

public sealed class TokenCounterTests
{
    [Fact]
    public void Estimate_OfTextWithinTheSample_IsTheExactCount()
    {
        var text = Encoding.UTF8.GetBytes("Summarise the attached contract in three bullet points, in plain English.");

        Assert.Equal(TokenCounter.CountUtf8(text), TokenCounter.EstimateUtf8(text, sampleBytes: 2048));
    }

    [Fact]
    public void Estimate_OfLongerText_ScalesTheSamplesCount_AndStaysCloseToTheExactCount()
    {
        var text = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("Le contrat de fourniture précise les délais de livraison et les pénalités applicables. ", 400)));
        var exact = TokenCounter.CountUtf8(text);

        var estimate = TokenCounter.EstimateUtf8(text, sampleBytes: 2048);

        Assert.NotEqual(exact, TokenCounter.CountUtf8(text.AsSpan(0, 2048))); // the sample alone would be far off
        Assert.InRange(estimate, exact * 0.95, exact * 1.05);
    }

    [Fact]
    public void Estimate_NeverSplitsACharacter_AtTheSamplesEnd()
    {
        // Three-byte characters, so that 2048 bytes end inside one: a split character would count as replacement text.
        var text = Encoding.UTF8.GetBytes(new string('€', 3000));

        var estimate = TokenCounter.EstimateUtf8(text, sampleBytes: 2048);

        var sample = TokenCounter.CountUtf8(text.AsSpan(0, 2046)); // 682 whole characters
        Assert.Equal((long)Math.Round((double)sample * text.Length / 2046), estimate);
    }
}
