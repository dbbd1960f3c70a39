using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using static Corridor.Core.Tests.Policy.PolicyFixtures;

namespace Corridor.Core.Tests.Policy;

public sealed class DecisionEngineTests
{
    // --- Deny by default and grants ---------------------------------------------------------------

    [Fact]
    public void Deny_ModelNotEntitled_WhenNoRuleGrantsTheModel()
    {
        var policy = Compile(new PolicyRule("claude") { Match = new RuleMatch(Models: ["claude-sonnet-4"]), AllowJurisdictions = ["*"] });

        var decision = policy.Decide(Tenant(), "gpt-4.1");

        Assert.False(decision.Allowed);
        Assert.Equal(DecisionReason.ModelNotEntitled, decision.Reason);
        Assert.Equal("model_not_entitled", decision.ReasonCode);
        Assert.Empty(decision.Deployments);
    }

    [Fact]
    public void Deny_ModelNotEntitled_WhenOnlyRestrictingRulesMatch()
    {
        // A rule without allow_jurisdictions never grants, however permissive it looks.
        var policy = Compile(new PolicyRule("restrict") { DenyJurisdictions = ["CN"], MinTier = VettingTier.Basic });

        Assert.Equal(DecisionReason.ModelNotEntitled, policy.Decide(Tenant()).Reason);
    }

    [Fact]
    public void Deny_ModelNotEntitled_ForAModelNotInTheCatalog()
    {
        var policy = Compile(GrantAll());

        Assert.Equal(DecisionReason.ModelNotEntitled, policy.Decide(Tenant(), "gpt-9").Reason);
    }

    [Fact]
    public void Allow_ListsEveryDeploymentInPriorityOrder_WhenNothingLimitsRegions()
    {
        var policy = Compile(GrantAll());

        var decision = policy.Decide(Tenant());

        Assert.True(decision.Allowed);
        Assert.Equal("allowed", decision.ReasonCode);
        Assert.Equal(["gpt-sg", "gpt-jp", "gpt-eu", "gpt-us"], decision.Ids());
        Assert.True(decision.Restrictions.IsNone);
        Assert.Equal("test-1", decision.PolicyVersion);
        Assert.Null(decision.RuleId);
    }

    [Theory]
    [InlineData("vendors", "openai", "gpt-4.1-mini", true)]
    [InlineData("vendors", "openai", "claude-sonnet-4", false)]
    [InlineData("models", "gpt-4.1", "gpt-4.1", true)]
    [InlineData("models", "gpt-4.1", "gpt-4.1-mini", false)]
    [InlineData("families", "gpt-4.1", "gpt-4.1-mini", true)]
    [InlineData("families", "claude-4", "deepseek-v4", false)]
    public void Match_SelectsModelsByVendorModelOrFamily(string field, string value, string model, bool allowed)
    {
        var match = field switch
        {
            "vendors" => new RuleMatch(Vendors: [value]),
            "models" => new RuleMatch(Models: [value]),
            _ => new RuleMatch(Families: [value]),
        };
        var policy = Compile(new PolicyRule("grant") { Match = match, AllowJurisdictions = ["*"] });

        Assert.Equal(allowed, policy.Decide(Tenant(), model).Allowed);
    }

    [Fact]
    public void Match_RequiresEveryFieldGiven()
    {
        var policy = Compile(new PolicyRule("grant") { Match = new RuleMatch(Vendors: ["openai"], Models: ["gpt-4.1-mini"]), AllowJurisdictions = ["*"] });

        Assert.True(policy.Decide(Tenant(), "gpt-4.1-mini").Allowed);
        Assert.False(policy.Decide(Tenant(), "gpt-4.1").Allowed);
    }

    [Fact]
    public void Match_OnVendor_IsTheModelsOwnVendorNotTheOneServingIt()
    {
        // gpt-eu is reached through azure, but gpt-4.1 is openai's model and openai's rules apply.
        var policy = Compile(new PolicyRule("grant") { Match = new RuleMatch(Vendors: ["openai"]), AllowJurisdictions = ["*"] });

        Assert.Contains("gpt-eu", policy.Decide(Tenant()).Ids());
    }

    // --- Jurisdictions: country and controlling country ------------------------------------------

    [Theory]
    [InlineData("US", null, true)]
    [InlineData("DE", null, true)]       // EU group
    [InlineData("CN", null, false)]
    [InlineData("US", "DE", true)]
    [InlineData("US", "CN", false)]      // the controlling country must be allowed too
    [InlineData("CN", "US", false)]      // and the country itself
    public void AllowJurisdictions_MustHoldForCountryAndControllingCountry(string country, string? controlling, bool allowed)
    {
        var policy = Compile(new PolicyRule("grant") { AllowJurisdictions = ["US", "EU"] });

        var decision = policy.Decide(Tenant(country, controlling));

        Assert.Equal(allowed, decision.Allowed);
        if (!allowed)
        {
            Assert.Equal(DecisionReason.JurisdictionDenied, decision.Reason);
            Assert.Equal("grant", decision.RuleId);
        }
    }

    [Theory]
    [InlineData("US", null, true)]
    [InlineData("CN", null, false)]
    [InlineData("HK", null, false)]
    [InlineData("SG", "CN", false)]      // controlled from a denied country
    [InlineData("CN", "SG", false)]      // incorporated in a denied country
    [InlineData("SG", "JP", true)]
    public void DenyJurisdictions_RefusesWhenCountryOrControllingCountryIsListed(string country, string? controlling, bool allowed)
    {
        var groups = new[] { new PolicyGroup("CHINA", ["CN", "HK", "MO"]) };
        var policy = Compile(groups, new PolicyRule("grant") { AllowJurisdictions = ["*"], DenyJurisdictions = ["CHINA"] });

        var decision = policy.Decide(Tenant(country, controlling));

        Assert.Equal(allowed, decision.Allowed);
        Assert.Equal(allowed ? DecisionReason.Allowed : DecisionReason.JurisdictionDenied, decision.Reason);
    }

