using Corridor.Core.Tenants;

namespace Corridor.Core.Policy;

/// <summary>
/// The policy as written: a version, named groups of countries and rules. Names (models, regions, groups,
/// countries) are kept as written; <see cref="PolicyValidator"/> checks them against the catalog.
/// docs/policy.md states the semantics.
/// </summary>
public sealed record PolicyConfig(string Version, IReadOnlyList<PolicyGroup> Groups, IReadOnlyList<PolicyRule> Rules);

/// <summary>A named set of jurisdictions: country codes or the names of other groups.</summary>
public sealed record PolicyGroup(string Name, IReadOnlyList<string> Members)
{
    /// <summary>Where the group was written, for error messages (<c>policy.groups.CHINA</c>).</summary>
    public string Path { get; init; } = "";
}

/// <summary>
/// One rule. It applies to a request when <see cref="Match"/> selects the model and the tenant and the time
/// falls in <see cref="Effective"/>; then every statement it makes must hold. A rule with
/// <see cref="AllowJurisdictions"/> is a grant: a model is offered only to tenants some applicable grant admits.
/// </summary>
public sealed record PolicyRule(string Id)
{
    public string? Description { get; init; }

    public RuleMatch Match { get; init; } = RuleMatch.All;

    public EffectivePeriod Effective { get; init; } = EffectivePeriod.Always;

    /// <summary>Country codes, group names or <c>*</c>; both the country and the controlling country must be listed.</summary>
    public IReadOnlyList<string>? AllowJurisdictions { get; init; }

    /// <summary>Country codes, group names or <c>*</c>; neither the country nor the controlling country may be listed.</summary>
    public IReadOnlyList<string>? DenyJurisdictions { get; init; }

    public VettingTier? MinTier { get; init; }

    public IReadOnlyList<EntityType>? EntityTypes { get; init; }

    /// <summary>Allowed serving regions per customer jurisdiction, in the order written.</summary>
    public IReadOnlyList<RegionAllowance>? Regions { get; init; }

    public FeatureRules Features { get; init; } = FeatureRules.None;

    /// <summary>Where the rule was written, for error messages (<c>policy.rules[3]</c>).</summary>
    public string Path { get; init; } = "";
}

/// <summary>
/// What a rule applies to. Model side: <see cref="Vendors"/>, <see cref="Models"/>, <see cref="Families"/>.
/// Tenant side: <see cref="Jurisdictions"/> (the country or the controlling country is listed) and <see cref="Tiers"/>
/// (the effective tier is listed). Every field given must hold; an absent field holds for everything.
/// </summary>
public sealed record RuleMatch(
    IReadOnlyList<string>? Vendors = null,
    IReadOnlyList<string>? Models = null,
    IReadOnlyList<string>? Families = null,
    IReadOnlyList<string>? Jurisdictions = null,
    IReadOnlyList<VettingTier>? Tiers = null)
{
    public static RuleMatch All { get; } = new();
}

/// <summary>When a rule is in force: from <see cref="From"/> (inclusive) until <see cref="Until"/> (exclusive); open ends are unbounded.</summary>
public sealed record EffectivePeriod(DateTimeOffset? From = null, DateTimeOffset? Until = null)
{
    public static EffectivePeriod Always { get; } = new();

    public bool Contains(DateTimeOffset time) => (From is not { } from || time >= from) && (Until is not { } until || time < until);
}

/// <summary>The regions customers of <see cref="Jurisdiction"/> (a country code, a group or <c>*</c>) may be served from.</summary>
public sealed record RegionAllowance(string Jurisdiction, IReadOnlyList<string> Regions)
{
    public string Path { get; init; } = "";
}

/// <summary>What a rule does with a request feature the gateway can remove: log probabilities, reasoning.</summary>
public enum StripRule
{
    Allow,

    /// <summary>Remove the feature's parameters from the forwarded request.</summary>
    Strip,

    /// <summary>Refuse a request that asks for the feature.</summary>
    Deny,
}

/// <summary>What a rule does with a request that asks for a feature the gateway cannot remove: a stream, a batch.</summary>
public enum AllowRule
{
    Allow,

    /// <summary>Refuse a request that asks for it.</summary>
    Deny,
}

public enum LimitMode
{
    /// <summary>Lower the request's value to the limit before forwarding.</summary>
    Cap,

    /// <summary>Refuse a request that asks for more than the limit.</summary>
    Refuse,
}

/// <summary>An upper bound on a numeric request parameter and what to do with a request above it.</summary>
public sealed record FeatureLimit(int Limit, LimitMode Mode = LimitMode.Cap);

/// <summary>Restrictions on request features; the defaults restrict nothing.</summary>
public sealed record FeatureRules(
    StripRule Logprobs = StripRule.Allow,
    AllowRule Stream = AllowRule.Allow,
    FeatureLimit? MaxN = null,
    FeatureLimit? MaxTokens = null,
    StripRule Reasoning = StripRule.Allow,
    AllowRule Batch = AllowRule.Allow)
{
    public static FeatureRules None { get; } = new();

    public bool RestrictsAnything =>
        Logprobs != StripRule.Allow || Reasoning != StripRule.Allow || Stream != AllowRule.Allow || Batch != AllowRule.Allow || MaxN is not null || MaxTokens is not null;
}
