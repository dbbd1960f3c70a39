using Corridor.Core.Catalog;
using Corridor.Core.Tenants;

namespace Corridor.Core.Policy;

/// <summary>
/// Why a request was allowed or refused. <see cref="PolicyError"/> is zero so that a default
/// <see cref="Decision"/> refuses: the engine fails closed by construction.
/// </summary>
public enum DecisionReason
{
    /// <summary><c>policy_error</c>: the engine failed; the request is refused.</summary>
    PolicyError = 0,

    /// <summary><c>allowed</c>.</summary>
    Allowed,

    /// <summary><c>denied_party</c>: the tenant is on the denied-party list (pending review or confirmed).</summary>
    DeniedParty,

    /// <summary><c>model_not_entitled</c>: no grant applies, or the tenant's entity type is excluded, or the model is unknown.</summary>
    ModelNotEntitled,

    /// <summary><c>jurisdiction_denied</c>: the tenant's country or controlling country is not admitted.</summary>
    JurisdictionDenied,

    /// <summary><c>tier_insufficient</c>: the tenant's effective vetting tier is below a rule's minimum.</summary>
    TierInsufficient,

    /// <summary><c>no_compliant_region</c>: no deployment of the model is in a region every applicable rule allows.</summary>
    NoCompliantRegion,

    /// <summary><c>feature_restricted</c>: the request uses a feature a rule refuses.</summary>
    FeatureRestricted,
}

/// <summary>A request feature a rule can restrict.</summary>
public enum PolicyFeature
{
    None,
    Stream,
    Logprobs,
    Reasoning,
    N,
    MaxTokens,

    /// <summary>Sent as one of a batch's requests (OpenAI's Batch API, Anthropic's Message Batches).</summary>
    Batch,
}

public static class DecisionReasons
{
    /// <summary>The reason's name on the wire, in errors, the ledger and the audit log.</summary>
    public static string WireName(DecisionReason reason) => reason switch
    {
        DecisionReason.Allowed => "allowed",
        DecisionReason.DeniedParty => "denied_party",
        DecisionReason.ModelNotEntitled => "model_not_entitled",
        DecisionReason.JurisdictionDenied => "jurisdiction_denied",
        DecisionReason.TierInsufficient => "tier_insufficient",
        DecisionReason.NoCompliantRegion => "no_compliant_region",
        DecisionReason.FeatureRestricted => "feature_restricted",
        _ => "policy_error",
    };

    public static bool TryParse(string? wireName, out DecisionReason reason)
    {
        foreach (var candidate in Enum.GetValues<DecisionReason>())
        {
            if (string.Equals(WireName(candidate), wireName, StringComparison.Ordinal))
            {
                reason = candidate;
                return true;
            }
        }
        reason = DecisionReason.PolicyError;
        return false;
    }
}

/// <summary>
/// How the gateway must rewrite the forwarded request. <see cref="MaxTokens"/>: set <c>max_tokens</c> to this
/// (also when the client sent none); <see cref="N"/>: set <c>n</c> to this; <see cref="StripLogprobs"/>: remove
/// <c>logprobs</c> and <c>top_logprobs</c>; <see cref="StripReasoning"/>: remove <c>reasoning_effort</c> and
/// <c>thinking</c>. Null and false leave the request as it is.
/// </summary>
public readonly record struct Restrictions(int? MaxTokens = null, int? N = null, bool StripLogprobs = false, bool StripReasoning = false)
{
    public bool IsNone => MaxTokens is null && N is null && !StripLogprobs && !StripReasoning;
}

/// <summary>What one rule concluded about one request; several flags can hold at once.</summary>
[Flags]
public enum RuleOutcome
{
    /// <summary>The rule applies and imposes nothing on this request.</summary>
    None = 0,

    /// <summary>The rule is not in effect at the decision's time.</summary>
    NotInEffect = 1 << 0,

    /// <summary>The rule's tenant match (jurisdictions, tiers) does not select this tenant.</summary>
    NotSelected = 1 << 1,

    /// <summary>A grant (allow_jurisdictions) that admits the tenant.</summary>
    Granted = 1 << 2,

    /// <summary>allow_jurisdictions or deny_jurisdictions refuses the tenant.</summary>
    JurisdictionDenied = 1 << 3,

    /// <summary>entity_types excludes the tenant's entity type.</summary>
    EntityTypeExcluded = 1 << 4,

    /// <summary>min_tier is above the tenant's effective tier.</summary>
    TierInsufficient = 1 << 5,

    /// <summary>regions limits where the tenant may be served (see <see cref="RuleTraceEntry.Regions"/>).</summary>
    RegionsLimited = 1 << 6,

    /// <summary>features refuses something the request asks for.</summary>
    FeatureRefused = 1 << 7,

    /// <summary>features rewrites the request (a cap, stripped logprobs or stripped reasoning).</summary>
    RequestRewritten = 1 << 8,
}

/// <summary>One rule matching the requested model, and what it concluded on its own.</summary>
public sealed record RuleTraceEntry(int RuleIndex, string RuleId, RuleOutcome Outcome, IReadOnlyList<string>? Regions = null);

