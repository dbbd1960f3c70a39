using System.Text;
using Corridor.Core.Admission;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Admission;

/// <summary>A chat request as admission sees it: one model with one deployment, tenant <c>acme</c> with the limits given.</summary>
internal static class AdmissionCalls
{
    private const string OneModel = """
        vendors:
          - { id: openai, kind: openai, baseUrl: "http://127.0.0.1:9/v1" }
        models:
          - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1000, maxOutputTokens: 100 }
        deployments:
          - { id: gpt-sg, model: gpt-4.1, region: sg, price: { input: 2, output: 8 } }
        """;

    public static CorridorRequestFeature Chat(FakeClock clock, Dialect dialect, Limits tenantLimits) =>
        Chat(clock, dialect, tenantLimits, OneModel, "gpt-4.1", ["gpt-4.1"]);

    /// <summary>
    /// A chat request naming <paramref name="requested"/> (a model or an alias) in the catalog <paramref name="catalogYaml"/>,
    /// entitled to the deployments of <paramref name="allowedModels"/> in that order, the first of them current.
    /// </summary>
    public static CorridorRequestFeature Chat(FakeClock clock, Dialect dialect, Limits tenantLimits, string catalogYaml, string requested, IReadOnlyList<string> allowedModels)
    {
        var config = TestConfigs.Active(catalogYaml, clock.GetUtcNow());
        var models = allowedModels.Select(id => config.Catalog.TryGetModel(id, out var model) ? model : throw new ArgumentException($"no model {id}")).ToList();
        var body = Encoding.UTF8.GetBytes($$"""{"model":"{{requested}}","messages":[{"role":"user","content":"hi"}]}""");
        var tenant = new Tenant("acme", "Acme Ltd.", "SG", clock.GetUtcNow());
        return new CorridorRequestFeature(config, "req_1", dialect, Operation.ChatCompletions, clock.GetUtcNow(), clock.GetTimestamp(), 100)
        {
            Request = new ClientRequest(body, body.Length) { Model = requested },
            Caller = new AuthenticatedKey(ApiKeys.Create("acme", clock.GetUtcNow()).Key, tenant) { TenantLimits = tenantLimits },
            Model = models[0],
            AllowedDeployments = [.. models.SelectMany(m => m.Deployments)],
        };
    }
}
