using System.Text.Json;
using Corridor.Gateway.Batches;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Translation;
using Corridor.Storage;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.StoredResponses;

/// <summary>
/// OpenAI's endpoints of stored responses (docs/responses.md, "Stored responses"): <c>GET /v1/responses/{id}</c> (the
/// response object as it was answered), <c>DELETE /v1/responses/{id}</c>, and <c>GET /v1/responses/{id}/input_items</c>
/// (a list, newest first unless <c>order=asc</c>, <c>limit</c> 1–100, default 20, past the item <c>after</c>). Only the
/// caller's tenant's responses are found: any other id is OpenAI's 404 <c>response_not_found</c>. Authentication,
/// enforcement and a store that is away are answered as for batches (<see cref="BatchEndpoint"/>).
/// </summary>
internal sealed class ResponsesApi(BatchEndpoint endpoint, ICorridorStore store, TimeProvider time)
{
    private const int MaxItemsListed = 100;

    private const string What = "Stored responses";

    public Task GetAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        if (await store.GetResponseAsync(call.Caller!.Tenant.Id, BatchEndpoint.Id(context), time.GetUtcNow(), context.RequestAborted) is not { } response)
        {
            return NotFound(context);
        }
        return await BatchEndpoint.JsonAsync(context, json => json.WriteRawValue(response.Body, skipInputValidation: true));
    }, what: What);

    public Task DeleteAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        var id = BatchEndpoint.Id(context);
        if (!await store.DeleteResponseAsync(call.Caller!.Tenant.Id, id, time.GetUtcNow(), context.RequestAborted))
        {
            return NotFound(context);
        }
        return await BatchEndpoint.DeletedAsync(context, id, "response");
    }, what: What);

    public Task ListInputItemsAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        if (BatchEndpoint.Limit(context, 20, MaxItemsListed) is not { } limit)
        {
            return GatewayError.Invalid($"'limit' must be 1 to {MaxItemsListed}.", "limit");
        }
        var query = context.Request.Query;
        var order = query["order"] is { Count: > 0 } sent ? sent[0] : "desc";
        if (order is not ("asc" or "desc"))
        {
            return GatewayError.Invalid($"'order' is \"{order}\": it must be \"asc\" or \"desc\".", "order");
        }
        if (await store.GetResponseAsync(call.Caller!.Tenant.Id, BatchEndpoint.Id(context), time.GetUtcNow(), context.RequestAborted) is not { } response)
        {
            return NotFound(context);
        }
        using var document = JsonDocument.Parse(response.InputItems, new JsonDocumentOptions { MaxDepth = Json.MaxDepth });
        var items = document.RootElement.EnumerateArray().ToList();
        if (order == "desc")
        {
            items.Reverse();
        }
        if (query["after"] is { Count: > 0 } cursor)
        {
            var at = items.FindIndex(item => item.StringOrNull("id") == cursor[0]);
            if (at < 0)
            {
                return GatewayError.Invalid($"'after' is \"{cursor[0]}\": it must be the id of one of this response's input items.", "after");
            }
            items = items[(at + 1)..];
        }
        return await OpenAIBatchApi.WriteListAsync(context, items.Take(limit + 1).ToList(), limit, item => item.StringOrNull("id") ?? "", (json, item) => item.WriteTo(json));
    }, what: What);

    /// <summary>OpenAI's answer for a response it does not have (or that is not the caller's to see).</summary>
    private static GatewayError NotFound(HttpContext context) =>
        new(ErrorKind.NotFound, $"Response with id '{BatchEndpoint.Id(context)}' not found.", "response_not_found");
}
