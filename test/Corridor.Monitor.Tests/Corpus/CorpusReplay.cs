using Corridor.Monitor.Features;
using Corridor.Monitor.Replay;

namespace Corridor.Monitor.Tests.Corpus;

/// <summary>One request of the corpus: its parsed metadata and its raw line (the request body is a range of it).</summary>
internal sealed record CorpusRecord(RequestMetadata Metadata, byte[] Line, Range Request)
{
    /// <summary>Set when a perturbation mixed a campaign into a legitimate key: the campaign (empty for the key's own traffic).</summary>
    public string? Campaign { get; init; }

    public DateTimeOffset Ts => Metadata.Timestamp;

    public ReadOnlySpan<byte> Body => Request.Equals(default(Range)) ? [] : Line.AsSpan()[Request];
}

/// <summary>Loads the dev corpus once, and replays it (or a perturbed copy of it) through a monitor.</summary>
internal static class CorpusReplay
{
    private static readonly Lazy<IReadOnlyList<CorpusRecord>> Records = new(Load);
    private static readonly Lazy<Labels> LoadedLabels = new(() => Labels.Load(DevCorpus.LabelsPath));

    public static IReadOnlyList<CorpusRecord> All => Records.Value;

    public static Labels Labels => LoadedLabels.Value;

    public static MonitorSnapshot Run(IEnumerable<CorpusRecord> records, MonitorOptions? options = null)
    {
        var monitor = new DistillationMonitor(options ?? new MonitorOptions());
        foreach (var record in records)
        {
            FeatureExtractor.Extract(record.Metadata, record.Body, out var features);
            monitor.Observe(features);
        }

        monitor.Flush();
        return monitor.Snapshot();
    }

    public static (IReadOnlyList<CampaignResult> Campaigns, IReadOnlyList<KeyLabel> BenignFlagged) RunAndScore(
        IReadOnlyList<CorpusRecord> records, Labels labels, MonitorOptions? options = null)
    {
        var snapshot = Run(records, options);
        return Scorer.Score(snapshot, labels, records.Select(r => (r.Ts, r.Metadata.KeyId, r.Campaign is { } c ? (c.Length == 0 ? null : c) : labels.Keys.GetValueOrDefault(r.Metadata.KeyId)?.Campaign)).ToList());
    }

    private static List<CorpusRecord> Load()
    {
        var records = new List<CorpusRecord>(70_000);
        var parser = new TrafficLogLine();
        using var stream = TrafficLogReplay.Open(DevCorpus.TrafficPath);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } text)
        {
            var line = System.Text.Encoding.UTF8.GetBytes(text);
            if (parser.TryParse(line, out var metadata, out var request, out _))
            {
                records.Add(new CorpusRecord(metadata, line, request));
            }
        }

        return records;
    }
}