    [Fact]
    public void DenyJurisdictions_InARuleWithoutGrant_StillRefuses()
    {
        var policy = Compile(GrantAll(), new PolicyRule("no-cn") { DenyJurisdictions = ["CN"] });

        var decision = policy.Decide(Tenant("CN"));

        Assert.Equal(DecisionReason.JurisdictionDenied, decision.Reason);
        Assert.Equal("no-cn", decision.RuleId);
    }

    [Theory]
    [InlineData("de")]
    [InlineData("De")]
    public void CountryCodes_AreMatchedInAnyCase(string country)
    {
        var policy = Compile(new PolicyRule("grant") { AllowJurisdictions = ["de"] });

        Assert.True(policy.Decide(Tenant(country)).Allowed);
    }

    [Theory]
    [InlineData("XX", null)]
    [InlineData("USA", null)]
    [InlineData("US", "ZZ")]
    [InlineData("", null)]
    public void Deny_JurisdictionDenied_WhenACountryIsNotAnAssignedCode(string country, string? controlling)
    {
        var policy = Compile(GrantAll());

        Assert.Equal(DecisionReason.JurisdictionDenied, policy.Decide(Tenant(country, controlling)).Reason);
    }

    [Fact]
    public void Groups_MayIncludeOtherGroupsAndTheBuiltIns()
    {
        var groups = new[] { new PolicyGroup("WEST", ["EEA", "NORTH-AMERICA", "GB"]), new PolicyGroup("NORTH-AMERICA", ["US", "CA"]) };
        var policy = Compile(groups, new PolicyRule("grant") { AllowJurisdictions = ["WEST"] });

        Assert.True(policy.Decide(Tenant("NO")).Allowed);   // EEA, not EU
        Assert.True(policy.Decide(Tenant("CA")).Allowed);
        Assert.True(policy.Decide(Tenant("GB")).Allowed);
        Assert.False(policy.Decide(Tenant("JP")).Allowed);
        Assert.False(policy.Decide(Tenant("CH")).Allowed);
    }

    [Fact]
    public void BuiltInEu_HasTheTwentySevenMemberStates()
    {
        var policy = Compile(new PolicyRule("grant") { AllowJurisdictions = ["EU"] });
        var admitted = Enumerable.Range(0, 26 * 26)
            .Select(i => $"{(char)('A' + (i / 26))}{(char)('A' + (i % 26))}")
            .Where(code => TenantRules.TryNormalizeCountry(code, out _))
            .Where(code => policy.Decide(Tenant(code)).Allowed)
            .ToList();

        Assert.Equal(27, admitted.Count);
        Assert.Contains("IE", admitted);
        Assert.DoesNotContain("GB", admitted);
        Assert.DoesNotContain("NO", admitted);
    }

    // --- Match on tenant: jurisdictions and tiers ---------------------------------------------------

    [Theory]
    [InlineData("CN", null, VettingTier.Verified, false)]
    [InlineData("CN", null, VettingTier.Established, true)]
    [InlineData("SG", "CN", VettingTier.Verified, false)]   // selected through the controlling country
    [InlineData("CN", "SG", VettingTier.Verified, false)]   // or through the country
    [InlineData("SG", null, VettingTier.Basic, true)]       // not selected: no minimum applies
    public void MatchJurisdictions_AppliesTheRuleWhenCountryOrControllingCountryIsListed(string country, string? controlling, VettingTier tier, bool allowed)
    {
        var policy = Compile(
            GrantAll(),
            new PolicyRule("china") { Match = new RuleMatch(Jurisdictions: ["CN"]), MinTier = VettingTier.Established });

        var decision = policy.Decide(Tenant(country, controlling, tier));

        Assert.Equal(allowed, decision.Allowed);
        if (!allowed)
        {
            Assert.Equal(DecisionReason.TierInsufficient, decision.Reason);
            Assert.Equal("china", decision.RuleId);
        }
    }

    [Fact]
    public void MatchTiers_AppliesTheRuleOnlyToListedTiers()
    {
        var policy = Compile(
            GrantAll(),
            new PolicyRule("low") { Match = new RuleMatch(Tiers: [VettingTier.Unverified, VettingTier.Basic]), Features = new FeatureRules(MaxTokens: new FeatureLimit(100)) });

        var request = new RequestFeatures("gpt-4.1", MaxTokens: 1000);
        Assert.Equal(100, policy.Decide(Tenant(tier: VettingTier.Basic), request).Restrictions.MaxTokens);
        Assert.Null(policy.Decide(Tenant(tier: VettingTier.Verified), request).Restrictions.MaxTokens);
    }

    [Fact]
    public void Grant_SelectingSomeTenants_EntitlesOnlyThem()
    {
        var policy = Compile(new PolicyRule("research") { Match = new RuleMatch(Tiers: [VettingTier.Strategic]), AllowJurisdictions = ["*"] });

        Assert.True(policy.Decide(Tenant(tier: VettingTier.Strategic)).Allowed);
        Assert.Equal(DecisionReason.ModelNotEntitled, policy.Decide(Tenant(tier: VettingTier.Established)).Reason);
    }

    // --- Tier and entity type ---------------------------------------------------------------------

