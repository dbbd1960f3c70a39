using Corridor.Monitor.Cases;
using Corridor.Monitor.Scoring;

namespace Corridor.Monitor.Tests.Cases;

public sealed class CaseFileTests
{
    private static readonly DateTimeOffset At = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static LevelChange Change(EnforcementLevel from, EnforcementLevel to, double score, DateTimeOffset at, LevelChangeCause cause = LevelChangeCause.Automatic) =>
        new(SubjectRef.Key("key_1"), "acme", from, to, score, cause, at,
            [new SignalContribution(Signal.CotElicitation, 0.9, 0.15), new SignalContribution(Signal.OutputYield, 0.8, 0.12)], []);

    private static SubjectStanding Standing(double score, double peak = 0.5) =>
        new(SubjectRef.Key("key_1"), EnforcementLevel.Flag, EnforcementLevel.Flag, null, score, peak, [new SignalContribution(Signal.HarvestSampling, 1, 0.14)], []);

    [Fact]
    public void AnOpenedCase_RecordsTheLevelChange_AndTheSignalsAtThePeak()
    {
        var file = CaseFile.Open(SubjectRef.Key("key_1"), "acme", At);
        file.AddLevelChange(Change(EnforcementLevel.Watch, EnforcementLevel.Flag, 0.43, At));

        Assert.StartsWith("case_20260601_", file.Id, StringComparison.Ordinal);
        Assert.Equal("key:key_1", file.Subject);
        Assert.Equal(CaseNames.Open, file.Status);
        Assert.Equal("flag", file.Level);
        Assert.Equal("flag", file.HighestLevel);
        Assert.Equal(0.43, file.PeakScore);
        Assert.Equal(["cot_elicitation", "output_yield"], file.TopSignals.Select(s => s.Signal));
        var point = Assert.Single(file.Timeline);
        Assert.Equal(("level", "watch", "flag"), (point.Kind, point.From, point.To));
    }

    [Fact]
    public void ScorePoints_AreAddedWhenTheScoreMovesOrAnHourPasses()
    {
        var file = CaseFile.Open(SubjectRef.Key("key_1"), "acme", At);
        file.AddLevelChange(Change(EnforcementLevel.Watch, EnforcementLevel.Flag, 0.43, At));

        Assert.False(file.AddScore(At.AddMinutes(1), Standing(0.44)));
        Assert.True(file.AddScore(At.AddMinutes(2), Standing(0.47)));
        Assert.False(file.AddScore(At.AddMinutes(3), Standing(0.47)));
        Assert.True(file.AddScore(At.AddMinutes(63), Standing(0.47)));
        Assert.Equal(3, file.Timeline.Count);
    }

    [Fact]
    public void APeakReachedBetweenTicks_BringsItsOwnSignals()
    {
        var file = CaseFile.Open(SubjectRef.Key("key_1"), "acme", At);
        file.AddLevelChange(Change(EnforcementLevel.Watch, EnforcementLevel.Flag, 0.43, At));

        // Between two ticks the score rose to 0.6 and fell back to 0.41: the case's peak is 0.6, with the signals at 0.6.
        Assert.True(file.AddScore(At.AddHours(2), Standing(0.41, peak: 0.6)));
        Assert.Equal(0.6, file.PeakScore);
        Assert.Equal(0.41, file.LastScore);
        Assert.Equal(["harvest_sampling"], file.TopSignals.Select(s => s.Signal));
    }

    [Fact]
    public void TheTimeline_IsBounded_DroppingScorePointsBeforeLevelChangesAndDecisions()
    {
        var file = CaseFile.Open(SubjectRef.Key("key_1"), "acme", At);
        file.AddLevelChange(Change(EnforcementLevel.Watch, EnforcementLevel.Flag, 0.43, At));
        file.Decide(CaseDecision.Escalate, "cli:ana", "to the vendor", At.AddMinutes(1));
        for (var i = 0; i < CaseFile.MaxTimeline * 2; i++)
        {
            file.AddScore(At.AddHours(2 + i), Standing(i % 2 == 0 ? 0.3 : 0.5));
        }

        Assert.Equal(CaseFile.MaxTimeline, file.Timeline.Count);
        Assert.Equal("level", file.Timeline[0].Kind);
        Assert.Equal("decision", file.Timeline[1].Kind);
    }

    [Fact]
    public void Decisions_MoveTheStatus_AndAreKeptWithWhoAndWhy()
    {
        var file = CaseFile.Open(SubjectRef.Key("key_1"), "acme", At);
        file.Decide(CaseDecision.Escalate, "cli:ana", "looks like a sweep", At.AddMinutes(5));
        var dismissed = file.Decide(CaseDecision.Dismiss, "admin-api", "a known evaluation run", At.AddMinutes(9));

        Assert.Equal(CaseNames.Dismissed, file.Status);
        Assert.False(file.Active);
        Assert.Equal(("dismiss", "escalated", "dismissed"), (dismissed.Decision, dismissed.StatusBefore, dismissed.StatusAfter));
        Assert.Equal(2, file.Decisions.Count);
        Assert.True(CaseNames.TryParseDecision("Confirm", out var confirm));
        Assert.Equal(CaseDecision.Confirm, confirm);
        Assert.False(CaseNames.TryParseDecision("ban", out _));
    }

    [Fact]
    public void Examples_AreKeptUpToTheLimit_OnceEach_AndPrunedByAge()
    {
        var file = CaseFile.Open(SubjectRef.Key("key_1"), "acme", At);
        CaseExample Example(string id, DateTimeOffset at) => new(id, at, "key_1", "gpt-4.1", "/v1/chat/completions", "ua", "10.0.0.1", 10, 300, "{}", "answer");

        Assert.True(file.AddExample(Example("req_1", At), keep: 2));
        Assert.False(file.AddExample(Example("req_1", At), keep: 2));
        Assert.True(file.AddExample(Example("req_2", At.AddDays(3)), keep: 2));
        Assert.False(file.AddExample(Example("req_3", At.AddDays(4)), keep: 2));

        Assert.True(file.PruneExamples(At.AddDays(1)));
        Assert.Equal("req_2", Assert.Single(file.Examples).RequestId);
    }

    [Fact]
    public void ACase_RoundTripsThroughItsJsonDocument()
    {
        var file = CaseFile.Open(SubjectRef.Cluster("cl-2"), null, At);
        file.AddLevelChange(Change(EnforcementLevel.None, EnforcementLevel.Throttle, 0.61, At) with
        {
            Subject = SubjectRef.Cluster("cl-2"),
            Members = [SubjectRef.Key("k1"), SubjectRef.Tenant("t1")],
        });
        file.AddPin(At.AddMinutes(1), EnforcementLevel.Suspend, "cli:ana", "confirmed");

        var json = file.ToJson();
        var read = CaseFile.FromJson(json, version: 7);

        Assert.Equal(7, read.Version);
        Assert.Equal(json, read.ToJson());
        Assert.Equal(["key:k1", "tenant:t1"], read.Members);
        Assert.Contains("\"top_signals\"", json, StringComparison.Ordinal);
        Assert.Equal("pin", read.Timeline[^1].Kind);
    }
}
