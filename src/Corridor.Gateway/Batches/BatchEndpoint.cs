using System.Text.Json;
using Corridor.Core.Policy;
using Corridor.Gateway.Admission;
using Corridor.Gateway.Authentication;
using Corridor.Gateway.Configuration;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Monitoring;
using Corridor.Gateway.Pipeline;
using Corridor.Storage;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Batches;

/// <summary>
/// What every batch and file endpoint does around its own work: authenticates the key (its tenant is the only one whose
/// batches and files it sees), refuses a key or tenant the monitor or an operator suspended, holds the key to its requests
/// per minute, moves off the socket's event thread before the store is called, and answers a store that is away, or
/// any refusal, in the client's dialect.
/// </summary>
internal sealed class BatchEndpoint(Authenticator authenticator, Admitter admitter, MonitorService monitor, GatewayState state, TimeProvider time)
{
    /// <summary>
    /// Runs <paramref name="serve"/> for an authenticated caller; it writes its answer, or returns an error to be written.
    /// Only what makes work (an upload, a new batch: <paramref name="admit"/>) is held to the key's requests per minute:
    /// a batch's own requests spend that rate, and its owner must still be able to follow and cancel it.
    /// </summary>
    /// <paramref name="what"/> names what cannot be read when the store is away (batches, or stored responses).
    public async Task ServeAsync(HttpContext context, Dialect dialect, Func<CorridorRequestFeature, Task<GatewayError?>> serve, bool admit = false, string what = "Batches")
    {
        var call = new CorridorRequestFeature(state.Active, RequestPipeline.NewRequestId(time.GetUtcNow()), dialect, Operation.Models, time.GetUtcNow(), time.GetTimestamp(), 0);
        RequestPipeline.WriteRequestId(context.Response, call.RequestId);
        var error = authenticator.Authenticate(context, call) ?? Enforcement.Enforce(call, monitor);
        if (error is null && admit)
        {
            error = await admitter.AdmitRequestOnlyAsync(context, call);
        }
        if (error is null)
        {
            try
            {
                // Off the socket's event thread (GatewayHost.PreferInlineSocketCompletions): the store's calls may block.
                await Task.Yield();
                error = await serve(call);
            }
            catch (Exception e) when (CorridorStoreException.IsStoreFailure(e))
            {
                error = new GatewayError(ErrorKind.Unavailable, $"{what} cannot be read or changed now: Corridor cannot reach its store. Retry later.", "store_unavailable")
                {
                    RetryAfter = "5",
                };
            }
            finally
            {
                if (admit)
                {
                    // Nothing was reserved: this gives nothing back and charges nothing, and clears the admission.
                    admitter.Settle(call);
                }
            }
        }
        if (error is not null && !context.Response.HasStarted)
        {
            await RequestPipeline.WriteErrorAsync(context, dialect, error, call.RequestId);
        }
    }

    /// <summary>Writes a JSON answer (200 unless <paramref name="status"/> says otherwise).</summary>
    public static async Task<GatewayError?> JsonAsync(HttpContext context, Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        using (var json = new Utf8JsonWriter(context.Response.BodyWriter))
        {
            write(json);
        }
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
        return null;
    }

    /// <summary>OpenAI's answer to a deletion: <c>{"id", "object", "deleted": true}</c>.</summary>
    public static Task<GatewayError?> DeletedAsync(HttpContext context, string id, string objectName) => JsonAsync(context, json =>
    {
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("object", objectName);
        json.WriteBoolean("deleted", true);
        json.WriteEndObject();
    });

    /// <summary>
    /// Now to the millisecond, as the store keeps times: a batch or file answered when it is made shows the times a later read
    /// shows.
    /// </summary>
    public static DateTimeOffset Now(TimeProvider time) => DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds());

    /// <summary>The route's <c>id</c>.</summary>
    public static string Id(HttpContext context) => context.Request.RouteValues["id"] as string ?? "";

    /// <summary>A list's page size: <paramref name="fallback"/> unless the query's <c>limit</c> is 1–<paramref name="most"/>.</summary>
    public static int? Limit(HttpContext context, int fallback, int most) =>
        context.Request.Query["limit"] is { Count: > 0 } text
            ? int.TryParse(text[0], out var limit) && limit >= 1 && limit <= most ? limit : null
            : fallback;

    /// <summary>Reads the whole body, up to <paramref name="limit"/> bytes; null when it is larger.</summary>
    public static async Task<byte[]?> ReadBodyAsync(HttpContext context, long limit)
    {
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }
        if (context.Request.ContentLength > limit)
        {
            return null;
        }
        using var body = new MemoryStream();
        try
        {
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
        return body.Length > limit ? null : body.ToArray();
    }

    /// <summary>
    /// A batch whose requests' models the caller's policy refuses batches for (<c>features: batch: deny</c>) is refused
    /// when it is made, naming the model and the rule, rather than made to end with every request refused. Models the
    /// catalog does not know (aliases among them) are decided as each request runs.
    /// </summary>
    public static GatewayError? RefusedAsBatch(CorridorRequestFeature call, IReadOnlySet<string> models, DateTimeOffset now)
    {
        if (call.Config.Policy is not { } policy)
        {
            return null;
        }
        foreach (var model in models.Order(StringComparer.Ordinal))
        {
            if (!call.Config.Catalog.TryGetModel(model, out var entry))
            {
                continue;
            }
            var decision = policy.Decide(DecisionInput.For(call.Caller!.Tenant, call.Caller.Key.Id, RequestFeatures.Plain(entry.Id) with { Batch = true }, now));
            if (decision.Feature == PolicyFeature.Batch)
            {
                return new GatewayError(ErrorKind.PermissionDenied,
                    $"Batches of '{model}' cannot be served under this account's terms ({decision.ReasonCode}{(decision.RuleId is null ? "" : $" by {decision.RuleId}")}).",
                    decision.ReasonCode);
            }
        }
        return null;
    }

    /// <summary>
    /// Refuses what would take the tenant past <see cref="BatchOptions.MaxTenantBytes"/> of stored batch data with
    /// <paramref name="adding"/> more bytes; null when it fits. Two uploads checked at once can both fit and together pass
    /// the bound by at most one upload.
    /// </summary>
    public static async Task<GatewayError?> OverStorageAsync(ICorridorStore store, BatchOptions options, TimeProvider time, string tenantId, long adding, CancellationToken cancellationToken)
    {
        var stored = await store.GetStoredBatchBytesAsync(tenantId, time.GetUtcNow(), cancellationToken);
        return stored + adding <= options.MaxTenantBytes
            ? null
            : GatewayError.Invalid(
                $"This would keep {stored + adding} bytes for batches, past this account's limit of {options.MaxTenantBytes} bytes ({stored} stored now). "
                + "Delete files or ended batches you no longer need, then try again.", null) with { Code = "storage_limit_exceeded" };
    }

    public static GatewayError TooLarge(long limit) =>
        new(ErrorKind.RequestTooLarge, $"The request body is larger than the limit of {limit} bytes for batches (batches.maxFileBytes).", "request_too_large");
}
