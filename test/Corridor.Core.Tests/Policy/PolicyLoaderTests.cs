using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using YamlDotNet.RepresentationModel;

namespace Corridor.Core.Tests.Policy;

public sealed class PolicyLoaderTests
{
    private static Func<string, string> Files(Dictionary<string, string> files) =>
        path => files.TryGetValue(path, out var text) ? text : throw new FileNotFoundException($"no such file: {path}");

    private static readonly Func<string, string> NoFiles = Files([]);

    private static PolicyLoadResult Parse(string yaml) => PolicyLoader.Parse(yaml, "policy.yaml", "/srv", NoFiles);

    [Fact]
    public void Parse_ReadsEveryStatement()
    {
        var result = Parse("""
            version: "2025-07-01.1"
            groups:
              CHINA: [CN, HK, MO]
            rules:
              - id: openai-china
                description: China-linked tenants
                match: { vendors: [openai], families: [gpt-4.1], models: [gpt-4.1], jurisdictions: [CHINA], tiers: [basic, verified] }
                effective: { from: 2025-03-01, until: "2026-01-01T08:00:00+08:00" }
                allow_jurisdictions: ["*"]
                deny_jurisdictions: [KP, EMBARGOED]
                min_tier: established
                entity_types: [enterprise, startup]
                regions:
                  CN: [sg, jp-east]
                  "*": sg
                features:
                  logprobs: strip
                  stream: deny
                  max_n: { limit: 1, mode: refuse }
                  max_tokens: 4096
            """);

        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        var policy = result.Config!;
        Assert.Equal("2025-07-01.1", policy.Version);
        var group = Assert.Single(policy.Groups);
        Assert.Equal("CHINA", group.Name);
        Assert.Equal(["CN", "HK", "MO"], group.Members);
        var rule = Assert.Single(policy.Rules);
        Assert.Equal("openai-china", rule.Id);
        Assert.Equal("policy.yaml:rules[0]", rule.Path);
        Assert.Equal("China-linked tenants", rule.Description);
        Assert.Equal(["openai"], rule.Match.Vendors);
        Assert.Equal(["gpt-4.1"], rule.Match.Families);
        Assert.Equal(["gpt-4.1"], rule.Match.Models);
        Assert.Equal(["CHINA"], rule.Match.Jurisdictions);
        Assert.Equal([VettingTier.Basic, VettingTier.Verified], rule.Match.Tiers);
        Assert.Equal(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero), rule.Effective.From);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), rule.Effective.Until);
        Assert.Equal(["*"], rule.AllowJurisdictions);
        Assert.Equal(["KP", "EMBARGOED"], rule.DenyJurisdictions);
        Assert.Equal(VettingTier.Established, rule.MinTier);
        Assert.Equal([EntityType.Enterprise, EntityType.Startup], rule.EntityTypes);
        Assert.Equal(2, rule.Regions!.Count);
        Assert.Equal("CN", rule.Regions[0].Jurisdiction);
        Assert.Equal(["sg", "jp-east"], rule.Regions[0].Regions);
        Assert.Equal("*", rule.Regions[1].Jurisdiction);
        Assert.Equal(["sg"], rule.Regions[1].Regions);
        Assert.Equal("policy.yaml:rules[0].regions.CN", rule.Regions[0].Path);
        Assert.Equal(new FeatureRules(StripRule.Strip, AllowRule.Deny, new FeatureLimit(1, LimitMode.Refuse), new FeatureLimit(4096, LimitMode.Cap)), rule.Features);
    }

    [Fact]
    public void Parse_ReadsBatchAsAllowOrDeny_AndNothingElse()
    {
        var result = Parse("""
            version: v1
            rules:
              - id: deny
                features: { batch: deny }
              - id: allow
                features: { batch: allow }
              - id: wrong
                features: { batch: strip }
            """);

        Assert.Equal(new FeatureRules(Batch: AllowRule.Deny), result.Config!.Rules[0].Features);
        Assert.True(result.Config.Rules[0].Features.RestrictsAnything);
        Assert.False(result.Config.Rules[1].Features.RestrictsAnything);
        Assert.Contains("batch", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ReadsReasoningAsAllowStripOrDeny_AndNothingElse()
    {
        var result = Parse("""
            version: v1
            rules:
              - id: strip
                features: { reasoning: strip }
              - id: deny
                features: { reasoning: deny, logprobs: strip }
              - id: allow
                features: { reasoning: allow }
              - id: wrong
                features: { reasoning: hidden }
            """);

        Assert.Equal(new FeatureRules(Reasoning: StripRule.Strip), result.Config!.Rules[0].Features);
        Assert.Equal(new FeatureRules(Logprobs: StripRule.Strip, Reasoning: StripRule.Deny), result.Config.Rules[1].Features);
        Assert.False(result.Config.Rules[2].Features.RestrictsAnything);
        Assert.True(result.Config.Rules[0].Features.RestrictsAnything);
        var error = Assert.Single(result.Errors);
        Assert.StartsWith("policy.yaml:rules[3].features.reasoning (line 10): 'hidden' is not one of allow, strip, deny", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DefaultsMatchEverythingAlwaysWithNoFeatureLimits()
    {
        var result = Parse("""
            version: v1
            rules:
              - id: all
                allow_jurisdictions: ["*"]
            """);

        var rule = Assert.Single(result.Config!.Rules);
        Assert.Same(RuleMatch.All, rule.Match);
        Assert.Same(EffectivePeriod.Always, rule.Effective);
        Assert.Same(FeatureRules.None, rule.Features);
        Assert.Null(rule.Regions);
        Assert.Null(rule.MinTier);
    }

    [Fact]
    public void Parse_ReportsEveryShapeErrorAtOnce_WithPathAndLine()
    {
        var result = Parse("""
            version: v1
            colour: blue
            rules:
              - id: a
                min_teir: basic
                min_tier: gold
                entity_types: [enterprise, charity]
                effective: { from: 2025-13-01, until: yesterday }
                features:
                  logprobs: maybe
                  stream: never
                  max_n: { limit: one, mode: clamp }
                  max_tokens: -5
                regions: [sg]
                match: { tiers: [platinum] }
              - just a string
            """);

        Assert.False(result.Succeeded);
        var errors = result.Errors;
        Assert.Contains(errors, e => e.StartsWith("policy.yaml:colour (line 2): unknown key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("policy.yaml:rules[0].min_teir (line 5): unknown key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("min_tier (line 6): 'gold' is not a tier", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("entity_types[1] (line 7): 'charity' is not an entity type", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("effective.from (line 8): '2025-13-01' is not a date", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("effective.until (line 8): 'yesterday' is not a date", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("features.logprobs (line 10): 'maybe' is not one of allow, strip, deny", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("features.stream (line 11): 'never' is not one of allow, deny", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("features.max_n.limit (line 12): 'one' is not a whole number", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("features.max_n.mode (line 12): 'clamp' is not one of cap, refuse", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("features.max_tokens (line 13): '-5' is not a whole number", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("rules[0].regions (line 14): must be a mapping", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("match.tiers[0] (line 15): 'platinum' is not a tier", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("rules[1] (line 16): a rule must be a mapping", StringComparison.Ordinal));
        Assert.Equal(14, errors.Count);
        // What could be read is still returned, so the validator can add its own errors.
        Assert.NotNull(result.Config);
    }

    [Fact]
    public void Parse_BrokenYaml_SaysWhere()
    {
        var result = Parse("rules: [ {id: x");

        Assert.Null(result.Config);
        Assert.StartsWith("policy.yaml line ", Assert.Single(result.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateKeys_AreAnError()
    {
        var result = Parse("""
            version: v1
            version: v2
            """);

        Assert.False(result.Succeeded);
        Assert.Single(result.Errors);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[1, 2]")]
    [InlineData("just words")]
    public void Parse_RejectsAPolicyThatIsNotAMapping(string yaml)
    {
        var result = Parse(yaml);

        Assert.Null(result.Config);
        Assert.Single(result.Errors);
    }

    [Fact]
    public void Parse_AcceptsTheBuiltInNameForms()
    {
        var result = Parse("""
            version: v1
            rules:
              - id: a
                allow_jurisdictions: "*"
                entity_types: government
            """);

        var rule = Assert.Single(result.Config!.Rules);
        Assert.Equal(["*"], rule.AllowJurisdictions);
        Assert.Equal([EntityType.Government], rule.EntityTypes);
    }

    [Theory]
    [InlineData("Basic")]
    [InlineData("1")]
    [InlineData("basic,verified")]
    public void Parse_TakesOnlyTheDocumentedTierNames(string tier)
    {
        var result = Parse($"""
            version: v1
            rules:
              - id: a
                min_tier: "{tier}"
            """);

        Assert.Contains(result.Errors, e => e.Contains("is not a tier", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_ReadsTheSectionNode_AndIncludesFilesRelativeToTheBaseDirectory()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader("""
            server: { urls: "http://127.0.0.1:8080" }
            policy:
              include: [policy/base.yaml, policy/vendors.yaml]
              rules:
                - id: inline
                  deny_jurisdictions: [KP]
            """));
        var section = ((YamlMappingNode)stream.Documents[0].RootNode).Children[new YamlScalarNode("policy")];
        var files = Files(new()
        {
            [Path.GetFullPath("/srv/corridor/policy/base.yaml")] = """
                version: "7"
                groups: { CHINA: [CN, HK, MO] }
                """,
            [Path.GetFullPath("/srv/corridor/policy/vendors.yaml")] = """
                rules:
                  - id: openai
                    match: { vendors: [openai] }
                    allow_jurisdictions: ["*"]
                """,
        });

        var result = PolicyLoader.Load(section, "/srv/corridor", files);

        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Equal("7", result.Config!.Version);
        Assert.Equal("CHINA", Assert.Single(result.Config.Groups).Name);
        Assert.Equal(["inline", "openai"], result.Config.Rules.Select(r => r.Id));
        Assert.Equal(["policy.rules[0]", "policy/vendors.yaml:rules[0]"], result.Config.Rules.Select(r => r.Path));
    }

    [Fact]
    public void Load_ReportsIncludeProblems()
    {
        var files = Files(new()
        {
            [Path.GetFullPath("/srv/a.yaml")] = "version: two",
            [Path.GetFullPath("/srv/b.yaml")] = "include: [c.yaml]",
            [Path.GetFullPath("/srv/c.yaml")] = "rules: [",
        });

        var result = PolicyLoader.Parse("""
            version: one
            include: [a.yaml, b.yaml, c.yaml, missing.yaml]
            """, "corridor.yaml", "/srv", files);

        Assert.Contains(result.Errors, e => e.StartsWith("a.yaml:version: the version is already set in corridor.yaml:", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("b.yaml:include (line 1): an included file cannot include others", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("c.yaml line ", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.StartsWith("corridor.yaml:include[3]: cannot read", StringComparison.Ordinal));
        Assert.Equal(4, result.Errors.Count);
    }

    /// <summary>
    /// An included file YamlDotNet cannot be trusted to load as it is: nesting that would overflow the stack of its
    /// recursive loader (a stack overflow no catch survives: it killed the process; 65 levels here, which it
    /// would load, so the error shows the check ran first; 100,000 in <c>PolicyCommandTests</c>, in a process of its own),
    /// a second document (it was ignored without a word), and aliases that expand without bound (it shares an aliased
    /// node, but the reader reads it once per alias: a thousand rules of a thousand models each here, billions at will),
    /// and so more than 200,000 values without an alias.
    /// </summary>
    public static TheoryData<string, string> OddIncludes()
    {
        var rules = new System.Text.StringBuilder("rules:\n  - &r { id: r, match: { models: [");
        rules.AppendJoin(", ", Enumerable.Repeat("gpt-4.1", 1000)).Append("] } }\n");
        rules.Insert(0, "version: v1\n");
        for (var i = 0; i < 1000; i++)
        {
            rules.Append("  - *r\n");
        }
        return new()
        {
            { "version: v1\nrules:\n  - " + new string('[', 65) + new string(']', 65) + "\n", "line 3, column 67: nested deeper than 64 levels" },
            { "version: v1\nrules: []\n---\nrules: [{ id: second }]\n", "line 3, column 1: a second document" },
            { rules.ToString(), "expands to more than 200000 values" },
            { "rules:\n  - { id: r, match: { models: [" + string.Join(", ", Enumerable.Repeat("gpt-4.1", 200_000)) + "] } }\n", "holds more than 200000 values" },
        };
    }

    [Theory]
    [MemberData(nameof(OddIncludes))]
    public void Load_AnIncludedFileOfOddYaml_IsAnErrorWithItsLine(string yaml, string error)
    {
        var files = Files(new() { [Path.GetFullPath("/srv/odd.yaml")] = yaml });

        var result = PolicyLoader.Parse("include: [odd.yaml]", "corridor.yaml", "/srv", files);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Errors, e => e.StartsWith("odd.yaml line ", StringComparison.Ordinal) && e.Contains(error, StringComparison.Ordinal));
    }
}
