namespace Corridor.Gateway.Configuration;

/// <summary>The outcome of loading <c>corridor.yaml</c>: a config, or every error found.</summary>
public sealed record ConfigLoadResult(CorridorConfig? Config, IReadOnlyList<string> Errors)
{
    public bool Succeeded => Config is not null && Errors.Count == 0;
}

public static class ConfigLoader
{
    /// <summary>Reads a YAML file, applies <c>CORRIDOR__Section__Key</c> environment overrides and validates it.</summary>
    public static ConfigLoadResult Load(string path) => throw new NotImplementedException("being written");
}
