namespace Corridor.Core.Routing;

/// <summary>How the deployments allowed for a request are ordered before they are tried.</summary>
public enum RoutingStrategy
{
    /// <summary>The catalog's priority order.</summary>
    Priority,

    /// <summary>Cheapest blended price (input + output per million tokens) first.</summary>
    LowestCost,

    /// <summary>
    /// Lowest observed latency first (time-decayed); unmeasured deployments are tried first so they get measured, and so is
    /// one request to a deployment not measured for <see cref="DeploymentHealth.ExploreAfter"/>, so one that recovered wins
    /// its traffic back.
    /// </summary>
    LowestLatency,

    /// <summary>
    /// The first deployment drawn by weight among those whose breaker is not open; the rest follow in priority order as
    /// fallbacks (open breakers last).
    /// </summary>
    Weighted,
}

/// <summary>Routing for one model: its strategy and, for <see cref="RoutingStrategy.Weighted"/>, the weight of each deployment (default 1).</summary>
public sealed record ModelRouting(RoutingStrategy Strategy, IReadOnlyDictionary<string, int>? Weights = null);

/// <summary>
/// The <c>routing:</c> section. Aliases map one public name to an ordered list of models (possibly of several
/// vendors); each model is still entitled on its own, so an alias never reaches a deployment policy forbids.
/// </summary>
public sealed record RoutingConfig(
    RoutingStrategy DefaultStrategy,
    IReadOnlyDictionary<string, ModelRouting> Models,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Aliases,
    double RetryBudgetRatio = 0.2,
    int BreakerFailureThreshold = 5,
    TimeSpan? BreakerOpenFor = null)
{
    public static readonly RoutingConfig Default = new(RoutingStrategy.Priority, new Dictionary<string, ModelRouting>(), new Dictionary<string, IReadOnlyList<string>>());

    public TimeSpan EffectiveBreakerOpenFor => BreakerOpenFor ?? TimeSpan.FromSeconds(30);

    public ModelRouting For(string model) => Models.TryGetValue(model, out var routing) ? routing : new ModelRouting(DefaultStrategy);

    /// <summary>Every error at once, against the catalog's model and deployment ids.</summary>
    public IReadOnlyList<string> Validate(Catalog.Catalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var errors = new List<string>();
        foreach (var (model, routing) in Models)
        {
            if (!catalog.TryGetModel(model, out var entry))
            {
                errors.Add($"routing.models.{model}: unknown model");
                continue;
            }
            foreach (var (deployment, weight) in routing.Weights ?? new Dictionary<string, int>())
            {
                if (!entry.Deployments.Any(d => d.Id == deployment))
                {
                    errors.Add($"routing.models.{model}.weights.{deployment}: not a deployment of {model}");
                }
                if (weight < 0)
                {
                    errors.Add($"routing.models.{model}.weights.{deployment}: weight must not be negative");
                }
            }
        }
        foreach (var (alias, models) in Aliases)
        {
            if (catalog.TryGetModel(alias, out _))
            {
                errors.Add($"routing.aliases.{alias}: an alias cannot share a model's id");
            }
            if (models.Count == 0)
            {
                errors.Add($"routing.aliases.{alias}: names no model");
            }
            foreach (var model in models)
            {
                if (!catalog.TryGetModel(model, out _))
                {
                    errors.Add($"routing.aliases.{alias}: unknown model '{model}'");
                }
            }
        }
        if (RetryBudgetRatio is < 0 or > 10)
        {
            errors.Add("routing.retryBudget must be between 0 and 10 (retries per request)");
        }
        if (BreakerFailureThreshold < 1)
        {
            errors.Add("routing.breaker.failures must be at least 1");
        }
        if (BreakerOpenFor is { } openFor && openFor <= TimeSpan.Zero)
        {
            errors.Add("routing.breaker.openSeconds must be at least 1");
        }
        return errors;
    }
}
