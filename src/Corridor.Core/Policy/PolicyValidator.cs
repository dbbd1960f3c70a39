using System.Text.RegularExpressions;
using Corridor.Core.Tenants;
using CatalogModel = Corridor.Core.Catalog.Catalog;

namespace Corridor.Core.Policy;

/// <summary>
/// Checks a policy against the catalog and reports every error at once, each with its path: unknown models,
/// families, vendors, regions, groups and country codes, bad rule ids, empty lists, bad periods and limits,
/// rules that match no model or state nothing.
/// </summary>
public static partial class PolicyValidator
{
    /// <summary>Regions are held as a 64-bit mask when compiled.</summary>
    public const int MaxRegions = 64;

    public static IReadOnlyList<string> Validate(PolicyConfig policy, CatalogModel catalog)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(catalog);
        var errors = new List<string>();

        if (string.IsNullOrWhiteSpace(policy.Version))
        {
            errors.Add("policy.version: a version is required (it is recorded with every decision)");
        }

        var regions = KnownRegions(catalog);
        if (regions.Count > MaxRegions)
        {
            errors.Add($"the catalog has {regions.Count} regions; policy handles at most {MaxRegions}");
        }

        ValidateGroups(policy.Groups, errors);
        var resolver = JurisdictionResolver.Create(policy.Groups);

