using BenchmarkDotNet.Attributes;
using Corridor.Core.Catalog;
using Corridor.Core.Policy;
using Corridor.Core.Tenants;
using CatalogModel = Corridor.Core.Catalog.Catalog;

namespace Corridor.Benchmarks.Policy;

/// <summary>
/// One decision over a generated 200-rule policy and an 80-model, 14-region catalog, for a typical tenant
/// (full path: grant, jurisdictions, tier, regions, a max_tokens cap), and with the rule trace.
/// Target: median at most 5 µs; no allocation without the trace.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class DecisionBenchmarks
{
    private CompiledPolicy _policy = null!;
    private DecisionInput _typical;
    private DecisionInput _refused;
    private Corridor.Core.Audit.AuditEntry _entry = null!;

    [GlobalSetup]
    public void Setup()
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        _policy = GeneratedPolicy.Compile();
        Console.WriteLine($"// validated and compiled in {watch.Elapsed.TotalMilliseconds:F0} ms");
        _typical = new DecisionInput(
            new DecisionTenant("acme-gmbh", "DE", "DE", EntityType.Enterprise, VettingTier.Verified, false),
            "key-1",
            new RequestFeatures("openai-chat-1", Stream: true, MaxTokens: 20_000),
            GeneratedPolicy.Now);
        _refused = _typical with { Tenant = _typical.Tenant with { Country = "SG", ControllingCountry = "CN" } };
        var typical = _policy.Decide(in _typical);
        if (!typical.Allowed || typical.Restrictions.IsNone)
        {
            throw new InvalidOperationException($"the typical request should be allowed with a restriction, was {typical}");
        }
        Console.WriteLine($"// {_policy.RuleCount} rules; typical: {typical}; refused: {_policy.Decide(in _refused)}");
        _entry = AuditEntry_TypicalTenant();
        Console.WriteLine($"// the typical decision's audit details: {_entry.Details.Length} characters");
    }

    [Benchmark(Baseline = true)]
    public Decision Decide_TypicalTenant() => _policy.Decide(in _typical);

    [Benchmark]
    public Decision Decide_RefusedTenant() => _policy.Decide(in _refused);

    [Benchmark]
    public Decision Decide_TypicalTenant_WithTrace() => _policy.Decide(in _typical, trace: true);

    /// <summary>Sealing that entry into the hash chain, as the audit writer does for each before it inserts it.</summary>
    [Benchmark]
    public Corridor.Core.Audit.AuditRecord AuditEntry_Sealed() => Corridor.Core.Audit.AuditChain.Seal(_entry, 2, Corridor.Core.Audit.AuditChain.GenesisHash);

    /// <summary>What the gateway does for every decided request after its response: the traced decision and its audit entry.</summary>
    [Benchmark]
    public Corridor.Core.Audit.AuditEntry AuditEntry_TypicalTenant() =>
        new DecisionToAudit("dec_1", "req_1", _typical, _policy).ToEntry();
}

