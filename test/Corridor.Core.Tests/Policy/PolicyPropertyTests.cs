using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using static Corridor.Core.Tests.Policy.PolicyFixtures;
using CatalogModel = Corridor.Core.Catalog.Catalog;

namespace Corridor.Core.Tests.Policy;

/// <summary>
/// Random policies, tenants and requests (seeded, so a failure names its seed and reproduces). The compiled
/// engine is checked against <see cref="Reference"/>, a direct reading of docs/policy.md that shares no code
/// with it, and against the property that matters most: an allowed decision never lists a deployment in a
/// region an applicable rule forbids for that tenant.
/// </summary>
public sealed class PolicyPropertyTests
{
    private static readonly string[] CountryPool =
        ["US", "CA", "GB", "DE", "FR", "IE", "NL", "NO", "CH", "CN", "HK", "MO", "SG", "JP", "KR", "IN", "BR", "RU", "IR", "AU", "ZA", "AE"];

    private static readonly string[] RegionPool = ["sg", "jp-east", "eu-west", "us-east", "cn-north"];

    private static readonly DateTimeOffset[] Dates =
    [
        new(2024, 6, 1, 0, 0, 0, TimeSpan.Zero),
        new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero),
        new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero),
        new(2025, 7, 1, 0, 0, 0, TimeSpan.Zero),
        new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void AllowedDecisions_NeverListADeploymentInARegionTheRulesForbid_AndMatchTheReference(int seed)
    {
        var random = new Random(seed);
        var policies = 0;
        var allowed = 0;
        var denied = new HashSet<DecisionReason>();
        while (policies < 100)
        {
            var config = RandomPolicy(random);
            if (PolicyValidator.Validate(config, TestCatalog).Count > 0)
            {
                continue;
            }
            policies++;
            var policy = CompiledPolicy.TryCreate(config, TestCatalog, out _)!;
            var reference = new Reference(config, TestCatalog);
            for (var i = 0; i < 150; i++)
            {
                var tenant = RandomTenant(random);
                var request = RandomRequest(random);
                var time = Dates[random.Next(Dates.Length)].AddDays(random.Next(-1, 2));
                var decision = policy.Decide(tenant, request, time);
                var expected = reference.Decide(tenant, request, time);
                var context = $"seed {seed}, policy {policies}, case {i}: {tenant} {request} at {time:u}";

                Assert.True(expected.Reason == decision.Reason, $"{context}: expected {expected.Reason}, got {decision}");
                Assert.True(expected.Deployments.SequenceEqual(decision.Ids()), $"{context}: expected [{string.Join(", ", expected.Deployments)}], got [{string.Join(", ", decision.Ids())}]");
                Assert.True(expected.Restrictions == decision.Restrictions, $"{context}: expected {expected.Restrictions}, got {decision.Restrictions}");
                if (decision.Allowed)
                {
                    allowed++;
                    Assert.NotEmpty(decision.Deployments);
                    foreach (var deployment in decision.Deployments)
                    {
                        Assert.True(reference.Permits(tenant, request.Model, time, deployment.Region), $"{context}: {deployment.Id} in {deployment.Region} is forbidden");
                    }
                }
                else
                {
                    denied.Add(decision.Reason);
                }
            }
        }

        // The generator reaches every outcome, or the property says little.
        Assert.True(allowed > 1500, $"only {allowed} allowed decisions");
        Assert.Subset(denied, new HashSet<DecisionReason>
        {
            DecisionReason.DeniedParty, DecisionReason.ModelNotEntitled, DecisionReason.JurisdictionDenied,
            DecisionReason.TierInsufficient, DecisionReason.NoCompliantRegion, DecisionReason.FeatureRestricted,
        });
    }

    [Fact]
    public void LazilyBuiltTables_DecideTheSame_UnderConcurrency()
    {
        // Forty rules each selecting a different country give too many tenant classes to fill at load.
        var rules = new List<PolicyRule> { GrantAll() };
        rules.AddRange(CountryPool.Concat(["IT", "ES", "PT", "PL", "SE", "FI", "DK", "AT", "BE", "CZ", "GR", "HU", "RO", "BG", "HR", "SK", "SI", "LT"])
            .Select((country, i) => new PolicyRule($"r{i}")
            {
                Match = new RuleMatch(Jurisdictions: [country]),
                Regions = [new RegionAllowance("*", [.. RegionPool.Where((_, r) => ((i >> r) & 1) == 0 || r == i % 5)])],
                MinTier = (VettingTier)(i % 4),
            }));
        var config = new PolicyConfig("lazy", [], rules);
        var reference = new Reference(config, TestCatalog);
        var random = new Random(7);
        var inputs = Enumerable.Range(0, 4000)
            .Select(_ => new DecisionInput(RandomTenant(random) with { IsDeniedParty = false }, null, RandomRequest(random) with { Stream = false, Logprobs = false }, Now))
            .ToArray();
        var policy = CompiledPolicy.TryCreate(config, TestCatalog, out var errors);
        Assert.True(policy is not null, string.Join("\n", errors));

        var results = new Decision[inputs.Length];
        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i => results[i] = policy.Decide(in inputs[i]));

        for (var i = 0; i < inputs.Length; i++)
        {
            var expected = reference.Decide(inputs[i].Tenant, inputs[i].Request, Now);
            Assert.Equal(expected.Reason, results[i].Reason);
            Assert.Equal(expected.Deployments, results[i].Ids());
        }
    }

    private static PolicyConfig RandomPolicy(Random random)
    {
        var groups = new List<PolicyGroup>();
        for (var g = random.Next(4); g > 0; g--)
        {
            var members = Pick(random, CountryPool, random.Next(1, 5)).ToList();
            if (random.Next(3) == 0)
            {
                members.Add(random.Next(2) == 0 ? "EU" : "EEA");
            }
            if (groups.Count > 0 && random.Next(3) == 0)
            {
                members.Add(groups[random.Next(groups.Count)].Name);
            }
            groups.Add(new PolicyGroup($"G{groups.Count}", members));
        }
        var jurisdictions = CountryPool.Concat(["EU", "EEA"]).Concat(groups.Select(g => g.Name)).ToArray();

        var rules = new List<PolicyRule>();
        for (var r = random.Next(1, 10); r > 0; r--)
        {
            var rule = new PolicyRule($"rule-{rules.Count}")
            {
                Match = new RuleMatch(
                    Vendors: Maybe(random, 4, () => Pick(random, ["openai", "anthropic", "deepseek"], random.Next(1, 3))),
                    Models: Maybe(random, 5, () => Pick(random, TestCatalog.Models.Select(m => m.Id).ToArray(), random.Next(1, 3))),
                    Families: Maybe(random, 6, () => Pick(random, ["gpt-4.1", "claude-4", "deepseek"], random.Next(1, 3))),
                    Jurisdictions: Maybe(random, 5, () => Pick(random, jurisdictions, random.Next(1, 3))),
                    Tiers: Maybe(random, 5, () => Pick(random, Enum.GetValues<VettingTier>(), random.Next(1, 4)))),
                Effective = random.Next(4) == 0
                    ? new EffectivePeriod(random.Next(2) == 0 ? Dates[random.Next(1, 3)] : null, random.Next(2) == 0 ? Dates[random.Next(3, 5)] : null)
                    : EffectivePeriod.Always,
                AllowJurisdictions = random.Next(3) != 0 ? (random.Next(2) == 0 ? ["*"] : Pick(random, jurisdictions, random.Next(2, 12))) : null,
                DenyJurisdictions = Maybe(random, 6, () => Pick(random, jurisdictions, random.Next(1, 3))),
                MinTier = random.Next(5) == 0 ? (VettingTier)random.Next(5) : null,
                EntityTypes = Maybe(random, 6, () => Pick(random, Enum.GetValues<EntityType>(), random.Next(2, 5))),
                Regions = random.Next(2) == 0 ? RandomRegions(random, jurisdictions) : null,
                Features = random.Next(4) == 0 ? RandomFeatures(random) : FeatureRules.None,
            };
            rules.Add(rule);
        }
        return new PolicyConfig("random", groups, rules);
    }

    private static List<RegionAllowance> RandomRegions(Random random, string[] jurisdictions)
    {
        var keys = Pick(random, jurisdictions, random.Next(0, 3)).ToList();
        if (random.Next(4) != 0)
        {
            keys.Add("*");
        }
        if (keys.Count == 0)
        {
            keys.Add(jurisdictions[random.Next(jurisdictions.Length)]);
        }
        return [.. keys.Distinct(StringComparer.OrdinalIgnoreCase).Select(key => new RegionAllowance(key, Pick(random, RegionPool, random.Next(key == "*" ? 2 : 0, 6))))];
    }

    private static FeatureRules RandomFeatures(Random random) => new(
        (StripRule)random.Next(3),
        (AllowRule)random.Next(2),
        random.Next(2) == 0 ? new FeatureLimit(random.Next(1, 4), (LimitMode)random.Next(2)) : null,
        random.Next(2) == 0 ? new FeatureLimit(random.Next(1, 8000), (LimitMode)random.Next(2)) : null);

    private static DecisionTenant RandomTenant(Random random) => new(
        $"t{random.Next(1000)}",
        random.Next(40) == 0 ? "XX" : CountryPool[random.Next(CountryPool.Length)],
        random.Next(2) == 0 ? null : CountryPool[random.Next(CountryPool.Length)],
        (EntityType)random.Next(5),
        (VettingTier)random.Next(5),
        random.Next(30) == 0);

    private static RequestFeatures RandomRequest(Random random) => new(
        random.Next(20) == 0 ? "unknown-model" : TestCatalog.Models[random.Next(TestCatalog.Models.Count)].Id,
        random.Next(3) == 0,
        random.Next(3) == 0,
        random.Next(2) == 0 ? null : random.Next(1, 5),
        random.Next(2) == 0 ? null : random.Next(1, 10000));

    private static T[]? Maybe<T>(Random random, int oneIn, Func<T[]> make) => random.Next(oneIn) == 0 ? make() : null;

    private static T[] Pick<T>(Random random, T[] pool, int count) => [.. pool.OrderBy(_ => random.Next()).Take(count)];

    /// <summary>docs/policy.md read literally: every rule consulted on every request, no tables.</summary>
    private sealed class Reference(PolicyConfig policy, CatalogModel catalog)
    {
        public (DecisionReason Reason, string[] Deployments, Restrictions Restrictions) Decide(DecisionTenant tenant, RequestFeatures request, DateTimeOffset time)
        {
            (DecisionReason, string[], Restrictions) Deny(DecisionReason reason) => (reason, [], default);

            if (tenant.IsDeniedParty)
            {
                return Deny(DecisionReason.DeniedParty);
            }
            if (!catalog.TryGetModel(request.Model, out var model))
            {
                return Deny(DecisionReason.ModelNotEntitled);
            }
            if (!Valid(tenant.Country) || !Valid(tenant.ControllingCountry ?? tenant.Country))
            {
                return Deny(DecisionReason.JurisdictionDenied);
            }
            var countries = Countries(tenant);
            var rules = Applicable(tenant, model, time);
            if (!rules.Any(r => r.AllowJurisdictions is not null))
            {
                return Deny(DecisionReason.ModelNotEntitled);
            }
            if (rules.Any(r => (r.AllowJurisdictions is { } allow && !countries.All(c => Expand(allow).Contains(c)))
                || (r.DenyJurisdictions is { } deny && countries.Any(c => Expand(deny).Contains(c)))))
            {
                return Deny(DecisionReason.JurisdictionDenied);
            }
            if (rules.Any(r => r.EntityTypes is { } types && !types.Contains(tenant.EntityType)))
            {
                return Deny(DecisionReason.ModelNotEntitled);
            }
            if (rules.Any(r => r.MinTier is { } min && tenant.Tier < min))
            {
                return Deny(DecisionReason.TierInsufficient);
            }
            var deployments = model.Deployments.Where(d => Permits(tenant, model.Id, time, d.Region)).Select(d => d.Id).ToArray();
            if (deployments.Length == 0)
            {
                return Deny(DecisionReason.NoCompliantRegion);
            }
            var features = rules.Select(r => r.Features).ToList();
            if (request.Stream && features.Any(f => f.Stream == AllowRule.Deny))
            {
                return Deny(DecisionReason.FeatureRestricted);
            }
            if (request.Logprobs && features.Any(f => f.Logprobs == StripRule.Deny))
            {
                return Deny(DecisionReason.FeatureRestricted);
            }
            var n = request.N ?? 1;
            if (features.Any(f => f.MaxN is { Mode: LimitMode.Refuse } limit && n > limit.Limit))
            {
                return Deny(DecisionReason.FeatureRestricted);
            }
            if (request.MaxTokens is { } asked && features.Any(f => f.MaxTokens is { Mode: LimitMode.Refuse } limit && asked > limit.Limit))
            {
                return Deny(DecisionReason.FeatureRestricted);
            }
            var nCaps = features.Where(f => f.MaxN is { Mode: LimitMode.Cap }).Select(f => f.MaxN!.Limit).ToList();
            int? newN = nCaps.Count > 0 && n > nCaps.Min() ? nCaps.Min() : null;
            var tokenLimits = features.Where(f => f.MaxTokens is not null).Select(f => f.MaxTokens!).ToList();
            var tokenCaps = tokenLimits.Where(l => l.Mode == LimitMode.Cap).Select(l => l.Limit).ToList();
            int? maxTokens = request.MaxTokens is { } given
                ? (tokenCaps.Count > 0 && given > tokenCaps.Min() ? tokenCaps.Min() : null)
                : (tokenLimits.Count > 0 ? tokenLimits.Min(l => l.Limit) : null);
            var strip = request.Logprobs && features.Any(f => f.Logprobs == StripRule.Strip);
            return (DecisionReason.Allowed, deployments, new Restrictions(maxTokens, newN, strip));
        }

        /// <summary>Every applicable rule with regions allows the region for the country and for the controlling country.</summary>
        public bool Permits(DecisionTenant tenant, string modelId, DateTimeOffset time, string region)
        {
            catalog.TryGetModel(modelId, out var model);
            return Applicable(tenant, model, time)
                .Where(r => r.Regions is not null)
                .All(r => Countries(tenant).All(c => RegionsFor(r, c).Contains(region)));
        }

        private List<PolicyRule> Applicable(DecisionTenant tenant, ModelEntry model, DateTimeOffset time) =>
            [.. policy.Rules.Where(r =>
                r.Effective.Contains(time)
                && (r.Match.Vendors is null || r.Match.Vendors.Contains(model.Config.Vendor))
                && (r.Match.Models is null || r.Match.Models.Contains(model.Id))
                && (r.Match.Families is null || (model.Config.Family is { } family && r.Match.Families.Contains(family)))
                && (r.Match.Jurisdictions is null || Countries(tenant).Any(c => Expand(r.Match.Jurisdictions).Contains(c)))
                && (r.Match.Tiers is null || r.Match.Tiers.Contains(tenant.Tier)))];

        private HashSet<string> RegionsFor(PolicyRule rule, string country)
        {
            var named = rule.Regions!.Where(a => a.Jurisdiction != "*" && Expand([a.Jurisdiction]).Contains(country)).ToList();
            var lists = named.Count > 0 ? named : [.. rule.Regions!.Where(a => a.Jurisdiction == "*")];
            if (lists.Count == 0)
            {
                return [];
            }
            var regions = lists[0].Regions.ToHashSet();
            foreach (var list in lists.Skip(1))
            {
                regions.IntersectWith(list.Regions);
            }
            return regions;
        }

        private static string[] Countries(DecisionTenant tenant) =>
            [tenant.Country.ToUpperInvariant(), (tenant.ControllingCountry ?? tenant.Country).ToUpperInvariant()];

        private static bool Valid(string country) => TenantRules.TryNormalizeCountry(country, out _);

        private HashSet<string> Expand(IEnumerable<string> jurisdictions)
        {
            var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var j in jurisdictions)
            {
                if (j == "*")
                {
                    set.UnionWith(CountryPool); // the only countries the generator gives tenants
                }
                else if (TenantRules.TryNormalizeCountry(j, out var code))
                {
                    set.Add(code);
                }
                else if (string.Equals(j, "EU", StringComparison.OrdinalIgnoreCase))
                {
                    set.UnionWith(["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"]);
                }
                else if (string.Equals(j, "EEA", StringComparison.OrdinalIgnoreCase))
                {
                    set.UnionWith(Expand(["EU", "IS", "LI", "NO"]));
                }
                else if (policy.Groups.FirstOrDefault(g => string.Equals(g.Name, j, StringComparison.OrdinalIgnoreCase)) is { } group)
                {
                    set.UnionWith(Expand(group.Members));
                }
            }
            return set;
        }
    }
}
