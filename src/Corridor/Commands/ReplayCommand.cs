using System.CommandLine;
using System.Globalization;
using Corridor.Gateway.Configuration;
using Corridor.Monitor;
using Corridor.Monitor.Replay;
using Corridor.Monitor.Scoring;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor replay</c>: a traffic log through the distillation monitor, offline, into a detector report.</summary>
internal static class ReplayCommand
{
    private const int BadLinesShown = 20;

    public static Command Create(CliContext context)
    {
        var log = new Argument<string>("LOG") { Description = "Traffic log v1 (.jsonl, or gzip: .jsonl.gz)" };
        var output = new Option<string>("--out") { Description = "Detector report v1 to write (JSON)", Required = true, HelpName = "REPORT" };
        var force = OutputFile.Force();
        var command = new Command("replay", "Replay a traffic log through the distillation monitor (with the monitor settings of --config when the file exists), with the log's timestamps as its clock, and write a detector report")
        {
            log,
            output,
            force,
        };
        context.SetAction(command, (parseResult, cancellationToken) =>
        {
            var logPath = parseResult.GetRequiredValue(log);
            var reportPath = parseResult.GetRequiredValue(output);
            if (string.IsNullOrWhiteSpace(reportPath))
            {
                throw new CliUserException("--out needs a file path.");
            }

            if (!File.Exists(logPath))
            {
                throw new CliUserException($"traffic log '{logPath}' not found.");
            }

            var overwrite = parseResult.GetValue(force);
            OutputFile.Check(reportPath, overwrite);

            var monitor = new DistillationMonitor(MonitorOptionsFrom(parseResult.GetRequiredValue(context.ConfigOption)));
            var shown = 0;
            ReplayResult result;
            using (var stream = TrafficLogReplay.Open(logPath))
            {
                result = TrafficLogReplay.Run(stream, monitor, bad =>
                {
                    if (shown++ < BadLinesShown)
                    {
                        context.Error.WriteLine($"{logPath}:{bad.Number}: skipped: {bad.Error}");
                    }
                }, cancellationToken);
            }

            if (shown > BadLinesShown)
            {
                context.Error.WriteLine($"... and {shown - BadLinesShown} more lines skipped.");
            }

            var snapshot = monitor.Snapshot();
            using (var file = OutputFile.Create(reportPath, overwrite))
            {
                DetectorReportWriter.Write(file, snapshot, result.Requests, result.SkippedLines);
            }

            var flagged = snapshot.Subjects.Count(s => s.HighestLevel >= EnforcementLevel.Flag);
            var clusters = snapshot.Clusters.Count(c => c.HighestLevel >= EnforcementLevel.Flag);
            var rate = result.RequestsPerSecond.ToString("N0", CultureInfo.InvariantCulture);
            context.Out.WriteLine($"Replayed {result.Requests} requests ({result.SkippedLines} lines skipped) in {result.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} s, {rate} requests/s.");
            if (monitor.Stats.ObservedBatch is > 0 and var batch)
            {
                // Lines with Corridor's "batch" field: counted for their content, left out of the pacing (docs/monitor.md).
                context.Out.WriteLine($"Of those, {batch} ran for batches: read for their content, not their timing.");
            }

            context.Out.WriteLine($"Subjects at flag or above: {flagged}; clusters at flag or above: {clusters}. Report: {reportPath}");
            return Task.FromResult(0);
        });
        return command;
    }

    /// <summary>The monitor settings of the configuration file when there is one (so replay scores as the gateway does), else the defaults.</summary>
    private static MonitorOptions MonitorOptionsFrom(string configPath)
    {
        if (!File.Exists(configPath))
        {
            return new MonitorOptions();
        }

        var loaded = ConfigLoader.Load(configPath);
        return loaded.Succeeded
            ? loaded.Config!.Monitor.Scoring
            : throw CliUserException.FromErrors(loaded.Errors.Prepend($"'{configPath}' is not a valid configuration (replay reads its monitor settings):"));
    }
}
