namespace Corridor.Simulator;

/// <summary>Runs the upstream simulator.</summary>
public static class SimulatorHost
{
    /// <summary>Runs <c>corridor simulate</c> until cancelled. Returns the process exit code.</summary>
    public static Task<int> RunAsync(string urls, SimulatorOptions options, CancellationToken cancellationToken) => throw new NotImplementedException("being written");
}

public sealed record SimulatorOptions;
