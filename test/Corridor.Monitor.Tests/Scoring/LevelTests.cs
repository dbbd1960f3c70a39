using Corridor.Monitor.Scoring;

namespace Corridor.Monitor.Tests.Scoring;

public sealed class LevelMachineTests
{
    private const long Hour = 3_600_000;
    private static readonly MonitorOptions Options = new();

    [Fact]
    public void Levels_GoUpAtOnce_ToTheHighestThresholdReached()
    {
        var tracker = new LevelTracker(SubjectRef.Key("k"), "t");
        Assert.True(LevelMachine.Apply(tracker, 0.61, 0, Options, out var from));
        Assert.Equal(EnforcementLevel.None, from);
        Assert.Equal(EnforcementLevel.Throttle, tracker.Automatic);
    }

    [Fact]
    public void Levels_HoldInsideTheHysteresisBand()
    {
        var tracker = new LevelTracker(SubjectRef.Key("k"), "t");
        LevelMachine.Apply(tracker, 0.45, 0, Options, out _);
        Assert.Equal(EnforcementLevel.Flag, tracker.Automatic);
        for (var h = 1; h < 48; h++)
        {
            // Below the flag threshold (0.40) but within the 0.05 band.
            Assert.False(LevelMachine.Apply(tracker, 0.36, h * Hour, Options, out _));
        }

        Assert.Equal(EnforcementLevel.Flag, tracker.Automatic);
    }

    [Fact]
    public void Levels_StepDownOneAtATime_OnlyAfterTheDwell()
    {
        var tracker = new LevelTracker(SubjectRef.Key("k"), "t");
        LevelMachine.Apply(tracker, 0.9, 0, Options, out _);
        Assert.Equal(EnforcementLevel.Suspend, tracker.Automatic);

        Assert.False(LevelMachine.Apply(tracker, 0.1, 1 * Hour, Options, out _));
        Assert.False(LevelMachine.Apply(tracker, 0.1, 6 * Hour, Options, out _));
        Assert.True(LevelMachine.Apply(tracker, 0.1, 7 * Hour, Options, out var from));
        Assert.Equal(EnforcementLevel.Suspend, from);
        Assert.Equal(EnforcementLevel.Throttle, tracker.Automatic);

        // A high score in between resets the clock.
        LevelMachine.Apply(tracker, 0.7, 8 * Hour, Options, out _);
        Assert.False(LevelMachine.Apply(tracker, 0.1, 13 * Hour, Options, out _));
        Assert.Equal(EnforcementLevel.Throttle, tracker.Automatic);
    }

    [Fact]
    public void AutomaticLevels_StopAtTheConfiguredMaximum()
    {
        var tracker = new LevelTracker(SubjectRef.Key("k"), "t");
        LevelMachine.Apply(tracker, 0.99, 0, Options with { MaxAutomaticLevel = EnforcementLevel.Throttle }, out _);
        Assert.Equal(EnforcementLevel.Throttle, tracker.Automatic);
    }

    [Fact]
    public void NoteReached_RecordsTheHighestLevel_AndTheFirstFlag()
    {
        var tracker = new LevelTracker(SubjectRef.Key("k"), "t");
        tracker.NoteReached(EnforcementLevel.Watch, 10, 3);
        Assert.Null(tracker.FirstFlagMs);
        tracker.NoteReached(EnforcementLevel.Throttle, 20, 9);
        tracker.NoteReached(EnforcementLevel.Flag, 30, 12);
        Assert.Equal(EnforcementLevel.Throttle, tracker.Highest);
        Assert.Equal(20, tracker.FirstFlagMs);
        Assert.Equal(9, tracker.FirstFlagRequests);
    }

    [Fact]
    public void Options_ValidateEveryErrorAtOnce()
    {
        var errors = new MonitorOptions
        {
            Thresholds = new LevelThresholds { Watch = 0.5, Flag = 0.4 },
            Hysteresis = 0.7,
            Weights = new SignalWeights { CotElicitation = 0.9 },
            MaxKeys = 1,
        }.Validate();
        Assert.Equal(4, errors.Count);
        Assert.Empty(new MonitorOptions().Validate());
        Assert.Throws<ArgumentException>(() => new DistillationMonitor(new MonitorOptions { Hysteresis = -1 }));
    }
}
