using System.Collections.Concurrent;
using System.Collections.ObjectModel;
using Corridor.Core.Catalog;
using Corridor.Core.Tenants;
using CatalogModel = Corridor.Core.Catalog.Catalog;

namespace Corridor.Core.Policy;

/// <summary>
/// Turns a validated policy into lookup tables. Per model: the rules that match it, cut into time segments in
/// which the same rules are in effect. Per segment: countries grouped into classes by which tenant-selecting rules
/// select them, so the applicable rules for a tenant are one table lookup away. Per set of applicable rules
/// (shared across models): the combined tier, entity type and feature limits, and — shared further, by the rules
/// that make jurisdiction statements — each country's verdict (admitted, allowed regions). Per model: the
/// compliant deployment list per region mask, built once.
/// </summary>
internal static class PolicyCompiler
{
    public const int TierCount = 5;
    public const int EntityTypeCount = 5;
    public const int AllTiers = (1 << TierCount) - 1;
    public const int AllEntityTypes = (1 << EntityTypeCount) - 1;

    // Above these sizes tables are filled on first use instead of at load (bounded by the policy either way).
    public const int MaxPrefilledCombinations = 2048;
    public const int MaxPrefilledClassPairs = 4096;

    public static bool Matches(RuleMatch match, ModelEntry model) =>
        (match.Vendors is null || match.Vendors.Contains(model.Config.Vendor, StringComparer.Ordinal))
        && (match.Models is null || match.Models.Contains(model.Id, StringComparer.Ordinal))
        && (match.Families is null || (model.Config.Family is { } family && match.Families.Contains(family, StringComparer.Ordinal)));

    public static CompiledPolicy Compile(PolicyConfig config, CatalogModel catalog)
    {
        var regionNames = PolicyValidator.KnownRegions(catalog).Order(StringComparer.Ordinal).ToArray();
        if (regionNames.Length > PolicyValidator.MaxRegions)
        {
            throw new InvalidOperationException($"policy handles at most {PolicyValidator.MaxRegions} regions");
        }
        var regionBits = regionNames.Select((name, i) => (name, bit: 1UL << i)).ToDictionary(x => x.name, x => x.bit, StringComparer.Ordinal);
        var resolver = JurisdictionResolver.Create(config.Groups);
        var rules = config.Rules.Select((rule, i) => CompileRule(rule, i, resolver, regionBits)).ToArray();
        var interner = new RuleSetInterner(rules);

        var plans = new Dictionary<string, ModelPlan>(StringComparer.Ordinal);
        foreach (var model in catalog.Models)
        {
            var matching = rules.Where(r => Matches(r.Config.Match, model)).ToArray();
            plans[model.Id] = new ModelPlan(model, matching, regionBits, interner);
        }
        foreach (var plan in plans.Values)
        {
            plan.Prefill();
        }
        return new CompiledPolicy(config.Version, rules, plans, regionNames);
    }

    private static CompiledRule CompileRule(PolicyRule rule, int index, JurisdictionResolver resolver, Dictionary<string, ulong> regionBits)
    {
        ulong[]? regionsByCountry = null;
        if (rule.Regions is { } allowances)
        {
            // A country takes the intersection of the lists under every key naming it (its code, its groups);
            // '*' applies only to countries no other key names; a country nothing names gets no region.
            regionsByCountry = new ulong[Countries.Count];
            var named = new bool[Countries.Count];
            var everyone = (ulong?)null;
            Array.Fill(regionsByCountry, ulong.MaxValue);
            foreach (var allowance in allowances)
            {
                var mask = allowance.Regions.Aggregate(0UL, (m, r) => m | regionBits.GetValueOrDefault(r));
                if (allowance.Jurisdiction == JurisdictionResolver.Everyone)
                {
                    everyone = (everyone ?? ulong.MaxValue) & mask;
                    continue;
                }
                resolver.TryResolve(allowance.Jurisdiction, out var set);
                for (var c = 0; c < Countries.Count; c++)
                {
                    if (set.Contains(c))
                    {
                        regionsByCountry[c] &= mask;
                        named[c] = true;
                    }
                }
            }
            for (var c = 0; c < Countries.Count; c++)
            {
                if (!named[c])
                {
                    regionsByCountry[c] = everyone ?? 0UL;
                }
            }
        }

        return new CompiledRule
        {
            Index = index,
            Config = rule,
            From = rule.Effective.From?.UtcTicks ?? long.MinValue,
            Until = rule.Effective.Until?.UtcTicks ?? long.MaxValue,
            Selects = rule.Match.Jurisdictions is { } selects ? resolver.Resolve(selects) : null,
            TierMask = rule.Match.Tiers is { } tiers ? tiers.Aggregate(0, (m, t) => m | (1 << (int)t)) : AllTiers,
            Grants = rule.AllowJurisdictions is not null,
            Allow = rule.AllowJurisdictions is { } allow ? resolver.Resolve(allow) : CountrySet.All,
            Deny = rule.DenyJurisdictions is { } deny ? resolver.Resolve(deny) : CountrySet.Empty,
            RegionsByCountry = regionsByCountry,
            MinTier = rule.MinTier ?? VettingTier.Unverified,
            EntityMask = rule.EntityTypes is { } types ? types.Aggregate(0, (m, t) => m | (1 << (int)t)) : AllEntityTypes,
            Features = rule.Features,
        };
    }

