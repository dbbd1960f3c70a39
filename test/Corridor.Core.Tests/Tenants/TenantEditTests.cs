using Corridor.Core.Tenants;

namespace Corridor.Core.Tests.Tenants;

public sealed class TenantEditTests
{
    private static readonly DateTimeOffset T0 = new(2026, 6, 1, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ANewTenant_TakesEveryProfileField()
    {
        var errors = new List<string>();
        var edit = new TenantEdit
        {
            LegalName = " Acme Logistics Pte. Ltd. ",
            Country = "sg",
            ControllingCountry = "us",
            EntityType = "Startup",
            Tier = "verified",
            VerificationExpiresAt = "2027-01-01",
            UseCase = "customer support bots",
        };

        var tenant = edit.ToNewTenant("acme", T0, errors);

        Assert.Empty(errors);
        Assert.Equal(
            new Tenant("acme", "Acme Logistics Pte. Ltd.", "SG", T0)
            {
                ControllingCountry = "US",
                EntityType = EntityType.Startup,
                Tier = VettingTier.Verified,
                VerificationExpiresAt = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero),
                UseCase = "customer support bots",
            },
            tenant);
    }

    [Fact]
    public void BadFields_AreAllReported()
    {
        var errors = new List<string>();
        var edit = new TenantEdit { LegalName = " ", Country = "XX", ControllingCountry = "ZZ", EntityType = "charity", Tier = "gold", VerificationExpiresAt = "01/02/2027" };

        Assert.Null(edit.ToNewTenant("Bad Id", T0, errors));

        Assert.Equal(7, errors.Count);
        Assert.Contains(errors, e => e.Contains("enterprise|startup|individual|research|government", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("unverified|basic|verified|established|strategic", StringComparison.Ordinal));
    }

    [Fact]
    public void AnUpdate_ChangesOnlyTheGivenFields_AndNoneClearsOptionalOnes()
    {
        var current = new Tenant("acme", "Acme", "SG", T0) { ControllingCountry = "US", UseCase = "chat", VerificationExpiresAt = T0, Tier = VettingTier.Basic };
        var errors = new List<string>();

        var updated = new TenantEdit { ControllingCountry = "none", UseCase = "", VerificationExpiresAt = "NONE", Tier = "strategic" }.ApplyTo(current, errors);

        Assert.Empty(errors);
        Assert.Equal(current with { ControllingCountry = null, UseCase = null, VerificationExpiresAt = null, Tier = VettingTier.Strategic }, updated);
        Assert.Equal(
            [new TenantFieldChange("controlling_country", "US", null), new TenantFieldChange("tier", "basic", "strategic"),
             new TenantFieldChange("verification_expires_at", "2026-06-01T08:00:00.000Z", null), new TenantFieldChange("use_case", "chat", null)],
            TenantFields.Changes(current, updated!));
    }
}
