using Corridor.Gateway.Batches;

namespace Corridor.Gateway.Tests.Batches;

public sealed class BatchRunnerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ARequestsId_IsFixedByItsBatchPlaceAndAttempt_AndShapedAsEveryRequestId()
    {
        var batch = BatchRunner.NewId("batch_", T0);

        var id = BatchRunner.RequestIdOf(batch, 7, 0);

        Assert.Equal(id, BatchRunner.RequestIdOf(batch, 7, 0));
        Assert.Matches("^req_[0-9a-f]{32}$", id);
        Assert.NotEqual(id, BatchRunner.RequestIdOf(batch, 7, 1));
        Assert.NotEqual(id, BatchRunner.RequestIdOf(batch, 8, 0));
        Assert.NotEqual(id, BatchRunner.RequestIdOf(BatchRunner.NewId("batch_", T0), 7, 0));
        Assert.Equal(BatchRunner.RequestIdOf("msgbatch_" + batch[6..], 7, 0), id);
    }

    [Fact]
    public void Ids_AreTimeOrdered()
    {
        Assert.Matches("^batch_[0-9a-f]{32}$", BatchRunner.NewId("batch_", T0));
        Assert.True(string.CompareOrdinal(BatchRunner.NewId("batch_", T0), BatchRunner.NewId("batch_", T0.AddMilliseconds(1))) < 0);
    }
}
