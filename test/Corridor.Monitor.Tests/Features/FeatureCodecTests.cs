using Corridor.Monitor.Features;

namespace Corridor.Monitor.Tests.Features;

public sealed class FeatureCodecTests
{
    [Fact]
    public void Features_RoundTripThroughTheirBytes()
    {
        var body = TestRequests.Chat("Explain binary search step by step, in detail. Show your work.", system: "You are a tutor.", maxTokens: 2000, temperature: 0.7, n: 2);
        var features = TestRequests.Features(body, TestRequests.Start, key: "key_ü1", tenant: "tenant-a", input: 120, output: 900, batch: "batch_6a1f");
        features.UserAgent = "OpenAI/.NET 2.2";

        var bytes = FeatureCodec.Encode(features);
        Assert.True(FeatureCodec.TryDecode(bytes, out var decoded));

        Assert.Equal(features.TimestampMs, decoded.TimestampMs);
        Assert.Equal(features.KeyId, decoded.KeyId);
        Assert.Equal(features.TenantId, decoded.TenantId);
        Assert.Equal(features.Model, decoded.Model);
        Assert.Equal(features.UserAgent, decoded.UserAgent);
        Assert.Equal(features.SkeletonHash, decoded.SkeletonHash);
        Assert.Equal(features.MaxTokens, decoded.MaxTokens);
        Assert.Equal(features.N, decoded.N);
        Assert.Equal(features.Temperature, decoded.Temperature);
        Assert.Equal(features.Flags, decoded.Flags);
        Assert.True(decoded.Has(RequestTraits.Batch)); // a replica's batch request reaches the scoring replica as a batch's
        Assert.Equal(features.OutputTokens, decoded.OutputTokens);
        Assert.Equal(features.ReasoningMarkers, decoded.ReasoningMarkers);
        Assert.Equal(features.SystemHash, decoded.SystemHash);
        for (var i = 0; i < MinHash.Size; i++)
        {
            Assert.Equal(features.MinHash[i], decoded.MinHash[i]);
        }

        // Scored the same: two monitors fed the original and the decoded features agree.
        var direct = new DistillationMonitor();
        var shipped = new DistillationMonitor();
        for (var i = 0; i < 60; i++)
        {
            var one = Scoring.MonitorTests.Harvest(i);
            direct.Observe(one);
            Assert.True(FeatureCodec.TryDecode(FeatureCodec.Encode(one), out var copy));
            shipped.Observe(copy);
        }

        direct.Flush();
        shipped.Flush();
        Assert.Equal(direct.Standing(Corridor.Monitor.Scoring.SubjectRef.Key("key-h"))?.LastScore, shipped.Standing(Corridor.Monitor.Scoring.SubjectRef.Key("key-h"))?.LastScore);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(200)]
    public void CutShortOrForeignBytes_AreRefused(int length)
    {
        var bytes = FeatureCodec.Encode(TestRequests.Features("hello"));
        Assert.False(FeatureCodec.TryDecode(bytes.AsSpan(0, Math.Min(length, bytes.Length)), out _));
        bytes[0] = 99;
        Assert.False(FeatureCodec.TryDecode(bytes, out _));
        Assert.False(FeatureCodec.TryDecode([.. FeatureCodec.Encode(TestRequests.Features("hello")), 1], out _));
    }
}
