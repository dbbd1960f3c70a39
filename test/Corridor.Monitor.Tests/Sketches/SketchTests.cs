using Corridor.Monitor.Sketches;

namespace Corridor.Monitor.Tests.Sketches;

public sealed class CountMinSketchTests
{
    [Fact]
    public void Estimate_NeverUndercounts_AndOvercountsWithinTheBound()
    {
        var sketch = new CountMinSketch(depth: 4, width: 1024);
        var truth = new Dictionary<ulong, uint>();
        var random = new Random(1);
        for (var i = 0; i < 50_000; i++)
        {
            // A skewed stream: a few heavy items, many light ones.
            var item = Hashing.Mix((ulong)(random.NextDouble() < 0.3 ? random.Next(10) : random.Next(20_000)));
            sketch.Add(item);
            truth[item] = truth.GetValueOrDefault(item) + 1;
        }

        var bound = Math.E * 50_000 / 1024;
        var over = 0;
        foreach (var (item, count) in truth)
        {
            var estimate = sketch.Estimate(item);
            Assert.True(estimate >= count);
            if (estimate - count > bound)
            {
                over++;
            }
        }

        Assert.True(over < truth.Count * 0.05, $"{over} of {truth.Count} estimates beyond e·N/w");
    }

    [Fact]
    public void Halve_AgesEveryCount()
    {
        var sketch = new CountMinSketch(2, 64);
        sketch.Add(42, 10);
        sketch.Halve();
        Assert.Equal(5u, sketch.Estimate(42));
        Assert.Equal(0u, sketch.Estimate(43));
    }

    [Fact]
    public void Constructor_RejectsWidthsThatAreNotPowersOfTwo() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new CountMinSketch(4, 1000));
}

public sealed class HyperLogLogTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(100)]
    [InlineData(10_000)]
    [InlineData(200_000)]
    public void Estimate_IsCloseToTheDistinctCount(int distinct)
    {
        var sketch = new HyperLogLog(12);
        for (var i = 0; i < distinct; i++)
        {
            var hash = Hashing.Mix((ulong)i);
            sketch.Add(hash);
            sketch.Add(hash); // duplicates do not count
        }

        Assert.InRange(sketch.Estimate(), distinct * 0.95, distinct * 1.05);
    }

    [Fact]
    public void EstimateUnion_EqualsTheEstimateOfTheMergedSketch()
    {
        var a = new HyperLogLog(8);
        var b = new HyperLogLog(8);
        for (var i = 0; i < 300; i++)
        {
            a.Add(Hashing.Mix((ulong)i));
            b.Add(Hashing.Mix((ulong)(i + 150)));
        }

        var union = HyperLogLog.EstimateUnion(a, b);
        a.Merge(b);
        Assert.Equal(a.Estimate(), union, 6);
        Assert.InRange(union, 450 * 0.85, 450 * 1.15);
    }

    [Fact]
    public void Clear_ForgetsEverything()
    {
        var sketch = new HyperLogLog(7);
        sketch.Add(Hashing.Mix(1));
        sketch.Clear();
        Assert.Equal(0, sketch.Estimate());
    }
}

public sealed class SpaceSavingTests
{
    [Fact]
    public void HeavyHitters_KeepTheirSlots_WithCountsThatNeverUndercount()
    {
        var topK = new SpaceSaving(16);
        var random = new Random(3);
        var truth = new Dictionary<ulong, uint>();
        for (var i = 0; i < 20_000; i++)
        {
            var item = random.NextDouble() < 0.5 ? (ulong)random.Next(4) : (ulong)(1000 + random.Next(100_000));
            topK.Add(item);
            truth[item] = truth.GetValueOrDefault(item) + 1;
        }

        for (ulong heavy = 0; heavy < 4; heavy++)
        {
            Assert.True(topK.Estimate(heavy) >= truth[heavy]);
            Assert.True(topK.GuaranteedCount(heavy) <= truth[heavy]);
        }

        Assert.Equal(new ulong[] { 0, 1, 2, 3 }, topK.Top(4).Select(t => t.Item).Order());
    }

