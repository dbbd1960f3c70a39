namespace Corridor.Gateway;

/// <summary>Builds and runs the gateway's web host.</summary>
public static class GatewayHost
{
    /// <summary>Runs <c>corridor serve</c> until cancelled. Returns the process exit code.</summary>
    public static Task<int> RunAsync(string configPath, string? urls, CancellationToken cancellationToken) => throw new NotImplementedException("being written");
}
