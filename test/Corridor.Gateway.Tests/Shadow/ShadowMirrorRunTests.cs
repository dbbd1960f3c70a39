using Corridor.Core.Shadow;
using Corridor.Core.Tenants;
using Corridor.Storage.Monitoring;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Forwarding;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Pipeline;
using Corridor.Gateway.Recording;
using Corridor.Gateway.Shadow;
using Corridor.Gateway.Tests.Recording;
using Corridor.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Shadow;

/// <summary>
/// The background half of shadow evaluation with real components (the SQLite store, the key cache, the route table's
/// breakers, the upstream client), its workers started after the test has set the scene: what a mirror does when it runs.
/// No policy is configured. The candidate's upstream (port 9 on loopback) is never meant to be reached.
/// </summary>
public sealed class ShadowMirrorRunTests : SqliteStoreTestBase
{
    private static readonly ActiveConfig Config = ShadowMirrorTests.Config("""
        routing: { breaker: { failures: 1, openSeconds: 30 } }
        shadow: { models: { gpt-4.1: { candidate: mini, share: 1 } } }
        """);

    [Fact]
    public async Task AMirrorThatFailsUnexpectedly_GivesBackTheHalfOpenProbeItTook()
    {
        var (keys, caller, _) = await TenantAsync();
        using var disposeKeys = keys;
        var clock = new FakeClock();
        var state = new GatewayState(Config);
        var routes = new RouteTable(state, clock);
        Assert.True(Config.Catalog.TryGetModel("mini", out var candidate));
        var health = routes.Health(candidate.Deployments[0]);
        health.RecordFailure(clock.GetUtcNow());
        clock.Advance(TimeSpan.FromSeconds(31));
        // A client already disposed (as it is once the gateway stops) throws ObjectDisposedException: no upstream failure
        // the mirror tells apart, thrown after the mirror took the half-open breaker's probe.
        var client = new UpstreamClient(TimeSpan.FromSeconds(5));
        client.Dispose();
        using var ledger = Ledger();
        using var mirror = Mirror(state, routes, client, ledger, keys, clock);

        await RunAsync(mirror, ShadowMirrorTests.Answered(Config, caller: caller));

        Assert.Empty(await Store.ReadShadowResultsAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync());
        Assert.True(health.TryEnter(clock.GetUtcNow()), "the mirror kept the half-open probe: no request, live or mirrored, may probe the deployment again");
    }

    [Fact]
    public async Task AMirror_OfATenantScreenedSinceItsRequestWasServed_IsRefusedAsItsRequestsNowAre_WithoutAPolicy()
    {
        var (keys, caller, secret) = await TenantAsync();
        using var disposeKeys = keys;
        var state = new GatewayState(Config);
        using var client = new UpstreamClient(TimeSpan.FromSeconds(5));
        using var ledger = Ledger();
        using var mirror = Mirror(state, new RouteTable(state, TimeProvider.System), client, ledger, keys, TimeProvider.System);
        var served = ShadowMirrorTests.Answered(Config, caller: caller);

        // Screening matches the tenant while its request's mirror waits in the queue: pending review, it is refused from now on.
        var tenant = await Store.GetTenantAsync("acme", CancellationToken.None).WithTimeout();
        Assert.True(await Store.UpdateTenantAsync(tenant! with { DeniedParty = DeniedPartyStatus.Pending }, [], CancellationToken.None).WithTimeout());
        await keys.RefreshAsync(force: true, CancellationToken.None).WithTimeout();
        Assert.Equal(AuthenticationResult.Authenticated, keys.Authenticate(secret, out var now));
        var live = ShadowMirrorTests.Answered(Config, served: false, caller: now);
        Assert.Equal("denied_party", Entitlement.Entitle(new DefaultHttpContext(), live, DateTimeOffset.UtcNow)?.Code);

        await RunAsync(mirror, served);

        var result = Assert.Single(await Store.ReadShadowResultsAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync());
        Assert.Equal((ShadowOutcome.Skipped, "denied_party"), (result.Outcome, result.Reason));
    }

