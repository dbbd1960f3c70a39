using Corridor.Core.Metering;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>What a ledger row must say about a request that was served, or one that was refused.</summary>
internal static class LedgerAssert
{
    /// <summary>Billed for exactly these tokens at the deployment's prices (per million tokens, exact decimal).</summary>
    public static void Billed(LiveGateway live, LedgerEntry row, string deploymentId, long inputTokens, long outputTokens)
    {
        Assert.True(row.Billable, $"row {row.RequestId} is not billable");
        Assert.Equal(deploymentId, row.DeploymentId);
        Assert.Equal(inputTokens, row.InputTokens);
        Assert.Equal(outputTokens, row.OutputTokens);
        var deployment = live.Config.Catalog.Deployments.Single(d => d.Id == deploymentId);
        Assert.Equal((inputTokens * deployment.InputPricePerMillion + outputTokens * deployment.OutputPricePerMillion) / 1_000_000m, row.Cost);
    }

    /// <summary>Kept for operations, never billed.</summary>
    public static void NotBilled(LedgerEntry row)
    {
        Assert.False(row.Billable, $"row {row.RequestId} is billable");
        Assert.Equal(0m, row.Cost);
        Assert.Equal(0, row.InputTokens);
        Assert.Equal(0, row.OutputTokens);
    }
}