    [Theory]
    [InlineData(VettingTier.Unverified, false)]
    [InlineData(VettingTier.Basic, false)]
    [InlineData(VettingTier.Verified, true)]
    [InlineData(VettingTier.Established, true)]
    [InlineData(VettingTier.Strategic, true)]
    public void Deny_WhenTenantTierBelowModelMinimum(VettingTier tier, bool allowed)
    {
        var policy = Compile(GrantAll() with { MinTier = VettingTier.Verified });

        var decision = policy.Decide(Tenant(tier: tier));

        Assert.Equal(allowed ? DecisionReason.Allowed : DecisionReason.TierInsufficient, decision.Reason);
    }

    [Fact]
    public void ExpiredVerification_CountsAsUnverified()
    {
        var policy = Compile(GrantAll() with { MinTier = VettingTier.Verified });
        var tenant = new Tenant("acme", "Acme", "US", Now.AddYears(-1)) { Tier = VettingTier.Established, VerificationExpiresAt = Now };

        var atExpiry = DecisionInput.For(tenant, "key-1", new RequestFeatures("gpt-4.1"), Now);
        var before = DecisionInput.For(tenant, "key-1", new RequestFeatures("gpt-4.1"), Now.AddTicks(-1));

        Assert.Equal(DecisionReason.TierInsufficient, policy.Decide(in atExpiry).Reason);
        Assert.True(policy.Decide(in before).Allowed);
    }

    [Theory]
    [InlineData(EntityType.Enterprise, true)]
    [InlineData(EntityType.Research, true)]
    [InlineData(EntityType.Individual, false)]
    [InlineData(EntityType.Government, false)]
    public void EntityTypes_ExcludesTypesNotListed_AsModelNotEntitled(EntityType type, bool allowed)
    {
        var policy = Compile(GrantAll() with { EntityTypes = [EntityType.Enterprise, EntityType.Research] });

        var decision = policy.Decide(Tenant(entityType: type));

        Assert.Equal(allowed ? DecisionReason.Allowed : DecisionReason.ModelNotEntitled, decision.Reason);
        Assert.Equal(allowed ? null : "grant-all", decision.RuleId);
    }

    // --- Regions -----------------------------------------------------------------------------------

    [Theory]
    [InlineData("DE", null, new[] { "eu-west" })]
    [InlineData("CN", null, new[] { "sg", "jp-east" })]
    [InlineData("US", null, new[] { "sg", "jp-east", "eu-west", "us-east" })]
    [InlineData("US", "DE", new[] { "eu-west" })]              // both countries: "*" ∩ EU
    [InlineData("SG", "CN", new[] { "sg", "jp-east" })]        // "*" ∩ CN
    public void Regions_AllowedPerJurisdiction_ForCountryAndControllingCountry(string country, string? controlling, string[] expected)
    {
        var policy = Compile(GrantAll() with
        {
            Regions =
            [
                new RegionAllowance("CN", ["sg", "jp-east"]),
                new RegionAllowance("EU", ["eu-west"]),
                new RegionAllowance("*", ["sg", "jp-east", "eu-west", "us-east"]),
            ],
        });

        var decision = policy.Decide(Tenant(country, controlling));

        Assert.True(decision.Allowed);
        Assert.Equal(expected.Order(), decision.Regions().Order());
    }

    [Fact]
    public void Regions_KeepTheCatalogsPriorityOrder()
    {
        var policy = Compile(GrantAll() with { Regions = [new RegionAllowance("*", ["us-east", "jp-east"])] });

        Assert.Equal(["gpt-jp", "gpt-us"], policy.Decide(Tenant()).Ids());
    }

    [Fact]
    public void Regions_AJurisdictionNoKeyNames_GetsNoRegion()
    {
        var policy = Compile(GrantAll() with { Regions = [new RegionAllowance("EU", ["eu-west"])] });

        var decision = policy.Decide(Tenant("US"));

        Assert.Equal(DecisionReason.NoCompliantRegion, decision.Reason);
        Assert.Equal("no_compliant_region", decision.ReasonCode);
    }

    [Fact]
    public void Regions_ACountryUnderSeveralKeys_TakesTheirIntersection()
    {
        // FR is under FR and under EU; "*" applies only to countries no other key names.
        var policy = Compile(GrantAll() with
        {
            Regions =
            [
                new RegionAllowance("EU", ["eu-west", "us-east"]),
                new RegionAllowance("FR", ["eu-west", "sg"]),
                new RegionAllowance("*", ["sg", "jp-east", "eu-west", "us-east"]),
            ],
        });

        Assert.Equal(["eu-west"], policy.Decide(Tenant("FR")).Regions());
        Assert.Equal(["eu-west", "us-east"], policy.Decide(Tenant("DE")).Regions());
    }

    [Fact]
    public void Deny_NoCompliantRegion_WhenTheModelIsNotDeployedInAnAllowedRegion()
    {
        var policy = Compile(GrantAll() with { Regions = [new RegionAllowance("*", ["eu-west"])] });

        Assert.Equal(DecisionReason.NoCompliantRegion, policy.Decide(Tenant(), "gpt-4.1-mini").Reason);
    }

    [Fact]
    public void Decide_ReturnsTheSameDeploymentList_ForTheSameAllowedRegions()
    {
        var policy = Compile(GrantAll() with { Regions = [new RegionAllowance("*", ["sg", "eu-west"])] });

        var first = policy.Decide(Tenant("US"));
        var second = policy.Decide(Tenant("JP", "BR"));

        Assert.Same(first.Deployments, second.Deployments);
    }

