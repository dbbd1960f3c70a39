using Xunit.Abstractions;

namespace Corridor.Monitor.Tests.Corpus;

/// <summary>
/// The corpus is a sample, not the target: campaigns in the wild run slower and jittered, are paraphrased, spread over
/// more accounts, or hide in a legitimate tenant's traffic. Each test perturbs the corpus one way and checks that
/// detection holds (every campaign within budget, no benign key flagged) where it reasonably should.
/// </summary>
public sealed class RobustnessTests(ITestOutputHelper output)
{
    [CorpusFact]
    public void ThreeTimesSlowerWithJitter_StillDetectsEveryCampaign_AndFlagsNoBenignKey()
    {
        var records = Perturbations.Slow(CorpusReplay.All, CorpusReplay.Labels, factor: 3, jitter: 0.5, seed: 7);
        AssertHolds(records, CorpusReplay.Labels);
    }

    [CorpusFact]
    public void ParaphrasedPrompts_StillDetectsEveryCampaign_AndFlagsNoBenignKey()
    {
        var records = Perturbations.Paraphrase(CorpusReplay.All, CorpusReplay.Labels, seed: 11);
        AssertHolds(records, CorpusReplay.Labels);
    }

    [CorpusFact]
    public void SplitOverThreeTimesMoreAccounts_StillDetectsEveryCampaign_AndFlagsNoBenignKey()
    {
        var (records, labels) = Perturbations.SplitAcrossAccounts(CorpusReplay.All, CorpusReplay.Labels, factor: 3, seed: 13);
        AssertHolds(records, labels);
    }

    [CorpusFact]
    public void SlowerParaphrasedAndSplit_AllAtOnce_StillDetectsEveryCampaign()
    {
        var (split, labels) = Perturbations.SplitAcrossAccounts(CorpusReplay.All, CorpusReplay.Labels, factor: 3, seed: 17);
        var records = Perturbations.Slow(Perturbations.Paraphrase(split, labels, seed: 19), labels, factor: 3, jitter: 0.5, seed: 23);
        AssertHolds(records, labels);
    }

    [CorpusTheory]
    [InlineData("c2", "key-anchor-labs-01")]
    [InlineData("c4", "key-basalt-digital-01")]
    [InlineData("c1", "key-otter-solutions-01")]
    public void CampaignMixedIntoABenignKeysTraffic_IsStillDetected(string campaign, string benignKey)
    {
        var (records, labels) = Perturbations.MixIntoBenignKey(CorpusReplay.All, CorpusReplay.Labels, campaign, benignKey);
        var (campaigns, benign) = CorpusReplay.RunAndScore(records, labels);
        Print(campaigns, benign);
        Assert.True(campaigns.Single(c => c.Campaign == campaign).Detected, campaigns.Single(c => c.Campaign == campaign).ToString());
    }

    [CorpusTheory]
    [InlineData("c2", "anchor-labs")]
    [InlineData("c5", "basalt-digital")]
    public void CampaignKeysMovedIntoABenignTenant_AreDetected(string campaign, string benignTenant)
    {
        var (records, labels) = Perturbations.MoveIntoBenignTenant(CorpusReplay.All, CorpusReplay.Labels, campaign, benignTenant);
        var (campaigns, benign) = CorpusReplay.RunAndScore(records, labels);
        Print(campaigns, benign);
        Assert.True(campaigns.Single(c => c.Campaign == campaign).Detected, campaigns.Single(c => c.Campaign == campaign).ToString());
    }

    private void AssertHolds(IReadOnlyList<CorpusRecord> records, Labels labels)
    {
        var (campaigns, benign) = CorpusReplay.RunAndScore(records, labels);
        Print(campaigns, benign);
        Assert.All(campaigns, c => Assert.True(c.Detected, c.ToString()));
        Assert.Empty(benign);
    }

    private void Print(IReadOnlyList<CampaignResult> campaigns, IReadOnlyList<KeyLabel> benign)
    {
        foreach (var campaign in campaigns)
        {
            output.WriteLine(campaign.ToString());
        }

        foreach (var key in benign)
        {
            output.WriteLine($"benign flagged: {key.Key} ({key.Scenario})");
        }

        output.WriteLine($"benign keys flagged: {benign.Count}");
    }
}
