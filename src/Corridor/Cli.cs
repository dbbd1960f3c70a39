using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Corridor.Cli.Commands;

namespace Corridor.Cli;

/// <summary>The <c>corridor</c> command line: one tree of subcommands, invoked from <c>Main</c> or in-process by tests.</summary>
internal static partial class Cli
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

        var parseResult = BuildRoot(context).Parse(args);
        // A group named without its subcommand (corridor, corridor tenants) keeps System.CommandLine's answer: the error
        // and the group's help, which lists what it holds.
        if (parseResult.Action is ParseErrorAction && parseResult.CommandResult.Command.Action is not null)
        {
            return Task.FromResult(ReportParseErrors(parseResult, stderr));
        }

        return parseResult.InvokeAsync(configuration, cancellationToken);
    }

    /// <summary>
    /// A command line that does not parse (a bad date, a word where a number goes, an unknown option) is answered as every
    /// other mistake is: <c>error: ...</c> on stderr, exit 1. System.CommandLine's own answer printed the command's whole
    /// help with the error, which buried the one line that mattered; the help is a <c>--help</c> away, and that is said
    /// when a word was not understood at all.
    /// </summary>
    private static int ReportParseErrors(ParseResult parseResult, TextWriter stderr)
    {
        foreach (var error in parseResult.Errors)
        {
            stderr.WriteLine($"error: {InOperatorsWords(error.Message)}");
        }
        if (parseResult.UnmatchedTokens.Count > 0)
        {
            var names = new List<string>();
            for (var result = parseResult.CommandResult; result.Parent is CommandResult parent; result = parent)
            {
                names.Insert(0, result.Command.Name);
            }
            stderr.WriteLine($"See: corridor {string.Join(' ', [.. names, "--help"])}");
        }
        return 1;
    }

    /// <summary>
    /// System.CommandLine names the .NET type a value did not parse as (<c>as expected type 'System.Int32'</c>); the operator
    /// is told what to write instead (<c>: expected a whole number</c>).
    /// </summary>
    internal static string InOperatorsWords(string message) => ExpectedType().Replace(message, match => match.Groups[1].Value switch
    {
        "System.Int32" or "System.Int64" => ": expected a whole number.",
        "System.Decimal" or "System.Double" => ": expected a number.",
        "System.Boolean" => ": expected true or false.",
        _ => match.Value,
    });

    [System.Text.RegularExpressions.GeneratedRegex(@" as expected type '([A-Za-z0-9.]+)'\.?")]
    private static partial System.Text.RegularExpressions.Regex ExpectedType();

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