/// <summary>
/// The result of evaluating policy for one request. Allowed: <see cref="Deployments"/> (never empty) in the
/// catalog's priority order, and <see cref="Restrictions"/> to apply. Refused: <see cref="Reason"/>, and
/// <see cref="RuleId"/> when a single rule is responsible. <see cref="Trace"/> is empty unless asked for.
/// </summary>
public readonly struct Decision
{
    private readonly IReadOnlyList<DeploymentEntry>? _deployments;
    private readonly IReadOnlyList<RuleTraceEntry>? _trace;
    private readonly string? _policyVersion;

    internal Decision(
        DecisionReason reason,
        string policyVersion,
        IReadOnlyList<DeploymentEntry>? deployments = null,
        Restrictions restrictions = default,
        PolicyFeature feature = PolicyFeature.None,
        string? ruleId = null,
        IReadOnlyList<RuleTraceEntry>? trace = null)
    {
        Reason = reason;
        _policyVersion = policyVersion;
        _deployments = deployments;
        Restrictions = restrictions;
        Feature = feature;
        RuleId = ruleId;
        _trace = trace;
    }

    public DecisionReason Reason { get; }

    public bool Allowed => Reason == DecisionReason.Allowed;

    /// <summary>The reason's wire name: <c>allowed</c>, <c>model_not_entitled</c>, ...</summary>
    public string ReasonCode => DecisionReasons.WireName(Reason);

    /// <summary>The compliant deployments, best first; empty when refused.</summary>
    public IReadOnlyList<DeploymentEntry> Deployments => Allowed ? _deployments ?? [] : [];

    public Restrictions Restrictions { get; }

    /// <summary>The refused feature, with <see cref="DecisionReason.FeatureRestricted"/>.</summary>
    public PolicyFeature Feature { get; }

    /// <summary>The rule that refused, when one rule alone is responsible.</summary>
    public string? RuleId { get; }

    public string PolicyVersion => _policyVersion ?? "";

    /// <summary>Every rule matching the model and its conclusion, in policy order; empty unless asked for.</summary>
    public IReadOnlyList<RuleTraceEntry> Trace => _trace ?? [];

    /// <summary>
    /// The decision where no policy is configured: every one of <paramref name="deployments"/>, unrestricted, unless the
    /// tenant is a denied party (pending review or confirmed), which is refused with <see cref="DecisionReason.DeniedParty"/>
    /// whatever the model, as a policy refuses it (docs/screening.md).
    /// </summary>
    public static Decision WithoutPolicy(in DecisionTenant tenant, IReadOnlyList<DeploymentEntry> deployments) =>
        tenant.IsDeniedParty ? new(DecisionReason.DeniedParty, "") : new(DecisionReason.Allowed, "", deployments);

    internal Decision WithTrace(IReadOnlyList<RuleTraceEntry> trace) =>
        new(Reason, PolicyVersion, _deployments, Restrictions, Feature, RuleId, trace);

    public override string ToString() => Allowed
        ? $"allowed ({string.Join(", ", Deployments.Select(d => d.Id))}{(Restrictions.IsNone ? "" : $"; {Restrictions}")})"
        : $"{ReasonCode}{(RuleId is null ? "" : $" by {RuleId}")}{(Feature == PolicyFeature.None ? "" : $" ({Feature})")}";
}

/// <summary>
/// The tenant as policy sees it at one moment. <see cref="ControllingCountry"/> is null when the tenant controls
/// itself; <see cref="Tier"/> is the effective tier (an expired verification is <see cref="VettingTier.Unverified"/>):
/// build it with <see cref="From"/>.
/// </summary>
public readonly record struct DecisionTenant(
    string TenantId,
    string Country,
    string? ControllingCountry,
    EntityType EntityType,
    VettingTier Tier,
    bool IsDeniedParty)
{
    public static DecisionTenant From(Tenant tenant, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return new(tenant.Id, tenant.Country, tenant.EffectiveControllingCountry, tenant.EntityType, tenant.EffectiveTier(now), tenant.IsDeniedParty);
    }
}

/// <summary>
/// What the request asks for. <see cref="Logprobs"/> is true when it asks for <c>logprobs</c> or <c>top_logprobs</c>;
/// <see cref="N"/> and <see cref="MaxTokens"/> are null when not given (<c>max_completion_tokens</c> counts as max_tokens);
/// <see cref="Reasoning"/> is true when it asks the model to reason (<c>reasoning_effort</c> above <c>minimal</c>, or
/// <c>thinking</c> other than <c>disabled</c>); <see cref="Batch"/> is true for a request of a batch, which the gateway runs
/// in the background for its key (docs/batches.md); <see cref="ThinkingOff"/> is true when it turns thinking off
/// (<c>thinking</c> <c>disabled</c>, or a <c>reasoning_effort</c> of <c>none</c> that Corridor sends as that switch), which a
/// model that reasons by default needs not to reason (<see cref="ReasonsOn"/>).
/// </summary>
public readonly record struct RequestFeatures(string Model, bool Stream = false, bool Logprobs = false, int? N = null, int? MaxTokens = null, bool Reasoning = false,
    bool Batch = false, bool ThinkingOff = false)
{
    /// <summary>
    /// Whether the request, served by <paramref name="model"/>, reasons: when it asks (<see cref="Reasoning"/>), and, for a
    /// model that reasons by default (<see cref="ModelConfig.ReasoningByDefault"/>), unless it turns thinking off. What a
    /// policy's <c>reasoning</c> rule and the monitor's throttle judge.
    /// </summary>
    public bool ReasonsOn(ModelConfig model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.ReasoningByDefault ? !ThinkingOff : Reasoning;
    }

    /// <summary>
    /// A request for <paramref name="model"/> asking for no feature, reasoning a model does by default included: whether a
    /// tenant may use the model at all (<c>/v1/models</c>, a batch's model, a token count, which asks for no output).
    /// </summary>
    public static RequestFeatures Plain(string model) => new(model, ThinkingOff: true);
}

/// <summary>Everything a decision depends on besides the compiled policy and catalog.</summary>
public readonly record struct DecisionInput(DecisionTenant Tenant, string? KeyId, RequestFeatures Request, DateTimeOffset Time)
{
    public static DecisionInput For(Tenant tenant, string? keyId, RequestFeatures request, DateTimeOffset time) =>
        new(DecisionTenant.From(tenant, time), keyId, request, time);
}