    [Fact]
    public void Add_ReturnsTheItemsGuaranteedCount_AndHalveAgesIt()
    {
        var topK = new SpaceSaving(4);
        Assert.Equal(1u, topK.Add(7));
        Assert.Equal(2u, topK.Add(7));
        Assert.Equal(3u, topK.Add(7));
        topK.Halve();
        Assert.Equal(1u, topK.Estimate(7));

        // A newcomer that takes a full sketch's slot inherits a count, but not a guarantee.
        var full = new SpaceSaving(2);
        full.Add(1);
        full.Add(1);
        full.Add(2);
        full.Add(2);
        Assert.Equal(1u, full.Add(3));
        Assert.Equal(3u, full.Estimate(3));
    }
}

public sealed class DecayedCounterTests
{
    private const long HalfLife = 3_600_000;

    [Fact]
    public void Value_HalvesEveryHalfLife()
    {
        var counter = default(DecayedCounter);
        counter.Add(0, 8, HalfLife);
        Assert.Equal(4, counter.ValueAt(HalfLife, HalfLife), 6);
        Assert.Equal(2, counter.ValueAt(2 * HalfLife, HalfLife), 6);
    }

    [Fact]
    public void AnEarlierEvent_IsAddedWithoutDecayingBackwards()
    {
        var counter = default(DecayedCounter);
        counter.Add(HalfLife, 1, HalfLife);
        counter.Add(0, 1, HalfLife);
        Assert.Equal(2, counter.ValueAt(HalfLife, HalfLife), 6);
    }

    [Fact]
    public void Vector_DecaysAllCountersTogether()
    {
        var vector = new DecayedVector(2);
        vector.Advance(0, HalfLife);
        vector.Add(0, 4);
        vector.Add(1, 2);
        vector.Advance(HalfLife, HalfLife);
        Assert.Equal(2, vector[0], 6);
        Assert.Equal(1, vector[1], 6);
    }
}

public sealed class HourRingTests
{
    private const long Hour = 3_600_000;

    [Fact]
    public void ActiveHours_CountsDistinctHours_WithinTheWeek()
    {
        var ring = new HourRing();
        ring.Mark(0);
        ring.Mark(Hour / 2);
        ring.Mark(5 * Hour);
        ring.Mark(30 * Hour);
        Assert.Equal(3, ring.ActiveHours(30 * Hour));
        Assert.Equal(1, ring.ActiveHours(30 * Hour, window: 24));

        // A week later the first hours have left the window.
        Assert.Equal(1, ring.ActiveHours((168 + 6) * Hour));
        ring.Mark(400 * Hour);
        Assert.Equal(1, ring.ActiveHours(400 * Hour));
    }

    [Fact]
    public void HoursOfDayCovered_TellsRoundTheClockActivity()
    {
        var ring = new HourRing();
        for (var h = 0; h < 48; h += 2)
        {
            ring.Mark(h * Hour);
        }

        Assert.Equal(12, ring.HoursOfDayCovered(47 * Hour));
    }

    [Fact]
    public void Or_CombinesTwoRings()
    {
        var a = new HourRing();
        var b = new HourRing();
        a.Mark(0);
        b.Mark(3 * Hour);
        a.Or(b);
        Assert.Equal(2, a.ActiveHours(3 * Hour));
    }
}

public sealed class LruMapTests
{
    [Fact]
    public void Add_EvictsTheLeastRecentlyUsed_WhenFull()
    {
        var map = new LruMap<string, int>(2);
        map.Add("a", 1);
        map.Add("b", 2);
        Assert.True(map.TryGetValue("a", out _)); // a is now the most recent
        map.Add("c", 3, out var evicted, out var evictedKey, out var evictedValue);
        Assert.True(evicted);
        Assert.Equal("b", evictedKey);
        Assert.Equal(2, evictedValue);
        Assert.Equal(2, map.Count);
        Assert.False(map.TryPeek("b", out _));
    }

    [Fact]
    public void Remove_KeepsTheRecencyOrderOfTheRest()
    {
        var map = new LruMap<int, int>(4);
        for (var i = 0; i < 4; i++)
        {
            map.Add(i, i);
        }

        Assert.True(map.Remove(1));
        Assert.Equal(new[] { 3, 2, 0 }, map.Entries().Select(e => e.Key));
        map.Add(9, 9);
        map.Add(10, 10, out var evicted, out var key, out _);
        Assert.True(evicted);
        Assert.Equal(0, key);
    }
}
