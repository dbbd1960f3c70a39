using Corridor.Monitor.Scoring;

namespace Corridor.Monitor.Tests.Corpus;

/// <summary>One campaign's outcome under score.py's rules.</summary>
internal sealed record CampaignResult(string Campaign, string Kind, int Keys, int KeysFlagged, int Requests, int? RequestsToDetection, int Budget)
{
    public bool Detected => RequestsToDetection is { } cost && cost <= Budget;

    public override string ToString() => RequestsToDetection is { } cost
        ? $"{Campaign} {Kind}: detected after {cost} of {Requests} requests ({KeysFlagged}/{Keys} keys flagged){(cost <= Budget ? string.Empty : $" OVER BUDGET {Budget}")}"
        : $"{Campaign} {Kind}: MISSED ({KeysFlagged}/{Keys} keys flagged, {Requests} requests)";
}

/// <summary>
/// The rules of shared/corpus/score.py, in C#: a key counts as flagged at the earliest moment it, its tenant, or a
/// cluster holding either reached flag; a campaign is detected when half its keys (rounded up) are flagged, and its cost
/// is the number of its requests before that moment (its own requests, even when a perturbation sent them with a
/// legitimate key) (500 by default, 1000 for hydra-like campaigns).
/// </summary>
internal static class Scorer
{
    public const int Budget = 500;
    public const int HydraBudget = 1000;

    public static (IReadOnlyList<CampaignResult> Campaigns, IReadOnlyList<KeyLabel> BenignFlagged) Score(
        MonitorSnapshot snapshot, Labels labels, IReadOnlyList<(DateTimeOffset Ts, string Key, string? Campaign)> requests)
    {
        var flaggedAt = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        void Mark(SubjectRef subject, DateTimeOffset? at)
        {
            var when = at ?? DateTimeOffset.MinValue;
            var targets = subject.Kind == SubjectKind.Key
                ? [subject.Id]
                : labels.Keys.Values.Where(k => k.Tenant == subject.Id).Select(k => k.Key).ToArray();
            foreach (var key in targets)
            {
                if (!flaggedAt.TryGetValue(key, out var existing) || when < existing)
                {
                    flaggedAt[key] = when;
                }
            }
        }

        foreach (var subject in snapshot.Subjects.Where(s => s.HighestLevel >= EnforcementLevel.Flag))
        {
            Mark(subject.Subject, subject.FirstFlagAt);
        }

        foreach (var cluster in snapshot.Clusters.Where(c => c.HighestLevel >= EnforcementLevel.Flag))
        {
            foreach (var member in cluster.Members)
            {
                Mark(member, cluster.FirstFlagAt);
            }
        }

        var results = new List<CampaignResult>();
        foreach (var (campaign, kind) in labels.CampaignKinds.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var keys = labels.Keys.Values.Where(k => k.Campaign == campaign).Select(k => k.Key).ToHashSet(StringComparer.Ordinal);
            var times = keys.Where(flaggedAt.ContainsKey).Select(k => flaggedAt[k]).Order().ToList();
            var need = (keys.Count + 1) / 2;
            var budget = kind.Contains("hydra", StringComparison.Ordinal) ? HydraBudget : Budget;
            var campaignRequests = requests.Where(r => r.Campaign == campaign).Select(r => r.Ts).ToList();
            int? cost = null;
            if (times.Count >= need)
            {
                var when = times[need - 1];
                cost = campaignRequests.Count(t => t < when);
            }

            results.Add(new CampaignResult(campaign, kind, keys.Count, times.Count, campaignRequests.Count, cost, budget));
        }

        var benign = labels.Keys.Values.Where(k => !k.Attack && flaggedAt.ContainsKey(k.Key)).OrderBy(k => k.Key, StringComparer.Ordinal).ToList();
        return (results, benign);
    }
}
