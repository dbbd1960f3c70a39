using System.CommandLine;
using Corridor.Cli.Output;
using Corridor.Storage.Compliance;

namespace Corridor.Cli.Commands;

/// <summary>
/// <c>corridor secrets rotate-reasoning-key</c>: the secrets the gateways keep in the store (docs/operations.md, "Rotating
/// the reasoning key"). Never prints a secret or anything derived from one.
/// </summary>
internal static class SecretCommands
{
    public static Command Create(CliContext context) => new("secrets", "The secrets the gateways keep in the store")
    {
        RotateReasoningKey(context),
    };

    private static Command RotateReasoningKey(CliContext context)
    {
        var command = new Command("rotate-reasoning-key",
            "Make a new reasoning key in the store, keeping the old one as the previous (still accepted, no longer used to sign or seal); the one before it is dropped");
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var server = context.ResolveServer(parseResult);
            if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(server.ReasoningKeyEnv)))
            {
                // Named, never shown: the variable, not its value.
                throw new CliUserException($"the reasoning key comes from the environment here ({server.ReasoningKeyEnv} is set), and gateways with it "
                    + $"set do not use the store's key: rotating that changes nothing. Rotate it yourself: set {server.ReasoningPreviousKeyEnv} to the old key "
                    + $"and {server.ReasoningKeyEnv} to a new one on every gateway, and restart them (docs/operations.md, \"Rotating the reasoning key\").");
            }

            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var now = context.Time.GetUtcNow();
            if (await AdminChanges.RotateReasoningKeyAsync(store, context.Actor, now, cancellationToken) is not { } sealsFrom)
            {
                throw new CliUserException($"the store keeps no reasoning key: no gateway has started on it without {server.ReasoningKeyEnv} set, "
                    + "so there is nothing to rotate (the first gateway to start makes one).");
            }

            context.Out.WriteLine($"Rotated the reasoning key at {CliFormat.Time(now)}. Running gateways take it up within a second and accept it at once; "
                + $"they sign and seal with it from {CliFormat.Time(sealsFrom)}, with the old key until then.");
            context.Out.WriteLine("Blocks of the old key are accepted until the next rotation; blocks of the key before it no longer are.");
            return 0;
        });
        return command;
    }
}
