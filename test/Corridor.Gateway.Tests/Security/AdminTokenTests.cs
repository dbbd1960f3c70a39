using Corridor.Gateway.Admin;

namespace Corridor.Gateway.Tests.Security;

/// <summary>The admin token check: only the exact token, as a bearer token, passes.</summary>
public sealed class AdminTokenTests
{
    private const string Token = "3F9A0C6D2B7E41A58C0D9E2F6A1B3C4D5E6F7A8B9C0D1E2F";

    [Theory]
    [InlineData("Bearer " + Token)]
    [InlineData("bearer " + Token)]
    [InlineData("Bearer  " + Token + " ")]
    public void Matches_TheExactTokenAsABearerToken(string header) => Assert.True(AdminToken.Matches(header, Token));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(Token)]
    [InlineData("Basic " + Token)]
    [InlineData("Bearer ")]
    [InlineData("Bearer " + "3F9A0C6D2B7E41A58C0D9E2F6A1B3C4D5E6F7A8B9C0D1E2")]
    [InlineData("Bearer " + Token + "0")]
    [InlineData("Bearer " + "3f9a0c6d2b7e41a58c0d9e2f6a1b3c4d5e6f7a8b9c0d1e2f")]
    [InlineData("Bearer " + "3F9A0C6D2B7E41A58C0D9E2F6A1B3C4D5E6F7A8B9C0D1E2E")]
    public void Refuses_AnythingElse_PrefixesLongerTokensAndOtherCase(string? header) => Assert.False(AdminToken.Matches(header, Token));

    [Theory]
    [InlineData(Token + "\n")]
    [InlineData("  " + Token + " ")]
    public void AConfiguredTokenWithSpacesAround_IsMatchedWithoutThem(string configured) =>
        Assert.True(AdminToken.Matches("Bearer " + Token, AdminToken.Configured(configured)!));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" \n")]
    public void NoConfiguredToken_IsNull_SoTheAdminApiIsOff(string? configured) => Assert.Null(AdminToken.Configured(configured));
}
