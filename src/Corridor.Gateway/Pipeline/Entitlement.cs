using Corridor.Core.Catalog;
using Corridor.Core.Routing;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// Decides which deployments may serve the request. Until policy lands (issue 3) every tenant is entitled to
/// every model in the catalog; this step already narrows by what the model can do, and resolves aliases
/// (one public name for an ordered list of models) into their models' deployments, in the alias's order.
/// </summary>
internal sealed class Entitlement(Func<Catalog> catalog, RoutingConfig routing)
{
    public GatewayError? Entitle(CorridorRequestFeature call)
    {
        var request = call.Request!;
        var models = Resolve(request.Model);
        if (models is null)
        {
            return new GatewayError(ErrorKind.NotFound, $"The model '{request.Model}' does not exist or you do not have access to it.", "model_not_found", "model");
        }
        var needs = call.Operation == Operation.Embeddings ? ModelCapabilities.Embeddings : ModelCapabilities.Chat;
        var allowed = new List<DeploymentEntry>();
        foreach (var model in models)
        {
            if (model.Config.Capabilities.HasFlag(needs))
            {
                allowed.AddRange(model.Deployments);
            }
        }
        if (allowed.Count == 0)
        {
            return GatewayError.Invalid(
                call.Operation == Operation.Embeddings ? $"The model '{request.Model}' does not produce embeddings." : $"The model '{request.Model}' is not a chat model.",
                "model");
        }
        call.Model = models[0];
        call.AllowedDeployments = allowed;
        return null;
    }

    /// <summary>The models a caller may use, for <c>/v1/models</c>.</summary>
    public IEnumerable<ModelEntry> EntitledModels() => catalog().Models;

    /// <summary>The aliases whose models the caller may use, for <c>/v1/models</c>.</summary>
    public IEnumerable<string> EntitledAliases() => routing.Aliases.Keys.Order(StringComparer.Ordinal);

    private List<ModelEntry>? Resolve(string name)
    {
        var current = catalog();
        if (current.TryGetModel(name, out var model))
        {
            return [model];
        }
        if (!routing.Aliases.TryGetValue(name, out var aliased))
        {
            return null;
        }
        var models = new List<ModelEntry>(aliased.Count);
        foreach (var id in aliased)
        {
            if (current.TryGetModel(id, out var entry))
            {
                models.Add(entry);
            }
        }
        return models.Count > 0 ? models : null;
    }
}
