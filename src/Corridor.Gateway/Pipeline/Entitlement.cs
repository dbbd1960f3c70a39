using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Pipeline;

/// <summary>
/// Decides which deployments may serve the request. With a policy, each model the request names (one, or an
/// alias's several, in order) is decided for this tenant, key, request and time; the allowed deployments of the
/// models that are allowed form the request's route, and each model's deployments are served under that model's own
/// decision and restrictions (the first allowed model's to begin with; see <see cref="CorridorRequestFeature.ServeWith"/>).
/// A refusal is a 403 in the client's dialect with the reason code and the decision id.
/// Without a policy every tenant may use every model, except a denied party (pending review or confirmed), which is
/// refused with <c>denied_party</c> whatever the policy says. Either way, models are narrowed first by what they can do: chat or embeddings, and what the
/// request asks for (<see cref="ClientRequest.Needs"/>).
/// </summary>
internal static class Entitlement
{
    public static GatewayError? Entitle(HttpContext context, CorridorRequestFeature call, DateTimeOffset now)
    {
        var request = call.Request!;
        call.Enforced = request;
        if (!call.Config.Models.TryGet(request.Model, out var choice))
        {
            return new GatewayError(ErrorKind.NotFound, $"The model '{request.Model}' does not exist or you do not have access to it.", "model_not_found", "model");
        }
        var kind = call.Operation == Operation.Embeddings ? ModelCapabilities.Embeddings : ModelCapabilities.Chat;
        if (choice.For(kind).Models.Count == 0)
        {
            return GatewayError.Invalid(
                call.Operation == Operation.Embeddings ? $"The model '{request.Model}' does not produce embeddings." : $"The model '{request.Model}' is not a chat model.",
                "model");
        }
        var needs = ModelNeeds.Of(kind, request.Needs, call.Operation == Operation.CountTokens, choice, static (c, n) => c.For(n).Models.Count > 0);
        var capable = choice.For(needs);
        if (capable.Models.Count == 0)
        {
            return Incapable(choice, kind, needs & ~kind, request.Model, call.Dialect, call.Operation);
        }
        var models = capable.Models;
        call.Model = models[0];
        if (OutputTooLarge(request, capable.OutputBound, call.Dialect, call.Operation) is { } tooLarge)
        {
            return tooLarge;
        }
        if (call.Config.Policy is null)
        {
            var unpoliced = Decide(call.Config, DecisionInput.For(call.Caller!.Tenant, call.Caller.Key.Id, new RequestFeatures(models[0].Id), now),
                capable.Deployments);
            if (!unpoliced.Allowed)
            {
                return Refused(unpoliced.ReasonCode, decisionId: null);
            }
            call.AllowedDeployments = unpoliced.Deployments;
            return null;
        }

        call.DecisionId = "dec_" + call.RequestId.AsSpan(4).ToString();
        context.Response.Headers["x-corridor-decision"] = call.DecisionId;
        // Policy judges the request as the client sent it (docs/policy.md), not as throttling rewrote it: a feature the policy
        // refuses is refused whether or not the monitor would have stripped or capped it, as `corridor policy test` decides.
        var asked = request.Original;
        var allowed = new List<DeploymentEntry>();
        var entitled = models.Count > 1 ? new List<(ModelEntry Model, Decision Decision, DecisionInput Input)>() : null;
        Decision? governing = null;
        Decision? firstDenial = null;
        for (var i = 0; i < models.Count; i++)
        {
            var model = models[i];
            // A count asks for no output: it is decided as a message to the model that asks for no output feature (reasoning
            // a policy refuses included, and reasoning the model does by default), so it tells the size of the prompt whatever
            // the body says of the answer.
            var features = call.Operation == Operation.CountTokens ? RequestFeatures.Plain(model.Id) : asked.Features(model.Id) with { Batch = call.Batch };
            var input = DecisionInput.For(call.Caller!.Tenant, call.Caller.Key.Id, features, now);
            var decision = Decide(call.Config, in input, model.Deployments);
            if (decision.Allowed)
            {
                if (governing is null)
                {
                    governing = decision;
                    call.DecisionInput = input;
                    call.Model = model;
                }
                allowed.AddRange(decision.Deployments);
                entitled?.Add((model, decision, input));
            }
            else if (firstDenial is null)
            {
                firstDenial = decision;
                call.DecisionInput ??= input;
            }
        }
        call.Decision = governing ?? firstDenial;
        if (governing is not { } allow)
        {
            return Refused(firstDenial!.Value.ReasonCode, call.DecisionId);
        }
        call.AllowedDeployments = allowed;
        call.Request = RequestRestrictions.Apply(request, allow.Restrictions, call.Operation);
        if (entitled is { Count: > 1 })
        {
            // Each model's deployments are served under that model's restrictions, not the first's (the forwarder switches).
            var first = call.Request;
            call.Entitlements = [.. entitled.Select((e, i) => new ModelEntitlement(e.Model, e.Decision, e.Input,
                i == 0 ? first : RequestRestrictions.Apply(request, e.Decision.Restrictions, call.Operation)))];
        }
        return null;
    }

