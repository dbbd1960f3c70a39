using System.Collections.Frozen;
using Corridor.Core.Catalog;
using CatalogModel = Corridor.Core.Catalog.Catalog;

namespace Corridor.Core.Policy;

/// <summary>
/// A validated policy compiled against one catalog: the decision engine. <see cref="Decide(in DecisionInput)"/> is
/// a pure function of its input, this policy and its catalog; it is thread-safe, allocates nothing per call once
/// the tables it needs are built (at load, or on first use for very large policies), and never throws: any failure
/// refuses with <see cref="DecisionReason.PolicyError"/>.
/// </summary>
public sealed class CompiledPolicy
{
    private readonly CompiledRule[] _rules;
    private readonly FrozenDictionary<string, ModelPlan> _plans;
    private readonly ModelPlan[] _plansById;
    private readonly string[] _regionNames;

    internal CompiledPolicy(string version, CompiledRule[] rules, Dictionary<string, ModelPlan> plans, string[] regionNames)
    {
        Version = version;
        _rules = rules;
        _plans = plans.ToFrozenDictionary(StringComparer.Ordinal);
        _plansById = [.. plans.Values.OrderBy(p => p.Model.Id, StringComparer.Ordinal)];
        _regionNames = regionNames;
    }

    /// <summary>The policy's version, recorded with every decision.</summary>
    public string Version { get; }

    public int RuleCount => _rules.Length;

    /// <summary>Validates <paramref name="config"/> against <paramref name="catalog"/> and compiles it; null with every error when invalid.</summary>
    public static CompiledPolicy? TryCreate(PolicyConfig config, CatalogModel catalog, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(config);
        errors = PolicyValidator.Validate(config, catalog);
        return errors.Count > 0 ? null : PolicyCompiler.Compile(config, catalog);
    }

