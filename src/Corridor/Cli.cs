using System.CommandLine;
using Corridor.Cli.Commands;

namespace Corridor.Cli;

/// <summary>The <c>corridor</c> command line: one tree of subcommands, invoked from <c>Main</c> or in-process by tests.</summary>
internal static class Cli
{
    // After Ctrl+C or SIGTERM the running command gets this long to finish before the process ends regardless. The gateway
    // lets requests in flight finish (server.shutdownTimeoutSeconds, at most 300) and then flushes its ledger and audit
    // on the way out; System.CommandLine's default of 2 s would cut that short.
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromMinutes(6);

    /// <summary>Runs against the console; Ctrl+C (SIGINT, SIGTERM) cancels the running command.</summary>
    public static Task<int> RunAsync(string[] args) => InvokeAsync(args, Console.Out, Console.Error, handleTermination: true, CancellationToken.None);

    /// <summary>Runs in-process with the given writers and no signal handling.</summary>
    public static Task<int> InvokeAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        InvokeAsync(args, stdout, stderr, handleTermination: false, cancellationToken);

    private static Task<int> InvokeAsync(string[] args, TextWriter stdout, TextWriter stderr, bool handleTermination, CancellationToken cancellationToken)
    {
        var context = new CliContext(stdout, stderr, TimeProvider.System);
        var configuration = new InvocationConfiguration
        {
            Output = stdout,
            Error = stderr,
            ProcessTerminationTimeout = handleTermination ? ShutdownGrace : null,
        };

        return BuildRoot(context).Parse(args).InvokeAsync(configuration, cancellationToken);
    }

    internal static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("Corridor: a self-hosted AI gateway. Serve it, run the upstream simulator, manage tenants and keys, screen for denied parties, rotate the reasoning key, test and explain policy, verify the audit log, read usage and reports, export traffic, replay it through the distillation monitor, review its cases and pin enforcement levels.")
        {
            context.ConfigOption,
            context.DbOption,
        };

        root.Add(HostCommands.Serve(context));
        root.Add(HostCommands.Simulate(context));
        root.Add(TenantCommands.Create(context));
        root.Add(KeyCommands.Create(context));
        root.Add(BatchCommands.Create(context));
        root.Add(ScreeningCommands.Create(context));
        root.Add(SecretCommands.Create(context));
        root.Add(AuditCommands.Create(context));
        root.Add(BackupCommand.Create(context));
        root.Add(RestoreCommand.Create(context));
        root.Add(UsageCommand.Create(context));
        root.Add(ExportCommand.Create(context));
        root.Add(ReportCommands.Create(context));
        root.Add(PolicyCommands.Policy(context));
        root.Add(PolicyCommands.Explain(context));
        root.Add(ReplayCommand.Create(context));
        root.Add(MonitorCommands.Cases(context));
        root.Add(MonitorCommands.Enforcement(context));
        return root;
    }
}
