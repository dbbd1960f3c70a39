using System.Collections.Frozen;
using Corridor.Core.Catalog;

namespace Corridor.Gateway.Configuration;

/// <summary>
/// What a model name a request may give resolves to: a model's id to that model, an alias to its models in order (those in
/// the catalog). Worked out once a configuration, so a request looks its name up instead of building lists.
/// </summary>
internal sealed class ModelChoices
{
    private readonly FrozenDictionary<string, ModelChoice> _byName;

    public ModelChoices(Catalog catalog, IReadOnlyDictionary<string, IReadOnlyList<string>> aliases)
    {
        var byName = new Dictionary<string, ModelChoice>(StringComparer.Ordinal);
        foreach (var (alias, ids) in aliases)
        {
            var models = new List<ModelEntry>(ids.Count);
            foreach (var id in ids)
            {
                if (catalog.TryGetModel(id, out var entry))
                {
                    models.Add(entry);
                }
            }
            if (models.Count > 0)
            {
                byName[alias] = new ModelChoice(models);
            }
        }
        // A model's own id wins over an alias of the same name.
        foreach (var model in catalog.Models)
        {
            byName[model.Id] = new ModelChoice([model]);
        }
        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public bool TryGet(string name, out ModelChoice choice) => _byName.TryGetValue(name, out choice!);
}

/// <summary>The models one name resolves to, and those of them that can serve each kind of request.</summary>
internal sealed class ModelChoice
{
    private readonly IReadOnlyList<ModelEntry> _chat;
    private readonly IReadOnlyList<ModelEntry> _embeddings;
    private readonly IReadOnlyList<DeploymentEntry> _chatDeployments;
    private readonly IReadOnlyList<DeploymentEntry> _embeddingsDeployments;
    private readonly int _chatOutputBound;
    private readonly int _embeddingsOutputBound;

    public ModelChoice(IReadOnlyList<ModelEntry> models)
    {
        _chat = Capable(models, ModelCapabilities.Chat);
        _embeddings = Capable(models, ModelCapabilities.Embeddings);
        _chatOutputBound = OutputBound(_chat);
        _embeddingsOutputBound = OutputBound(_embeddings);
        _chatDeployments = DeploymentsOf(_chat);
        _embeddingsDeployments = DeploymentsOf(_embeddings);
    }

    /// <summary>The models that have <paramref name="needs"/> (chat or embeddings), in order; empty when none has.</summary>
    public IReadOnlyList<ModelEntry> Capable(ModelCapabilities needs) => needs == ModelCapabilities.Embeddings ? _embeddings : _chat;

    /// <summary>
    /// The most output tokens any of the models with <paramref name="needs"/> can produce: its <c>maxOutputTokens</c>, else
    /// its context window.
    /// </summary>
    public int OutputBound(ModelCapabilities needs) => needs == ModelCapabilities.Embeddings ? _embeddingsOutputBound : _chatOutputBound;

    /// <summary>Every deployment of the models with <paramref name="needs"/>, model by model in order: the route when no policy narrows it.</summary>
    public IReadOnlyList<DeploymentEntry> Deployments(ModelCapabilities needs) => needs == ModelCapabilities.Embeddings ? _embeddingsDeployments : _chatDeployments;

    // One model needs no list of its own: the catalog's is read-only.
    private static IReadOnlyList<DeploymentEntry> DeploymentsOf(IReadOnlyList<ModelEntry> models) =>
        models.Count == 1 ? models[0].Deployments : [.. models.SelectMany(m => m.Deployments)];

    private static ModelEntry[] Capable(IReadOnlyList<ModelEntry> models, ModelCapabilities needs) =>
        [.. models.Where(m => m.Config.Capabilities.HasFlag(needs))];

    private static int OutputBound(IReadOnlyList<ModelEntry> models) =>
        models.Count == 0 ? 0 : models.Max(m => OutputBound(m.Config));

    /// <summary>The most output tokens <paramref name="model"/> can produce: its <c>maxOutputTokens</c>, else its context window.</summary>
    public static int OutputBound(ModelConfig model) => model.DefaultMaxOutputTokens ?? model.ContextWindow;
}
