using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using static Corridor.Core.Tests.Policy.PolicyFixtures;
using CatalogModel = Corridor.Core.Catalog.Catalog;

namespace Corridor.Core.Tests.Policy;

public sealed class PolicyValidatorTests
{
    private static PolicyConfig Valid() => new(
        "v1",
        [new PolicyGroup("CHINA", ["CN", "HK", "MO"]) { Path = "policy.groups.CHINA" }],
        [
            new PolicyRule("openai") { Path = "policy.rules[0]", Match = new RuleMatch(Vendors: ["openai"]), AllowJurisdictions = ["*"], DenyJurisdictions = ["CHINA"] },
            new PolicyRule("eu") { Path = "policy.rules[1]", Regions = [new RegionAllowance("EU", ["eu-west"]), new RegionAllowance("*", ["sg", "us-east"])] },
        ]);

    [Fact]
    public void ValidPolicy_HasNoErrors()
    {
        Assert.Empty(PolicyValidator.Validate(Valid(), TestCatalog));
    }

    [Fact]
    public void EveryError_IsReportedAtOnce_WithItsPath()
    {
        var policy = new PolicyConfig(
            " ",
            [
                new PolicyGroup("CHINA", ["CN", "XX"]) { Path = "policy.groups.CHINA" },
                new PolicyGroup("china", ["HK"]) { Path = "policy.groups.china" },
                new PolicyGroup("DE", ["DE"]) { Path = "policy.groups.DE" },
                new PolicyGroup("EU", ["FR"]) { Path = "policy.groups.EU" },
                new PolicyGroup("bad name", ["FR"]) { Path = "policy.groups.bad name" },
                new PolicyGroup("EMPTY", []) { Path = "policy.groups.EMPTY" },
                new PolicyGroup("ALL", ["*"]) { Path = "policy.groups.ALL" },
            ],
            [
                new PolicyRule("Bad Id") { Path = "policy.rules[0]", AllowJurisdictions = ["*"] },
                new PolicyRule("dup") { Path = "policy.rules[1]", AllowJurisdictions = ["*"] },
                new PolicyRule("dup") { Path = "policy.rules[2]", AllowJurisdictions = ["*"] },
                new PolicyRule("names")
                {
                    Path = "policy.rules[3]",
                    Match = new RuleMatch(Vendors: ["openai", "mistral"], Models: ["gpt-4.1", "gpt-5"], Families: ["llama"], Jurisdictions: ["NOWHERE"]),
                    AllowJurisdictions = ["US", "ZZ"],
                    DenyJurisdictions = [],
                },
                new PolicyRule("regions")
                {
                    Path = "policy.rules[4]",
                    Regions = [new RegionAllowance("EU", ["eu-west", "eu-central"]), new RegionAllowance("MARS", ["sg"]), new RegionAllowance("eu", ["eu-west"])],
                },
                new PolicyRule("limits")
                {
                    Path = "policy.rules[5]",
                    Effective = new EffectivePeriod(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero)),
                    EntityTypes = [],
                    Features = new FeatureRules(MaxN: new FeatureLimit(0), MaxTokens: new FeatureLimit(0, LimitMode.Refuse)),
                },
                new PolicyRule("nothing") { Path = "policy.rules[6]", Match = new RuleMatch(Models: ["gpt-4.1"], Families: ["claude-4"], Tiers: []) },
                new PolicyRule("via") { Path = "policy.rules[7]", Match = new RuleMatch(Vendors: ["azure"]), Regions = [] },
            ]);

        var errors = PolicyValidator.Validate(policy, TestCatalog);