    // --- Strictest wins ----------------------------------------------------------------------------

    [Fact]
    public void StrictestWins_GrantsIntersect()
    {
        var policy = Compile(
            new PolicyRule("vendor") { Match = new RuleMatch(Vendors: ["openai"]), AllowJurisdictions = ["US", "JP", "DE"] },
            new PolicyRule("model") { Match = new RuleMatch(Models: ["gpt-4.1"]), AllowJurisdictions = ["JP", "DE", "FR"] });

        Assert.True(policy.Decide(Tenant("JP")).Allowed);
        Assert.Equal("vendor", policy.Decide(Tenant("FR")).RuleId);
        Assert.Equal("model", policy.Decide(Tenant("US")).RuleId);
        Assert.True(policy.Decide(Tenant("US"), "gpt-4.1-mini").Allowed);
    }

    [Fact]
    public void StrictestWins_AnyDenyBeatsAnyAllow()
    {
        var policy = Compile(
            new PolicyRule("grant") { AllowJurisdictions = ["CN", "US"] },
            new PolicyRule("deny") { Match = new RuleMatch(Vendors: ["openai"]), DenyJurisdictions = ["CN"] });

        Assert.Equal(DecisionReason.JurisdictionDenied, policy.Decide(Tenant("CN")).Reason);
        Assert.True(policy.Decide(Tenant("CN"), "deepseek-v4").Allowed);
    }

    [Fact]
    public void StrictestWins_HighestMinimumTier()
    {
        var policy = Compile(
            GrantAll() with { MinTier = VettingTier.Basic },
            new PolicyRule("claude") { Match = new RuleMatch(Families: ["claude-4"]), MinTier = VettingTier.Established });

        Assert.True(policy.Decide(Tenant(tier: VettingTier.Basic), "gpt-4.1").Allowed);
        var decision = policy.Decide(Tenant(tier: VettingTier.Verified), "claude-sonnet-4");
        Assert.Equal(DecisionReason.TierInsufficient, decision.Reason);
        Assert.Equal("claude", decision.RuleId);
    }

    [Fact]
    public void StrictestWins_EntityTypesIntersect()
    {
        var policy = Compile(
            GrantAll() with { EntityTypes = [EntityType.Enterprise, EntityType.Startup] },
            new PolicyRule("no-startups") { EntityTypes = [EntityType.Enterprise, EntityType.Research] });

        Assert.True(policy.Decide(Tenant(entityType: EntityType.Enterprise)).Allowed);
        Assert.Equal("grant-all", policy.Decide(Tenant(entityType: EntityType.Research)).RuleId);
        Assert.Equal("no-startups", policy.Decide(Tenant(entityType: EntityType.Startup)).RuleId);
    }

    [Fact]
    public void StrictestWins_RegionSetsIntersect()
    {
        var policy = Compile(
            GrantAll() with { Regions = [new RegionAllowance("*", ["sg", "jp-east", "us-east"])] },
            new PolicyRule("r2") { Regions = [new RegionAllowance("*", ["jp-east", "us-east", "eu-west"])] },
            new PolicyRule("r3") { Match = new RuleMatch(Models: ["gpt-4.1"]), Regions = [new RegionAllowance("US", ["us-east"]), new RegionAllowance("*", ["jp-east"])] });

        Assert.Equal(["us-east"], policy.Decide(Tenant("US")).Regions());
        Assert.Equal(["jp-east"], policy.Decide(Tenant("BR")).Regions());
        Assert.Equal(["claude-us", "claude-jp"], policy.Decide(Tenant("BR"), "claude-sonnet-4").Ids());
    }

    [Fact]
    public void StrictestWins_CapsTakeTheMinimum()
    {
        var policy = Compile(
            GrantAll() with { Features = new FeatureRules(MaxTokens: new FeatureLimit(8000), MaxN: new FeatureLimit(4)) },
            new PolicyRule("tight") { Features = new FeatureRules(MaxTokens: new FeatureLimit(2000), MaxN: new FeatureLimit(2)) });

        var decision = policy.Decide(Tenant(), new RequestFeatures("gpt-4.1", N: 5, MaxTokens: 5000));

        Assert.Equal(new Restrictions(MaxTokens: 2000, N: 2), decision.Restrictions);
    }

    [Fact]
    public void StrictestWins_ARefuseLimitBelowTheRequestRefusesEvenWhenAnotherRuleWouldCap()
    {
        var policy = Compile(
            GrantAll() with { Features = new FeatureRules(MaxTokens: new FeatureLimit(1000)) },
            new PolicyRule("refuse") { Features = new FeatureRules(MaxTokens: new FeatureLimit(4000, LimitMode.Refuse)) });

        // Each limit judges the request as sent: 3000 is within the refuse limit, so it is capped to 1000.
        Assert.Equal(1000, policy.Decide(Tenant(), new RequestFeatures("gpt-4.1", MaxTokens: 3000)).Restrictions.MaxTokens);
        var refused = policy.Decide(Tenant(), new RequestFeatures("gpt-4.1", MaxTokens: 5000));
        Assert.Equal(DecisionReason.FeatureRestricted, refused.Reason);
        Assert.Equal(PolicyFeature.MaxTokens, refused.Feature);
        Assert.Equal("refuse", refused.RuleId);
    }

