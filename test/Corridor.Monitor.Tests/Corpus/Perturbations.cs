using System.Text;
using System.Text.Json.Nodes;

namespace Corridor.Monitor.Tests.Corpus;

/// <summary>
/// Perturbed copies of the corpus, to check that detection rests on behaviour rather than on the sample's pacing,
/// phrasing or account layout. Every perturbation is deterministic (seeded) and returns the records in time order,
/// with labels updated when keys change.
/// </summary>
internal static class Perturbations
{
    /// <summary>Each campaign runs <paramref name="factor"/> times slower, every gap jittered by up to ±<paramref name="jitter"/> of itself.</summary>
    public static List<CorpusRecord> Slow(IReadOnlyList<CorpusRecord> records, Labels labels, double factor, double jitter, int seed)
    {
        var random = new Random(seed);
        var starts = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        var previous = new Dictionary<string, (DateTimeOffset Original, DateTimeOffset Moved)>(StringComparer.Ordinal);
        var result = new List<CorpusRecord>(records.Count);
        foreach (var record in records)
        {
            var label = labels.Keys.GetValueOrDefault(record.Metadata.KeyId);
            if (label?.Campaign is not { } campaign)
            {
                result.Add(record);
                continue;
            }

            if (!starts.TryGetValue(campaign, out var start))
            {
                starts[campaign] = start = record.Ts;
            }

            // Stretch the campaign from its start; jitter each key's own gap so its cadence is no longer regular.
            var stretched = start + ((record.Ts - start) * factor);
            if (previous.TryGetValue(record.Metadata.KeyId, out var last))
            {
                var gap = (record.Ts - last.Original) * factor;
                stretched = last.Moved + (gap * (1 + (jitter * ((random.NextDouble() * 2) - 1))));
            }

            previous[record.Metadata.KeyId] = (record.Ts, stretched);
            result.Add(record with { Metadata = record.Metadata with { Timestamp = stretched } });
        }

        return Sorted(result);
    }

    private static readonly string[] Openers =
    [
        "Hi!", "Hello,", "Quick one:", "Please help with this.", "I need a hand.", "Here's a task for you.", "Hey there,",
        "Good morning.", "Could you do this for me?", "New item:", "Next one.", "OK, another:", "For my notes:",
        "Task follows.", "Let's go:", "Help me out here.", "One more please.", "Question:", "Homework help:", "Try this:",
    ];

    private static readonly string[] Closers =
    [
        "Thanks!", "Be clear.", "Keep it tidy.", "Cheers.", "Much appreciated.", "Take your time.", "Use plain English.",
        "No rush.", "Format nicely.", "Thank you in advance.",
    ];

    private static readonly (string Phrase, string[] Alternatives)[] Synonyms =
    [
        ("step by step", ["step by step", "stepwise", "one step at a time", "in sequence"]),
        ("step-by-step", ["step-by-step", "stepwise", "sequential", "staged"]),
        ("reasoning", ["reasoning", "logic", "thinking", "rationale", "thought process"]),
        ("show", ["show", "write out", "display", "lay out"]),
        ("detailed", ["detailed", "in-depth", "careful", "rich"]),
        ("thorough", ["thorough", "careful", "complete", "meticulous"]),
        ("thoroughly", ["thoroughly", "carefully", "meticulously", "fully"]),
        ("explain", ["explain", "describe", "clarify", "spell out"]),
        ("Explain", ["Explain", "Describe", "Clarify", "Spell out"]),
        ("complete", ["complete", "entire", "whole", "full"]),
        ("final answer", ["final answer", "conclusion", "result", "answer"]),
        ("Think", ["Think", "Work", "Reason", "Go"]),
        ("Provide", ["Provide", "Give", "Write", "Produce"]),
        ("Answer", ["Answer", "Reply", "Respond", "Solve"]),
    ];

