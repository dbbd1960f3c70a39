using Corridor.Simulator.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corridor.Simulator;

/// <summary>Runs the upstream simulator.</summary>
public static partial class SimulatorHost
{
    /// <summary>Runs <c>corridor simulate</c> until cancelled. Returns the process exit code.</summary>
    public static async Task<int> RunAsync(string urls, SimulatorOptions options, CancellationToken cancellationToken)
    {
        RunningSimulator simulator;
        try
        {
            simulator = await StartAsync(urls, options, cancellationToken);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 2;
        }
        catch (IOException e)
        {
            // Kestrel reports an address it cannot bind as an IOException.
            await Console.Error.WriteLineAsync(e.Message);
            return 1;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }

        await using (simulator)
        {
            await simulator.WaitForShutdownAsync(cancellationToken);
        }

        return 0;
    }

    /// <summary>
    /// Starts the simulator on <paramref name="urls"/> (for tests: <c>http://127.0.0.1:0</c>) and returns once it listens.
    /// </summary>
    public static Task<RunningSimulator> StartAsync(string urls, SimulatorOptions options, CancellationToken cancellationToken) =>
        StartAsync(urls, options, TimeProvider.System, cancellationToken);

    internal static async Task<RunningSimulator> StartAsync(string urls, SimulatorOptions options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (string.IsNullOrWhiteSpace(urls))
        {
            throw new ArgumentException("The simulator needs a URL to listen on, e.g. http://127.0.0.1:8089.", nameof(urls));
        }

        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid simulator options: " + string.Join(" ", errors), nameof(options));
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseUrls(urls);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Corridor", LogLevel.Information);
        // In-flight streams get a short grace period when the simulator stops.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));

        var app = builder.Build();
        SimulatorEndpoints.Map(app, new SimulatorState(options, timeProvider));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = new Uri(app.Urls.First());
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Corridor.Simulator");
        LogListening(logger, address);
        return new RunningSimulator(app, address);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Corridor upstream simulator listening on {Address}")]
    private static partial void LogListening(ILogger logger, Uri address);
}