    /// <summary>
    /// A request asking for what no model of its name can do is refused as the vendors refuse it (a 400 naming the field),
    /// rather than sent to a model that would refuse it or, worse, quietly ignore it. Each capability is named alone when
    /// no model has it; an alias whose models each lack one of two capabilities the request needs together is named for both.
    /// </summary>
    private static GatewayError Incapable(ModelChoice choice, ModelCapabilities kind, ModelCapabilities asks, string model, Dialect dialect, Operation operation)
    {
        foreach (var one in (ReadOnlySpan<ModelCapabilities>)[ModelCapabilities.Vision, ModelCapabilities.Tools, ModelCapabilities.Reasoning])
        {
            if ((asks & one) != 0 && choice.For(kind | one).Models.Count == 0)
            {
                return Lacks(one, model, dialect, operation);
            }
        }
        return GatewayError.Invalid($"No model of '{model}' can serve this request: none has all of {Describe(asks)}.", "model") with { Code = "unsupported_value" };
    }

    private static GatewayError Lacks(ModelCapabilities capability, string model, Dialect dialect, Operation operation) => capability switch
    {
        ModelCapabilities.Vision => GatewayError.Invalid($"The model '{model}' does not accept images or documents.",
            operation == Operation.Responses ? "input" : "messages") with { Code = "unsupported_value" },
        ModelCapabilities.Tools => GatewayError.Invalid($"The model '{model}' does not support tools.", "tools") with { Code = "unsupported_parameter" },
        _ => dialect == Dialect.Anthropic
            ? GatewayError.Invalid($"The model '{model}' does not support thinking.", "thinking") with { Code = "unsupported_parameter" }
            : GatewayError.Invalid($"The model '{model}' does not support reasoning.",
                operation == Operation.Responses ? "reasoning.effort" : "reasoning_effort") with { Code = "unsupported_parameter" },
    };

    private static string Describe(ModelCapabilities asks) => string.Join(", ", new[]
    {
        (asks & ModelCapabilities.Vision) != 0 ? "images or documents" : null,
        (asks & ModelCapabilities.Tools) != 0 ? "tools" : null,
        (asks & ModelCapabilities.Reasoning) != 0 ? "reasoning" : null,
    }.OfType<string>());

    /// <summary>
    /// A <c>max_tokens</c> no model of the request can produce is refused, as both vendors do, in the client's dialect and
    /// with its vendor's wording; the bound is the model's <c>maxOutputTokens</c>, else its context window. A Responses
    /// client sent <c>max_output_tokens</c>, which the error names (its chat completion's name it never saw).
    /// </summary>
    private static GatewayError? OutputTooLarge(ClientRequest request, int bound, Dialect dialect, Operation operation)
    {
        if (request.MaxTokens is not { } asked || asked <= bound)
        {
            return null;
        }
        var param = operation == Operation.Responses ? "max_output_tokens" : "max_tokens";
        var message = dialect == Dialect.Anthropic
            ? $"max_tokens: {asked} > {bound}, which is the maximum allowed number of output tokens for {request.Model}"
            : $"{param} is too large: {asked}. This model supports at most {bound} completion tokens, whereas you provided {asked}.";
        return GatewayError.Invalid(message, param) with { Code = "invalid_value" };
    }

    /// <summary>
    /// Whether <paramref name="input"/>'s tenant may be served its model, and from where: the one decision every request for a
    /// model gets, a tenant's and a shadow mirror's alike (docs/shadow.md). The policy's; without a policy, every one of
    /// <paramref name="deployments"/> (the model's), unless the tenant is a denied party (<see cref="Decision.WithoutPolicy"/>).
    /// </summary>
    public static Decision Decide(ActiveConfig config, in DecisionInput input, IReadOnlyList<DeploymentEntry> deployments) =>
        config.Policy is { } policy ? policy.Decide(in input) : Decision.WithoutPolicy(input.Tenant, deployments);

    private static GatewayError Refused(string reasonCode, string? decisionId) => new(ErrorKind.PermissionDenied,
        decisionId is null
            ? $"The request cannot be served under this account's terms ({reasonCode})."
            : $"The request cannot be served under this account's terms ({reasonCode}). Decision {decisionId}.",
        reasonCode);

    /// <summary>The models a caller may use, for <c>/v1/models</c>.</summary>
    public static IEnumerable<ModelEntry> EntitledModels(CorridorRequestFeature call, DateTimeOffset now) =>
        call.Config.Policy is { } policy ? policy.EntitledModels(DecisionTenant.From(call.Caller!.Tenant, now), now)
        : Decision.WithoutPolicy(DecisionTenant.From(call.Caller!.Tenant, now), []).Allowed ? call.Config.Catalog.Models
        : [];

    /// <summary>The aliases that lead to at least one of the <paramref name="models"/> (those the caller may use), for <c>/v1/models</c>.</summary>
    public static IEnumerable<string> AliasesOf(CorridorRequestFeature call, IEnumerable<ModelEntry> models)
    {
        var entitled = models.Select(m => m.Id).ToHashSet(StringComparer.Ordinal);
        return call.Config.Config.Routing.Aliases
            .Where(a => a.Value.Any(entitled.Contains))
            .Select(a => a.Key)
            .Order(StringComparer.Ordinal);
    }
}
