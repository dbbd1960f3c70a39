using Corridor.Core.Catalog;
using Corridor.Gateway.FrontDoor;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// Decides which deployments may serve the request. Until policy lands (issue 3) every tenant is entitled to
/// every model in the catalog; this step already narrows by what the model can do.
/// </summary>
internal sealed class Entitlement(Func<Catalog> catalog)
{
    public GatewayError? Entitle(CorridorRequestFeature call)
    {
        var request = call.Request!;
        if (!catalog().TryGetModel(request.Model, out var model))
        {
            return new GatewayError(ErrorKind.NotFound, $"The model '{request.Model}' does not exist or you do not have access to it.", "model_not_found", "model");
        }
        var needs = call.Operation == Operation.Embeddings ? ModelCapabilities.Embeddings : ModelCapabilities.Chat;
        if (!model.Config.Capabilities.HasFlag(needs))
        {
            return GatewayError.Invalid(
                call.Operation == Operation.Embeddings ? $"The model '{model.Id}' does not produce embeddings." : $"The model '{model.Id}' is not a chat model.",
                "model");
        }
        call.Model = model;
        call.AllowedDeployments = model.Deployments;
        return null;
    }

    /// <summary>The models a caller may use, for <c>/v1/models</c>.</summary>
    public IEnumerable<ModelEntry> EntitledModels() => catalog().Models;
}
