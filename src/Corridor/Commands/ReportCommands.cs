using System.CommandLine;
using Corridor.Core.Reports;
using Corridor.Storage.Reports;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor report</c>: reports over the ledger, each as JSON or CSV.</summary>
internal static class ReportCommands
{
    public static Command Create(CliContext context)
    {
        var report = new Command("report", "Reports over the ledger");
        report.Add(Residency(context));
        report.Add(Spend(context, "spend", SpendMeasure.Spend,
            "Spend (the vendors' price) and revenue (the sell price) per period by tenant, vendor, model, region or country, with growth; top customers by spend"));
        report.Add(Spend(context, "revenue", SpendMeasure.Revenue,
            "Revenue (the sell price) and spend (the vendors' price) per period by tenant, vendor, model, region or country, with growth; top customers by revenue"));
        report.Add(Shadow(context));
        return report;
    }

    /// <summary><c>corridor report residency --tenant T</c>: what a customer's auditor checks — usage by vendor × serving region × model, and denials by reason.</summary>
    private static Command Residency(CliContext context)
    {
        var tenant = new Option<string>("--tenant") { Description = "The tenant to report on", Required = true, HelpName = "ID" };
        var from = GlobalOptions.From();
        var to = GlobalOptions.To();
        var format = Format();
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
            await WriteAsync(context, parseResult.GetValue(format), residency.WriteJson, residency.ToCsv);
            return 0;
        });
        return command;
    }

    /// <summary><c>corridor report spend|revenue [--by D] [--period P]</c>: the finance report, ranked by the named measure.</summary>
    private static Command Spend(CliContext context, string name, SpendMeasure rankBy, string description)
    {
        var by = new Option<string>("--by") { Description = "Group by tenant, vendor, model, region (serving) or country (the customer's)", DefaultValueFactory = _ => "tenant" };
        by.AcceptOnlyFromAmong("tenant", "vendor", "model", "region", "country");
        var period = new Option<string>("--period") { Description = "Calendar periods in UTC: day, month or quarter", DefaultValueFactory = _ => "month" };
        period.AcceptOnlyFromAmong("day", "month", "quarter");
        var top = new Option<int>("--top")
        {
            Description = $"How many top customers to list (0 to {SpendReport.MaxTopCustomers})",
            DefaultValueFactory = _ => SpendReport.DefaultTopCustomers,
            HelpName = "N",
        };
        var from = GlobalOptions.From();
        var to = GlobalOptions.To();
        var format = Format();
        var command = new Command(name, description) { by, period, from, to, top, format };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var range = GlobalOptions.Period(parseResult, from, to);
            // Both were checked against their lists by the parser.
            _ = SpendReport.TryParseDimension(parseResult.GetValue(by), out var dimension);
            _ = ReportPeriods.TryParse(parseResult.GetValue(period), out var periods);
            if (parseResult.GetValue(top) is < 0 or > SpendReport.MaxTopCustomers)
            {
                throw new CliUserException($"--top must be from 0 to {SpendReport.MaxTopCustomers}.");
            }
            if (SpendReport.RangeError(range.From, range.To, periods) is { } rangeError)
            {
                throw new CliUserException("--" + rangeError);
            }
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var report = await store.SpendAsync(dimension, periods, range.From, range.To, rankBy, parseResult.GetValue(top), cancellationToken);
            await WriteAsync(context, parseResult.GetValue(format), report.WriteJson, report.ToCsv);
            return 0;
        });
        return command;
    }

    /// <summary><c>corridor report shadow</c>: the shadow evaluation per primary → candidate model pair.</summary>
    private static Command Shadow(CliContext context)
    {
        var from = GlobalOptions.From();
        var to = GlobalOptions.To();
        var format = Format();
        var command = new Command("shadow", "Shadow evaluation per model pair: requests mirrored, candidate errors, latency, cost and projected saving, output similarity")
        {
            from, to, format,
        };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var range = GlobalOptions.Period(parseResult, from, to);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var report = await store.ShadowAsync(range.From, range.To, cancellationToken);
            await WriteAsync(context, parseResult.GetValue(format), report.WriteJson, report.ToCsv);
            return 0;
        });
        return command;
    }

    private static Option<string> Format()
    {
        var format = new Option<string>("--format") { Description = "json or csv", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "csv");
        return format;
    }

    /// <summary>A report as JSON or, with <c>csv</c>, as CSV (the admin API's documents).</summary>
    internal static async Task WriteAsync(CliContext context, string? format, Action<Stream> writeJson, Func<string> toCsv)
    {
        if (format == "csv")
        {
            await context.Out.WriteAsync(toCsv());
            return;
        }
        using var buffer = new MemoryStream();
        writeJson(buffer);
        await context.Out.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }
}
