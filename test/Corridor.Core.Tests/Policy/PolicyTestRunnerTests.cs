using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using static Corridor.Core.Tests.Policy.PolicyFixtures;

namespace Corridor.Core.Tests.Policy;

public sealed class PolicyTestRunnerTests
{
    private static readonly CompiledPolicy Policy = Compile(
        GrantAll() with { Regions = [new RegionAllowance("EU", ["eu-west"]), new RegionAllowance("*", ["sg", "jp-east", "us-east", "eu-west"])] },
        new PolicyRule("basic") { Match = new RuleMatch(Tiers: [VettingTier.Unverified, VettingTier.Basic]), Features = new FeatureRules(MaxTokens: new FeatureLimit(100)) },
        new PolicyRule("claude") { Match = new RuleMatch(Models: ["claude-sonnet-4"]), MinTier = VettingTier.Verified });

    [Fact]
    public void Run_PassesCasesThatHold()
    {
        var file = PolicyTestFile.Parse("""
            at: 2025-07-01
            cases:
              - name: EU tenant from eu-west
                tenant: { country: DE, tier: verified }
                request: { model: gpt-4.1 }
                expect: { outcome: allow, first_region: eu-west, regions: [eu-west], deployments: [gpt-eu], restrictions: none }
              - name: basic tenant capped
                tenant: { id: acme, country: US, controlling_country: US, tier: basic, entity_type: startup, denied_party: cleared }
                request: { model: gpt-4.1, stream: true, logprobs: false, n: 1, max_tokens: 500 }
                expect: { outcome: allow, max_tokens: 100, strip_logprobs: false }
              - name: expired verification
                at: 2026-01-01T00:00:00Z
                tenant: { country: US, tier: verified, verification_expires: 2025-12-31 }
                request: { model: claude-sonnet-4 }
                expect: { outcome: deny, reason: tier_insufficient, rule: claude }
            """, "t.yaml");

        Assert.Empty(file.Errors);
        var report = PolicyTestRunner.Run(Policy, file.Cases);

        Assert.True(report.Passed, string.Join("\n", report.Failures));
        Assert.Equal(3, report.Total);
    }

    [Fact]
    public void ACase_MayTurnThinkingOff_AsARequestToAModelThatReasonsByDefault_Does()
    {
        var file = PolicyTestFile.Parse("""
            at: 2025-07-01
            cases:
              - name: thinking off
                tenant: { country: US }
                request: { model: deepseek-v4, thinking_off: true }
                expect: { outcome: allow }
              - name: thinking as the model does
                tenant: { country: US }
                request: { model: deepseek-v4 }
                expect: { outcome: allow }
            """, "t.yaml");

        Assert.Empty(file.Errors);
        Assert.True(file.Cases[0].Request.ThinkingOff);
        Assert.False(file.Cases[1].Request.ThinkingOff);
    }

