using System.Collections.Frozen;

namespace Corridor.Core.Catalog;

/// <summary>A deployment resolved against its model and the vendor entry whose API serves it, ready to route to.</summary>
public sealed record DeploymentEntry(DeploymentConfig Config, ModelConfig Model, VendorConfig Vendor)
{
    public string Id => Config.Id;
    public string Region => Config.Region;
    public string BaseUrl => (Config.Endpoint ?? Vendor.BaseUrl).TrimEnd('/');
    public string UpstreamModel => Config.UpstreamModel ?? Model.Id;

    /// <summary>
    /// Whether the upstream is an OpenAI-compatible server other than OpenAI's own API (DeepSeek, vLLM and other servers):
    /// it takes an assistant message's reasoning back as <c>reasoning_content</c>, and, for a model that reasons, reads
    /// DeepSeek's thinking switch (<c>{"thinking":{"type":"enabled|disabled"}}</c>).
    /// </summary>
    public bool IsOpenAICompatibleServer => IsOpenAICompatibleServerAt(Vendor.Kind, BaseUrl);

    /// <summary>
    /// Whether Corridor can switch this deployment's thinking on and off: <see cref="IsOpenAICompatibleServer"/> serving a model
    /// declared <c>reasoning</c>, unless its vendor says it takes no switch (<see cref="VendorConfig.ThinkingSwitch"/>).
    /// </summary>
    public bool ReadsThinkingSwitch => IsOpenAICompatibleServer && Vendor.ThinkingSwitch != false && Model.Capabilities.HasFlag(ModelCapabilities.Reasoning);

    /// <summary>
    /// Whether a vendor of <paramref name="kind"/> at <paramref name="baseUrl"/> is an OpenAI-compatible server other than
    /// OpenAI's own API, which has no place for reasoning in a message and returns none as text: not at api.openai.com, nor a
    /// region's host of it (eu.api.openai.com, for data residency); Azure's is OpenAI's.
    /// </summary>
    public static bool IsOpenAICompatibleServerAt(VendorKind kind, string baseUrl) =>
        kind == VendorKind.OpenAI && Uri.TryCreate(baseUrl, UriKind.Absolute, out var url)
        && !string.Equals(url.Host, OpenAIHost, StringComparison.OrdinalIgnoreCase)
        && !url.Host.EndsWith("." + OpenAIHost, StringComparison.OrdinalIgnoreCase);

    private const string OpenAIHost = "api.openai.com";
}

/// <summary>A model with its deployments in the order they are tried.</summary>
public sealed record ModelEntry(ModelConfig Config, VendorConfig Vendor, IReadOnlyList<DeploymentEntry> Deployments)
{
    public string Id => Config.Id;
}

/// <summary>The validated catalog, compiled for lookups on the request path.</summary>
public sealed class Catalog
{
    private readonly FrozenDictionary<string, ModelEntry> _models;
    private readonly FrozenDictionary<string, ModelEntry>.AlternateLookup<ReadOnlySpan<char>> _modelsBySpan;

    private Catalog(FrozenDictionary<string, ModelEntry> models)
    {
        _models = models;
        _modelsBySpan = models.GetAlternateLookup<ReadOnlySpan<char>>();
        Models = [.. models.Values.OrderBy(m => m.Id, StringComparer.Ordinal)];
    }

    /// <summary>Every model, ordered by id.</summary>
    public IReadOnlyList<ModelEntry> Models { get; }

    public bool TryGetModel(string id, out ModelEntry model) => _models.TryGetValue(id, out model!);

    public bool TryGetModel(ReadOnlySpan<char> id, out ModelEntry model) => _modelsBySpan.TryGetValue(id, out model!);

    /// <summary>Validates and compiles; returns null with every error when the catalog is invalid.</summary>
    public static Catalog? TryCreate(CatalogConfig config, out IReadOnlyList<string> errors)
    {
        errors = CatalogValidator.Validate(config);
        if (errors.Count > 0)
        {
            return null;
        }
        var vendors = config.Vendors.ToDictionary(v => v.Id, StringComparer.Ordinal);
        var models = new Dictionary<string, ModelEntry>(StringComparer.Ordinal);
        foreach (var model in config.Models)
        {
            var vendor = vendors[model.Vendor];
            // Lower priority numbers are tried first; ties keep the file's order.
            var deployments = config.Deployments
                .Where(d => d.Model == model.Id)
                .Select((d, index) => (d, index))
                .OrderBy(x => x.d.Priority)
                .ThenBy(x => x.index)
                .Select(x => new DeploymentEntry(x.d, model, x.d.Via is { } via ? vendors[via] : vendor))
                .ToArray();
            models[model.Id] = new ModelEntry(model, vendor, deployments);
        }
        return new Catalog(models.ToFrozenDictionary(StringComparer.Ordinal));
    }
}
