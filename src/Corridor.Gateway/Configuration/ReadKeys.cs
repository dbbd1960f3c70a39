using Corridor.Core.Screening;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;
using YamlDotNet.RepresentationModel;

namespace Corridor.Gateway.Configuration;

/// <summary>
/// The keys of <c>corridor.yaml</c> the loader read: every section it opened and every value it asked for, through
/// <see cref="Track"/>. A key of the file (or a <c>CORRIDOR__</c> variable) that nothing read is unknown: a typo or a
/// misplaced setting, which would otherwise leave the default in force without a word. The known keys are thus what the
/// reading code reads, with no list of them to keep in step. Keys of the file are case-sensitive, as YAML's are
/// (<c>Server</c> or <c>credentialenv</c> is an unknown key, the right spelling suggested, and so is a second key of a
/// mapping that differs from the first only in case, which the case-insensitive configuration would take for it);
/// <c>CORRIDOR__</c> variables are not, as environment variables are usually written in capitals.
/// </summary>
internal sealed class ReadKeys
{
    private readonly HashSet<string> _values = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _sections = new(StringComparer.OrdinalIgnoreCase);

    // Every path read or opened and every path above one, in the order first seen (for stable suggestions).
    private readonly HashSet<string> _touched = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _touchedInOrder = [];

    // The same paths as the reader spelled them: a key of the file is known only in that spelling.
    private readonly HashSet<string> _touchedExactly = new(StringComparer.Ordinal);

    // Every path above one read or opened.
    private readonly HashSet<string> _above = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Sections kept out of the configuration and read by a loader of their own (the policy).</summary>
    private readonly string[] _readElsewhere;

    public ReadKeys(params string[] readElsewhere) => _readElsewhere = readElsewhere;

    /// <summary><paramref name="root"/> as a section that notes every key read through it.</summary>
    public IConfigurationSection Track(IConfiguration root) => new TrackedSection(root, "", this);

    /// <summary>Lists every key of <paramref name="root"/> nothing read, with its place, then every such environment override.</summary>
    public IEnumerable<string> Unknown(YamlMappingNode root, IEnumerable<(string Variable, string Path)> environment)
    {
        var errors = new List<string>();
        CheckChildren(root, "", "", errors);
        foreach (var (variable, path) in environment)
        {
            if (!_values.Contains(path))
            {
                var prefix = variable[..^path.Replace(":", "__", StringComparison.Ordinal).Length];
                var suggestion = Suggest(Parent(path), Key(path)) is { } known
                    ? $"; did you mean {(known.Sibling ? variable[..^Key(path).Length] + Key(known.Path) : prefix + known.Path.Replace(":", "__", StringComparison.Ordinal))}?"
                    : "";
                errors.Add($"{variable} (environment): unknown key{suggestion}");
            }
        }
        return errors;
    }

    private void Read(string path)
    {
        _values.Add(path);
        Touch(path);
    }

    private void Open(string path)
    {
        _sections.Add(path);
        Touch(path);
    }

    private void Touch(string path)
    {
        for (var at = path; at.Length > 0 && _touchedExactly.Add(at); at = Parent(at))
        {
            if (_touched.Add(at))
            {
                _touchedInOrder.Add(at);
            }
        }
        for (var at = Parent(path); at.Length > 0 && _above.Add(at); at = Parent(at))
        {
        }
    }

