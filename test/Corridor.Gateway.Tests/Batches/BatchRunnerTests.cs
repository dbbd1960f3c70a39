using Corridor.Gateway.Batches;
using Corridor.Gateway.Pipeline;

namespace Corridor.Gateway.Tests.Batches;

public sealed class BatchRunnerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ARequestsId_IsFixedByItsBatchPlaceAndAttempt_AndShapedAsEveryRequestId()
    {
        var batch = RequestPipeline.NewId("batch_", T0);

        var id = BatchRunner.RequestIdOf(batch, 7, 0);

        Assert.Equal(id, BatchRunner.RequestIdOf(batch, 7, 0));
        Assert.Matches("^req_[0-9a-f]{32}$", id);
        Assert.NotEqual(id, BatchRunner.RequestIdOf(batch, 7, 1));
        Assert.NotEqual(id, BatchRunner.RequestIdOf(batch, 8, 0));
        Assert.NotEqual(id, BatchRunner.RequestIdOf(RequestPipeline.NewId("batch_", T0), 7, 0));
        Assert.Equal(BatchRunner.RequestIdOf("msgbatch_" + batch[6..], 7, 0), id);
    }

    [Fact]
    public void ARequestsId_DiffersForEveryAttemptAWholeCompletionWindowCanHave()
    {
        // A request refused for the rate runs again at most once a second, each run a ledger row of its own: 24 hours of
        // it must never give two runs one id, or the run that is answered is not billed (the ledger keeps the first row).
        var batch = RequestPipeline.NewId("batch_", T0);
        var perSecond = (int)TimeSpan.FromHours(24).TotalSeconds;

        Assert.NotEqual(BatchRunner.RequestIdOf(batch, 99_999, ushort.MaxValue), BatchRunner.RequestIdOf(batch, 99_999, ushort.MaxValue + 1));
        Assert.NotEqual(BatchRunner.RequestIdOf(batch, 99_999, perSecond - 1), BatchRunner.RequestIdOf(batch, 99_999, perSecond));
        Assert.NotEqual(BatchRunner.RequestIdOf(batch, 0, 65_536), BatchRunner.RequestIdOf(batch, 1, 0));
        Assert.Matches("^req_[0-9a-f]{32}$", BatchRunner.RequestIdOf(batch, 99_999, perSecond));
    }

    [Fact]
    public void Ids_AreTimeOrdered()
    {
        Assert.Matches("^batch_[0-9a-f]{32}$", RequestPipeline.NewId("batch_", T0));
        Assert.True(string.CompareOrdinal(RequestPipeline.NewId("batch_", T0), RequestPipeline.NewId("batch_", T0.AddMilliseconds(1))) < 0);
    }
}
