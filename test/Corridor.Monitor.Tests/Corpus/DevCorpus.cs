using System.Text.Json;

namespace Corridor.Monitor.Tests.Corpus;

/// <summary>
/// The development corpus in ../shared/corpus/dev relative to the repository root (found by walking up from the test
/// binaries, or named by CORRIDOR_CORPUS_DIR). Tests that need it skip with a message when it is absent.
/// </summary>
internal static class DevCorpus
{
    public const string SkipMessage = "the development corpus (../shared/corpus/dev beside the repository, or CORRIDOR_CORPUS_DIR) is not present";

    private static readonly Lazy<string?> LocatedDirectory = new(Locate);

    public static string? Directory => LocatedDirectory.Value;

    public static string TrafficPath => Path.Combine(Directory!, "traffic.jsonl.gz");

    public static string LabelsPath => Path.Combine(Directory!, "labels.json");

    private static string? Locate()
    {
        var configured = Environment.GetEnvironmentVariable("CORRIDOR_CORPUS_DIR");
        if (!string.IsNullOrEmpty(configured) && File.Exists(Path.Combine(configured, "traffic.jsonl.gz")))
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            // The repository root holds Corridor.slnx; the corpus sits in shared/ beside the repository.
            if (File.Exists(Path.Combine(dir.FullName, "Corridor.slnx")))
            {
                foreach (var candidate in new[] { Path.Combine(dir.FullName, "..", "shared", "corpus", "dev"), Path.Combine(dir.FullName, "..", "..", "shared", "corpus", "dev") })
                {
                    if (File.Exists(Path.Combine(candidate, "traffic.jsonl.gz")) && File.Exists(Path.Combine(candidate, "labels.json")))
                    {
                        return Path.GetFullPath(candidate);
                    }
                }
            }
        }

        return null;
    }
}

/// <summary>One key's label in labels.json.</summary>
internal sealed record KeyLabel(string Key, string Tenant, bool Attack, string? Campaign, string? Scenario);

/// <summary>labels.json: what each key is, and each campaign's kind.</summary>
internal sealed class Labels
{
    public required IReadOnlyDictionary<string, KeyLabel> Keys { get; init; }

    public required IReadOnlyDictionary<string, string> CampaignKinds { get; init; }

    public static Labels Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var keys = new Dictionary<string, KeyLabel>(StringComparer.Ordinal);
        foreach (var key in document.RootElement.GetProperty("keys").EnumerateObject())
        {
            var value = key.Value;
            keys[key.Name] = new KeyLabel(key.Name, value.GetProperty("tenant").GetString()!, value.GetProperty("label").GetString() == "attack",
                value.TryGetProperty("campaign", out var c) ? c.GetString() : null, value.TryGetProperty("scenario", out var s) ? s.GetString() : null);
        }

        var campaigns = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var campaign in document.RootElement.GetProperty("campaigns").EnumerateObject())
        {
            campaigns[campaign.Name] = campaign.Value.GetProperty("kind").GetString()!;
        }

        return new Labels { Keys = keys, CampaignKinds = campaigns };
    }
}

/// <summary>A fact that needs the dev corpus: skipped, with a message saying so, when the corpus is absent.</summary>
internal sealed class CorpusFactAttribute : FactAttribute
{
    public CorpusFactAttribute()
    {
        if (DevCorpus.Directory is null)
        {
            Skip = DevCorpus.SkipMessage;
        }
    }
}

/// <summary>A diagnostic dump, run only when CORRIDOR_MONITOR_DIAGNOSTICS=1 (for tuning; it asserts nothing).</summary>
internal sealed class DiagnosticFactAttribute : FactAttribute
{
    public DiagnosticFactAttribute()
    {
        if (DevCorpus.Directory is null)
        {
            Skip = DevCorpus.SkipMessage;
        }
        else if (Environment.GetEnvironmentVariable("CORRIDOR_MONITOR_DIAGNOSTICS") != "1")
        {
            Skip = "diagnostics: set CORRIDOR_MONITOR_DIAGNOSTICS=1 to print every key's peak score";
        }
    }
}

/// <summary>A theory that needs the dev corpus: skipped, with a message saying so, when the corpus is absent.</summary>
internal sealed class CorpusTheoryAttribute : TheoryAttribute
{
    public CorpusTheoryAttribute()
    {
        if (DevCorpus.Directory is null)
        {
            Skip = DevCorpus.SkipMessage;
        }
    }
}
