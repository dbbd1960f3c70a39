using Corridor.Gateway.Monitoring;
using Corridor.Monitor.Scoring;

namespace Corridor.Gateway.Tests.Monitoring;

public sealed class LevelChangeQueueTests
{
    [Fact]
    public void BeyondItsCapacity_ASubjectsChangesAreMerged_ButTheChangeThatOpensACaseIsKept()
    {
        var queue = new LevelChangeQueue(1);
        Assert.False(queue.Add(Change("k0", EnforcementLevel.None, EnforcementLevel.Watch)));
        Assert.False(queue.Add(Change("h", EnforcementLevel.None, EnforcementLevel.Watch)));
        Assert.True(queue.Add(Change("h", EnforcementLevel.Watch, EnforcementLevel.Flag)));

        // Merged with the flag before it, a step down would leave no change that opens the case: it waits on its own, and
        // later changes are merged into it.
        Assert.False(queue.Add(Change("h", EnforcementLevel.Flag, EnforcementLevel.Watch)));
        Assert.True(queue.Add(Change("h", EnforcementLevel.Watch, EnforcementLevel.Flag)));
        Assert.True(queue.Add(Change("h", EnforcementLevel.Flag, EnforcementLevel.Watch)));

        Assert.Equal(
            [("k0", EnforcementLevel.None, EnforcementLevel.Watch), ("h", EnforcementLevel.None, EnforcementLevel.Flag), ("h", EnforcementLevel.Flag, EnforcementLevel.Watch)],
            Drain(queue));
    }

    [Fact]
    public void TheChangeBeingRecorded_IsNotMergedInto_AndStaysFirstUntilRemoved()
    {
        var queue = new LevelChangeQueue(1);
        queue.Add(Change("h", EnforcementLevel.None, EnforcementLevel.Watch));
        Assert.True(queue.TryPeek(out var recording));

        // Its recording fails: a later change waits behind it instead of changing what is being recorded.
        Assert.False(queue.Add(Change("h", EnforcementLevel.Watch, EnforcementLevel.Flag)));
        Assert.True(queue.TryPeek(out var again));
        Assert.Same(recording, again);
        Assert.Equal([("h", EnforcementLevel.None, EnforcementLevel.Watch), ("h", EnforcementLevel.Watch, EnforcementLevel.Flag)], Drain(queue));
    }

    private static List<(string, EnforcementLevel, EnforcementLevel)> Drain(LevelChangeQueue queue)
    {
        var drained = new List<(string, EnforcementLevel, EnforcementLevel)>();
        while (queue.TryPeek(out var change))
        {
            drained.Add((change.Subject.Id, change.From, change.To));
            queue.Remove();
        }

        return drained;
    }

    private static LevelChange Change(string key, EnforcementLevel from, EnforcementLevel to) =>
        new(SubjectRef.Key(key), "t1", from, to, 0.5, LevelChangeCause.Automatic, DateTimeOffset.UnixEpoch, [], []);
}