    private void Check(YamlNode node, string path, string display, List<string> errors)
    {
        // A value read where the file has a mapping or a list: it was read as absent.
        var valueOnly = _values.Contains(path) && !_sections.Contains(path) && !_above.Contains(path);
        switch (node)
        {
            case YamlMappingNode or YamlSequenceNode when valueOnly:
                errors.Add($"{display} (line {node.Start.Line}): must be a single value");
                break;
            case YamlMappingNode mapping:
                CheckChildren(mapping, path, display, errors);
                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    var itemPath = $"{path}:{i}";
                    if (!_touched.Contains(itemPath))
                    {
                        errors.Add($"{display} (line {node.Start.Line}): must not be a list");
                        break;
                    }
                    Check(sequence.Children[i], itemPath, $"{display}[{i}]", errors);
                }
                break;
            case YamlScalarNode { Value: { Length: > 0 } value } when !_values.Contains(path):
                errors.Add($"{display} (line {node.Start.Line}): must be a section, not the single value '{value}'");
                break;
        }
    }

    private void CheckChildren(YamlMappingNode mapping, string path, string display, List<string> errors)
    {
        foreach (var (keyNode, value) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            var keyPath = path.Length == 0 ? key : $"{path}:{key}";
            var keyDisplay = display.Length == 0 ? key : $"{display}.{key}";
            if (_touchedExactly.Contains(keyPath))
            {
                Check(value, keyPath, keyDisplay, errors);
                continue;
            }
            if (_touched.Contains(keyPath))
            {
                var spelled = _touchedInOrder.First(p => string.Equals(p, keyPath, StringComparison.OrdinalIgnoreCase));
                errors.Add($"{keyDisplay} (line {keyNode.Start.Line}): unknown key (keys are case-sensitive); did you mean {Key(spelled)}?");
                continue;
            }
            var suggestion = Suggest(path, key) is { } known
                ? $"; did you mean {(known.Sibling ? Key(known.Path) : known.Path.Replace(':', '.'))}?"
                : "";
            errors.Add($"{keyDisplay} (line {keyNode.Start.Line}): unknown key{suggestion}");
        }
    }

    /// <summary>
    /// A known key beside <paramref name="key"/> (under <paramref name="parent"/>) within a few edits of it, or else
    /// beginning with it (a unit left off); else, for a setting in the wrong section, the shortest known path elsewhere (outside lists) ending in <paramref name="key"/>;
    /// else null.
    /// </summary>
    private (string Path, bool Sibling)? Suggest(string parent, string key)
    {
        var siblings = _touchedInOrder.Where(p => string.Equals(Parent(p), parent, StringComparison.OrdinalIgnoreCase));
        if (parent.Length == 0)
        {
            siblings = siblings.Concat(_readElsewhere);
        }
        string? closest = null;
        var closestDistance = int.MaxValue;
        foreach (var sibling in siblings)
        {
            var name = Key(sibling);
            var limit = Math.Max(1, Math.Min(name.Length, key.Length) / 3);
            var distance = NameSimilarity.EditDistance(key.ToLowerInvariant(), name.ToLowerInvariant(), limit);
            if (distance <= limit && distance < closestDistance)
            {
                (closest, closestDistance) = (sibling, distance);
            }
        }
        // A key written without its unit ('retention' for 'retentionDays', 'timeout' for 'timeoutSeconds') is far in edits
        // from the name it begins: the shortest such sibling.
        closest ??= key.Length >= 4
            ? siblings.Where(s => Key(s).StartsWith(key, StringComparison.OrdinalIgnoreCase)).OrderBy(s => Key(s).Length).FirstOrDefault()
            : null;
        if (closest is not null)
        {
            return (closest, true);
        }
        var elsewhere = _touchedInOrder
            .Where(p => string.Equals(Key(p), key, StringComparison.OrdinalIgnoreCase) && !p.Split(':').Any(s => s.Length > 0 && s.All(char.IsAsciiDigit)))
            .OrderBy(p => p.Count(c => c == ':'))
            .FirstOrDefault();
        return elsewhere is null ? null : (elsewhere, false);
    }

    private static string Parent(string path) => path.LastIndexOf(':') is var i and >= 0 ? path[..i] : "";

    private static string Key(string path) => path[(path.LastIndexOf(':') + 1)..];

    /// <summary>A section that notes each value read and each section opened through it (and its children).</summary>
    private sealed class TrackedSection(IConfiguration inner, string path, ReadKeys keys) : IConfigurationSection
    {
        public string? this[string key]
        {
            get
            {
                keys.Read(path.Length == 0 ? key : ConfigurationPath.Combine(path, key));
                return inner[key];
            }
            set => inner[key] = value;
        }

        /// <summary>The name of an entry of a map (a model's routing, an alias) is read when its entry is: the entry is known.</summary>
        public string Key
        {
            get
            {
                keys.Touch(path);
                return ConfigurationPath.GetSectionKey(path);
            }
        }

        public string Path => path;

        public string? Value
        {
            get
            {
                keys.Read(path);
                return (inner as IConfigurationSection)?.Value;
            }
            set
            {
                if (inner is IConfigurationSection section)
                {
                    section.Value = value;
                }
            }
        }

        public IConfigurationSection GetSection(string key)
        {
            var section = inner.GetSection(key);
            keys.Open(section.Path);
            return new TrackedSection(section, section.Path, keys);
        }

        public IEnumerable<IConfigurationSection> GetChildren() =>
            inner.GetChildren().Select(child => new TrackedSection(child, child.Path, keys));

        public IChangeToken GetReloadToken() => inner.GetReloadToken();
    }
}
