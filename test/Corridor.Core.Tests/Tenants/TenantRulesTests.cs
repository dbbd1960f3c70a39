using Corridor.Core.Tenants;

namespace Corridor.Core.Tests.Tenants;

public sealed class TenantRulesTests
{
    [Theory]
    [InlineData("acme", true)]
    [InlineData("acme-logistics", true)]
    [InlineData("a1", true)]
    [InlineData("x", true)]
    [InlineData("Acme", false)]
    [InlineData("-acme", false)]
    [InlineData("acme-", false)]
    [InlineData("acme logistics", false)]
    [InlineData("acme_logistics", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsValidId_AcceptsLowercaseSlugsOnly(string? id, bool expected)
    {
        Assert.Equal(expected, TenantRules.IsValidId(id));
    }

    [Fact]
    public void IsValidId_RejectsIdsLongerThanTheLimit()
    {
        Assert.True(TenantRules.IsValidId(new string('a', TenantRules.MaxIdLength)));
        Assert.False(TenantRules.IsValidId(new string('a', TenantRules.MaxIdLength + 1)));
    }

    [Theory]
    [InlineData("sg", "SG")]
    [InlineData("Jp", "JP")]
    [InlineData("DE", "DE")]
    public void TryNormalizeCountry_UppercasesAssignedCodes(string input, string expected)
    {
        Assert.True(TenantRules.TryNormalizeCountry(input, out var normalized));
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("XX")]
    [InlineData("UK")]
    [InlineData("SGP")]
    [InlineData("S")]
    [InlineData("1A")]
    [InlineData("")]
    [InlineData(null)]
    public void TryNormalizeCountry_RejectsAnythingButAnAssignedAlpha2Code(string? input)
    {
        Assert.False(TenantRules.TryNormalizeCountry(input, out var normalized));
        Assert.Null(normalized);
    }
}
