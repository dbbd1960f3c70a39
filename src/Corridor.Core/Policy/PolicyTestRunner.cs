using Corridor.Core.Tenants;
using Corridor.Core.Yaml;
using YamlDotNet.RepresentationModel;

namespace Corridor.Core.Policy;

/// <summary>What a policy test case expects; every field left null is not checked.</summary>
public sealed record PolicyExpectation(bool Allow)
{
    public DecisionReason? Reason { get; init; }

    /// <summary>The rule responsible for a refusal.</summary>
    public string? Rule { get; init; }

    public PolicyFeature? Feature { get; init; }

    /// <summary>The region of the first compliant deployment.</summary>
    public string? FirstRegion { get; init; }

    /// <summary>The regions of the compliant deployments, as a set.</summary>
    public IReadOnlyList<string>? Regions { get; init; }

    /// <summary>The compliant deployments' ids, in order.</summary>
    public IReadOnlyList<string>? Deployments { get; init; }

    /// <summary>True: the request is forwarded unchanged.</summary>
    public bool? NoRestrictions { get; init; }

    public int? MaxTokens { get; init; }

    public int? N { get; init; }

    public bool? StripLogprobs { get; init; }

    public bool? StripReasoning { get; init; }
}

/// <summary>One policy test: a tenant asks for a request at a time, and the decision is expected to be so.</summary>
public sealed record PolicyTestCase(string Name, Tenant Tenant, RequestFeatures Request, DateTimeOffset At, PolicyExpectation Expect)
{
    public string Path { get; init; } = "";
}

public sealed record PolicyTestFileResult(IReadOnlyList<PolicyTestCase> Cases, IReadOnlyList<string> Errors);

public sealed record PolicyTestFailure(string Path, string Name, string Message)
{
    public override string ToString() => $"{Path} ({Name}): {Message}";
}

public sealed record PolicyTestReport(int Total, IReadOnlyList<PolicyTestFailure> Failures)
{
    public bool Passed => Failures.Count == 0;
}

/// <summary>
/// Reads a policy test file (docs/policy.md, "Testing a policy"): an optional default <c>at</c> and a list of
/// <c>cases</c>, each a tenant, a request, a time and the expected decision. Reports every mistake at once.
/// </summary>
public static class PolicyTestFile
{
    private static readonly string[] FileKeys = ["at", "cases"];
    private static readonly string[] CaseKeys = ["name", "at", "tenant", "request", "expect"];
    private static readonly string[] TenantKeys = ["id", "country", "controlling_country", "entity_type", "tier", "verification_expires", "denied_party"];
    private static readonly string[] RequestKeys = ["model", "stream", "logprobs", "reasoning", "thinking_off", "batch", "n", "max_tokens"];
    private static readonly string[] ExpectKeys =
        ["outcome", "reason", "rule", "feature", "first_region", "regions", "deployments", "restrictions", "max_tokens", "n", "strip_logprobs", "strip_reasoning"];

