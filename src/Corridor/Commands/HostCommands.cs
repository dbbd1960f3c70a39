using System.CommandLine;
using Corridor.Gateway;
using Corridor.Simulator;

namespace Corridor.Cli.Commands;

/// <summary>The knobs of <c>corridor simulate</c>, as given on the command line (null: the simulator's default).</summary>
internal sealed record SimulateArguments(
    int? LatencyMs,
    double? ErrorRate,
    double? RateLimitRate,
    double? DisconnectRate,
    int? TokenIntervalMs,
    int? Seed,
    string? ApiKey);

/// <summary><c>corridor serve</c> and <c>corridor simulate</c>: long-running hosts that stop on Ctrl+C.</summary>
internal static class HostCommands
{
    public static Command Serve(CliContext context)
    {
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on (overrides server.urls of the config)", HelpName = "URLS" };
        var command = new Command("serve", "Run the gateway") { urls };
        context.SetAction(command, (parseResult, cancellationToken) =>
        {
            if (parseResult.GetValue(context.DbOption) is not null)
            {
                throw new CliUserException("serve takes its storage from the config file; --db applies to the store commands only.");
            }

            var configPath = parseResult.GetRequiredValue(context.ConfigOption);
            if (!File.Exists(configPath))
            {
                throw new CliUserException($"config file '{configPath}' not found. Pass --config PATH.");
            }

            return GatewayHost.RunAsync(configPath, parseResult.GetValue(urls), cancellationToken);
        });
        return command;
    }

    public static Command Simulate(CliContext context)
    {
        var urls = new Option<string>("--urls") { Description = "Addresses to listen on", DefaultValueFactory = _ => "http://127.0.0.1:9090", HelpName = "URLS" };
        var latency = NonNegative(new Option<int?>("--latency-ms") { Description = "Delay before the first byte of each response", HelpName = "MS" });
        var errorRate = Rate(new Option<double?>("--error-rate") { Description = "Share of requests answered with a 5xx (0 to 1)", HelpName = "RATE" });
        var rateLimitRate = Rate(new Option<double?>("--rate-limit-rate") { Description = "Share of requests answered with a 429 (0 to 1)", HelpName = "RATE" });
        var disconnectRate = Rate(new Option<double?>("--disconnect-rate") { Description = "Share of streams cut off midway (0 to 1)", HelpName = "RATE" });
        var tokenInterval = NonNegative(new Option<int?>("--token-interval-ms") { Description = "Delay between streamed tokens", HelpName = "MS" });
        var seed = new Option<int?>("--seed") { Description = "Seed for reproducible answers and faults", HelpName = "N" };
        var apiKey = new Option<string?>("--api-key") { Description = "Require this bearer key from callers", HelpName = "KEY" };
        var command = new Command("simulate", "Run the OpenAI/Anthropic-compatible upstream simulator")
        {
            urls, latency, errorRate, rateLimitRate, disconnectRate, tokenInterval, seed, apiKey,
        };
        context.SetAction(command, (parseResult, cancellationToken) =>
        {
            // --db and --config are the root's, so every command takes them; the simulator reads neither, and ignoring them
            // would let an operator believe it used that store or that config.
            if (parseResult.GetValue(context.DbOption) is not null)
            {
                throw new CliUserException("simulate reads no store and no config file; --db applies to the store commands only.");
            }
            if (parseResult.GetResult(context.ConfigOption) is { Implicit: false })
            {
                throw new CliUserException("simulate reads no store and no config file; --config applies to the store commands and serve only.");
            }

            var arguments = new SimulateArguments(
                parseResult.GetValue(latency),
                parseResult.GetValue(errorRate),
                parseResult.GetValue(rateLimitRate),
                parseResult.GetValue(disconnectRate),
                parseResult.GetValue(tokenInterval),
                parseResult.GetValue(seed),
                parseResult.GetValue(apiKey));
            return SimulatorHost.RunAsync(parseResult.GetRequiredValue(urls), ToSimulatorOptions(arguments), cancellationToken);
        });
        return command;
    }

    /// <summary>The one place command-line knobs become <see cref="SimulatorOptions"/>; an absent knob keeps the simulator's default.</summary>
    internal static SimulatorOptions ToSimulatorOptions(SimulateArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var defaults = new SimulatorOptions();
        return defaults with
        {
            Latency = arguments.LatencyMs is { } latency ? TimeSpan.FromMilliseconds(latency) : defaults.Latency,
            ErrorRate = arguments.ErrorRate ?? defaults.ErrorRate,
            RateLimitRate = arguments.RateLimitRate ?? defaults.RateLimitRate,
            DisconnectRate = arguments.DisconnectRate ?? defaults.DisconnectRate,
            TokenInterval = arguments.TokenIntervalMs is { } interval ? TimeSpan.FromMilliseconds(interval) : defaults.TokenInterval,
            Seed = arguments.Seed ?? defaults.Seed,
            RequiredApiKey = arguments.ApiKey ?? defaults.RequiredApiKey,
        };
    }

    private static Option<double?> Rate(Option<double?> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<double?>() is { } value && (value < 0 || value > 1 || double.IsNaN(value)))
            {
                result.AddError($"{option.Name} must be between 0 and 1.");
            }
        });
        return option;
    }

    private static Option<int?> NonNegative(Option<int?> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 0)
            {
                result.AddError($"{option.Name} must not be negative.");
            }
        });
        return option;
    }
}
