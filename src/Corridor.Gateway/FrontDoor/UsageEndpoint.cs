using System.Text.Json;
using Corridor.Gateway.Admission;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.Pipeline;
using Corridor.Storage;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.FrontDoor;

/// <summary>
/// <c>GET /v1/usage?from=&amp;to=&amp;batch=</c>: the calling key's own tenant's billable requests and tokens per model, from
/// the ledger, so a customer can reconcile without asking the operator; of one of its batches alone when <c>batch</c> names
/// one. Of the input tokens, those the vendor's prompt cache
/// served and took are billed at prices of their own, so they are shown too: <c>input_cached_tokens</c>, as OpenAI's usage
/// API names them (within <c>input_tokens</c>, as there), and <c>input_cache_write_tokens</c> in the same style. The tenant
/// is the key's, never a parameter: no key can name another tenant. Money is left out on purpose: the ledger's cost is
/// what the operator pays the vendor, which is not the customer's to see (the operator's revenue report gives what each
/// tenant is billed).
/// </summary>
internal sealed class UsageEndpoint(Authenticator authenticator, Admitter admitter, ICorridorStore store, GatewayState state, TimeProvider time)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var dialect = ClientDialect.Of(context.Request);
        var call = new CorridorRequestFeature(state.Active, RequestPipeline.NewRequestId(time.GetUtcNow()), dialect, Operation.Models, time.GetUtcNow(), time.GetTimestamp(), 0);
        RequestPipeline.WriteRequestId(context.Response, call.RequestId);
        if (authenticator.Authenticate(context, call) is { } error)
        {
            await RequestPipeline.WriteErrorAsync(context, dialect, error, call.RequestId);
            return;
        }
        if (!Admin.AdminApi.TryDate(context.Request.Query["from"], out var from) || !Admin.AdminApi.TryDate(context.Request.Query["to"], out var to))
        {
            await RequestPipeline.WriteErrorAsync(context, dialect,
                GatewayError.Invalid("from and to must be ISO 8601 dates such as 2026-06-01.", "from"), call.RequestId);
            return;
        }
        if (from >= to)
        {
            // As the admin API and the command line refuse it: an empty range is a mistake, not a tenant without usage.
            await RequestPipeline.WriteErrorAsync(context, dialect, GatewayError.Invalid("from must be earlier than to.", "from"), call.RequestId);
            return;
        }
        // A request of the key's like any other against its requests per minute (docs/limits-and-budgets.md): each read
        // costs the store a query and hurries the ledger journal's pass, so a key calling in a loop is held to its rate.
        if (await admitter.AdmitRequestOnlyAsync(context, call) is { } refused)
        {
            await RequestPipeline.WriteErrorAsync(context, dialect, refused, call.RequestId);
            return;
        }
        var tenant = call.Caller!.Tenant.Id;
        var batch = context.Request.Query["batch"].ToString() is { Length: > 0 } named ? named : null;
        IReadOnlyList<UsageTotal>? totals;
        try
        {
            // Off the socket's event thread (GatewayHost.PreferInlineSocketCompletions): the store's calls may block.
            await Task.Yield();
            totals = batch is null
                ? await store.GetUsageTotalsAsync(from, to, tenant, context.RequestAborted)
                : await BatchTotalsAsync(tenant, batch, from, to, context.RequestAborted);
        }
        catch (Exception e) when (CorridorStoreException.IsStoreFailure(e))
        {
            // The store is away: say so in the client's dialect, without the store's own error, which is not the client's to see.
            await RequestPipeline.WriteErrorAsync(context, dialect, new GatewayError(ErrorKind.Unavailable,
                "Usage cannot be read now: Corridor cannot reach its store. Retry later.", "store_unavailable") { RetryAfter = "5" }, call.RequestId);
            return;
        }
        finally
        {
            // Nothing was reserved: this gives nothing back and charges nothing, and clears the admission.
            admitter.Settle(call);
        }
        if (totals is null)
        {
            // Another tenant's batch is not found either, as in the batch APIs.
            await RequestPipeline.WriteErrorAsync(context, dialect, new GatewayError(ErrorKind.NotFound, $"No batch with id '{batch}'.", "not_found", "batch"), call.RequestId);
            return;
        }
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteString("tenant", tenant);
            WriteDate(json, "from", from);
            WriteDate(json, "to", to);
            if (batch is not null)
            {
                json.WriteString("batch", batch);
            }
            json.WriteStartArray("data");
            foreach (var total in totals)
            {
                json.WriteStartObject();
                json.WriteString("model", total.Model);
                json.WriteNumber("requests", total.Requests);
                json.WriteNumber("input_tokens", total.InputTokens);
                json.WriteNumber("input_cached_tokens", total.CacheReadTokens);
                json.WriteNumber("input_cache_write_tokens", total.CacheWriteTokens);
                json.WriteNumber("output_tokens", total.OutputTokens);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    /// <summary>
    /// The billable totals per model of one of the tenant's batches (<c>?batch=</c>), read through the ledger's index of
    /// batch rows; null when the tenant has no such batch.
    /// </summary>
    private async Task<IReadOnlyList<UsageTotal>?> BatchTotalsAsync(string tenant, string batchId, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        if (await store.GetBatchAsync(tenant, batchId, cancellationToken) is null)
        {
            return null;
        }
        var usage = await store.GetBatchUsageAsync(tenant, [batchId], from, to, cancellationToken);
        return
        [
            .. usage.Where(u => u.Totals.Billable > 0).Select(u => new UsageTotal(tenant, u.Model, u.Totals.Billable, u.Totals.InputTokens, u.Totals.OutputTokens, u.Totals.Cost)
            {
                CacheReadTokens = u.Totals.CacheReadTokens, CacheWriteTokens = u.Totals.CacheWriteTokens,
            }),
        ];
    }

    private static void WriteDate(Utf8JsonWriter json, string name, DateTimeOffset? date)
    {
        if (date is { } value)
        {
            json.WriteString(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
