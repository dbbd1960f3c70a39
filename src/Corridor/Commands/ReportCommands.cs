using System.CommandLine;
using Corridor.Storage.Reports;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor report</c>: reports over the ledger.</summary>
internal static class ReportCommands
{
    public static Command Create(CliContext context)
    {
        var report = new Command("report", "Reports over the ledger");
        report.Add(Residency(context));
        return report;
    }

    /// <summary><c>corridor report residency --tenant T</c>: what a customer's auditor checks — usage by vendor × serving region × model, and denials by reason.</summary>
    private static Command Residency(CliContext context)
    {
        var tenant = new Option<string>("--tenant") { Description = "The tenant to report on", Required = true };
        var from = GlobalOptions.From();
        var to = GlobalOptions.To();
        var format = new Option<string>("--format") { Description = "json or csv", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "csv");
        var command = new Command("residency", "Requests, tokens and spend by vendor, serving region and model, and denials by reason, for one tenant and period")
        {
            tenant, from, to, format,
        };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var period = GlobalOptions.Period(parseResult, from, to);
            var tenantId = parseResult.GetRequiredValue(tenant);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            if (await store.GetTenantAsync(tenantId, cancellationToken) is null)
            {
                throw new CliUserException($"unknown tenant '{tenantId}'. See: corridor tenants list");
            }
            var residency = await store.ResidencyAsync(tenantId, period.From, period.To, cancellationToken);
            if (parseResult.GetValue(format) == "csv")
            {
                await context.Out.WriteAsync(residency.ToCsv());
                return 0;
            }
            using var buffer = new MemoryStream();
            residency.WriteJson(buffer);
            await context.Out.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            return 0;
        });
        return command;
    }
}