    /// <summary>As <see cref="TryCreate(PolicyConfig, CatalogModel, out IReadOnlyList{string})"/>, reporting the loader's errors and the validator's together.</summary>
    public static CompiledPolicy? TryCreate(PolicyLoadResult loaded, CatalogModel catalog, out IReadOnlyList<string> errors)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        var all = new List<string>(loaded.Errors);
        if (loaded.Config is { } config)
        {
            all.AddRange(PolicyValidator.Validate(config, catalog));
        }
        errors = all;
        return all.Count > 0 || loaded.Config is null ? null : PolicyCompiler.Compile(loaded.Config, catalog);
    }

    /// <summary>Decides one request, without a trace.</summary>
    public Decision Decide(in DecisionInput input)
    {
        try
        {
            return Evaluate(in input);
        }
#pragma warning disable CA1031 // Fail closed: whatever goes wrong, the request is refused.
        catch (Exception)
#pragma warning restore CA1031
        {
            return new Decision(DecisionReason.PolicyError, Version);
        }
    }

    /// <summary>Decides one request; with <paramref name="trace"/>, also says what every rule matching the model concluded (this allocates).</summary>
    public Decision Decide(in DecisionInput input, bool trace)
    {
        var decision = Decide(in input);
        if (!trace)
        {
            return decision;
        }
        try
        {
            return decision.WithTrace(Trace(in input));
        }
#pragma warning disable CA1031 // Fail closed, as above.
        catch (Exception)
#pragma warning restore CA1031
        {
            return new Decision(DecisionReason.PolicyError, Version);
        }
    }

    /// <summary>The models the tenant may use at <paramref name="time"/> with a plain request (for <c>/v1/models</c>), by id.</summary>
    public IReadOnlyList<ModelEntry> EntitledModels(DecisionTenant tenant, DateTimeOffset time)
    {
        var models = new List<ModelEntry>();
        foreach (var plan in _plansById)
        {
            var input = new DecisionInput(tenant, null, RequestFeatures.Plain(plan.Model.Id), time);
            if (Decide(in input).Allowed)
            {
                models.Add(plan.Model);
            }
        }
        return models;
    }

    private Decision Evaluate(in DecisionInput input)
    {
        var tenant = input.Tenant;
        var request = input.Request;
        if (tenant.IsDeniedParty)
        {
            return Deny(DecisionReason.DeniedParty);
        }
        if (!_plans.TryGetValue(request.Model, out var plan))
        {
            return Deny(DecisionReason.ModelNotEntitled);
        }
        var country = Countries.IndexOf(tenant.Country);
        var controlling = tenant.ControllingCountry is null ? country : Countries.IndexOf(tenant.ControllingCountry);
        if (country < 0 || controlling < 0)
        {
            return Deny(DecisionReason.JurisdictionDenied);
        }
        if ((uint)tenant.Tier >= PolicyCompiler.TierCount || (uint)tenant.EntityType >= PolicyCompiler.EntityTypeCount)
        {
            return Deny(DecisionReason.PolicyError);
        }

        var set = plan.SegmentAt(input.Time.UtcTicks).Resolve(country, controlling, tenant.Tier);
        if (!set.Entitled)
        {
            return Deny(DecisionReason.ModelNotEntitled);
        }
        ref readonly var own = ref set.Verdict(country);
        ref readonly var parent = ref set.Verdict(controlling);
        if (!own.Admitted)
        {
            return Deny(DecisionReason.JurisdictionDenied, own.DenyingRule);
        }
        if (!parent.Admitted)
        {
            return Deny(DecisionReason.JurisdictionDenied, parent.DenyingRule);
        }
        var entityType = (int)tenant.EntityType;
        if ((set.EntityMask & (1 << entityType)) == 0)
        {
            return Deny(DecisionReason.ModelNotEntitled, set.EntityExcludedBy[entityType]);
        }
        if (tenant.Tier < set.MinTier)
        {
            return Deny(DecisionReason.TierInsufficient, set.MinTierRule);
        }
        var deployments = plan.DeploymentsIn(own.Regions & parent.Regions);
        if (deployments.Count == 0)
        {
            return Deny(DecisionReason.NoCompliantRegion);
        }

        if (request.Stream && set.StreamDeniedBy >= 0)
        {
            return Deny(DecisionReason.FeatureRestricted, set.StreamDeniedBy, PolicyFeature.Stream);
        }
        if (request.Batch && set.BatchDeniedBy >= 0)
        {
            return Deny(DecisionReason.FeatureRestricted, set.BatchDeniedBy, PolicyFeature.Batch);
        }
        var stripLogprobs = false;
        if (request.Logprobs && set.Logprobs != StripRule.Allow)
        {
            if (set.Logprobs == StripRule.Deny)
            {
                return Deny(DecisionReason.FeatureRestricted, set.LogprobsSetBy, PolicyFeature.Logprobs);
            }
            stripLogprobs = true;
        }
        var stripReasoning = false;
        if (request.ReasonsOn(plan.Model.Config) && set.Reasoning != StripRule.Allow)
        {
            if (set.Reasoning == StripRule.Deny)
            {
                return Deny(DecisionReason.FeatureRestricted, set.ReasoningSetBy, PolicyFeature.Reasoning);
            }
            stripReasoning = true;
        }
        var n = request.N ?? 1;
        if (n > set.MaxNRefuse)
        {
            return Deny(DecisionReason.FeatureRestricted, set.MaxNRefusedBy, PolicyFeature.N);
        }
        int? newN = n > set.MaxNCap ? set.MaxNCap : null;
        int? maxTokens = null;
        if (request.MaxTokens is { } asked)
        {
            if (asked > set.MaxTokensRefuse)
            {
                return Deny(DecisionReason.FeatureRestricted, set.MaxTokensRefusedBy, PolicyFeature.MaxTokens);
            }
            if (asked > set.MaxTokensCap)
            {
                maxTokens = set.MaxTokensCap;
            }
        }
        else if (Math.Min(set.MaxTokensCap, set.MaxTokensRefuse) is var limit and < int.MaxValue)
        {
            // A request naming no max_tokens would let the upstream choose; any limit is sent instead.
            maxTokens = limit;
        }
        return new Decision(DecisionReason.Allowed, Version, deployments, new Restrictions(maxTokens, newN, stripLogprobs, stripReasoning));
    }

    /// <summary>
    /// Whether <paramref name="request"/> reasons on the model it names (<see cref="RequestFeatures.ReasonsOn"/>), as its
    /// decision judged it; what it asked for when the model is not in the policy's catalog.
    /// </summary>
    public bool Reasons(in RequestFeatures request) =>
        request.Model is not null && _plans.TryGetValue(request.Model, out var plan) ? request.ReasonsOn(plan.Model.Config) : request.Reasoning;

    private Decision Deny(DecisionReason reason, int rule = -1, PolicyFeature feature = PolicyFeature.None) =>
        new(reason, Version, feature: feature, ruleId: rule >= 0 ? _rules[rule].Id : null);

    /// <summary>Every rule matching the model, each judged on its own.</summary>
    private List<RuleTraceEntry> Trace(in DecisionInput input)
    {
        var trace = new List<RuleTraceEntry>();
        var request = input.Request;
        if (request.Model is null || !_plans.TryGetValue(request.Model, out var plan))
        {
            return trace;
        }
        var tenant = input.Tenant;
        var country = Countries.IndexOf(tenant.Country);
        var controlling = tenant.ControllingCountry is null ? country : Countries.IndexOf(tenant.ControllingCountry);
        var ticks = input.Time.UtcTicks;
        foreach (var rule in plan.Rules)
        {
            var outcome = RuleOutcome.None;
            IReadOnlyList<string>? regions = null;
            if (!rule.InEffect(ticks))
            {
                outcome = RuleOutcome.NotInEffect;
            }
            else if (!(rule.SelectsCountry(country) || rule.SelectsCountry(controlling)) || !rule.SelectsTier(tenant.Tier))
            {
                outcome = RuleOutcome.NotSelected;
            }
            else
            {
                var admitted = rule.Admits(country) && rule.Admits(controlling);
                if (rule.Grants && admitted)
                {
                    outcome |= RuleOutcome.Granted;
                }
                if (!admitted)
                {
                    outcome |= RuleOutcome.JurisdictionDenied;
                }
                if ((rule.EntityMask & (1 << (int)tenant.EntityType)) == 0)
                {
                    outcome |= RuleOutcome.EntityTypeExcluded;
                }
                if (tenant.Tier < rule.MinTier)
                {
                    outcome |= RuleOutcome.TierInsufficient;
                }
                if (rule.RegionsByCountry is not null)
                {
                    outcome |= RuleOutcome.RegionsLimited;
                    var mask = country >= 0 && controlling >= 0 ? rule.RegionsFor(country) & rule.RegionsFor(controlling) : 0UL;
                    regions = [.. _regionNames.Where((_, i) => (mask & (1UL << i)) != 0)];
                }
                outcome |= FeatureOutcome(rule.Features, request, request.ReasonsOn(plan.Model.Config));
            }
            trace.Add(new RuleTraceEntry(rule.Index, rule.Id, outcome, regions));
        }
        return trace;
    }

    private static RuleOutcome FeatureOutcome(FeatureRules features, RequestFeatures request, bool reasons)
    {
        var outcome = RuleOutcome.None;
        if (request.Stream && features.Stream == AllowRule.Deny || request.Batch && features.Batch == AllowRule.Deny)
        {
            outcome |= RuleOutcome.FeatureRefused;
        }
        outcome |= StripOutcome(request.Logprobs, features.Logprobs);
        outcome |= StripOutcome(reasons, features.Reasoning);
        if (features.MaxN is { } maxN && (request.N ?? 1) > maxN.Limit)
        {
            outcome |= maxN.Mode == LimitMode.Refuse ? RuleOutcome.FeatureRefused : RuleOutcome.RequestRewritten;
        }
        if (features.MaxTokens is { } maxTokens)
        {
            if (request.MaxTokens is not { } asked)
            {
                outcome |= RuleOutcome.RequestRewritten;
            }
            else if (asked > maxTokens.Limit)
            {
                outcome |= maxTokens.Mode == LimitMode.Refuse ? RuleOutcome.FeatureRefused : RuleOutcome.RequestRewritten;
            }
        }
        return outcome;
    }

    private static RuleOutcome StripOutcome(bool asked, StripRule rule) => !asked || rule == StripRule.Allow
        ? RuleOutcome.None
        : rule == StripRule.Deny ? RuleOutcome.FeatureRefused : RuleOutcome.RequestRewritten;
}