    /// <summary>One set of applicable rules compiled once, shared by every model and segment that has it.</summary>
    internal sealed class RuleSetInterner(CompiledRule[] rules)
    {
        private readonly Dictionary<int[], RuleSetPlan> _sets = new(IndexSetComparer.Instance);
        private readonly Dictionary<int[], JurisdictionPlan> _jurisdictions = new(IndexSetComparer.Instance);
        private readonly Lock _lock = new();

        /// <summary>The plan for the rules at <paramref name="indices"/>, in ascending order.</summary>
        public RuleSetPlan Get(int[] indices)
        {
            lock (_lock)
            {
                if (!_sets.TryGetValue(indices, out var set))
                {
                    var members = Array.ConvertAll(indices, i => rules[i]);
                    // Sets differing only in tier, entity type or feature rules share their country tables.
                    var speaking = Array.FindAll(members, r => r.SpeaksOfJurisdictions);
                    var speakingKey = Array.ConvertAll(speaking, r => r.Index);
                    if (!_jurisdictions.TryGetValue(speakingKey, out var jurisdictions))
                    {
                        jurisdictions = new JurisdictionPlan(speaking);
                        _jurisdictions[speakingKey] = jurisdictions;
                    }
                    set = new RuleSetPlan(members, jurisdictions);
                    _sets[indices] = set;
                }
                return set;
            }
        }
    }

    private sealed class IndexSetComparer : IEqualityComparer<int[]>
    {
        public static readonly IndexSetComparer Instance = new();

        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(int[] indices)
        {
            var hash = new HashCode();
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(indices.AsSpan()));
            return hash.ToHashCode();
        }
    }
}

internal sealed class CompiledRule
{
    public required int Index { get; init; }
    public required PolicyRule Config { get; init; }
    public required long From { get; init; }
    public required long Until { get; init; }

    /// <summary>The countries match.jurisdictions selects; null selects every tenant.</summary>
    public required CountrySet? Selects { get; init; }
    public required int TierMask { get; init; }
    public required bool Grants { get; init; }
    public required CountrySet Allow { get; init; }
    public required CountrySet Deny { get; init; }

    /// <summary>Allowed region mask per country; null when the rule has no regions statement.</summary>
    public required ulong[]? RegionsByCountry { get; init; }
    public required VettingTier MinTier { get; init; }
    public required int EntityMask { get; init; }
    public required FeatureRules Features { get; init; }

    public string Id => Config.Id;

    public bool IsSelective => Selects is not null || TierMask != PolicyCompiler.AllTiers;

    public bool InEffect(long ticks) => ticks >= From && ticks < Until;

    public bool SelectsCountry(int country) => Selects is not { } set || set.Contains(country);

    public bool SelectsTier(VettingTier tier) => (TierMask & (1 << (int)tier)) != 0;

    /// <summary>The countries allow_jurisdictions and deny_jurisdictions together admit.</summary>
    public CountrySet Admitted => Allow.Except(Deny);

    /// <summary>The rule says something per country: allow, deny or regions.</summary>
    public bool SpeaksOfJurisdictions => Grants || !Deny.IsEmpty || RegionsByCountry is not null;

    public bool Admits(int country) => Allow.Contains(country) && !Deny.Contains(country);

    public ulong RegionsFor(int country) => RegionsByCountry is { } regions ? regions[country] : ulong.MaxValue;
}

