using System.Text;
using Corridor.Core.Admission;
using Corridor.Core.Tenants;
using Corridor.Gateway.Admission;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Admission;

/// <summary>What the real <see cref="Admitter"/> reserves for a request without <c>max_tokens</c>.</summary>
public sealed class ReservationTests
{
    private readonly FakeClock _clock = new();

    [Fact]
    public async Task AnAliasReserves_TheLargestOutputAnyOfItsAllowedModelsMayProduce()
    {
        var loaded = ConfigLoader.Parse("""
            vendors:
              - { id: openai, kind: openai, baseUrl: "http://127.0.0.1:9/v1" }
            models:
              - { id: small, vendor: openai, capabilities: [chat], contextWindow: 100000, maxOutputTokens: 100 }
              - { id: large, vendor: openai, capabilities: [chat], contextWindow: 100000, maxOutputTokens: 5000 }
            deployments:
              - { id: small-sg, model: small, region: sg, price: { input: 0, output: 1 } }
              - { id: large-sg, model: large, region: sg, price: { input: 0, output: 1 } }
            routing:
              aliases:
                chat-default: [small, large]
            """, "/srv", environment: null);
        Assert.True(loaded.Succeeded, string.Join("; ", loaded.Errors));
        var config = ActiveConfig.TryCreate(loaded.Config!, _ => null, _clock.GetUtcNow(), out _)!;
        config.Catalog.TryGetModel("small", out var small);
        config.Catalog.TryGetModel("large", out var large);
        var body = Encoding.UTF8.GetBytes("""{"model":"chat-default","messages":[{"role":"user","content":"hi"}]}""");
        var tenant = new Tenant("acme", "Acme Ltd.", "SG", _clock.GetUtcNow());
        var call = new CorridorRequestFeature(config, "req_1", Dialect.OpenAI, Operation.ChatCompletions, _clock.GetUtcNow(), _clock.GetTimestamp(), 100)
        {
            Request = new ClientRequest(body, body.Length) { Model = "chat-default" },
            Caller = new AuthenticatedKey(ApiKeys.Create("acme", _clock.GetUtcNow()).Key, tenant) { TenantLimits = new Limits { MonthlyHardBudget = 100m } },
            Model = small,
            AllowedDeployments = [.. small.Deployments, .. large.Deployments],
        };
        var counters = new LocalAdmissionCounters(_clock);
        var admitter = new Admitter(counters, _clock, NullLogger<Admitter>.Instance);

        Assert.Null(await admitter.AdmitAsync(new DefaultHttpContext(), call));

        // Output priced at 1 a million tokens: the reservation is the output reserved, in millionths.
        Assert.Equal(5000m / 1_000_000m, counters.Find(LimitScope.Tenant, "acme")!.Reserved);
    }
}