    [Fact]
    public void Run_ReturnsEveryMismatch()
    {
        var file = PolicyTestFile.Parse("""
            at: 2025-07-01
            cases:
              - name: wrong outcome
                tenant: { country: US }
                request: { model: gpt-5 }
                expect: { outcome: allow }
              - name: wrong details
                tenant: { country: DE, tier: basic }
                request: { model: gpt-4.1, max_tokens: 50 }
                expect: { outcome: allow, first_region: sg, regions: [sg, eu-west], deployments: [gpt-sg], max_tokens: 100, n: 1, strip_logprobs: true }
              - name: wrong reason
                tenant: { country: US, tier: basic }
                request: { model: claude-sonnet-4 }
                expect: { outcome: deny, reason: jurisdiction_denied, rule: other, feature: stream }
            """, "t.yaml");

        var report = PolicyTestRunner.Run(Policy, file.Cases);

        Assert.False(report.Passed);
        var messages = report.Failures.Select(f => $"{f.Path}|{f.Name}|{f.Message}").ToList();
        Assert.Contains(messages, m => m.StartsWith("t.yaml:cases[0]|wrong outcome|expected allow; the decision was model_not_entitled", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.StartsWith("t.yaml:cases[1]|wrong details|expected first region sg", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("|expected regions [sg, eu-west], got [eu-west]", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("|expected deployments [gpt-sg]", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("|expected max_tokens set to 100", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("|expected n set to 1", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("|expected logprobs stripped", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("wrong reason|expected reason jurisdiction_denied; the decision was tier_insufficient by claude", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("wrong reason|expected rule other", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("wrong reason|expected feature Stream", StringComparison.Ordinal));
        Assert.Equal(10, report.Failures.Count);
        // Failures carry the rule trace for whoever reads them.
        Assert.Contains("claude: TierInsufficient", report.Failures[^1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_ChecksReasoning_RequestedAndStrippedOrRefused()
    {
        var policy = Compile(
            GrantAll(),
            new PolicyRule("strip-reasoning") { Match = new RuleMatch(Models: ["gpt-4.1"]), Features = new FeatureRules(Reasoning: StripRule.Strip) },
            new PolicyRule("no-reasoning") { Match = new RuleMatch(Models: ["claude-sonnet-4"]), Features = new FeatureRules(Reasoning: StripRule.Deny) });
        var file = PolicyTestFile.Parse("""
            at: 2025-07-01
            cases:
              - name: stripped
                tenant: { country: US, tier: verified }
                request: { model: gpt-4.1, reasoning: true }
                expect: { outcome: allow, strip_reasoning: true, strip_logprobs: false }
              - name: not asked, not stripped
                tenant: { country: US, tier: verified }
                request: { model: gpt-4.1, reasoning: false }
                expect: { outcome: allow, strip_reasoning: false, restrictions: none }
              - name: refused
                tenant: { country: US, tier: verified }
                request: { model: claude-sonnet-4, reasoning: true }
                expect: { outcome: deny, reason: feature_restricted, rule: no-reasoning, feature: reasoning }
              - name: wrongly expected kept
                tenant: { country: US, tier: verified }
                request: { model: gpt-4.1, reasoning: true }
                expect: { outcome: allow, strip_reasoning: false }
            """, "t.yaml");

        Assert.Empty(file.Errors);
        Assert.True(file.Cases[0].Request.Reasoning);
        Assert.Equal(PolicyFeature.Reasoning, file.Cases[2].Expect.Feature);
        var report = PolicyTestRunner.Run(policy, file.Cases);

        var failure = Assert.Single(report.Failures);
        Assert.Equal("wrongly expected kept", failure.Name);
        Assert.StartsWith("expected reasoning kept", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ReportsEveryMistakeInTheTestFile()
    {
        var file = PolicyTestFile.Parse("""
            cases:
              - name: no time, no tenant country
                tenant: { tier: gold }
                request: { stream: maybe }
                expect: { outcome: perhaps }
              - name: bad fields
                at: 2025-07-01
                tenant: { country: US, entity_type: charity, denied_party: unsure, colour: red }
                request: { model: gpt-4.1, n: many }
                expect: { outcome: deny, reason: nope, feature: colour, restrictions: some }
              - name: missing parts
                at: 2025-07-01
            """, "t.yaml");

        string[] expected =
        [
            "t.yaml:cases[0].at (line 2): a time is required",
            "t.yaml:cases[0].tenant.country (line 3): a country is required",
            "t.yaml:cases[0].tenant.tier (line 3): 'gold' is not a tier",
            "t.yaml:cases[0].request.model (line 4): a model is required",
            "t.yaml:cases[0].request.stream (line 4): 'maybe' is not true or false",
            "t.yaml:cases[0].expect.outcome (line 5): 'perhaps' is not allow or deny",
            "t.yaml:cases[1].tenant.colour (line 8): unknown key",
            "t.yaml:cases[1].tenant.entity_type (line 8): 'charity' is not an entity type",
            "t.yaml:cases[1].tenant.denied_party (line 8): 'unsure' is not one of",
            "t.yaml:cases[1].request.n (line 9): 'many' is not a whole number",
            "t.yaml:cases[1].expect.reason (line 10): 'nope' is not a reason code",
            "t.yaml:cases[1].expect.feature (line 10): 'colour' is not one of",
            "t.yaml:cases[1].expect.restrictions (line 10): 'some' must be none",
            "t.yaml:cases[2].tenant (line 11): is required",
            "t.yaml:cases[2].request (line 11): is required",
            "t.yaml:cases[2].expect (line 11): is required",
        ];
        foreach (var start in expected)
        {
            Assert.True(file.Errors.Any(e => e.StartsWith(start, StringComparison.Ordinal)), $"missing {start} in\n{string.Join("\n", file.Errors)}");
        }
        Assert.Equal(expected.Length, file.Errors.Count);
    }

    /// <summary>
    /// A test file YamlDotNet cannot be trusted to load as it is, as an included policy file (PolicyLoaderTests): nesting
    /// past the limit (65 levels, which it would load, so the error shows the check ran first), a second document, and
    /// aliases that expand without bound (a thousand cases expecting a thousand regions each).
    /// </summary>
    public static TheoryData<string, string> OddTestFiles()
    {
        var cases = new System.Text.StringBuilder("at: 2025-07-01\ncases:\n  - &c { tenant: { country: US }, request: { model: gpt-4.1 }, expect: { outcome: allow, regions: [");
        cases.AppendJoin(", ", Enumerable.Repeat("sg", 1000)).Append("] } }\n");
        for (var i = 0; i < 1000; i++)
        {
            cases.Append("  - *c\n");
        }
        return new()
        {
            { "at: 2025-07-01\ncases:\n  - " + new string('[', 65) + new string(']', 65) + "\n", "line 3, column 67: nested deeper than 64 levels" },
            { "at: 2025-07-01\ncases: []\n---\ncases: []\n", "line 3, column 1: a second document" },
            { cases.ToString(), "expands to more than 200000 values" },
        };
    }

    [Theory]
    [MemberData(nameof(OddTestFiles))]
    public void Parse_ATestFileOfOddYaml_IsAnErrorWithItsLine(string yaml, string error)
    {
        var file = PolicyTestFile.Parse(yaml, "t.yaml");

        Assert.Empty(file.Cases);
        Assert.Contains(file.Errors, e => e.StartsWith("t.yaml line ", StringComparison.Ordinal) && e.Contains(error, StringComparison.Ordinal));
    }
}