/// <summary>
/// Decisions for many distinct tenants (random countries, controlling countries, tiers, entity types, models):
/// allocation per decision must not grow from 10 tenants to 100,000.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class DecisionTenantScalingBenchmarks
{
    private const int Batch = 1_000;
    private CompiledPolicy _policy = null!;
    private DecisionInput[] _inputs = null!;
    private int _next;

    [Params(10, 100_000)]
    public int Tenants { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _policy = GeneratedPolicy.Compile();
        var random = new Random(42);
        var countries = GeneratedPolicy.Countries;
        var models = GeneratedPolicy.ModelIds;
        _inputs = new DecisionInput[Math.Max(Tenants, Batch)];
        var tenants = Enumerable.Range(0, Tenants).Select(i => new DecisionTenant(
            $"tenant-{i}",
            countries[random.Next(countries.Length)],
            random.Next(3) == 0 ? countries[random.Next(countries.Length)] : null,
            (EntityType)random.Next(5),
            (VettingTier)random.Next(5),
            false)).ToArray();
        for (var i = 0; i < _inputs.Length; i++)
        {
            _inputs[i] = new DecisionInput(
                tenants[i % Tenants],
                $"key-{i % Tenants}",
                new RequestFeatures(models[random.Next(models.Length)], Stream: random.Next(2) == 0, MaxTokens: random.Next(2) == 0 ? null : random.Next(100, 20_000)),
                GeneratedPolicy.Now);
        }
        var allowed = _inputs.Count(input => _policy.Decide(in input).Allowed);
        Console.WriteLine($"// {Tenants} tenants, {_inputs.Length} inputs, {allowed} allowed");
    }

    /// <summary>Decides the next <see cref="Batch"/> inputs; figures are per decision.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int Decide_DistinctTenants()
    {
        var allowed = 0;
        var inputs = _inputs;
        var next = _next;
        for (var i = 0; i < Batch; i++)
        {
            if (_policy.Decide(in inputs[next]).Allowed)
            {
                allowed++;
            }
            next = next + 1 == inputs.Length ? 0 : next + 1;
        }
        _next = next;
        return allowed;
    }
}