    public static PolicyTestFileResult Parse(string yaml, string source)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var errors = new List<string>();
        var loaded = YamlText.Load(yaml, "a policy test file");
        if (loaded.Error is { } error)
        {
            return new PolicyTestFileResult([], [error.In(source)]);
        }
        if (loaded.Root is not { } root)
        {
            return new PolicyTestFileResult([], [$"{source}: the file is empty"]);
        }
        var reader = new CaseReader(errors);
        var cases = reader.ReadFile(root, $"{source}:");
        return new PolicyTestFileResult(cases, errors);
    }

    private sealed class CaseReader(List<string> errors) : YamlFieldReader(errors)
    {
        public List<PolicyTestCase> ReadFile(YamlNode root, string path)
        {
            var cases = new List<PolicyTestCase>();
            if (root is not YamlMappingNode mapping)
            {
                Error(root, path, "must be a mapping with cases (and optionally a default at)");
                return cases;
            }
            CheckKeys(mapping, path, FileKeys);
            var at = Date(mapping, path, "at");
            if (Child(mapping, "cases") is not YamlSequenceNode list)
            {
                Error(mapping, Join(path, "cases"), "a list of cases is required");
                return cases;
            }
            for (var i = 0; i < list.Children.Count; i++)
            {
                if (ReadCase(list.Children[i], $"{Join(path, "cases")}[{i}]", at) is { } testCase)
                {
                    cases.Add(testCase);
                }
            }
            return cases;
        }

        private PolicyTestCase? ReadCase(YamlNode node, string path, DateTimeOffset? defaultAt)
        {
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "a case must be a mapping");
                return null;
            }
            CheckKeys(mapping, path, CaseKeys);
            var name = Scalar(mapping, path, "name") ?? path;
            var at = Date(mapping, path, "at") ?? defaultAt;
            if (at is null)
            {
                Error(mapping, Join(path, "at"), "a time is required, here or as the file's default at");
            }
            var tenant = Child(mapping, "tenant") is { } tenantNode ? ReadTenant(tenantNode, Join(path, "tenant"), at ?? default) : Missing<Tenant>(mapping, path, "tenant");
            var request = Child(mapping, "request") is { } requestNode ? ReadRequest(requestNode, Join(path, "request")) : Missing<RequestFeatures?>(mapping, path, "request");
            var expect = Child(mapping, "expect") is { } expectNode ? ReadExpectation(expectNode, Join(path, "expect")) : Missing<PolicyExpectation>(mapping, path, "expect");
            if (tenant is null || request is null || expect is null || at is null)
            {
                return null;
            }
            return new PolicyTestCase(name, tenant, request.Value, at.Value, expect) { Path = path };
        }

        private Tenant? ReadTenant(YamlNode node, string path, DateTimeOffset at)
        {
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "must be a mapping");
                return null;
            }
            CheckKeys(mapping, path, TenantKeys);
            var country = Scalar(mapping, path, "country");
            if (country is null)
            {
                Error(mapping, Join(path, "country"), "a country is required");
            }
            var tenant = new Tenant(Scalar(mapping, path, "id") ?? "test", "policy test", country ?? "", at)
            {
                ControllingCountry = Scalar(mapping, path, "controlling_country"),
                VerificationExpiresAt = Date(mapping, path, "verification_expires"),
            };
            if (Scalar(mapping, path, "entity_type") is { } entityType)
            {
                if (PolicyLoader.TryParseEntityType(entityType, out var type))
                {
                    tenant = tenant with { EntityType = type };
                }
                else
                {
                    Error(mapping, Join(path, "entity_type"), $"'{entityType}' is not an entity type (enterprise, startup, individual, research, government)");
                }
            }
            if (Scalar(mapping, path, "tier") is { } tierText)
            {
                if (PolicyLoader.TryParseTier(tierText, out var tier))
                {
                    tenant = tenant with { Tier = tier };
                }
                else
                {
                    Error(mapping, Join(path, "tier"), $"'{tierText}' is not a tier (unverified, basic, verified, established, strategic)");
                }
            }
            if (Scalar(mapping, path, "denied_party") is { } status)
            {
                tenant = tenant with
                {
                    DeniedParty = status switch
                    {
                        "clear" => DeniedPartyStatus.Clear,
                        "pending" => DeniedPartyStatus.Pending,
                        "confirmed" => DeniedPartyStatus.Confirmed,
                        "cleared" => DeniedPartyStatus.Cleared,
                        _ => Invalid(mapping, Join(path, "denied_party"), status, "is not one of clear, pending, confirmed, cleared", DeniedPartyStatus.Clear),
                    },
                };
            }
            return country is null ? null : tenant;
        }

        private RequestFeatures? ReadRequest(YamlNode node, string path)
        {
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "must be a mapping");
                return null;
            }
            CheckKeys(mapping, path, RequestKeys);
            var model = Scalar(mapping, path, "model");
            if (model is null)
            {
                Error(mapping, Join(path, "model"), "a model is required");
            }
            var request = new RequestFeatures(
                model ?? "",
                Bool(mapping, path, "stream") ?? false,
                Bool(mapping, path, "logprobs") ?? false,
                Child(mapping, "n") is { } n ? Integer(n, Join(path, "n")) : null,
                Child(mapping, "max_tokens") is { } maxTokens ? Integer(maxTokens, Join(path, "max_tokens")) : null,
                Bool(mapping, path, "reasoning") ?? false,
                Bool(mapping, path, "batch") ?? false,
                Bool(mapping, path, "thinking_off") ?? false);
            return model is null ? null : request;
        }

        private PolicyExpectation? ReadExpectation(YamlNode node, string path)
        {
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "must be a mapping");
                return null;
            }
            CheckKeys(mapping, path, ExpectKeys);
            bool allow;
            switch (Scalar(mapping, path, "outcome"))
            {
                case "allow": allow = true; break;
                case "deny": allow = false; break;
                case var other:
                    Error(mapping, Join(path, "outcome"), other is null ? "an outcome (allow or deny) is required" : $"'{other}' is not allow or deny");
                    return null;
            }
            var expectation = new PolicyExpectation(allow)
            {
                Rule = Scalar(mapping, path, "rule"),
                FirstRegion = Scalar(mapping, path, "first_region"),
                Regions = Child(mapping, "regions") is { } regions ? StringList(regions, Join(path, "regions")) : null,
                Deployments = Child(mapping, "deployments") is { } deployments ? StringList(deployments, Join(path, "deployments")) : null,
                MaxTokens = Child(mapping, "max_tokens") is { } maxTokens ? Integer(maxTokens, Join(path, "max_tokens")) : null,
                N = Child(mapping, "n") is { } n ? Integer(n, Join(path, "n")) : null,
                StripLogprobs = Bool(mapping, path, "strip_logprobs"),
                StripReasoning = Bool(mapping, path, "strip_reasoning"),
            };
            if (Scalar(mapping, path, "reason") is { } reasonText)
            {
                if (DecisionReasons.TryParse(reasonText, out var reason))
                {
                    expectation = expectation with { Reason = reason };
                }
                else
                {
                    Error(mapping, Join(path, "reason"), $"'{reasonText}' is not a reason code ({string.Join(", ", Enum.GetValues<DecisionReason>().Select(DecisionReasons.WireName))})");
                }
            }
            if (Scalar(mapping, path, "feature") is { } featureText)
            {
                expectation = expectation with
                {
                    Feature = featureText switch
                    {
                        "stream" => PolicyFeature.Stream,
                        "logprobs" => PolicyFeature.Logprobs,
                        "reasoning" => PolicyFeature.Reasoning,
                        "n" => PolicyFeature.N,
                        "max_tokens" => PolicyFeature.MaxTokens,
                        "batch" => PolicyFeature.Batch,
                        _ => Invalid<PolicyFeature?>(mapping, Join(path, "feature"), featureText, "is not one of stream, logprobs, reasoning, batch, n, max_tokens", null),
                    },
                };
            }
            if (Scalar(mapping, path, "restrictions") is { } restrictions)
            {
                if (restrictions == "none")
                {
                    expectation = expectation with { NoRestrictions = true };
                }
                else
                {
                    Error(mapping, Join(path, "restrictions"), $"'{restrictions}' must be none (check single restrictions with max_tokens, n, strip_logprobs, strip_reasoning)");
                }
            }
            return expectation;
        }

        private T? Missing<T>(YamlMappingNode mapping, string path, string key)
        {
            Error(mapping, Join(path, key), "is required");
            return default;
        }
    }
}