/// <summary>A country's verdict under a set of rules.</summary>
internal readonly record struct CountryVerdict(bool Admitted, int DenyingRule, ulong Regions);

/// <summary>Each country's verdict under a set of rules, countries with the same verdict sharing a class.</summary>
internal sealed class JurisdictionPlan
{
    public JurisdictionPlan(CompiledRule[] rules)
    {
        var admitted = CountrySet.All;
        foreach (var rule in rules)
        {
            admitted = admitted.Intersect(rule.Admitted);
        }
        var regionRules = rules.Where(r => r.RegionsByCountry is not null).Select(r => r.RegionsByCountry!).ToArray();

        var classes = new List<CountryVerdict>();
        var classIndex = new Dictionary<CountryVerdict, int>();
        ClassOf = new ushort[Countries.Count];
        for (var c = 0; c < Countries.Count; c++)
        {
            var denyingRule = -1;
            if (!admitted.Contains(c))
            {
                // The first rule, in policy order, that refuses the country names the refusal.
                denyingRule = rules.First(r => !r.Admits(c)).Index;
            }
            var regions = ulong.MaxValue;
            foreach (var byCountry in regionRules)
            {
                regions &= byCountry[c];
            }
            var verdict = new CountryVerdict(denyingRule < 0, denyingRule, regions);
            if (!classIndex.TryGetValue(verdict, out var index))
            {
                index = classes.Count;
                classIndex[verdict] = index;
                classes.Add(verdict);
            }
            ClassOf[c] = (ushort)index;
        }
        Classes = [.. classes];
        AdmittedRegionMasks = [.. classes.Where(v => v.Admitted).Select(v => v.Regions).Distinct()];
    }

    /// <summary>The verdict class of each country.</summary>
    public ushort[] ClassOf { get; }

    public CountryVerdict[] Classes { get; }

    /// <summary>The distinct region masks of admitted countries: what deployment lists can be asked for.</summary>
    public ulong[] AdmittedRegionMasks { get; }
}

/// <summary>The combined effect of a set of applicable rules: strictest wins.</summary>
internal sealed class RuleSetPlan
{
    private readonly JurisdictionPlan _jurisdictions;

    public RuleSetPlan(CompiledRule[] rules, JurisdictionPlan jurisdictions)
    {
        Rules = rules;
        _jurisdictions = jurisdictions;
        Entitled = rules.Any(r => r.Grants);
        EntityExcludedBy = new int[PolicyCompiler.EntityTypeCount];
        Array.Fill(EntityExcludedBy, -1);
        foreach (var rule in rules)
        {
            if (rule.MinTier > MinTier)
            {
                MinTier = rule.MinTier;
                MinTierRule = rule.Index;
            }
            EntityMask &= rule.EntityMask;
            for (var e = 0; e < PolicyCompiler.EntityTypeCount; e++)
            {
                if ((rule.EntityMask & (1 << e)) == 0 && EntityExcludedBy[e] < 0)
                {
                    EntityExcludedBy[e] = rule.Index;
                }
            }
            var features = rule.Features;
            if (features.Logprobs > Logprobs)
            {
                Logprobs = features.Logprobs;
                LogprobsSetBy = rule.Index;
            }
            if (features.Reasoning > Reasoning)
            {
                Reasoning = features.Reasoning;
                ReasoningSetBy = rule.Index;
            }
            if (features.Stream == AllowRule.Deny && StreamDeniedBy < 0)
            {
                StreamDeniedBy = rule.Index;
            }
            if (features.Batch == AllowRule.Deny && BatchDeniedBy < 0)
            {
                BatchDeniedBy = rule.Index;
            }
            Combine(features.MaxN, ref MaxNCap, ref MaxNRefuse, ref MaxNRefusedBy, rule.Index);
            Combine(features.MaxTokens, ref MaxTokensCap, ref MaxTokensRefuse, ref MaxTokensRefusedBy, rule.Index);
        }

        static void Combine(FeatureLimit? limit, ref int cap, ref int refuse, ref int refusedBy, int rule)
        {
            if (limit is null)
            {
                return;
            }
            if (limit.Mode == LimitMode.Cap)
            {
                cap = Math.Min(cap, limit.Limit);
            }
            else if (limit.Limit < refuse)
            {
                refuse = limit.Limit;
                refusedBy = rule;
            }
        }
    }

