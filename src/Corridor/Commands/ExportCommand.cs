using System.CommandLine;
using Corridor.Storage.Export;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor export</c>: the ledger as traffic log v1, for <c>replay</c> and for customers' auditors.</summary>
internal static class ExportCommand
{
    public static Command Create(CliContext context)
    {
        var output = new Option<string>("--out") { Description = "File to write (JSON Lines; gzip when it ends in .gz)", Required = true, HelpName = "FILE" };
        var from = GlobalOptions.From();
        var to = GlobalOptions.To();
        var force = OutputFile.Force();
        var command = new Command("export", "Export the ledger as traffic log v1") { output, from, to, force };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var path = parseResult.GetRequiredValue(output);
            if (string.IsNullOrWhiteSpace(path))
            {
                throw new CliUserException("--out needs a file path.");
            }

            var overwrite = parseResult.GetValue(force);
            OutputFile.Check(path, overwrite);

            var period = GlobalOptions.Period(parseResult, from, to);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var result = await TrafficLogWriter.ExportAsync(store.ReadLedgerAsync(period.From, period.To, cancellationToken), path, overwrite, cancellationToken);
            var format = TrafficLogWriter.IsGzipPath(path) ? "traffic log v1, gzip" : "traffic log v1";
            context.Out.WriteLine($"Exported {result.Written} requests to {path} ({format}).");
            if (result.Skipped > 0)
            {
                context.Out.WriteLine($"Skipped {result.Skipped} requests that no tenant made (unknown or missing keys).");
            }

            if (result.Shadow > 0)
            {
                context.Out.WriteLine($"Left out {result.Shadow} shadow requests (the operator's own traffic; see corridor report shadow).");
            }

            if (result.TokenCounts > 0)
            {
                context.Out.WriteLine($"Left out {result.TokenCounts} token counts (no answer was generated; the monitor does not observe them).");
            }

            return 0;
        });
        return command;
    }
}
