using System.Buffers;
using System.Text.Json;
using Corridor.Core.Batches;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Storage;
using Microsoft.AspNetCore.Http;

namespace Corridor.Gateway.Batches;

/// <summary>
/// Anthropic's Message Batches over Corridor's store and <see cref="BatchRunner"/> (docs/batches.md):
/// <c>/v1/messages/batches</c> (create, retrieve, list, cancel, delete, results).
/// </summary>
internal sealed class MessageBatchApi(BatchEndpoint endpoint, BatchRunner runner, ICorridorStore store, BatchOptions options, TimeProvider time)
{
    public Task CreateAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.Anthropic, async call =>
    {
        // The betas go with each of the batch's requests, as Anthropic applies a batch's to its requests; checked now, as a
        // live request's are, and filtered by the serving vendor's allowlist when each request runs.
        if (AnthropicBetas.Read(context.Request, out var betas) is { } invalidBetas)
        {
            return invalidBetas;
        }
        var body = await BatchEndpoint.ReadBodyAsync(context, options.MaxFileBytes);
        if (body is null)
        {
            return BatchEndpoint.TooLarge(options.MaxFileBytes);
        }
        var input = BatchInput.ReadAnthropic(body, Math.Min(options.MaxRequests, 100_000));
        if (input.Items is not { } items)
        {
            return GatewayError.Invalid(input.Error!, input.Param);
        }
        var now = BatchEndpoint.Now(time);
        if (BatchEndpoint.RefusedAsBatch(call, input.Models, now) is { } refused)
        {
            return refused;
        }
        if (await BatchEndpoint.OverStorageAsync(store, options, time, call.Caller!.Tenant.Id, items.Sum(i => (long)i.Body.Length), context.RequestAborted) is { } full)
        {
            return full;
        }
        var batch = new BatchJob(RequestPipeline.NewId("msgbatch_", now), BatchApi.Anthropic, call.Caller!.Tenant.Id, call.Caller.Key.Id,
            BatchInput.MessagesEndpoint, BatchStates.InProgress, now, now + options.EffectiveCompletionWindow)
        {
            Model = input.Model,
            UserAgent = OpenAIBatchApi.UserAgent(context),
            ClientIp = context.Connection.RemoteIpAddress?.ToString(),
            ArchivesAt = now + options.EffectiveResultsRetention,
            Counts = new BatchCounts(items.Count, 0, 0, 0, 0),
            Betas = betas is null ? null : string.Join(',', betas),
        };
        await store.AddBatchAsync(batch, items, context.RequestAborted);
        runner.Wake();
        return await Write(context, batch);
    }, admit: true);

    public Task GetAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.Anthropic, async call =>
        await FindAsync(context, call.Caller!.Tenant.Id) is { } batch ? await Write(context, batch) : NotFound(context));

    public Task ListAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.Anthropic, async call =>
    {
        if (BatchEndpoint.Limit(context, 20, 1000) is not { } limit)
        {
            return GatewayError.Invalid("limit: Input should be 1 to 1000.", "limit");
        }
        var after = context.Request.Query["after_id"] is { Count: > 0 } afterId ? afterId[0] : null;
        var before = context.Request.Query["before_id"] is { Count: > 0 } beforeId ? beforeId[0] : null;
        var batches = await store.ListBatchesAsync(call.Caller!.Tenant.Id, BatchApi.Anthropic, after, before, limit + 1, context.RequestAborted);
        if (batches is null)
        {
            var (name, id) = after is not null && await store.GetBatchAsync(call.Caller.Tenant.Id, after, context.RequestAborted) is not { Api: BatchApi.Anthropic }
                ? ("after_id", after)
                : ("before_id", before);
            return GatewayError.Invalid($"{name}: No message batch with id '{id}' ({name} must be the id of one of your message batches).", name);
        }
        // One more than the page is read to tell has_more: past the page's end, or past its start when it is before an id.
        var page = (before is null ? batches.Take(limit) : batches.Skip(Math.Max(0, batches.Count - limit))).ToList();
        return await BatchEndpoint.JsonAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("data");
            foreach (var batch in page)
            {
                BatchDocuments.WriteMessageBatch(json, batch, ResultsUrl(context, batch.Id), time.GetUtcNow());
            }
            json.WriteEndArray();
            json.WriteBoolean("has_more", batches.Count > limit);
            json.WriteString("first_id", page.Count > 0 ? page[0].Id : null);
            json.WriteString("last_id", page.Count > 0 ? page[^1].Id : null);
            json.WriteEndObject();
        });
    });

    public Task CancelAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.Anthropic, async call =>
    {
        var tenant = call.Caller!.Tenant.Id;
        if (await FindAsync(context, tenant) is null)
        {
            return NotFound(context);
        }
        // Canceling a batch that has ended changes nothing and answers it as it is, as Anthropic does.
        var batch = await store.CancelBatchAsync(tenant, BatchEndpoint.Id(context), time.GetUtcNow(), context.RequestAborted);
        runner.Wake();
        return await Write(context, batch!);
    });

    public Task DeleteAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.Anthropic, async call =>
    {
        var tenant = call.Caller!.Tenant.Id;
        var id = BatchEndpoint.Id(context);
        if (await FindAsync(context, tenant) is not { } batch)
        {
            return NotFound(context);
        }
        if (!batch.IsEnded || !await store.DeleteBatchAsync(tenant, id, context.RequestAborted))
        {
            return GatewayError.Invalid($"Batch {id} cannot be deleted while it is processing; cancel it and delete it once it has ended.");
        }
        return await BatchEndpoint.JsonAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("id", id);
            json.WriteString("type", "message_batch_deleted");
            json.WriteEndObject();
        });
    });

    public Task ResultsAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.Anthropic, async call =>
    {
        if (await FindAsync(context, call.Caller!.Tenant.Id) is not { } batch)
        {
            return NotFound(context);
        }
        if (!batch.IsEnded)
        {
            return GatewayError.Invalid($"Batch {batch.Id} has not ended yet: its results can be read once its processing_status is \"ended\".");
        }
        if (batch.IsArchived(time.GetUtcNow()))
        {
            // The batch is still served (archived_at says since when); its results, as Anthropic's after 29 days, are not.
            return new GatewayError(ErrorKind.NotFound,
                $"The results of message batch {batch.Id} are no longer available: they were kept until {batch.ArchivesAt!.Value.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ} "
                + $"({(batch.ArchivesAt.Value - batch.CreatedAt).TotalDays:0.##} days after the batch was created).",
                "not_found_error");
        }
        // One JSON object a line, in the batch's order, written as the store reads them.
        context.Response.ContentType = "application/x-jsonl";
        var output = context.Response.BodyWriter;
        await foreach (var item in store.ReadBatchItemsAsync(batch.Id, context.RequestAborted))
        {
            using (var json = new Utf8JsonWriter(output))
            {
                BatchDocuments.WriteMessageBatchResult(json, item);
            }
            output.Write("\n"u8);
            await output.FlushAsync(context.RequestAborted);
        }
        return null;
    });

    private async Task<BatchJob?> FindAsync(HttpContext context, string tenant) =>
        await store.GetBatchAsync(tenant, BatchEndpoint.Id(context), context.RequestAborted) is { Api: BatchApi.Anthropic } batch ? batch : null;

    private Task<GatewayError?> Write(HttpContext context, BatchJob batch) =>
        BatchEndpoint.JsonAsync(context, json => BatchDocuments.WriteMessageBatch(json, batch, ResultsUrl(context, batch.Id), time.GetUtcNow()));

    private static string ResultsUrl(HttpContext context, string id) =>
        $"{context.Request.Scheme}://{context.Request.Host}/v1/messages/batches/{id}/results";

    private static GatewayError NotFound(HttpContext context) =>
        new(ErrorKind.NotFound, $"No message batch with id '{BatchEndpoint.Id(context)}'.", "not_found_error");
}