    [Fact]
    public void StrictestWins_LogprobsDenyBeatsStrip()
    {
        var policy = Compile(
            GrantAll() with { Features = new FeatureRules(Logprobs: StripRule.Strip) },
            new PolicyRule("deny") { Match = new RuleMatch(Models: ["gpt-4.1"]), Features = new FeatureRules(Logprobs: StripRule.Deny) });

        var request = new RequestFeatures("gpt-4.1", Logprobs: true);
        Assert.Equal(DecisionReason.FeatureRestricted, policy.Decide(Tenant(), request).Reason);
        Assert.True(policy.Decide(Tenant(), request with { Model = "gpt-4.1-mini" }).Restrictions.StripLogprobs);
    }

    [Fact]
    public void StrictestWins_ReasoningDenyBeatsStrip_AndNamesTheDenyingRule()
    {
        var policy = Compile(
            GrantAll() with { Features = new FeatureRules(Reasoning: StripRule.Strip) },
            new PolicyRule("no-reasoning") { Match = new RuleMatch(Models: ["gpt-4.1"]), Features = new FeatureRules(Reasoning: StripRule.Deny) });

        var request = new RequestFeatures("gpt-4.1", Reasoning: true);
        var input = new DecisionInput(Tenant(), "key-1", request, Now);
        var denied = policy.Decide(in input, trace: true);
        Assert.Equal(DecisionReason.FeatureRestricted, denied.Reason);
        Assert.Equal(PolicyFeature.Reasoning, denied.Feature);
        Assert.Equal("no-reasoning", denied.RuleId);
        Assert.Equal([RuleOutcome.Granted | RuleOutcome.RequestRewritten, RuleOutcome.FeatureRefused], denied.Trace.Select(t => t.Outcome));
        Assert.Equal(new Restrictions(StripReasoning: true), policy.Decide(Tenant(), request with { Model = "gpt-4.1-mini" }).Restrictions);
    }

    /// <summary>The fixture catalog with deepseek-v4 declared a reasoning model that reasons unless told not to (DeepSeek's thinking mode).</summary>
    private static Corridor.Core.Catalog.Catalog ReasoningByDefaultCatalog()
    {
        var config = PolicyFixtures.CatalogConfig with
        {
            Models = [.. PolicyFixtures.CatalogConfig.Models.Select(m => m.Id == "deepseek-v4"
                ? m with { Capabilities = ModelCapabilities.Chat | ModelCapabilities.Reasoning } with { ReasoningByDefault = true }
                : m)],
        };
        var catalog = Corridor.Core.Catalog.Catalog.TryCreate(config, out var errors);
        Assert.True(catalog is not null, string.Join("\n", errors));
        return catalog;
    }

    private static CompiledPolicy CompileOn(Corridor.Core.Catalog.Catalog catalog, params PolicyRule[] rules)
    {
        var policy = CompiledPolicy.TryCreate(new PolicyConfig("test-1", [], rules), catalog, out var errors);
        Assert.True(policy is not null, string.Join("\n", errors));
        return policy;
    }

    [Fact]
    public void AModelThatReasonsByDefault_IsDecidedAsReasoning_UnlessTheRequestTurnsThinkingOff()
    {
        var catalog = ReasoningByDefaultCatalog();
        var deny = CompileOn(catalog, GrantAll(), new PolicyRule("no-reasoning") { Match = new RuleMatch(Models: ["deepseek-v4"]), Features = new FeatureRules(Reasoning: StripRule.Deny) });
        var strip = CompileOn(catalog, GrantAll() with { Features = new FeatureRules(Reasoning: StripRule.Strip) });
        var unasked = new RequestFeatures("deepseek-v4");
        var off = unasked with { ThinkingOff = true };

        // Asking nothing, the model reasons, so the rule refusing reasoning refuses it (before, it was served, reasoning and all).
        var input = Input(unasked);
        var refused = deny.Decide(in input, trace: true);
        Assert.Equal(DecisionReason.FeatureRestricted, refused.Reason);
        Assert.Equal(PolicyFeature.Reasoning, refused.Feature);
        Assert.Equal("no-reasoning", refused.RuleId);
        Assert.Equal([RuleOutcome.Granted, RuleOutcome.FeatureRefused], refused.Trace.Select(t => t.Outcome));
        Assert.Equal(DecisionReason.Allowed, deny.Decide(Tenant(), off).Reason);
        Assert.Equal(new Restrictions(StripReasoning: true), strip.Decide(Tenant(), unasked).Restrictions);
        Assert.True(strip.Decide(Tenant(), off).Restrictions.IsNone);
        // Another model is decided on what the request asks, as before, switch or not.
        Assert.Equal(DecisionReason.Allowed, deny.Decide(Tenant(), new RequestFeatures("gpt-4.1")).Reason);
        Assert.True(strip.Decide(Tenant(), new RequestFeatures("gpt-4.1", Reasoning: true, ThinkingOff: true)).Restrictions.StripReasoning);
        // A tenant may still use the model with thinking off: it is listed.
        Assert.Contains(deny.EntitledModels(Tenant(), Now), m => m.Id == "deepseek-v4");
        // The audit record says the request reasons, which the refusal is about, and not what it asked.
        using var details = System.Text.Json.JsonDocument.Parse(new DecisionToAudit("dec_1", "req_1", Input(unasked), deny).ToEntry().Details);
        Assert.True(details.RootElement.GetProperty("reasoning").GetBoolean());
        using var offDetails = System.Text.Json.JsonDocument.Parse(new DecisionToAudit("dec_2", "req_2", Input(off), deny).ToEntry().Details);
        Assert.False(offDetails.RootElement.GetProperty("reasoning").GetBoolean());
        Assert.True(offDetails.RootElement.GetProperty("thinking_off").GetBoolean());

        static DecisionInput Input(RequestFeatures request) => new(Tenant(), "key-1", request, Now);
    }

    // --- Features ----------------------------------------------------------------------------------

