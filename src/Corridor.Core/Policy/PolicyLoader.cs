using Corridor.Core.Tenants;
using Corridor.Core.Yaml;
using YamlDotNet.RepresentationModel;

namespace Corridor.Core.Policy;

/// <summary>
/// The outcome of reading a policy. <see cref="Config"/> is the policy as far as it could be read (null only when
/// nothing could be), so that <see cref="PolicyValidator"/> can still report its own errors alongside
/// <see cref="Errors"/>; a policy is usable only when there are no errors at all.
/// </summary>
public sealed record PolicyLoadResult(PolicyConfig? Config, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Config is not null && Errors.Count == 0;
}

/// <summary>
/// Reads the <c>policy:</c> section of corridor.yaml, or a policy file, into a <see cref="PolicyConfig"/>. Checks
/// shape only — what is a list, a number, a date, a known key — and reports every mistake with its path and line;
/// names are checked against the catalog by <see cref="PolicyValidator"/>. <c>include</c> lists files (relative to
/// <c>baseDirectory</c>) with the same shape as the section, read through <c>readFile</c> so this stays free of I/O.
/// </summary>
public static class PolicyLoader
{
    /// <summary>The section's name in corridor.yaml and the prefix of paths in its errors.</summary>
    public const string SectionName = "policy";

    private static readonly string[] SectionKeys = ["version", "include", "groups", "rules"];
    private static readonly string[] RuleKeys =
        ["id", "description", "match", "effective", "allow_jurisdictions", "deny_jurisdictions", "min_tier", "entity_types", "regions", "features"];
    private static readonly string[] MatchKeys = ["vendors", "models", "families", "jurisdictions", "tiers"];
    private static readonly string[] EffectiveKeys = ["from", "until"];
    private static readonly string[] FeatureKeys = ["logprobs", "reasoning", "stream", "batch", "max_n", "max_tokens"];
    private static readonly string[] LimitKeys = ["limit", "mode"];

