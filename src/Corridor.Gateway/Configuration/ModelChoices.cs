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

/// <summary>
/// The models one name resolves to, and those of them that can serve a request needing some capabilities: chat or
/// embeddings, and what the request itself asks for (tools, images and documents, reasoning). The sets for chat and for
/// embeddings are made with the choice; one for a request asking for more is made the first time it is asked for.
/// </summary>
internal sealed class ModelChoice
{
    private readonly IReadOnlyList<ModelEntry> _models;

    // Indexed by the capabilities' flags (all five fit in 32); filled as asked, a race making the same set twice.
    private readonly CapableModels?[] _capable = new CapableModels?[1 << 5];

    public ModelChoice(IReadOnlyList<ModelEntry> models)
    {
        _models = models;
        ReasonsByDefault = models.Any(m => m.Config.ReasoningByDefault);
        For(ModelCapabilities.Chat);
        For(ModelCapabilities.Embeddings);
    }

    /// <summary>Whether a model of the choice reasons unless a request turns its thinking off (<see cref="ModelConfig.ReasoningByDefault"/>).</summary>
    public bool ReasonsByDefault { get; }

    /// <summary>The models that have every one of <paramref name="needs"/>, in order, with their deployments and output bound.</summary>
    public CapableModels For(ModelCapabilities needs)
    {
        var index = (int)needs & (_capable.Length - 1);
        return _capable[index] ??= new CapableModels([.. _models.Where(m => (m.Config.Capabilities & needs) == needs)]);
    }

    /// <summary>The most output tokens <paramref name="model"/> can produce: its <c>maxOutputTokens</c>, else its context window.</summary>
    public static int OutputBound(ModelConfig model) => model.DefaultMaxOutputTokens ?? model.ContextWindow;
}

/// <summary>The models of a choice that can serve one kind of request, in order; empty when none can.</summary>
internal sealed class CapableModels
{
    public CapableModels(IReadOnlyList<ModelEntry> models)
    {
        Models = models;
        OutputBound = models.Count == 0 ? 0 : models.Max(m => ModelChoice.OutputBound(m.Config));
        // One model needs no list of its own: the catalog's is read-only.
        Deployments = models.Count == 1 ? models[0].Deployments : [.. models.SelectMany(m => m.Deployments)];
    }

    public IReadOnlyList<ModelEntry> Models { get; }

    /// <summary>The most output tokens any of the models can produce: its <c>maxOutputTokens</c>, else its context window.</summary>
    public int OutputBound { get; }

    /// <summary>Every deployment of the models, model by model in order: the route when no policy narrows it.</summary>
    public IReadOnlyList<DeploymentEntry> Deployments { get; }
}
