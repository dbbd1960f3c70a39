using System.CommandLine;

namespace Corridor.Cli.Commands;

/// <summary>
/// A file a command writes (<c>--out</c>): one already there is refused unless <c>--force</c>, as <c>corridor backup</c>
/// refuses to write over one. Exports, reports and evidence bundles are often named after their period or case, and a second
/// run under the same name would otherwise replace the first without a word.
/// </summary>
internal static class OutputFile
{
    public static Option<bool> Force() => new("--force") { Description = "Write over the file --out names if it exists (refused otherwise)" };

    /// <summary>Refuses <paramref name="path"/> when something is there and <paramref name="force"/> is not given.</summary>
    public static void Check(string path, bool force)
    {
        if (!force && (File.Exists(path) || Directory.Exists(path)))
        {
            throw Exists(path);
        }
    }

    /// <summary>
    /// Opens <paramref name="path"/> to write: a new file, or (<paramref name="force"/>) one written over. A file that
    /// appeared since <see cref="Check"/> is refused as one that was there.
    /// </summary>
    public static FileStream Create(string path, bool force)
    {
        try
        {
            return new FileStream(path, force ? FileMode.Create : FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        catch (IOException) when (!force && File.Exists(path))
        {
            throw Exists(path);
        }
    }

    private static CliUserException Exists(string path) => new($"'{path}' exists; pass --force to write over it.");
}