    public CompiledRule[] Rules { get; }

    /// <summary>Some applicable rule is a grant.</summary>
    public bool Entitled { get; }

    public JurisdictionPlan Jurisdictions => _jurisdictions;

    public VettingTier MinTier { get; } = VettingTier.Unverified;

    public int MinTierRule { get; } = -1;

    public int EntityMask { get; } = PolicyCompiler.AllEntityTypes;

    /// <summary>Per entity type, the first rule excluding it, or -1.</summary>
    public int[] EntityExcludedBy { get; }

    public StripRule Logprobs { get; }

    public int LogprobsSetBy { get; } = -1;

    public StripRule Reasoning { get; }

    public int ReasoningSetBy { get; } = -1;

    public int StreamDeniedBy { get; } = -1;

    public int BatchDeniedBy { get; } = -1;

#pragma warning disable CA1051 // Fields, so the constructor can fold limits by reference.
    public readonly int MaxNCap = int.MaxValue;
    public readonly int MaxNRefuse = int.MaxValue;
    public readonly int MaxNRefusedBy = -1;
    public readonly int MaxTokensCap = int.MaxValue;
    public readonly int MaxTokensRefuse = int.MaxValue;
    public readonly int MaxTokensRefusedBy = -1;
#pragma warning restore CA1051

    public ref readonly CountryVerdict Verdict(int country) => ref _jurisdictions.Classes[_jurisdictions.ClassOf[country]];
}

/// <summary>A span of time in which the same rules matching a model are in effect.</summary>
internal sealed class Segment
{
    private readonly PolicyCompiler.RuleSetInterner _interner;
    private readonly CompiledRule[] _unconditional;
    private readonly CompiledRule[] _selective;

    // Countries grouped by which selective rules' jurisdictions select them.
    private readonly ushort[] _classOf;
    private readonly bool[][] _selectedByClass;
    private readonly ConcurrentDictionary<int, RuleSetPlan> _sets = new();
    private readonly Lock _lock = new();

    public Segment(CompiledRule[] inEffect, PolicyCompiler.RuleSetInterner interner)
    {
        _interner = interner;
        _unconditional = [.. inEffect.Where(r => !r.IsSelective)];
        _selective = [.. inEffect.Where(r => r.IsSelective)];
        // Split the countries, rule by rule, by whether the rule's jurisdictions select them.
        _classOf = new ushort[Countries.Count];
        var classCount = 1;
        foreach (var rule in _selective)
        {
            if (rule.Selects is not { } selects)
            {
                continue;
            }
            var split = new int[classCount * 2];
            Array.Fill(split, -1);
            var next = 0;
            for (var c = 0; c < Countries.Count; c++)
            {
                var key = (_classOf[c] * 2) + (selects.Contains(c) ? 1 : 0);
                if (split[key] < 0)
                {
                    split[key] = next++;
                }
                _classOf[c] = (ushort)split[key];
            }
            classCount = next;
        }
        var representative = new int[classCount];
        for (var c = Countries.Count - 1; c >= 0; c--)
        {
            representative[_classOf[c]] = c;
        }
        _selectedByClass = [.. representative.Select(c => _selective.Select(r => r.SelectsCountry(c)).ToArray())];
    }

    public int ClassCount => _selectedByClass.Length;

    /// <summary>The rules applying to a tenant with these countries and tier.</summary>
    public RuleSetPlan Resolve(int country, int controlling, VettingTier tier)
    {
        int a = _classOf[country], b = _classOf[controlling];
        if (a > b)
        {
            (a, b) = (b, a);
        }
        var key = (((a * ClassCount) + b) * PolicyCompiler.TierCount) + (int)tier;
        return _sets.TryGetValue(key, out var set) ? set : Build(key, a, b, tier);
    }

    /// <summary>Fills the table at load when it is small.</summary>
    public IEnumerable<RuleSetPlan> Prefill()
    {
        if (ClassCount * (ClassCount + 1) / 2 * PolicyCompiler.TierCount > PolicyCompiler.MaxPrefilledCombinations)
        {
            yield break;
        }
        for (var a = 0; a < ClassCount; a++)
        {
            for (var b = a; b < ClassCount; b++)
            {
                for (var t = 0; t < PolicyCompiler.TierCount; t++)
                {
                    var key = (((a * ClassCount) + b) * PolicyCompiler.TierCount) + t;
                    yield return _sets.TryGetValue(key, out var set) ? set : Build(key, a, b, (VettingTier)t);
                }
            }
        }
    }