/// <summary>Runs policy test cases against a compiled policy and returns every mismatch.</summary>
public static class PolicyTestRunner
{
    public static PolicyTestReport Run(CompiledPolicy policy, IReadOnlyList<PolicyTestCase> cases)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(cases);
        var failures = new List<PolicyTestFailure>();
        foreach (var testCase in cases)
        {
            var input = DecisionInput.For(testCase.Tenant, null, testCase.Request, testCase.At);
            var decision = policy.Decide(in input, trace: true);
            foreach (var problem in Compare(testCase.Expect, decision))
            {
                failures.Add(new PolicyTestFailure(testCase.Path, testCase.Name, $"{problem}; the decision was {decision}{TraceText(decision)}"));
            }
        }
        return new PolicyTestReport(cases.Count, failures);
    }

    private static IEnumerable<string> Compare(PolicyExpectation expect, Decision decision)
    {
        if (expect.Allow != decision.Allowed)
        {
            yield return $"expected {(expect.Allow ? "allow" : "deny")}";
            yield break;
        }
        if (expect.Reason is { } reason && reason != decision.Reason)
        {
            yield return $"expected reason {DecisionReasons.WireName(reason)}";
        }
        if (expect.Rule is { } rule && !string.Equals(rule, decision.RuleId, StringComparison.Ordinal))
        {
            yield return $"expected rule {rule}";
        }
        if (expect.Feature is { } feature && feature != decision.Feature)
        {
            yield return $"expected feature {feature}";
        }
        var regions = decision.Deployments.Select(d => d.Region).ToList();
        if (expect.FirstRegion is { } first && (regions.Count == 0 || regions[0] != first))
        {
            yield return $"expected first region {first}";
        }
        if (expect.Regions is { } expected && !expected.ToHashSet(StringComparer.Ordinal).SetEquals(regions))
        {
            yield return $"expected regions [{string.Join(", ", expected)}], got [{string.Join(", ", regions.Distinct())}]";
        }
        if (expect.Deployments is { } deployments && !deployments.SequenceEqual(decision.Deployments.Select(d => d.Id), StringComparer.Ordinal))
        {
            yield return $"expected deployments [{string.Join(", ", deployments)}]";
        }
        var restrictions = decision.Restrictions;
        if (expect.NoRestrictions == true && !restrictions.IsNone)
        {
            yield return "expected no restrictions";
        }
        if (expect.MaxTokens is { } maxTokens && restrictions.MaxTokens != maxTokens)
        {
            yield return $"expected max_tokens set to {maxTokens}";
        }
        if (expect.N is { } n && restrictions.N != n)
        {
            yield return $"expected n set to {n}";
        }
        if (expect.StripLogprobs is { } strip && restrictions.StripLogprobs != strip)
        {
            yield return strip ? "expected logprobs stripped" : "expected logprobs kept";
        }
        if (expect.StripReasoning is { } stripReasoning && restrictions.StripReasoning != stripReasoning)
        {
            yield return stripReasoning ? "expected reasoning stripped" : "expected reasoning kept";
        }
    }

    private static string TraceText(Decision decision) =>
        decision.Trace.Count == 0 ? "" : $" [{string.Join("; ", decision.Trace.Select(t => $"{t.RuleId}: {t.Outcome}"))}]";
}