    /// <summary>
    /// Parses YAML text holding a policy (the value of the <c>policy:</c> section, written as a file of its own).
    /// <paramref name="source"/> names it in errors.
    /// </summary>
    public static PolicyLoadResult Parse(string yaml, string source, string? baseDirectory, Func<string, string> readFile)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var errors = new List<string>();
        var root = ReadDocument(yaml, source, errors);
        if (root is null)
        {
            return new PolicyLoadResult(null, errors);
        }
        return Load(root, $"{source}:", baseDirectory, readFile, errors);
    }

    /// <summary>
    /// Reads the already parsed value of corridor.yaml's <c>policy:</c> key. Error paths start with <c>policy</c>.
    /// </summary>
    public static PolicyLoadResult Load(YamlNode section, string? baseDirectory, Func<string, string> readFile)
    {
        ArgumentNullException.ThrowIfNull(section);
        return Load(section, SectionName, baseDirectory, readFile, []);
    }

    private static PolicyLoadResult Load(YamlNode section, string path, string? baseDirectory, Func<string, string> readFile, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(readFile);
        var reader = new NodeReader(errors);
        var body = reader.ReadBody(section, path, allowInclude: true);
        if (body is null)
        {
            return new PolicyLoadResult(null, errors);
        }

        var version = body.Version;
        var versionAt = body.Version is null ? null : path;
        var groups = new List<PolicyGroup>(body.Groups);
        var rules = new List<PolicyRule>(body.Rules);
        for (var i = 0; i < body.Includes.Count; i++)
        {
            var (file, at) = body.Includes[i];
            var fullPath = baseDirectory is null ? file : System.IO.Path.GetFullPath(file, baseDirectory);
            string text;
            try
            {
                text = readFile(fullPath);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                errors.Add($"{at}: cannot read '{fullPath}': {e.Message}");
                continue;
            }
            var root = ReadDocument(text, file, errors);
            if (root is null)
            {
                continue;
            }
            var included = reader.ReadBody(root, $"{file}:", allowInclude: false);
            if (included is null)
            {
                continue;
            }
            if (included.Version is not null)
            {
                if (version is not null)
                {
                    errors.Add($"{file}:version: the version is already set in {versionAt}; set it in one place only");
                }
                else
                {
                    version = included.Version;
                    versionAt = file;
                }
            }
            groups.AddRange(included.Groups);
            rules.AddRange(included.Rules);
        }
        return new PolicyLoadResult(new PolicyConfig(version ?? "", groups, rules), errors);
    }

    private static YamlNode? ReadDocument(string yaml, string source, List<string> errors)
    {
        var loaded = YamlText.Load(yaml, "a policy file");
        if (loaded.Error is { } error)
        {
            errors.Add(error.In(source));
            return null;
        }
        if (loaded.Root is null)
        {
            errors.Add($"{source}: the policy is empty");
        }
        return loaded.Root;
    }

    /// <summary>Tiers and entity types by the names policies write them with.</summary>
    internal static string TierName(VettingTier tier) => tier.ToString().ToLowerInvariant();

    internal static string EntityTypeName(EntityType type) => type.ToString().ToLowerInvariant();

    internal static bool TryParseTier(string? text, out VettingTier tier) => TryParseName(text, out tier);

    internal static bool TryParseEntityType(string? text, out EntityType type) => TryParseName(text, out type);

    private static bool TryParseName<T>(string? text, out T value)
        where T : struct, Enum
    {
        // Only the documented lowercase names; Enum.TryParse would also take numbers and comma-joined flags.
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(text, candidate.ToString().ToLowerInvariant(), StringComparison.Ordinal))
            {
                value = candidate;
                return true;
            }
        }
        value = default;
        return false;
    }

    private sealed record Body(
        string? Version,
        IReadOnlyList<(string File, string At)> Includes,
        IReadOnlyList<PolicyGroup> Groups,
        IReadOnlyList<PolicyRule> Rules);

    /// <summary>Reads nodes into records, collecting errors instead of throwing.</summary>
    private sealed class NodeReader(List<string> errors) : YamlFieldReader(errors)
    {
        public Body? ReadBody(YamlNode node, string path, bool allowInclude)
        {
            if (node is YamlScalarNode { Value: null or "" })
            {
                Errors.Add($"{path}: the policy is empty");
                return null;
            }
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "must be a mapping with version, groups and rules");
                return null;
            }
            CheckKeys(mapping, path, SectionKeys);
            var version = Scalar(mapping, path, "version");
            var includes = new List<(string, string)>();
            if (Child(mapping, "include") is { } includeNode)
            {
                var at = Join(path, "include");
                if (!allowInclude)
                {
                    Error(includeNode, at, "an included file cannot include others");
                }
                else
                {
                    var files = StringList(includeNode, at);
                    for (var i = 0; i < files?.Count; i++)
                    {
                        includes.Add((files[i], $"{at}[{i}]"));
                    }
                }
            }

            var groups = new List<PolicyGroup>();
            if (Child(mapping, "groups") is { } groupsNode)
            {
                var at = Join(path, "groups");
                if (groupsNode is YamlMappingNode groupMap)
                {
                    foreach (var (key, value) in groupMap.Children)
                    {
                        var name = (key as YamlScalarNode)?.Value ?? "";
                        var groupAt = Join(at, name);
                        var members = StringList(value, groupAt);
                        if (members is not null)
                        {
                            groups.Add(new PolicyGroup(name, members) { Path = groupAt });
                        }
                    }
                }
                else if (!IsNull(groupsNode))
                {
                    Error(groupsNode, at, "must be a mapping of group names to lists of country codes");
                }
            }

            var rules = new List<PolicyRule>();
            if (Child(mapping, "rules") is { } rulesNode)
            {
                var at = Join(path, "rules");
                if (rulesNode is YamlSequenceNode sequence)
                {
                    for (var i = 0; i < sequence.Children.Count; i++)
                    {
                        if (ReadRule(sequence.Children[i], $"{at}[{i}]") is { } rule)
                        {
                            rules.Add(rule);
                        }
                    }
                }
                else if (!IsNull(rulesNode))
                {
                    Error(rulesNode, at, "must be a list of rules");
                }
            }
            return new Body(version, includes, groups, rules);
        }

        private PolicyRule? ReadRule(YamlNode node, string path)
        {
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "a rule must be a mapping");
                return null;
            }
            CheckKeys(mapping, path, RuleKeys);
            var rule = new PolicyRule(Scalar(mapping, path, "id") ?? "")
            {
                Path = path,
                Description = Scalar(mapping, path, "description"),
                AllowJurisdictions = Child(mapping, "allow_jurisdictions") is { } allow ? StringList(allow, Join(path, "allow_jurisdictions")) : null,
                DenyJurisdictions = Child(mapping, "deny_jurisdictions") is { } deny ? StringList(deny, Join(path, "deny_jurisdictions")) : null,
            };
            if (Child(mapping, "match") is { } match)
            {
                rule = rule with { Match = ReadMatch(match, Join(path, "match")) };
            }
            if (Child(mapping, "effective") is { } effective)
            {
                rule = rule with { Effective = ReadEffective(effective, Join(path, "effective")) };
            }
            if (Child(mapping, "min_tier") is { } minTier)
            {
                rule = rule with { MinTier = Tier(minTier, Join(path, "min_tier")) };
            }
            if (Child(mapping, "entity_types") is { } entityTypes)
            {
                rule = rule with { EntityTypes = EnumList<EntityType>(entityTypes, Join(path, "entity_types"), TryParseEntityType, "an entity type (enterprise, startup, individual, research, government)") };
            }
            if (Child(mapping, "regions") is { } regions)
            {
                rule = rule with { Regions = ReadRegions(regions, Join(path, "regions")) };
            }
            if (Child(mapping, "features") is { } features)
            {
                rule = rule with { Features = ReadFeatures(features, Join(path, "features")) };
            }
            return rule;
        }

        private RuleMatch ReadMatch(YamlNode node, string path)
        {
            if (IsNull(node))
            {
                return RuleMatch.All;
            }
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "must be a mapping of vendors, models, families, jurisdictions, tiers");
                return RuleMatch.All;
            }
            CheckKeys(mapping, path, MatchKeys);
            return new RuleMatch(
                Child(mapping, "vendors") is { } vendors ? StringList(vendors, Join(path, "vendors")) : null,
                Child(mapping, "models") is { } models ? StringList(models, Join(path, "models")) : null,
                Child(mapping, "families") is { } families ? StringList(families, Join(path, "families")) : null,
                Child(mapping, "jurisdictions") is { } jurisdictions ? StringList(jurisdictions, Join(path, "jurisdictions")) : null,
                Child(mapping, "tiers") is { } tiers ? EnumList<VettingTier>(tiers, Join(path, "tiers"), TryParseTier, "a tier (unverified, basic, verified, established, strategic)") : null);
        }

        private EffectivePeriod ReadEffective(YamlNode node, string path)
        {
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "must be a mapping with from and/or until");
                return EffectivePeriod.Always;
            }
            CheckKeys(mapping, path, EffectiveKeys);
            return new EffectivePeriod(Date(mapping, path, "from"), Date(mapping, path, "until"));
        }

        private List<RegionAllowance>? ReadRegions(YamlNode node, string path)
        {
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "must be a mapping of jurisdictions to lists of regions, e.g. { EU: [eu-west], \"*\": [us-east] }");
                return null;
            }
            var regions = new List<RegionAllowance>();
            foreach (var (key, value) in mapping.Children)
            {
                var jurisdiction = (key as YamlScalarNode)?.Value ?? "";
                var at = Join(path, jurisdiction);
                if (StringList(value, at) is { } list)
                {
                    regions.Add(new RegionAllowance(jurisdiction, list) { Path = at });
                }
            }
            return regions;
        }

        private AllowRule Allow(YamlNode node, string at) => ScalarValue(node, at) switch
        {
            "allow" => AllowRule.Allow,
            "deny" => AllowRule.Deny,
            var other => Invalid(node, at, other, "is not one of allow, deny", AllowRule.Allow),
        };

        private FeatureRules ReadFeatures(YamlNode node, string path)
        {
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "must be a mapping of logprobs, reasoning, stream, batch, max_n, max_tokens");
                return FeatureRules.None;
            }
            CheckKeys(mapping, path, FeatureKeys);
            var features = FeatureRules.None;
            if (Child(mapping, "logprobs") is { } logprobs)
            {
                features = features with { Logprobs = Strip(logprobs, Join(path, "logprobs")) };
            }
            if (Child(mapping, "reasoning") is { } reasoning)
            {
                features = features with { Reasoning = Strip(reasoning, Join(path, "reasoning")) };
            }
            if (Child(mapping, "stream") is { } stream)
            {
                features = features with { Stream = Allow(stream, Join(path, "stream")) };
            }
            if (Child(mapping, "batch") is { } batch)
            {
                features = features with { Batch = Allow(batch, Join(path, "batch")) };
            }
            if (Child(mapping, "max_n") is { } maxN)
            {
                features = features with { MaxN = Limit(maxN, Join(path, "max_n")) };
            }
            if (Child(mapping, "max_tokens") is { } maxTokens)
            {
                features = features with { MaxTokens = Limit(maxTokens, Join(path, "max_tokens")) };
            }
            return features;
        }

        /// <summary><c>allow</c>, <c>strip</c> or <c>deny</c>.</summary>
        private StripRule Strip(YamlNode node, string path) => ScalarValue(node, path) switch
        {
            "allow" => StripRule.Allow,
            "strip" => StripRule.Strip,
            "deny" => StripRule.Deny,
            var other => Invalid(node, path, other, "is not one of allow, strip, deny", StripRule.Allow),
        };

        /// <summary><c>4096</c> (cap) or <c>{ limit: 4096, mode: cap|refuse }</c>.</summary>
        private FeatureLimit? Limit(YamlNode node, string path)
        {
            if (node is YamlScalarNode)
            {
                return Integer(node, path) is { } bare ? new FeatureLimit(bare) : null;
            }
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "must be a number or { limit: N, mode: cap|refuse }");
                return null;
            }
            CheckKeys(mapping, path, LimitKeys);
            var limitNode = Child(mapping, "limit");
            if (limitNode is null)
            {
                Error(node, path, "needs a limit");
                return null;
            }
            var limit = Integer(limitNode, Join(path, "limit"));
            var mode = LimitMode.Cap;
            if (Child(mapping, "mode") is { } modeNode)
            {
                var at = Join(path, "mode");
                mode = ScalarValue(modeNode, at) switch
                {
                    "cap" => LimitMode.Cap,
                    "refuse" => LimitMode.Refuse,
                    var other => Invalid(modeNode, at, other, "is not one of cap, refuse", LimitMode.Cap),
                };
            }
            return limit is { } value ? new FeatureLimit(value, mode) : null;
        }

        private VettingTier? Tier(YamlNode node, string path)
        {
            var text = ScalarValue(node, path);
            if (text is null)
            {
                return null;
            }
            if (TryParseTier(text, out var tier))
            {
                return tier;
            }
            Error(node, path, $"'{text}' is not a tier (unverified, basic, verified, established, strategic)");
            return null;
        }

        private List<T>? EnumList<T>(YamlNode node, string path, TryParse<T> parse, string what)
            where T : struct, Enum
        {
            var names = StringList(node, path);
            if (names is null)
            {
                return null;
            }
            var values = new List<T>();
            for (var i = 0; i < names.Count; i++)
            {
                if (parse(names[i], out var value))
                {
                    values.Add(value);
                }
                else
                {
                    Error(((YamlSequenceNode)node).Children[i], $"{path}[{i}]", $"'{names[i]}' is not {what}");
                }
            }
            return values;
        }

        private delegate bool TryParse<T>(string? text, out T value);
    }
}