    private RuleSetPlan Build(int key, int a, int b, VettingTier tier)
    {
        lock (_lock)
        {
            if (_sets.TryGetValue(key, out var existing))
            {
                return existing;
            }
            var indices = new List<int>(_unconditional.Length + _selective.Length);
            foreach (var rule in _unconditional)
            {
                indices.Add(rule.Index);
            }
            for (var j = 0; j < _selective.Length; j++)
            {
                if ((_selectedByClass[a][j] || _selectedByClass[b][j]) && _selective[j].SelectsTier(tier))
                {
                    indices.Add(_selective[j].Index);
                }
            }
            indices.Sort();
            var set = _interner.Get([.. indices]);
            _sets[key] = set;
            return set;
        }
    }
}

/// <summary>Everything about one model: its rules over time and its compliant deployment lists.</summary>
internal sealed class ModelPlan
{
    private readonly long[] _boundaries;
    private readonly Segment[] _segments;
    private readonly ulong[] _deploymentBits;
    private readonly ConcurrentDictionary<ulong, IReadOnlyList<DeploymentEntry>> _deployments = new();
    private readonly Lock _lock = new();

    public ModelPlan(ModelEntry model, CompiledRule[] rules, Dictionary<string, ulong> regionBits, PolicyCompiler.RuleSetInterner interner)
    {
        Model = model;
        Rules = rules;
        _deploymentBits = [.. model.Deployments.Select(d => regionBits[d.Region])];
        RegionMask = _deploymentBits.Aggregate(0UL, (m, b) => m | b);

        // Segment i covers [boundaries[i-1], boundaries[i]): the rules in effect cannot change inside it.
        _boundaries = [.. rules
            .SelectMany(r => new[] { r.From, r.Until })
            .Where(t => t != long.MinValue && t != long.MaxValue)
            .Distinct()
            .Order()];
        _segments = new Segment[_boundaries.Length + 1];
        for (var i = 0; i < _segments.Length; i++)
        {
            var at = i == 0 ? long.MinValue : _boundaries[i - 1];
            _segments[i] = new Segment([.. rules.Where(r => r.InEffect(at))], interner);
        }
    }

    public ModelEntry Model { get; }

    /// <summary>Every rule matching the model, in policy order, whatever its period.</summary>
    public CompiledRule[] Rules { get; }

    /// <summary>The regions the model is deployed in.</summary>
    public ulong RegionMask { get; }

    public Segment SegmentAt(long ticks)
    {
        // The number of boundaries at or before the time is the segment's index.
        int low = 0, high = _boundaries.Length;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (_boundaries[mid] <= ticks)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }
        return _segments[low];
    }

    /// <summary>The model's deployments in allowed regions, in the catalog's order; the same list for the same mask.</summary>
    public IReadOnlyList<DeploymentEntry> DeploymentsIn(ulong allowed)
    {
        var mask = allowed & RegionMask;
        if (mask == RegionMask)
        {
            return Model.Deployments;
        }
        return _deployments.TryGetValue(mask, out var list) ? list : Build(mask);
    }

    public void Prefill()
    {
        var seen = new HashSet<JurisdictionPlan>();
        foreach (var segment in _segments)
        {
            foreach (var set in segment.Prefill())
            {
                var masks = set.Jurisdictions.AdmittedRegionMasks;
                if (!seen.Add(set.Jurisdictions) || masks.Length * masks.Length > PolicyCompiler.MaxPrefilledClassPairs)
                {
                    continue;
                }
                foreach (var a in masks)
                {
                    foreach (var b in masks)
                    {
                        DeploymentsIn(a & b);
                    }
                }
            }
        }
    }

    private IReadOnlyList<DeploymentEntry> Build(ulong mask)
    {
        lock (_lock)
        {
            if (_deployments.TryGetValue(mask, out var existing))
            {
                return existing;
            }
            var list = new List<DeploymentEntry>();
            for (var i = 0; i < _deploymentBits.Length; i++)
            {
                if ((mask & _deploymentBits[i]) != 0)
                {
                    list.Add(Model.Deployments[i]);
                }
            }
            var result = new ReadOnlyCollection<DeploymentEntry>(list);
            _deployments[mask] = result;
            return result;
        }
    }
}
