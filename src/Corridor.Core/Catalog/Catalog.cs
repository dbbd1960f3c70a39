using System.Collections.Frozen;

namespace Corridor.Core.Catalog;

/// <summary>A deployment resolved against its model and the vendor entry whose API serves it, ready to route to.</summary>
public sealed record DeploymentEntry(DeploymentConfig Config, ModelConfig Model, VendorConfig Vendor)
{
    public string Id => Config.Id;
    public string Region => Config.Region;
    public string BaseUrl => (Config.Endpoint ?? Vendor.BaseUrl).TrimEnd('/');
    public string UpstreamModel => Config.UpstreamModel ?? Model.Id;
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
