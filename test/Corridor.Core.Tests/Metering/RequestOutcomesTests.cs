using Corridor.Core.Metering;

namespace Corridor.Core.Tests.Metering;

public sealed class RequestOutcomesTests
{
    [Fact]
    public void EveryOutcome_IsStoredUnderItsMembersName()
    {
        Assert.All(Enum.GetValues<RequestOutcome>(), o => Assert.Equal(o.ToString(), RequestOutcomes.Name(o)));
        Assert.Equal("OverBudget", RequestOutcomes.Name(RequestOutcome.OverBudget));
        Assert.Equal("99", RequestOutcomes.Name((RequestOutcome)99));
    }
}