/// <summary>A deterministic catalog of realistic size and a 200-rule policy over it.</summary>
internal static class GeneratedPolicy
{
    public static readonly DateTimeOffset Now = new(2025, 7, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly string[] Regions =
        ["us-east", "us-west", "ca-central", "br-south", "eu-west", "eu-central", "uk-south", "ch-north", "in-south", "sg", "jp-east", "kr-central", "au-east", "cn-north"];

    private static readonly string[] Vendors = ["openai", "anthropic", "google", "meta", "mistral", "cohere", "amazon", "xai", "deepseek", "qwen"];

    private static readonly string[] ChinaVendors = ["deepseek", "qwen"];

    public static readonly string[] Countries =
    [
        "US", "CA", "MX", "BR", "AR", "CL", "GB", "IE", "DE", "FR", "NL", "BE", "ES", "IT", "PL", "SE", "NO", "CH", "AT",
        "CN", "HK", "MO", "TW", "SG", "MY", "ID", "TH", "VN", "PH", "JP", "KR", "IN", "PK", "AE", "SA", "IL", "TR", "EG",
        "ZA", "NG", "KE", "AU", "NZ", "RU", "IR", "KP", "CU", "SY", "BY", "UA",
    ];

    public static string[] ModelIds { get; } = [.. Vendors.SelectMany(v => Enumerable.Range(1, 8).Select(i => $"{v}-{(i <= 4 ? "chat" : "reason")}-{i}"))];

    public static CompiledPolicy Compile()
    {
        var catalog = Catalog();
        var policy = CompiledPolicy.TryCreate(Policy(), catalog, out var errors)
            ?? throw new InvalidOperationException(string.Join(Environment.NewLine, errors));
        if (policy.RuleCount != 200)
        {
            throw new InvalidOperationException($"expected 200 rules, generated {policy.RuleCount}");
        }
        return policy;
    }

    private static CatalogModel Catalog()
    {
        var random = new Random(1);
        var vendors = Vendors.Select(v => new VendorConfig(v, v == "anthropic" ? VendorKind.Anthropic : VendorKind.OpenAI, $"https://api.{v}.example/v1")).ToList();
        var models = new List<ModelConfig>();
        var deployments = new List<DeploymentConfig>();
        foreach (var id in ModelIds)
        {
            var vendor = id[..id.IndexOf('-', StringComparison.Ordinal)];
            var family = $"{vendor}-{(id.Contains("chat", StringComparison.Ordinal) ? "chat" : "reason")}";
            models.Add(new ModelConfig(id, vendor, ModelCapabilities.Chat, 128_000, family));
            var regions = Regions.Where(r => r != "cn-north").OrderBy(_ => random.Next()).Take(random.Next(3, 7)).ToList();
            if (ChinaVendors.Contains(vendor))
            {
                regions.Insert(0, "cn-north");
            }
            if (id == "openai-chat-1" && !regions.Contains("eu-west"))
            {
                regions.Add("eu-west");
            }
            for (var p = 0; p < regions.Count; p++)
            {
                deployments.Add(new DeploymentConfig($"{id}-{regions[p]}", id, regions[p], 1m, 2m, p));
            }
        }
        return CatalogModel.TryCreate(new CatalogConfig(vendors, models, deployments), out var errors)
            ?? throw new InvalidOperationException(string.Join(Environment.NewLine, errors));
    }

    private static PolicyConfig Policy()
    {
        var random = new Random(2);
        PolicyGroup[] groups =
        [
            new("CHINA", ["CN", "HK", "MO"]),
            new("EMBARGOED", ["CU", "IR", "KP", "SY", "RU", "BY"]),
            new("FIVE-EYES", ["US", "GB", "CA", "AU", "NZ"]),
            new("WEST", ["EEA", "FIVE-EYES", "CH", "JP", "KR", "IL"]),
            new("ASEAN", ["SG", "MY", "ID", "TH", "VN", "PH"]),
            new("APAC", ["ASEAN", "JP", "KR", "TW", "IN", "AU", "NZ"]),
            new("LATAM", ["MX", "BR", "AR", "CL"]),
            new("GCC", ["AE", "SA"]),
            new("MENA", ["GCC", "IL", "TR", "EG"]),
            new("AFRICA", ["ZA", "NG", "KE", "EG"]),
        ];
        string[] jurisdictions = ["CHINA", "FIVE-EYES", "WEST", "ASEAN", "APAC", "LATAM", "GCC", "MENA", "AFRICA", "EU", "EEA", "US", "IN", "JP", "TW", "UA", "TR"];
        var allRegions = Regions.ToArray();
        var rules = new List<PolicyRule>();

        // Baseline for every model.
        rules.Add(new PolicyRule("embargo") { DenyJurisdictions = ["EMBARGOED"] });
        rules.Add(new PolicyRule("residency")
        {
            Regions =
            [
                new RegionAllowance("EU", ["eu-west", "eu-central"]),
                new RegionAllowance("CH", ["ch-north", "eu-central"]),
                new RegionAllowance("GB", ["uk-south", "eu-west"]),
                new RegionAllowance("IN", ["in-south", "sg"]),
                new RegionAllowance("AU", ["au-east", "sg"]),
                new RegionAllowance("*", allRegions),
            ],
        });
        rules.Add(new PolicyRule("low-tier") { Match = new RuleMatch(Tiers: [VettingTier.Unverified, VettingTier.Basic]), Features = new FeatureRules(Logprobs: StripRule.Deny, MaxN: new FeatureLimit(1, LimitMode.Refuse), MaxTokens: new FeatureLimit(4096)) });
        rules.Add(new PolicyRule("unverified") { Match = new RuleMatch(Tiers: [VettingTier.Unverified]), Features = new FeatureRules(Stream: AllowRule.Deny) });
        rules.Add(new PolicyRule("verified-cap") { Match = new RuleMatch(Tiers: [VettingTier.Verified]), Features = new FeatureRules(MaxTokens: new FeatureLimit(16_000)) });
        rules.Add(new PolicyRule("individuals") { Match = new RuleMatch(Tiers: [VettingTier.Unverified, VettingTier.Basic, VettingTier.Verified]), EntityTypes = [EntityType.Enterprise, EntityType.Startup, EntityType.Research, EntityType.Government] });

        foreach (var vendor in Vendors)
        {
            var china = ChinaVendors.Contains(vendor);
            rules.Add(new PolicyRule($"{vendor}-grant") { Match = new RuleMatch(Vendors: [vendor]), AllowJurisdictions = ["*"] });
            rules.Add(new PolicyRule($"{vendor}-deny") { Match = new RuleMatch(Vendors: [vendor]), DenyJurisdictions = china ? ["UA", "TW"] : ["KP", "SY"] });
            rules.Add(china
                ? new PolicyRule($"{vendor}-regions") { Match = new RuleMatch(Vendors: [vendor]), Regions = [new RegionAllowance("CHINA", ["cn-north", "sg"]), new RegionAllowance("*", ["sg", "eu-west", "eu-central", "us-east", "jp-east"])] }
                : new PolicyRule($"{vendor}-china") { Match = new RuleMatch(Vendors: [vendor], Jurisdictions: ["CHINA"]), MinTier = VettingTier.Established, EntityTypes = [EntityType.Enterprise, EntityType.Startup], Regions = [new RegionAllowance("*", ["sg", "jp-east"])], Features = new FeatureRules(Logprobs: StripRule.Strip) });
            foreach (var kind in new[] { "chat", "reason" })
            {
                rules.Add(new PolicyRule($"{vendor}-{kind}-tier") { Match = new RuleMatch(Families: [$"{vendor}-{kind}"]), MinTier = kind == "chat" ? VettingTier.Basic : VettingTier.Verified });
            }
        }

        // One rule per model: launches, deprecations, per-model limits.
        foreach (var (model, i) in ModelIds.Select((m, i) => (m, i)))
        {
            var launch = Now.AddDays(-random.Next(30, 700));
            rules.Add((i % 4) switch
            {
                0 => new PolicyRule($"{model}-launch") { Match = new RuleMatch(Models: [model]), Effective = new EffectivePeriod(launch), MinTier = VettingTier.Basic },
                1 => new PolicyRule($"{model}-sunset") { Match = new RuleMatch(Models: [model]), Effective = new EffectivePeriod(launch, Now.AddDays(random.Next(30, 400))), Features = new FeatureRules(MaxTokens: new FeatureLimit(32_000, LimitMode.Refuse)) },
                2 => new PolicyRule($"{model}-preview") { Match = new RuleMatch(Models: [model], Tiers: [VettingTier.Unverified, VettingTier.Basic]), Effective = new EffectivePeriod(Until: Now.AddDays(random.Next(-200, 200))), Features = new FeatureRules(MaxTokens: new FeatureLimit(2048)) },
                _ => new PolicyRule($"{model}-regions") { Match = new RuleMatch(Models: [model], Jurisdictions: [jurisdictions[random.Next(jurisdictions.Length)]]), Regions = [new RegionAllowance("*", [.. allRegions.OrderBy(_ => random.Next()).Take(8)])] },
            });
        }

        // The rest: assorted restrictions on families and jurisdictions, some time-bound.
        while (rules.Count < 200)
        {
            var vendor = Vendors[random.Next(Vendors.Length)];
            var selector = jurisdictions[random.Next(jurisdictions.Length)];
            var n = rules.Count;
            rules.Add((n % 3) switch
            {
                0 => new PolicyRule($"misc-{n}") { Match = new RuleMatch(Families: [$"{vendor}-reason"], Jurisdictions: [selector]), MinTier = VettingTier.Verified, Effective = new EffectivePeriod(Now.AddDays(-random.Next(1, 400))) },
                1 => new PolicyRule($"misc-{n}") { Match = new RuleMatch(Vendors: [vendor], Jurisdictions: [selector]), Features = new FeatureRules(MaxN: new FeatureLimit(random.Next(1, 4))) },
                _ => new PolicyRule($"misc-{n}") { Match = new RuleMatch(Vendors: [vendor]), DenyJurisdictions = [Countries[random.Next(Countries.Length)]], Effective = new EffectivePeriod(Until: Now.AddDays(random.Next(-100, 300))) },
            });
        }
        return new PolicyConfig("bench-200", groups, rules);
    }
}
