using System.CommandLine;
using Corridor.Cli.Output;
using Corridor.Core.Batches;
using Corridor.Storage;

namespace Corridor.Cli.Commands;

/// <summary><c>corridor batches list --tenant ID</c>: a tenant's batches of both APIs (docs/batches.md).</summary>
internal static class BatchCommands
{
    public static Command Create(CliContext context) => new("batches", "Tenants' batches (OpenAI Batch API, Anthropic Message Batches)")
    {
        List(context),
    };

    private static Command List(CliContext context)
    {
        var tenant = new Option<string>("--tenant") { Description = "The tenant whose batches to list", Required = true };
        var limit = new Option<int>("--limit") { Description = "At most this many, newest first (1-1000)", DefaultValueFactory = _ => 100 };
        var json = new Option<bool>("--json") { Description = "One JSON array" };
        var command = new Command("list", "List a tenant's batches, newest first, with their requests by state") { tenant, limit, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var tenantId = parseResult.GetRequiredValue(tenant);
            var most = parseResult.GetValue(limit);
            if (most is < 1 or > 1000)
            {
                throw new CliUserException("--limit must be 1 to 1000.");
            }
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            if (await store.GetTenantAsync(tenantId, cancellationToken) is null)
            {
                throw new CliUserException($"unknown tenant '{tenantId}'. See: corridor tenants list");
            }
            var batches = await TenantBatches.ListAsync(store, tenantId, most, cancellationToken);
            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJsonArray(context.Out, batches, static (w, b) =>
                {
                    w.WriteString("id", b.Id);
                    w.WriteString("api", Api(b));
                    w.WriteString("key", b.KeyId);
                    w.WriteString("endpoint", b.Endpoint);
                    w.WriteString("state", b.State);
                    w.WriteString("ending", b.Ending);
                    w.WriteString("created_at", CliFormat.JsonTime(b.CreatedAt));
                    CliFormat.WriteTimeOrNull(w, "ended_at", b.EndedAt);
                    w.WriteNumber("total", b.Counts.Total);
                    w.WriteNumber("pending", b.Counts.Pending);
                    w.WriteNumber("succeeded", b.Counts.Succeeded);
                    w.WriteNumber("errored", b.Counts.Errored);
                    w.WriteNumber("canceled", b.Counts.Canceled);
                    w.WriteNumber("expired", b.Counts.Expired);
                });
                return 0;
            }
            if (batches.Count == 0)
            {
                context.Out.WriteLine($"Tenant {tenantId} has no batches.");
                return 0;
            }
            var table = new TextTable(new("ID"), new("API"), new("KEY"), new("ENDPOINT"), new("STATE"), new("CREATED"), new("ENDED"),
                new("TOTAL"), new("PENDING"), new("SUCCEEDED"), new("ERRORED"), new("CANCELED"), new("EXPIRED"));
            foreach (var b in batches)
            {
                table.Add(b.Id, Api(b), b.KeyId, b.Endpoint, b.Ending ?? b.State, CliFormat.Time(b.CreatedAt), CliFormat.Time(b.EndedAt),
                    Count(b.Counts.Total), Count(b.Counts.Pending), Count(b.Counts.Succeeded), Count(b.Counts.Errored), Count(b.Counts.Canceled), Count(b.Counts.Expired));
            }
            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static string Api(BatchJob batch) => batch.Api == BatchApi.OpenAI ? "openai" : "anthropic";

    private static string Count(long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
