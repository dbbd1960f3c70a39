namespace Corridor.Testing;

/// <summary>A fresh folder under the system temp folder (or under <c>under</c>), deleted with everything in it on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string? under = null)
    {
        Path = System.IO.Path.Combine(under ?? System.IO.Path.GetTempPath(), "corridor-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder must not fail a test.
        }
    }
}