    [Fact]
    public async Task AMirror_OfAKeySuspendedSinceItsRequestWasServed_IsSkipped_AsItsRequestsAreNowRefused()
    {
        var (keys, caller, _) = await TenantAsync();
        using var disposeKeys = keys;
        var state = new GatewayState(Config);
        using var client = new UpstreamClient(TimeSpan.FromSeconds(5));
        using var ledger = Ledger();
        using var monitor = new MonitorService(Store, state, TimeProvider.System, NullLogger<MonitorService>.Instance);
        using var mirror = Mirror(state, new RouteTable(state, TimeProvider.System), client, ledger, keys, TimeProvider.System, monitor);
        var served = ShadowMirrorTests.Answered(Config, caller: caller);

        // An operator suspends the key while its request's mirror waits in the queue (corridor enforcement pin).
        await Store.SetEnforcementAsync(new EnforcementUpdate("key:" + caller.Key.Id, "acme", Pin: true, "suspend", DateTimeOffset.UtcNow, "cli:ana", "review"),
            [], CancellationToken.None).WithTimeout();
        await monitor.RestoreAsync(CancellationToken.None).WithTimeout();
        var live = ShadowMirrorTests.Answered(Config, served: false, caller: caller);
        Assert.Equal(Enforcement.SuspendedCode, Enforcement.Enforce(live, monitor)?.Code);

        await RunAsync(mirror, served);

        var result = Assert.Single(await Store.ReadShadowResultsAsync(null, null, CancellationToken.None).ToListWithTimeoutAsync());
        Assert.Equal((ShadowOutcome.Skipped, Enforcement.SuspendedCode), (result.Outcome, result.Reason));
    }

    /// <summary>Tenant acme (clear) with a key, loaded into a key cache; the key as authenticated, and its secret.</summary>
    private async Task<(KeyCache Keys, AuthenticatedKey Caller, string Secret)> TenantAsync()
    {
        var now = DateTimeOffset.UtcNow;
        await Store.AddTenantAsync(new Tenant("acme", "Acme Pte. Ltd.", "SG", now), CancellationToken.None).WithTimeout();
        var issued = ApiKeys.Create("acme", now);
        await Store.AddKeyAsync(issued.Key, CancellationToken.None).WithTimeout();
        var keys = new KeyCache(Store, TimeProvider.System);
        await keys.RefreshAsync(force: true, CancellationToken.None).WithTimeout();
        Assert.Equal(AuthenticationResult.Authenticated, keys.Authenticate(issued.Secret, out var caller));
        return (keys, caller!, issued.Secret);
    }

    private LedgerWriter Ledger() => new(Store, new LedgerOptions(), TimeProvider.System, NullLogger<LedgerWriter>.Instance);

    private ShadowMirror Mirror(GatewayState state, RouteTable routes, UpstreamClient client, LedgerWriter ledger, KeyCache keys, TimeProvider time,
        MonitorService? monitor = null) =>
        new(state, routes, client, ledger, null!, Store, keys, monitor ?? new MonitorService(Store, state, time, NullLogger<MonitorService>.Instance),
            new ServerOptions(), new LedgerOptions(), time, NullLogger<ShadowMirror>.Instance);

    /// <summary>Queues the mirror of <paramref name="served"/>, then starts the workers and waits until it has run.</summary>
    private static async Task RunAsync(ShadowMirror mirror, CorridorRequestFeature served)
    {
        mirror.Mirror(served);
        Assert.Equal(1, mirror.Status.Enqueued);
        await mirror.StartAsync(CancellationToken.None).WithTimeout();
        using var cts = new CancellationTokenSource(TestTimeouts.Default);
        while (mirror.Status.Pending > 0)
        {
            await Task.Delay(10, cts.Token);
        }
        await mirror.StopAsync(CancellationToken.None).WithTimeout();
    }
}
