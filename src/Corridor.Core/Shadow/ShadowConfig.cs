using Corridor.Core.Catalog;

namespace Corridor.Core.Shadow;

/// <summary>
/// Mirror a share of one model's (or alias's) traffic to a candidate model. <paramref name="MaxInFlight"/> caps this
/// pair's mirrored requests queued or running at once; beyond it, further ones are dropped (and counted).
/// </summary>
public sealed record ShadowPair(string Source, string Candidate, double Share, int? MaxInFlight = null);

/// <summary>
/// The <c>shadow:</c> section. Mirrored requests wait in a queue of <paramref name="QueueCapacity"/> and run at most
/// <paramref name="Concurrency"/> at a time; a full queue drops the mirror, never the tenant's request.
/// Outputs are compared over their first <paramref name="CompareChars"/> characters.
/// </summary>
public sealed record ShadowConfig(
    IReadOnlyDictionary<string, ShadowPair> Pairs,
    int QueueCapacity = 256,
    int Concurrency = 4,
    int CompareChars = 6000)
{
    public static readonly ShadowConfig None = new(new Dictionary<string, ShadowPair>());

    public bool Enabled => Pairs.Count > 0;

    /// <summary>The pair for the model that served, else for the name the client asked for (an alias).</summary>
    public ShadowPair? For(string servedModel, string requestedName) =>
        Pairs.TryGetValue(servedModel, out var pair) || Pairs.TryGetValue(requestedName, out pair) ? pair : null;

    /// <summary>Every error at once, against the catalog and the routing aliases.</summary>
    public IReadOnlyList<string> Validate(Catalog.Catalog catalog, IReadOnlyDictionary<string, IReadOnlyList<string>> aliases)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(aliases);
        var errors = new List<string>();
        foreach (var (source, pair) in Pairs)
        {
            var at = $"shadow.models.{source}";
            var sourceModels = catalog.TryGetModel(source, out var model) ? [model]
                : aliases.TryGetValue(source, out var aliased) ? aliased.Select(id => catalog.TryGetModel(id, out var m) ? m : null).OfType<ModelEntry>().ToList()
                : null;
            if (sourceModels is null)
            {
                errors.Add($"{at}: unknown model or alias");
            }
            else if (sourceModels.Any(m => !m.Config.Capabilities.HasFlag(ModelCapabilities.Chat)))
            {
                errors.Add($"{at}: only chat models can be shadowed");
            }
            if (string.IsNullOrEmpty(pair.Candidate))
            {
                errors.Add($"{at}.candidate is required");
            }
            else if (!catalog.TryGetModel(pair.Candidate, out var candidate))
            {
                errors.Add($"{at}.candidate: unknown model '{pair.Candidate}'");
            }
            else if (!candidate.Config.Capabilities.HasFlag(ModelCapabilities.Chat))
            {
                errors.Add($"{at}.candidate: '{pair.Candidate}' is not a chat model");
            }
            else if (pair.Candidate == source)
            {
                errors.Add($"{at}.candidate: a model cannot shadow itself");
            }
            if (pair.Share is < 0 or > 1 || double.IsNaN(pair.Share))
            {
                errors.Add($"{at}.share must be between 0 and 1");
            }
            if (pair.MaxInFlight is < 1)
            {
                errors.Add($"{at}.maxInFlight must be at least 1");
            }
        }
        if (QueueCapacity < 1)
        {
            errors.Add("shadow.queue must be at least 1");
        }
        if (Concurrency < 1)
        {
            errors.Add("shadow.concurrency must be at least 1");
        }
        if (CompareChars < 1)
        {
            errors.Add("shadow.compareChars must be at least 1");
        }
        return errors;
    }
}