        string[] expected =
        [
            "policy.version: a version is required",
            "policy.groups.CHINA[1]: 'XX' is neither an assigned ISO 3166-1 country code nor a group",
            "policy.groups.china: duplicate group 'china'",
            "policy.groups.DE: group name 'DE' is a country code",
            "policy.groups.EU: group 'EU' is built in and cannot be redefined",
            "policy.groups.bad name: group name 'bad name' must be letters",
            "policy.groups.EMPTY: the group has no members",
            "policy.groups.ALL[0]: a group cannot contain '*'",
            "policy.rules[0]: id 'Bad Id' is required and must be a lowercase slug",
            "policy.rules[2] (dup): duplicate rule id 'dup'",
            "policy.rules[3] (names): match.vendors[1]: unknown vendor 'mistral'",
            "policy.rules[3] (names): match.models[1]: unknown model 'gpt-5'",
            "policy.rules[3] (names): match.families[0]: unknown model family 'llama'",
            "policy.rules[3] (names): match.jurisdictions[0]: unknown group 'NOWHERE'",
            "policy.rules[3] (names): match selects no model in the catalog",
            "policy.rules[3] (names): allow_jurisdictions[1]: 'ZZ' is neither an assigned ISO 3166-1 country code nor a group",
            "policy.rules[3] (names): deny_jurisdictions lists nothing",
            "policy.rules[4] (regions): regions.EU[1]: unknown region 'eu-central'",
            "policy.rules[4] (regions): regions.MARS: unknown group 'MARS'",
            "policy.rules[4] (regions): regions.eu: jurisdiction 'eu' is mapped twice",
            "policy.rules[5] (limits): effective.until",
            "policy.rules[5] (limits): entity_types lists nothing",
            "policy.rules[5] (limits): features.max_n must be at least 1",
            "policy.rules[5] (limits): features.max_tokens must be at least 1",
            "policy.rules[6] (nothing): match.tiers lists nothing",
            "policy.rules[6] (nothing): match selects no model in the catalog",
            "policy.rules[6] (nothing): the rule states nothing",
            "policy.rules[7] (via): match.vendors[0]: vendor 'azure' makes no model in the catalog",
            "policy.rules[7] (via): regions maps no jurisdiction",
        ];
        foreach (var start in expected)
        {
            Assert.True(errors.Any(e => e.StartsWith(start, StringComparison.Ordinal)), $"missing {start} in\n{string.Join("\n", errors)}");
        }
        Assert.Equal(expected.Length + 1, errors.Count); // rules[7] also matches no model
    }

    [Fact]
    public void GroupCycles_AreRejected()
    {
        var policy = Valid() with
        {
            Groups = [.. Valid().Groups, new PolicyGroup("A", ["B", "FR"]), new PolicyGroup("B", ["C"]), new PolicyGroup("C", ["A"])],
        };

        var error = Assert.Single(PolicyValidator.Validate(policy, TestCatalog));

        Assert.Contains("cycle (A -> B -> C -> A)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCreate_ReportsLoaderAndValidatorErrorsTogether()
    {
        var loaded = PolicyLoader.Parse("""
            version: v1
            rules:
              - id: a
                min_tier: gold
                allow_jurisdictions: [ATLANTIS]
            """, "p.yaml", null, _ => "");

        var policy = CompiledPolicy.TryCreate(loaded, TestCatalog, out var errors);

        Assert.Null(policy);
        Assert.Contains(errors, e => e.Contains("'gold' is not a tier", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("unknown group 'ATLANTIS'", StringComparison.Ordinal));
    }

    [Fact]
    public void ACatalogWithMoreThan64Regions_IsRejected()
    {
        var deployments = Enumerable.Range(0, 65).Select(i => new DeploymentConfig($"d{i}", "m", $"rg-{i}", 1m, 1m)).ToList();
        var catalog = CatalogModel.TryCreate(
            new CatalogConfig([new VendorConfig("v", VendorKind.OpenAI, "https://v")], [new ModelConfig("m", "v", ModelCapabilities.Chat, 1000)], deployments),
            out _)!;

        var errors = PolicyValidator.Validate(new PolicyConfig("v1", [], [new PolicyRule("a") { AllowJurisdictions = ["*"] }]), catalog);

        Assert.Contains(errors, e => e.Contains("at most 64", StringComparison.Ordinal));
    }

    [Fact]
    public void MinTierAlone_IsAStatement()
    {
        var policy = Valid() with { Rules = [.. Valid().Rules, new PolicyRule("tier") { MinTier = VettingTier.Basic }] };

        Assert.Empty(PolicyValidator.Validate(policy, TestCatalog));
    }
}