    public static TheoryData<FeatureRules, RequestFeatures, DecisionReason, PolicyFeature, Restrictions> FeatureCases() => new()
    {
        { new FeatureRules(Logprobs: StripRule.Deny), new RequestFeatures("gpt-4.1", Logprobs: true), DecisionReason.FeatureRestricted, PolicyFeature.Logprobs, default },
        { new FeatureRules(Logprobs: StripRule.Deny), new RequestFeatures("gpt-4.1"), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(Logprobs: StripRule.Strip), new RequestFeatures("gpt-4.1", Logprobs: true), DecisionReason.Allowed, PolicyFeature.None, new Restrictions(StripLogprobs: true) },
        { new FeatureRules(Logprobs: StripRule.Strip), new RequestFeatures("gpt-4.1"), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(Reasoning: StripRule.Deny), new RequestFeatures("gpt-4.1", Reasoning: true), DecisionReason.FeatureRestricted, PolicyFeature.Reasoning, default },
        { new FeatureRules(Reasoning: StripRule.Deny), new RequestFeatures("gpt-4.1"), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(Reasoning: StripRule.Strip), new RequestFeatures("gpt-4.1", Reasoning: true), DecisionReason.Allowed, PolicyFeature.None, new Restrictions(StripReasoning: true) },
        { new FeatureRules(Reasoning: StripRule.Strip), new RequestFeatures("gpt-4.1"), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(Logprobs: StripRule.Strip), new RequestFeatures("gpt-4.1", Logprobs: true, Reasoning: true), DecisionReason.Allowed, PolicyFeature.None, new Restrictions(StripLogprobs: true) },
        { new FeatureRules(Stream: AllowRule.Deny), new RequestFeatures("gpt-4.1", Stream: true), DecisionReason.FeatureRestricted, PolicyFeature.Stream, default },
        { new FeatureRules(Stream: AllowRule.Deny), new RequestFeatures("gpt-4.1"), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(Batch: AllowRule.Deny), new RequestFeatures("gpt-4.1", Batch: true), DecisionReason.FeatureRestricted, PolicyFeature.Batch, default },
        { new FeatureRules(Batch: AllowRule.Deny), new RequestFeatures("gpt-4.1", Stream: true), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(Stream: AllowRule.Deny), new RequestFeatures("gpt-4.1", Batch: true), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(MaxN: new FeatureLimit(1)), new RequestFeatures("gpt-4.1", N: 3), DecisionReason.Allowed, PolicyFeature.None, new Restrictions(N: 1) },
        { new FeatureRules(MaxN: new FeatureLimit(1)), new RequestFeatures("gpt-4.1"), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(MaxN: new FeatureLimit(1, LimitMode.Refuse)), new RequestFeatures("gpt-4.1", N: 2), DecisionReason.FeatureRestricted, PolicyFeature.N, default },
        { new FeatureRules(MaxN: new FeatureLimit(2, LimitMode.Refuse)), new RequestFeatures("gpt-4.1", N: 2), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(MaxTokens: new FeatureLimit(4096)), new RequestFeatures("gpt-4.1", MaxTokens: 10000), DecisionReason.Allowed, PolicyFeature.None, new Restrictions(MaxTokens: 4096) },
        { new FeatureRules(MaxTokens: new FeatureLimit(4096)), new RequestFeatures("gpt-4.1", MaxTokens: 4096), DecisionReason.Allowed, PolicyFeature.None, default },
        { new FeatureRules(MaxTokens: new FeatureLimit(4096)), new RequestFeatures("gpt-4.1"), DecisionReason.Allowed, PolicyFeature.None, new Restrictions(MaxTokens: 4096) },
        { new FeatureRules(MaxTokens: new FeatureLimit(4096, LimitMode.Refuse)), new RequestFeatures("gpt-4.1", MaxTokens: 4097), DecisionReason.FeatureRestricted, PolicyFeature.MaxTokens, default },
        { new FeatureRules(MaxTokens: new FeatureLimit(4096, LimitMode.Refuse)), new RequestFeatures("gpt-4.1"), DecisionReason.Allowed, PolicyFeature.None, new Restrictions(MaxTokens: 4096) },
    };

    [Theory]
    [MemberData(nameof(FeatureCases))]
    public void Features_AreRefusedOrRewrittenAsTheRuleSays(FeatureRules features, RequestFeatures request, DecisionReason reason, PolicyFeature feature, Restrictions restrictions)
    {
        var policy = Compile(GrantAll() with { Features = features });

        var decision = policy.Decide(Tenant(), request);

        Assert.Equal(reason, decision.Reason);
        Assert.Equal(feature, decision.Feature);
        Assert.Equal(restrictions, decision.Restrictions);
        Assert.Equal(reason == DecisionReason.FeatureRestricted ? "grant-all" : null, decision.RuleId);
    }

    // --- Effective dates ---------------------------------------------------------------------------

    [Fact]
    public void EffectiveDates_FromIsInclusiveAndUntilExclusive()
    {
        var from = new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var until = new DateTimeOffset(2025, 9, 1, 0, 0, 0, TimeSpan.Zero);
        var policy = Compile(GrantAll() with { Effective = new EffectivePeriod(from, until) });

        Assert.False(policy.Decide(Tenant(), at: from.AddTicks(-1)).Allowed);
        Assert.True(policy.Decide(Tenant(), at: from).Allowed);
        Assert.True(policy.Decide(Tenant(), at: until.AddTicks(-1)).Allowed);
        Assert.Equal(DecisionReason.ModelNotEntitled, policy.Decide(Tenant(), at: until).Reason);
    }

