using System.CommandLine;
using System.Globalization;
using Corridor.Cli.Output;
using Corridor.Storage;

namespace Corridor.Cli.Commands;

/// <summary>
/// <c>corridor usage</c>: billable totals per tenant and model; of the input tokens, those the vendor's prompt cache served
/// and took (priced apart), named in JSON as in <c>/v1/usage</c> and the admin API.
/// </summary>
internal static class UsageCommand
{
    public static Command Create(CliContext context)
    {
        var from = GlobalOptions.From();
        var to = GlobalOptions.To();
        var json = GlobalOptions.Json();
        var command = new Command("usage", "Billable requests, tokens and cost per tenant and model") { from, to, json };
        context.SetAction(command, async (parseResult, cancellationToken) =>
        {
            var period = GlobalOptions.Period(parseResult, from, to);
            await using var store = await context.OpenStoreAsync(parseResult, cancellationToken);
            var totals = await store.GetUsageTotalsAsync(period.From, period.To, tenantId: null, cancellationToken);
            if (parseResult.GetValue(json))
            {
                CliFormat.WriteJsonArray(context.Out, totals, static (w, t) =>
                {
                    w.WriteString("tenant", t.TenantId);
                    w.WriteString("model", t.Model);
                    w.WriteNumber("requests", t.Requests);
                    w.WriteNumber("input_tokens", t.InputTokens);
                    w.WriteNumber("input_cached_tokens", t.CacheReadTokens);
                    w.WriteNumber("input_cache_write_tokens", t.CacheWriteTokens);
                    w.WriteNumber("output_tokens", t.OutputTokens);
                    w.WriteString("cost", t.Cost.ToString(CultureInfo.InvariantCulture));
                });
                return 0;
            }

            if (totals.Count == 0)
            {
                context.Out.WriteLine("No billable usage in this period.");
                return 0;
            }

            var table = new TextTable(
                new("TENANT"), new("MODEL"), new("REQUESTS", true), new("INPUT TOKENS", true), new("CACHE READ TOKENS", true), new("CACHE WRITE TOKENS", true),
                new("OUTPUT TOKENS", true), new("COST", true));
            foreach (var t in totals)
            {
                AddRow(table, t);
            }

            if (totals.Count > 1)
            {
                AddRow(table, new UsageTotal(
                    "TOTAL", string.Empty, totals.Sum(t => t.Requests), totals.Sum(t => t.InputTokens), totals.Sum(t => t.OutputTokens), totals.Sum(t => t.Cost))
                {
                    CacheReadTokens = totals.Sum(t => t.CacheReadTokens), CacheWriteTokens = totals.Sum(t => t.CacheWriteTokens),
                });
            }

            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static void AddRow(TextTable table, UsageTotal t) => table.Add(
        t.TenantId, t.Model, CliFormat.Count(t.Requests), CliFormat.Count(t.InputTokens), CliFormat.Count(t.CacheReadTokens), CliFormat.Count(t.CacheWriteTokens),
        CliFormat.Count(t.OutputTokens), CliFormat.Money(t.Cost));
}
