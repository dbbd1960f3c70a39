using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Corridor.Core.Yaml;

/// <summary>Why a YAML file cannot be read, and where.</summary>
public sealed record YamlError(Mark At, string Message)
{
    /// <summary><c>corridor.yaml line 3, column 5: …</c></summary>
    public string In(string source) => $"{source} line {At.Line}, column {At.Column}: {Message}";
}

/// <summary>The root of a file's one document (null when it holds none), or why it cannot be read.</summary>
public sealed record YamlLoadResult(YamlNode? Root, YamlError? Error);

/// <summary>
/// Loads YAML files that people write (corridor.yaml, policy files, policy test files) into nodes, refusing what
/// YamlDotNet would load badly or that a reader of the nodes could not survive, each with its line.
/// </summary>
public static class YamlText
{
    /// <summary>How deep a file may nest, and how many nodes it may hold, each counting what its aliases stand for.</summary>
    public const int MaxDepth = 64;

    public const int MaxNodes = 200_000;

    /// <summary>
    /// Loads <paramref name="yaml"/>, a file of one document; <paramref name="what"/> names such a file in the error about
    /// a second one (<c>corridor.yaml</c>, <c>a policy file</c>).
    /// </summary>
    public static YamlLoadResult Load(string yaml, string what)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        try
        {
            if (Unloadable(yaml, what) is { } error)
            {
                return new YamlLoadResult(null, error);
            }
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            return new YamlLoadResult(stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode, null);
        }
        catch (YamlException e)
        {
            return new YamlLoadResult(null, new YamlError(e.Start, e.Message));
        }
    }

    /// <summary>
    /// Reads the file's events once before YamlDotNet builds its nodes, which it does recursively: nesting deeper than
    /// <see cref="MaxDepth"/> is refused here instead of overflowing the stack (which no catch survives), and so is a
    /// second document, which would otherwise be ignored without a word; an alias to no anchor is placed on its line.
    /// YamlDotNet shares an aliased node, but whoever reads the nodes reads it once per alias, so aliases are counted as
    /// what they stand for: aliases of aliases expanding past <see cref="MaxNodes"/> nodes or <see cref="MaxDepth"/>
    /// levels are refused here, in time proportional to the text, and so is an alias inside its own anchor (a node
    /// containing itself, which no reader ends).
    /// </summary>
    private static YamlError? Unloadable(string yaml, string what)
    {
        var parser = new Parser(new StringReader(yaml));
        var documents = 0;
        var nodes = 0L;
        // What each anchor closed so far stands for; the open collections, innermost on top.
        var anchors = new Dictionary<AnchorName, (long Nodes, int Height)>();
        var open = new Stack<Open>();
        while (parser.MoveNext())
        {
            var current = parser.Current!;
            switch (current)
            {
                case DocumentStart when ++documents > 1:
                    return new YamlError(current.Start, $"a second document: {what} holds one");
                case AnchorAlias alias:
                    // YamlDotNet's own error for an alias to no anchor names the document's start, not the alias.
                    if (open.Any(o => o.Anchor == alias.Value))
                    {
                        return new YamlError(alias.Start, $"the alias *{alias.Value} is inside its own anchor &{alias.Value}");
                    }
                    if (!anchors.TryGetValue(alias.Value, out var stands))
                    {
                        return new YamlError(alias.Start, $"the alias *{alias.Value} names no anchor (&{alias.Value}) set before it");
                    }
                    nodes += stands.Nodes;
                    if (open.TryPeek(out var parent))
                    {
                        parent.Deepest = Math.Max(parent.Deepest, open.Count + stands.Height);
                    }
                    if (open.Count + stands.Height > MaxDepth)
                    {
                        return new YamlError(alias.Start, $"nested deeper than {MaxDepth} levels once its aliases are expanded");
                    }
                    break;
                case NodeEvent node:
                    if (!node.Anchor.IsEmpty)
                    {
                        // An anchor set again stands for its new node from here on.
                        anchors.Remove(node.Anchor);
                    }
                    if (node is MappingStart or SequenceStart)
                    {
                        open.Push(new Open(node.Anchor, nodes, open.Count + 1));
                        if (open.Count > MaxDepth)
                        {
                            return new YamlError(node.Start, $"nested deeper than {MaxDepth} levels");
                        }
                    }
                    else if (!node.Anchor.IsEmpty)
                    {
                        anchors[node.Anchor] = (1, 0);
                    }
                    nodes++;
                    break;
                case MappingEnd or SequenceEnd:
                    var closed = open.Pop();
                    if (open.TryPeek(out var outer))
                    {
                        outer.Deepest = Math.Max(outer.Deepest, closed.Deepest);
                    }
                    if (!closed.Anchor.IsEmpty)
                    {
                        anchors[closed.Anchor] = (nodes - closed.NodesBefore, closed.Deepest - closed.Level + 1);
                    }
                    break;
            }
            if (nodes > MaxNodes)
            {
                return new YamlError(current.Start, current is AnchorAlias
                    ? $"expands to more than {MaxNodes} values (aliases of aliases?)"
                    : $"holds more than {MaxNodes} values");
            }
        }
        return null;
    }

    /// <summary>A collection not yet closed: its anchor, the nodes before it, its level and the deepest level within.</summary>
    private sealed class Open(AnchorName anchor, long nodesBefore, int level)
    {
        public AnchorName Anchor { get; } = anchor;

        public long NodesBefore { get; } = nodesBefore;

        public int Level { get; } = level;

        public int Deepest { get; set; } = level;
    }
}