    [Fact]
    public void EffectiveDates_ARestrictionOutOfEffectLiftsAndOneInEffectApplies()
    {
        var change = new DateTimeOffset(2025, 10, 1, 0, 0, 0, TimeSpan.Zero);
        var policy = Compile(
            GrantAll(),
            new PolicyRule("old-regions") { Effective = new EffectivePeriod(Until: change), Regions = [new RegionAllowance("*", ["sg"])] },
            new PolicyRule("new-regions") { Effective = new EffectivePeriod(From: change), Regions = [new RegionAllowance("*", ["jp-east"])] });

        Assert.Equal(["sg"], policy.Decide(Tenant(), at: change.AddSeconds(-1)).Regions());
        Assert.Equal(["jp-east"], policy.Decide(Tenant(), at: change).Regions());
    }

    [Fact]
    public void EffectiveDates_AreComparedInUtc()
    {
        var from = new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var policy = Compile(GrantAll() with { Effective = new EffectivePeriod(from) });

        // 07:59 in Singapore is still the last day of February in UTC.
        Assert.False(policy.Decide(Tenant(), at: new DateTimeOffset(2025, 3, 1, 7, 59, 0, TimeSpan.FromHours(8))).Allowed);
        Assert.True(policy.Decide(Tenant(), at: new DateTimeOffset(2025, 3, 1, 8, 0, 0, TimeSpan.FromHours(8))).Allowed);
    }

    // --- Denied party, order of reasons, fail closed ----------------------------------------------

    [Fact]
    public void DeniedParty_AlwaysDenies()
    {
        var policy = Compile(GrantAll());

        var decision = policy.Decide(Tenant(tier: VettingTier.Strategic, deniedParty: true));

        Assert.Equal(DecisionReason.DeniedParty, decision.Reason);
        Assert.Equal("denied_party", decision.ReasonCode);
    }

    [Theory]
    [InlineData(DeniedPartyStatus.Clear, true)]
    [InlineData(DeniedPartyStatus.Pending, false)]
    [InlineData(DeniedPartyStatus.Confirmed, false)]
    [InlineData(DeniedPartyStatus.Cleared, true)]
    public void DeniedPartyStatus_PendingAndConfirmedDeny(DeniedPartyStatus status, bool allowed)
    {
        var policy = Compile(GrantAll());
        var tenant = new Tenant("acme", "Acme", "US", Now) { DeniedParty = status };

        var input = DecisionInput.For(tenant, null, new RequestFeatures("gpt-4.1"), Now);

        Assert.Equal(allowed, policy.Decide(in input).Allowed);
    }

    [Fact]
    public void Reasons_AreCheckedInTheDocumentedOrder()
    {
        var policy = Compile(GrantAll() with
        {
            DenyJurisdictions = ["CN"],
            EntityTypes = [EntityType.Enterprise],
            MinTier = VettingTier.Verified,
            Regions = [new RegionAllowance("*", ["us-east"])],
            Features = new FeatureRules(Stream: AllowRule.Deny),
        });
        var stream = new RequestFeatures("gpt-4.1-mini", Stream: true);
        var worst = Tenant("CN", tier: VettingTier.Basic, entityType: EntityType.Individual, deniedParty: true);

        Assert.Equal(DecisionReason.DeniedParty, policy.Decide(worst, stream).Reason);
        Assert.Equal(DecisionReason.ModelNotEntitled, policy.Decide(worst with { IsDeniedParty = false }, stream with { Model = "gpt-5" }).Reason);
        Assert.Equal(DecisionReason.JurisdictionDenied, policy.Decide(worst with { IsDeniedParty = false }, stream).Reason);
        Assert.Equal(DecisionReason.ModelNotEntitled, policy.Decide(worst with { IsDeniedParty = false, Country = "US" }, stream).Reason);
        Assert.Equal(DecisionReason.TierInsufficient, policy.Decide(worst with { IsDeniedParty = false, Country = "US", EntityType = EntityType.Enterprise }, stream).Reason);
        var eligible = Tenant("US");
        Assert.Equal(DecisionReason.NoCompliantRegion, policy.Decide(eligible, stream).Reason);
        Assert.Equal(DecisionReason.FeatureRestricted, policy.Decide(eligible, stream with { Model = "gpt-4.1" }).Reason);
    }

    [Fact]
    public void FailsClosed_WithPolicyError_WhenEvaluationThrows()
    {
        var policy = Compile(GrantAll());

        // A null model id makes the model lookup throw inside the engine.
        var decision = policy.Decide(Tenant(), new RequestFeatures(null!));

        Assert.False(decision.Allowed);
        Assert.Equal(DecisionReason.PolicyError, decision.Reason);
        Assert.Equal("policy_error", decision.ReasonCode);
        Assert.Empty(decision.Deployments);
    }

    [Fact]
    public void FailsClosed_WithPolicyError_ForAnUndefinedTier()
    {
        var policy = Compile(GrantAll());

        Assert.Equal(DecisionReason.PolicyError, policy.Decide(Tenant(tier: (VettingTier)42)).Reason);
    }

    [Fact]
    public void DefaultDecision_Refuses()
    {
        var decision = default(Decision);

        Assert.False(decision.Allowed);
        Assert.Equal("policy_error", decision.ReasonCode);
        Assert.Empty(decision.Deployments);
        Assert.Empty(decision.Trace);
    }

    [Fact]
    public void EmptyPolicy_RefusesEverything()
    {
        var policy = Compile();

        Assert.Equal(DecisionReason.ModelNotEntitled, policy.Decide(Tenant()).Reason);
    }

