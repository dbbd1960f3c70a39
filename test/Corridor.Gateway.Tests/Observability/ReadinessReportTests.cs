using Corridor.Gateway.Observability;

namespace Corridor.Gateway.Tests.Observability;

/// <summary>Each readiness check, alone, makes <c>/readyz</c> unready with its own reason; all passing, ready.</summary>
public sealed class ReadinessReportTests
{
    private static readonly ReadinessReport Ready = new(null, false, true, true, 0, TimeSpan.Zero, TimeSpan.FromSeconds(30));

    [Fact]
    public void AllChecksPassing_IsReady() => Assert.Empty(Ready.Reasons());

    [Fact]
    public void NoPolicyDeclared_IsReady() => Assert.Empty((Ready with { PolicyDeclared = false, PolicyLoaded = false }).Reasons());

    [Fact]
    public void LagAtTheBound_IsReady() => Assert.Empty((Ready with { LedgerLag = TimeSpan.FromSeconds(30), LedgerPending = 12 }).Reasons());

    [Fact]
    public void EachFailingCheck_GivesItsReason()
    {
        Assert.StartsWith("store unreachable: SocketException", Assert.Single((Ready with { StoreError = "SocketException" }).Reasons()), StringComparison.Ordinal);
        Assert.StartsWith("keys not refreshed", Assert.Single((Ready with { KeysPastGrace = true }).Reasons()), StringComparison.Ordinal);
        Assert.StartsWith("the configuration declares a policy", Assert.Single((Ready with { PolicyLoaded = false }).Reasons()), StringComparison.Ordinal);
        Assert.Equal("ledger lag 30.5 s is above 30 s (12 rows waiting)",
            Assert.Single((Ready with { LedgerLag = TimeSpan.FromSeconds(30.5), LedgerPending = 12 }).Reasons()));
        Assert.Equal(4, new ReadinessReport("TimeoutException", true, true, false, 3, TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(30)).Reasons().Count);
    }
}
