using Corridor.Core.Catalog;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// Decides which deployments may serve the request. Until policy lands (issue 3) every tenant is entitled to
/// every model in the catalog; this step already narrows by what the model can do, and resolves aliases
/// (one public name for an ordered list of models) into their models' deployments, in the alias's order.
/// </summary>
internal static class Entitlement
{
    public static GatewayError? Entitle(CorridorRequestFeature call)
    {
        var request = call.Request!;
        var models = Resolve(call.Config, request.Model);
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
    public static IEnumerable<ModelEntry> EntitledModels(CorridorRequestFeature call) => call.Config.Catalog.Models;

    /// <summary>The aliases whose models the caller may use, for <c>/v1/models</c>.</summary>
    public static IEnumerable<string> EntitledAliases(CorridorRequestFeature call) => call.Config.Config.Routing.Aliases.Keys.Order(StringComparer.Ordinal);

    private static List<ModelEntry>? Resolve(ActiveConfig config, string name)
    {
        var current = config.Catalog;
        if (current.TryGetModel(name, out var model))
        {
            return [model];
        }
        if (!config.Config.Routing.Aliases.TryGetValue(name, out var aliased))
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