        var vendors = catalog.Models.Select(m => m.Config.Vendor).ToHashSet(StringComparer.Ordinal);
        var routers = catalog.Models.SelectMany(m => m.Deployments).Select(d => d.Vendor.Id).ToHashSet(StringComparer.Ordinal);
        var families = catalog.Models.Select(m => m.Config.Family).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var ruleIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < policy.Rules.Count; i++)
        {
            var rule = policy.Rules[i];
            var at = rule.Path.Length > 0 ? rule.Path : $"policy.rules[{i}]";
            if (!TenantRules.IsValidId(rule.Id))
            {
                errors.Add($"{at}: id '{rule.Id}' is required and must be a lowercase slug (openai-china)");
            }
            else
            {
                at = $"{at} ({rule.Id})";
                if (!ruleIds.Add(rule.Id))
                {
                    errors.Add($"{at}: duplicate rule id '{rule.Id}'");
                }
            }

            var match = rule.Match;
            CheckNames(match.Vendors, "match.vendors", at, errors, vendor => vendors.Contains(vendor)
                ? null
                : routers.Contains(vendor)
                    ? $"vendor '{vendor}' makes no model in the catalog; rules match the vendor whose model it is, not the one serving it"
                    : $"unknown vendor '{vendor}'");
            CheckNames(match.Models, "match.models", at, errors, model => catalog.TryGetModel(model, out _) ? null : $"unknown model '{model}'");
            CheckNames(match.Families, "match.families", at, errors, family => families.Contains(family) ? null : $"unknown model family '{family}'");
            CheckJurisdictions(match.Jurisdictions, "match.jurisdictions", at, resolver, errors);
            if (match.Tiers is { Count: 0 })
            {
                errors.Add($"{at}: match.tiers lists nothing; omit it to match every tier");
            }
            if (!catalog.Models.Any(m => PolicyCompiler.Matches(match, m)))
            {
                errors.Add($"{at}: match selects no model in the catalog");
            }

            if (rule.Effective is { From: { } from, Until: { } until } && until <= from)
            {
                errors.Add($"{at}: effective.until ({until:u}) must be after effective.from ({from:u})");
            }

            CheckJurisdictions(rule.AllowJurisdictions, "allow_jurisdictions", at, resolver, errors);
            CheckJurisdictions(rule.DenyJurisdictions, "deny_jurisdictions", at, resolver, errors);
            if (rule.EntityTypes is { Count: 0 })
            {
                errors.Add($"{at}: entity_types lists nothing, which would refuse everyone; omit it to allow every entity type");
            }

            if (rule.Regions is { } allowances)
            {
                if (allowances.Count == 0)
                {
                    errors.Add($"{at}: regions maps no jurisdiction; omit it to allow every region");
                }
                var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                foreach (var allowance in allowances)
                {
                    var key = $"regions.{allowance.Jurisdiction}";
                    if (!keys.Add(allowance.Jurisdiction))
                    {
                        errors.Add($"{at}: {key}: jurisdiction '{allowance.Jurisdiction}' is mapped twice");
                    }
                    if (!resolver.TryResolve(allowance.Jurisdiction, out _))
                    {
                        errors.Add($"{at}: {key}: {UnknownJurisdiction(allowance.Jurisdiction)}");
                    }
                    for (var r = 0; r < allowance.Regions.Count; r++)
                    {
                        if (!regions.Contains(allowance.Regions[r]))
                        {
                            errors.Add($"{at}: {key}[{r}]: unknown region '{allowance.Regions[r]}' (the catalog's deployments are in {string.Join(", ", regions.Order(StringComparer.Ordinal))})");
                        }
                    }
                }
            }

            if (rule.Features.MaxN is { Limit: < 1 })
            {
                errors.Add($"{at}: features.max_n must be at least 1");
            }
            if (rule.Features.MaxTokens is { Limit: < 1 })
            {
                errors.Add($"{at}: features.max_tokens must be at least 1");
            }

            if (rule.AllowJurisdictions is null && rule.DenyJurisdictions is null && rule.MinTier is null
                && rule.EntityTypes is null && rule.Regions is null && !rule.Features.RestrictsAnything)
            {
                errors.Add($"{at}: the rule states nothing (allow_jurisdictions, deny_jurisdictions, min_tier, entity_types, regions or features)");
            }
        }
        return errors;
    }

    /// <summary>Every region some deployment of the catalog is in.</summary>
    internal static HashSet<string> KnownRegions(CatalogModel catalog) =>
        catalog.Models.SelectMany(m => m.Deployments).Select(d => d.Region).ToHashSet(StringComparer.Ordinal);

    private static void ValidateGroups(IReadOnlyList<PolicyGroup> groups, List<string> errors)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var group in groups)
        {
            var at = group.Path.Length > 0 ? group.Path : $"policy.groups.{group.Name}";
            if (!GroupNamePattern().IsMatch(group.Name ?? ""))
            {
                errors.Add($"{at}: group name '{group.Name}' must be letters, digits, '-' or '_', starting with a letter");
            }
            else if (Countries.IndexOf(group.Name) >= 0)
            {
                errors.Add($"{at}: group name '{group.Name}' is a country code");
            }
            else if (JurisdictionResolver.BuiltInGroups.ContainsKey(group.Name!))
            {
                errors.Add($"{at}: group '{group.Name}' is built in and cannot be redefined");
            }
            else if (!names.Add(group.Name!))
            {
                errors.Add($"{at}: duplicate group '{group.Name}'");
            }
        }

        var members = groups
            .Where(g => g.Name is not null)
            .GroupBy(g => g.Name, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.First().Members ?? [], StringComparer.OrdinalIgnoreCase);
        foreach (var group in groups)
        {
            var at = group.Path.Length > 0 ? group.Path : $"policy.groups.{group.Name}";
            if (group.Members is not { Count: > 0 })
            {
                errors.Add($"{at}: the group has no members");
                continue;
            }
            for (var i = 0; i < group.Members.Count; i++)
            {
                var member = group.Members[i];
                if (member == JurisdictionResolver.Everyone)
                {
                    errors.Add($"{at}[{i}]: a group cannot contain '*'");
                }
                else if (Countries.IndexOf(member) < 0 && !members.ContainsKey(member) && !JurisdictionResolver.BuiltInGroups.ContainsKey(member))
                {
                    errors.Add($"{at}[{i}]: {UnknownJurisdiction(member)}");
                }
            }
        }

        // A group that reaches itself through its members has no meaning.
        var state = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in members.Keys)
        {
            Visit(name, []);
        }

        void Visit(string name, List<string> trail)
        {
            if (state.TryGetValue(name, out var s) && s == 2)
            {
                return;
            }
            if (s == 1)
            {
                var start = trail.FindIndex(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
                errors.Add($"policy.groups.{name}: groups include each other in a cycle ({string.Join(" -> ", trail.Skip(start).Append(name))})");
                return;
            }
            state[name] = 1;
            trail.Add(name);
            foreach (var member in members[name])
            {
                // A country code always means the country, even where a (rejected) group has its name.
                if (Countries.IndexOf(member) < 0 && members.ContainsKey(member))
                {
                    Visit(member, trail);
                }
            }
            trail.RemoveAt(trail.Count - 1);
            state[name] = 2;
        }
    }

    private static void CheckJurisdictions(IReadOnlyList<string>? list, string field, string at, JurisdictionResolver resolver, List<string> errors)
    {
        if (list is null)
        {
            return;
        }
        if (list.Count == 0)
        {
            errors.Add($"{at}: {field} lists nothing; omit it instead");
            return;
        }
        for (var i = 0; i < list.Count; i++)
        {
            if (!resolver.TryResolve(list[i], out _))
            {
                errors.Add($"{at}: {field}[{i}]: {UnknownJurisdiction(list[i])}");
            }
        }
    }

    private static void CheckNames(IReadOnlyList<string>? list, string field, string at, List<string> errors, Func<string, string?> check)
    {
        if (list is null)
        {
            return;
        }
        if (list.Count == 0)
        {
            errors.Add($"{at}: {field} lists nothing; omit it to match all");
            return;
        }
        for (var i = 0; i < list.Count; i++)
        {
            if (check(list[i]) is { } problem)
            {
                errors.Add($"{at}: {field}[{i}]: {problem}");
            }
        }
    }

    private static string UnknownJurisdiction(string? text) =>
        text is { Length: 2 }
            ? $"'{text}' is neither an assigned ISO 3166-1 country code nor a group"
            : $"unknown group '{text}' (groups: EU, EEA and those under policy.groups)";

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex GroupNamePattern();
}
