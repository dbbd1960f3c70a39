using Corridor.Monitor.Scoring;
using Xunit.Abstractions;

namespace Corridor.Monitor.Tests.Corpus;

/// <summary>The dev corpus, replayed with the default options, under score.py's rules.</summary>
public sealed class CorpusQualityTests(ITestOutputHelper output)
{
    [CorpusFact]
    public void EveryCampaignIsDetectedWithinBudget_AndNoBenignKeyIsFlagged()
    {
        var (campaigns, benign) = CorpusReplay.RunAndScore(CorpusReplay.All, CorpusReplay.Labels);
        foreach (var campaign in campaigns)
        {
            output.WriteLine(campaign.ToString());
        }

        foreach (var key in benign)
        {
            output.WriteLine($"benign flagged: {key.Key} ({key.Scenario})");
        }

        Assert.All(campaigns, c => Assert.True(c.Detected, c.ToString()));
        Assert.Empty(benign);
    }

    [DiagnosticFact]
    public void Diagnostics_EveryKeysPeakScore()
    {
        var options = new MonitorOptions { Thresholds = new LevelThresholds { Watch = 0.0001 } };
        var snapshot = CorpusReplay.Run(CorpusReplay.All, options);
        var labels = CorpusReplay.Labels;
        foreach (var subject in snapshot.Subjects.Where(s => s.Subject.Kind == SubjectKind.Key).OrderBy(s => labels.Keys.TryGetValue(s.Subject.Id, out var l) ? l.Campaign ?? "z" + l.Scenario : "?").ThenByDescending(s => s.PeakScore))
        {
            var label = labels.Keys.TryGetValue(subject.Subject.Id, out var l) ? l.Campaign ?? l.Scenario : "?";
            output.WriteLine($"{label,-20} {subject.Subject.Id,-34} peak {subject.PeakScore:0.000} flag@{subject.FirstFlagRequest,5} {string.Join(" ", subject.Reasons.Take(9).Select(r => $"{r.Name[..Math.Min(8, r.Name.Length)]}={r.Value:0.00}"))}");
        }
    }
}
