using System.CommandLine;
using Corridor.Cli.Output;
using Corridor.Core.Reports;
using Corridor.Storage.Reports;

namespace Corridor.Cli.Commands;

/// <summary>
/// <c>corridor batches list|show --tenant ID</c>: a tenant's batches of both APIs, with their requests by state and what
/// their runs cost and earned in the ledger (docs/batches.md); the admin API's documents with <c>--json</c> or <c>--csv</c>.
/// </summary>
internal static class BatchCommands
{
    public static Command Create(CliContext context) => new("batches", "Tenants' batches (OpenAI Batch API, Anthropic Message Batches)")
    {
        List(context),
        Show(context),
    };

    private static Command List(CliContext context)
    {
        var tenant = Tenant("The tenant whose batches to list");
        var limit = new Option<int>("--limit")
        {
            Description = $"At most this many, newest first (1-{BatchReport.MaxListed})",
            DefaultValueFactory = _ => BatchReport.DefaultListed,
            HelpName = "N",
        };
        var (json, csv) = Formats("One JSON array");
        var command = new Command("list", "List a tenant's batches, newest first, with their requests by state and their cost and revenue")
        {
            tenant, limit, json, csv,
        };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var tenantId = parseResult.GetRequiredValue(tenant);
            var most = parseResult.GetValue(limit);
            if (most is < 1 or > BatchReport.MaxListed)
            {
                throw new CliUserException($"--limit must be 1 to {BatchReport.MaxListed}.");
            }
            var format = Format(parseResult, json, csv);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            await KnownTenantAsync(store, tenantId, cancellationToken);
            var report = await store.BatchesAsync(tenantId, most, cancellationToken);
            if (format is not null)
            {
                await ReportCommands.WriteAsync(context, format, report.WriteJson, report.ToCsv);
                return 0;
            }
            if (report.Rows.Count == 0)
            {
                context.Out.WriteLine($"Tenant {tenantId} has no batches.");
                return 0;
            }
            var table = new TextTable(new("ID"), new("API"), new("KEY"), new("ENDPOINT"), new("STATE"), new("CREATED"), new("ENDED"),
                new("TOTAL", true), new("PENDING", true), new("SUCCEEDED", true), new("ERRORED", true), new("CANCELED", true), new("EXPIRED", true),
                new("COST", true), new("REVENUE", true));
            foreach (var (b, l) in report.Rows)
            {
                table.Add(b.Id, BatchReportRow.Api(b), b.KeyId, b.Endpoint, b.Ending ?? b.State, CliFormat.Time(b.CreatedAt), CliFormat.Time(b.EndedAt),
                    CliFormat.Count(b.Counts.Total), CliFormat.Count(b.Counts.Pending), CliFormat.Count(b.Counts.Succeeded), CliFormat.Count(b.Counts.Errored),
                    CliFormat.Count(b.Counts.Canceled), CliFormat.Count(b.Counts.Expired), CliFormat.Money(l.Cost), CliFormat.Money(l.Revenue));
            }
            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static Command Show(CliContext context)
    {
        var id = new Argument<string>("ID") { Description = "The batch's id (batch_... or msgbatch_...)" };
        var tenant = Tenant("The tenant whose batch it is");
        var (json, csv) = Formats("One JSON object");
        var command = new Command("show", "Show a batch: its requests by state, and its runs in the ledger (requests, tokens, cost, revenue at the batch price)")
        {
            id, tenant, json, csv,
        };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var tenantId = parseResult.GetRequiredValue(tenant);
            var batchId = parseResult.GetRequiredValue(id);
            var format = Format(parseResult, json, csv);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            await KnownTenantAsync(store, tenantId, cancellationToken);
            var row = await store.BatchAsync(tenantId, batchId, cancellationToken)
                ?? throw new CliUserException($"tenant '{tenantId}' has no batch '{batchId}'. See: corridor batches list --tenant {tenantId}");
            if (format is not null)
            {
                await ReportCommands.WriteAsync(context, format, row.WriteJson, () => new BatchReport([row]).ToCsv());
                return 0;
            }
            var table = new TextTable(new("FIELD"), new("VALUE"));
            foreach (var (name, value, _) in row.Fields())
            {
                table.Add(name, CliFormat.OrNone(value));
            }
            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static Option<string> Tenant(string description) => new("--tenant") { Description = description, Required = true, HelpName = "ID" };

    private static (Option<bool> Json, Option<bool> Csv) Formats(string json) =>
        (new("--json") { Description = json + ", as the admin API answers" }, new("--csv") { Description = "CSV, one line a batch, as the admin API's format=csv" });

    /// <summary><c>json</c>, <c>csv</c>, or null for a table.</summary>
    private static string? Format(ParseResult parseResult, Option<bool> json, Option<bool> csv) =>
        (parseResult.GetValue(json), parseResult.GetValue(csv)) switch
        {
            (true, true) => throw new CliUserException("--json and --csv cannot be used together."),
            (true, false) => "json",
            (false, true) => "csv",
            _ => null,
        };

    private static async Task KnownTenantAsync(Storage.ICorridorStore store, string tenantId, CancellationToken cancellationToken)
    {
        if (await store.GetTenantAsync(tenantId, cancellationToken) is null)
        {
            throw new CliUserException($"unknown tenant '{tenantId}'. See: corridor tenants list");
        }
    }
}
