using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Corridor.Core.Policy;

/// <summary>Reads typed values out of YAML nodes, collecting every mistake with its path and line instead of throwing.</summary>
internal class YamlFieldReader(List<string> errors)
{
    protected List<string> Errors => errors;

    public DateTimeOffset? Date(YamlMappingNode mapping, string path, string key)
    {
        if (Child(mapping, key) is not { } node)
        {
            return null;
        }
        var at = Join(path, key);
        var text = ScalarValue(node, at);
        if (text is null)
        {
            return null;
        }
        if (DateTimeOffset.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date))
        {
            return date;
        }
        if (text.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return instant;
        }
        Error(node, at, $"'{text}' is not a date (2025-07-01) or an instant (2025-07-01T09:00:00Z)");
        return null;
    }

    public int? Integer(YamlNode node, string path)
    {
        var text = ScalarValue(node, path);
        if (text is null)
        {
            return null;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }
        Error(node, path, $"'{text}' is not a whole number");
        return null;
    }

    public string? Scalar(YamlMappingNode mapping, string path, string key) =>
        Child(mapping, key) is { } node ? ScalarValue(node, Join(path, key)) : null;

    public string? ScalarValue(YamlNode node, string path)
    {
        if (node is YamlScalarNode scalar)
        {
            return scalar.Value;
        }
        Error(node, path, "must be a single value");
        return null;
    }

    /// <summary>A list of scalars; a single value is taken as a list of one.</summary>
    public List<string>? StringList(YamlNode node, string path)
    {
        if (node is YamlScalarNode scalar && !IsNull(scalar) && scalar.Value is { } single)
        {
            return [single];
        }
        if (node is not YamlSequenceNode sequence)
        {
            Error(node, path, "must be a list");
            return null;
        }
        var list = new List<string>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            if (sequence.Children[i] is YamlScalarNode { Value: { } value })
            {
                list.Add(value);
            }
            else
            {
                Error(sequence.Children[i], $"{path}[{i}]", "must be a single value");
            }
        }
        return list;
    }

    public T Invalid<T>(YamlNode node, string path, string? text, string message, T fallback)
    {
        if (text is not null)
        {
            Error(node, path, $"'{text}' {message}");
        }
        return fallback;
    }

    public void CheckKeys(YamlMappingNode mapping, string path, string[] known)
    {
        foreach (var key in mapping.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value;
            if (name is null || Array.IndexOf(known, name) < 0)
            {
                Error(key, Join(path, name ?? "?"), $"unknown key (expected one of {string.Join(", ", known)})");
            }
        }
    }

    public void Error(YamlNode node, string path, string message) =>
        errors.Add($"{path} (line {node.Start.Line}): {message}");

    public static YamlNode? Child(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Value: null or "" } or YamlScalarNode { Style: ScalarStyle.Plain, Value: "~" or "null" or "Null" or "NULL" };

    /// <summary>Joins a path and a key: <c>policy</c> + <c>rules</c> = <c>policy.rules</c>; <c>file.yaml:</c> + <c>rules</c> = <c>file.yaml:rules</c>.</summary>
    public static string Join(string path, string key) => path.EndsWith(':') ? path + key : $"{path}.{key}";

    public bool? Bool(YamlMappingNode mapping, string path, string key)
    {
    if (Scalar(mapping, path, key) is not { } text)
    {
        return null;
    }
    if (bool.TryParse(text, out var value))
    {
        return value;
    }
    Error(mapping.Children[new YamlScalarNode(key)], Join(path, key), $"'{text}' is not true or false");
    return null;
    }
}
