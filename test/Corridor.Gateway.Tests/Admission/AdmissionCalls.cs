using System.Text;
using Corridor.Core.Admission;
using Corridor.Core.Tenants;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Admission;

/// <summary>A chat request as admission sees it: one model with one deployment, tenant <c>acme</c> with the limits given.</summary>
internal static class AdmissionCalls
{
    public static CorridorRequestFeature Chat(FakeClock clock, Dialect dialect, Limits tenantLimits)
    {
        var loaded = ConfigLoader.Parse("""
            vendors:
              - { id: openai, kind: openai, baseUrl: "http://127.0.0.1:9/v1" }
            models:
              - { id: gpt-4.1, vendor: openai, capabilities: [chat], contextWindow: 1000, maxOutputTokens: 100 }
            deployments:
              - { id: gpt-sg, model: gpt-4.1, region: sg, price: { input: 2, output: 8 } }
            """, "/srv", environment: null);
        Assert.True(loaded.Succeeded, string.Join("; ", loaded.Errors));
        var config = ActiveConfig.TryCreate(loaded.Config!, _ => null, clock.GetUtcNow(), out _)!;
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}""");
        config.Catalog.TryGetModel("gpt-4.1", out var model);
        var tenant = new Tenant("acme", "Acme Ltd.", "SG", clock.GetUtcNow());
        return new CorridorRequestFeature(config, "req_1", dialect, Operation.ChatCompletions, clock.GetUtcNow(), clock.GetTimestamp(), 100)
        {
            Request = new ClientRequest(body, body.Length) { Model = "gpt-4.1" },
            Caller = new AuthenticatedKey(ApiKeys.Create("acme", clock.GetUtcNow()).Key, tenant) { TenantLimits = tenantLimits },
            Model = model,
            AllowedDeployments = model.Deployments,
        };
    }
}