    // --- Trace -------------------------------------------------------------------------------------

    [Fact]
    public void Trace_IsEmptyUnlessAskedFor()
    {
        var policy = Compile(GrantAll());

        Assert.Empty(policy.Decide(Tenant()).Trace);
    }

    [Fact]
    public void Trace_SaysWhatEveryRuleMatchingTheModelConcluded()
    {
        var later = Now.AddYears(1);
        var policy = Compile(
            new PolicyRule("grant") { Match = new RuleMatch(Vendors: ["openai"]), AllowJurisdictions = ["*"] },
            new PolicyRule("claude-only") { Match = new RuleMatch(Models: ["claude-sonnet-4"]), MinTier = VettingTier.Strategic },
            new PolicyRule("china") { Match = new RuleMatch(Jurisdictions: ["CN"]), MinTier = VettingTier.Strategic },
            new PolicyRule("future") { Effective = new EffectivePeriod(later), DenyJurisdictions = ["US"] },
            new PolicyRule("regions") { Regions = [new RegionAllowance("US", ["us-east", "sg"]), new RegionAllowance("*", ["sg"])] },
            new PolicyRule("low") { MinTier = VettingTier.Established, Features = new FeatureRules(Logprobs: StripRule.Strip, MaxTokens: new FeatureLimit(100)) });
        var input = new DecisionInput(Tenant("US", tier: VettingTier.Verified), "key-1", new RequestFeatures("gpt-4.1", Logprobs: true), Now);

        var decision = policy.Decide(in input, trace: true);

        Assert.Equal(DecisionReason.TierInsufficient, decision.Reason);
        Assert.Equal("low", decision.RuleId);
        Assert.Equal(["grant", "china", "future", "regions", "low"], decision.Trace.Select(t => t.RuleId));
        Assert.Equal(RuleOutcome.Granted, decision.Trace[0].Outcome);
        Assert.Equal(RuleOutcome.NotSelected, decision.Trace[1].Outcome);
        Assert.Equal(RuleOutcome.NotInEffect, decision.Trace[2].Outcome);
        Assert.Equal(RuleOutcome.RegionsLimited, decision.Trace[3].Outcome);
        Assert.Equal(["sg", "us-east"], decision.Trace[3].Regions);
        Assert.Equal(RuleOutcome.TierInsufficient | RuleOutcome.RequestRewritten, decision.Trace[4].Outcome);
        Assert.Equal(4, decision.Trace[3].RuleIndex);
    }

    [Fact]
    public void ADecisionToAudit_IsRecordedWithTheTraceOfTheDecisionItsRequestGot()
    {
        var policy = Compile(
            new PolicyRule("grant") { AllowJurisdictions = ["*"] },
            new PolicyRule("regions") { Regions = [new RegionAllowance("*", ["sg"])] });
        var input = new DecisionInput(Tenant("US"), "key-1", new RequestFeatures("gpt-4.1", Stream: true), Now);

        var entry = new DecisionToAudit("dec_1", "req_1", input, policy).ToEntry();

        Assert.Equal(DecisionAudit.Entry("dec_1", "req_1", input, policy.Decide(in input, trace: true), Now, policy.Reasons(input.Request)), entry);
        Assert.Equal(Now, entry.Time);
        Assert.Equal("dec_1", entry.Subject);
        using var details = System.Text.Json.JsonDocument.Parse(entry.Details);
        Assert.Equal("allow", details.RootElement.GetProperty("outcome").GetString());
        Assert.Equal(["grant", "regions"], details.RootElement.GetProperty("trace").EnumerateArray().Select(t => t.GetProperty("rule").GetString()));
        Assert.Equal(["gpt-sg@sg"], details.RootElement.GetProperty("deployments").EnumerateArray().Select(d => d.GetString()));
    }

    // --- Allocation --------------------------------------------------------------------------------

    [Fact]
    public void Decide_AllocatesNothing_OnceWarm()
    {
        var policy = Compile(
            GrantAll() with { Regions = [new RegionAllowance("EU", ["eu-west"]), new RegionAllowance("*", ["sg", "us-east", "jp-east"])] },
            new PolicyRule("china") { Match = new RuleMatch(Jurisdictions: ["CN"]), MinTier = VettingTier.Established },
            new PolicyRule("low") { Match = new RuleMatch(Tiers: [VettingTier.Basic]), Features = new FeatureRules(MaxTokens: new FeatureLimit(100)) });
        var inputs = new[]
        {
            new DecisionInput(Tenant("US"), "k", new RequestFeatures("gpt-4.1", Stream: true), Now),
            new DecisionInput(Tenant("DE", "CN", VettingTier.Established), "k", new RequestFeatures("claude-sonnet-4"), Now),
            new DecisionInput(Tenant("SG", tier: VettingTier.Basic), "k", new RequestFeatures("deepseek-v4", MaxTokens: 5000), Now),
            new DecisionInput(Tenant("CN"), "k", new RequestFeatures("gpt-4.1"), Now),
        };
        foreach (var input in inputs)
        {
            policy.Decide(in input);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            policy.Decide(in inputs[i % inputs.Length]);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void EntitledModels_ListsWhatATenantMayUse()
    {
        var policy = Compile(GrantAll(), new PolicyRule("no-claude-cn") { Match = new RuleMatch(Vendors: ["anthropic"]), DenyJurisdictions = ["CN"] });

        var models = policy.EntitledModels(Tenant("CN"), Now).Select(m => m.Id);

        Assert.Equal(["deepseek-v4", "gpt-4.1", "gpt-4.1-mini"], models);
    }
}
