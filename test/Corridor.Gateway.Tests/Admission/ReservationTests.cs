using Corridor.Core.Admission;
using Corridor.Gateway.Admission;
using Corridor.Gateway.FrontDoor;
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
        var call = AdmissionCalls.Chat(_clock, Dialect.OpenAI, new Limits { MonthlyHardBudget = 100m }, """
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
            """, "chat-default", ["small", "large"]);
        var counters = new LocalAdmissionCounters(_clock);
        var admitter = new Admitter(counters, _clock, NullLogger<Admitter>.Instance);

        Assert.Null(await admitter.AdmitAsync(new DefaultHttpContext(), call));

        // Output priced at 1 a million tokens: the reservation is the output reserved, in millionths.
        Assert.Equal(5000m / 1_000_000m, counters.Find(LimitScope.Tenant, "acme")!.Reserved);
    }
}