    /// <summary>
    /// Every attack prompt gets a random opener, often a closer, and its instruction words swapped for synonyms (some
    /// outside the monitor's lexicon): prompt frames stop recurring, and marker phrases thin out.
    /// </summary>
    public static List<CorpusRecord> Paraphrase(IReadOnlyList<CorpusRecord> records, Labels labels, int seed)
    {
        var random = new Random(seed);
        var result = new List<CorpusRecord>(records.Count);
        foreach (var record in records)
        {
            if (labels.Keys.GetValueOrDefault(record.Metadata.KeyId)?.Attack != true)
            {
                result.Add(record);
                continue;
            }

            var body = JsonNode.Parse(record.Body.ToArray())!.AsObject();
            if (body["messages"] is JsonArray messages && messages.LastOrDefault(m => (string?)m?["role"] == "user") is JsonObject user
                && user["content"] is JsonValue value && value.TryGetValue<string>(out var content))
            {
                foreach (var (phrase, alternatives) in Synonyms)
                {
                    content = content.Replace(phrase, alternatives[random.Next(alternatives.Length)], StringComparison.Ordinal);
                }

                content = $"{Openers[random.Next(Openers.Length)]} {content}";
                if (random.NextDouble() < 0.6)
                {
                    content = $"{content}\n{Closers[random.Next(Closers.Length)]}";
                }

                user["content"] = content;
            }

            var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
            result.Add(record with { Line = bytes, Request = new Range(0, bytes.Length) });
        }

        return result;
    }

    /// <summary>Each attack key's traffic is spread over <paramref name="factor"/> keys, each in its own new tenant.</summary>
    public static (List<CorpusRecord> Records, Labels Labels) SplitAcrossAccounts(IReadOnlyList<CorpusRecord> records, Labels labels, int factor, int seed)
    {
        var random = new Random(seed);
        var keys = new Dictionary<string, KeyLabel>(StringComparer.Ordinal);
        foreach (var (id, label) in labels.Keys)
        {
            if (!label.Attack)
            {
                keys[id] = label;
                continue;
            }

            for (var i = 0; i < factor; i++)
            {
                var tenant = $"{label.Tenant}-split{i}";
                keys[$"{id}-split{i}"] = label with { Key = $"{id}-split{i}", Tenant = tenant };
            }
        }

        var result = new List<CorpusRecord>(records.Count);
        foreach (var record in records)
        {
            var label = labels.Keys.GetValueOrDefault(record.Metadata.KeyId);
            if (label?.Attack != true)
            {
                result.Add(record);
                continue;
            }

            var i = random.Next(factor);
            result.Add(record with { Metadata = record.Metadata with { KeyId = $"{label.Key}-split{i}", TenantId = $"{label.Tenant}-split{i}" } });
        }

        return (result, new Labels { Keys = keys, CampaignKinds = labels.CampaignKinds });
    }

    /// <summary>
    /// A campaign's traffic is sent with a legitimate tenant's own key, mixed into that key's everyday traffic. The key
    /// is then labelled as the campaign's (it is harvesting); the tenant's other keys stay benign.
    /// </summary>
    public static (List<CorpusRecord> Records, Labels Labels) MixIntoBenignKey(IReadOnlyList<CorpusRecord> records, Labels labels, string campaign, string benignKey)
    {
        var host = labels.Keys[benignKey];
        var keys = labels.Keys.Where(k => k.Value.Campaign != campaign).ToDictionary(k => k.Key, k => k.Value, StringComparer.Ordinal);
        keys[benignKey] = host with { Attack = true, Campaign = campaign, Scenario = null };
        var result = new List<CorpusRecord>(records.Count);
        foreach (var record in records)
        {
            var label = labels.Keys.GetValueOrDefault(record.Metadata.KeyId);
            result.Add(label?.Campaign == campaign
                ? record with { Metadata = record.Metadata with { KeyId = benignKey, TenantId = host.Tenant }, Campaign = campaign }
                : record.Metadata.KeyId == benignKey ? record with { Campaign = string.Empty } : record);
        }

        return (result, new Labels { Keys = keys, CampaignKinds = labels.CampaignKinds });
    }

    /// <summary>A campaign's keys are moved under a legitimate tenant (as extra keys of that tenant).</summary>
    public static (List<CorpusRecord> Records, Labels Labels) MoveIntoBenignTenant(IReadOnlyList<CorpusRecord> records, Labels labels, string campaign, string benignTenant)
    {
        var keys = labels.Keys.ToDictionary(k => k.Key, k => k.Value.Campaign == campaign ? k.Value with { Tenant = benignTenant } : k.Value, StringComparer.Ordinal);
        var result = records.Select(r => labels.Keys.GetValueOrDefault(r.Metadata.KeyId)?.Campaign == campaign
            ? r with { Metadata = r.Metadata with { TenantId = benignTenant } }
            : r).ToList();
        return (result, new Labels { Keys = keys, CampaignKinds = labels.CampaignKinds });
    }

    private static List<CorpusRecord> Sorted(List<CorpusRecord> records)
    {
        // Stable: equal timestamps keep their order.
        return [.. records.Select((r, i) => (r, i)).OrderBy(x => x.r.Ts).ThenBy(x => x.i).Select(x => x.r)];
    }
}
