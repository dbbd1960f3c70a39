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

/// <summary>The real <see cref="Admitter"/> on local counters and a fake clock: what a request's headers say.</summary>
public sealed class AdmitterTests
{
    private readonly FakeClock _clock = new();
    private readonly Admitter _admitter;

    public AdmitterTests() => _admitter = new Admitter(new LocalAdmissionCounters(_clock), _clock, NullLogger<Admitter>.Instance);

    [Fact]
    public async Task AnAnthropicReset_CountsFromAdmission_NotFromWhenTheRequestArrived()
    {
        // The request arrived at 09:00:00 and took 10 s to upload its body; admission, at 09:00:10, leaves the window
        // whole again one second later.
        var call = Call(Dialect.Anthropic, new Limits { RequestsPerMinute = 60 });
        _clock.Advance(TimeSpan.FromSeconds(10));
        var context = new DefaultHttpContext();

        Assert.Null(await _admitter.AdmitAsync(context, call).AsTask().WithTimeout());

        Assert.Equal("59", context.Response.Headers["anthropic-ratelimit-requests-remaining"].ToString());
        Assert.Equal("2026-12-03T09:00:11Z", context.Response.Headers["anthropic-ratelimit-requests-reset"].ToString());
    }

    private CorridorRequestFeature Call(Dialect dialect, Limits tenantLimits)
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
        var config = ActiveConfig.TryCreate(loaded.Config!, _ => null, _clock.GetUtcNow(), out _)!;
        var body = Encoding.UTF8.GetBytes("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}""");
        config.Catalog.TryGetModel("gpt-4.1", out var model);
        var tenant = new Tenant("acme", "Acme Ltd.", "SG", _clock.GetUtcNow());
        return new CorridorRequestFeature(config, "req_1", dialect, Operation.ChatCompletions, _clock.GetUtcNow(), _clock.GetTimestamp(), 100)
        {
            Request = new ClientRequest(body, body.Length) { Model = "gpt-4.1" },
            Caller = new AuthenticatedKey(ApiKeys.Create("acme", _clock.GetUtcNow()).Key, tenant) { TenantLimits = tenantLimits },
            Model = model,
            AllowedDeployments = model.Deployments,
        };
    }
}
