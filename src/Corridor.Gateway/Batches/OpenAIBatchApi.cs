using System.Text.Json;
using Corridor.Core.Batches;
using Corridor.Gateway.FrontDoor;
using Corridor.Gateway.Pipeline;
using Corridor.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Corridor.Gateway.Batches;

/// <summary>
/// OpenAI's Files API (for batches) and Batch API over Corridor's store and <see cref="BatchRunner"/> (docs/batches.md):
/// <c>/v1/files</c> (upload, list, retrieve, content, delete) and <c>/v1/batches</c> (create, retrieve, cancel, list).
/// </summary>
internal sealed class OpenAIBatchApi(BatchEndpoint endpoint, BatchRunner runner, ICorridorStore store, BatchOptions options, TimeProvider time)
{
    /// <summary>The most files a list answers with, and how many it answers with when <c>limit</c> is not given, as OpenAI's.</summary>
    private const int MaxFilesListed = 10_000;

    public Task UploadFileAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        var request = context.Request;
        if (!request.HasFormContentType)
        {
            return GatewayError.Invalid("Upload a file as multipart/form-data with the fields 'file' and 'purpose'.", "file");
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            // Room for the form's own parts around the file.
            size.MaxRequestBodySize = options.MaxFileBytes + 64 * 1024;
        }
        context.Features.Set<IFormFeature>(new FormFeature(request, new FormOptions { MultipartBodyLengthLimit = options.MaxFileBytes }));
        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(context.RequestAborted);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            // A malformed multipart body (no parts, cut short) ends the form's reader with an IOException; Kestrel's
            // BadHttpRequestException (the body over the size limit) is one too.
            return e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } || e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)
                ? BatchEndpoint.TooLarge(options.MaxFileBytes)
                : GatewayError.Invalid("The multipart form could not be read.", "file");
        }
        var purpose = form["purpose"].ToString();
        if (purpose != "batch")
        {
            return GatewayError.Invalid($"'purpose' is \"{purpose}\": Corridor keeps files for batches only (purpose \"batch\").", "purpose");
        }
        if (form.Files.GetFile("file") is not { } upload)
        {
            return GatewayError.Invalid("The form has no 'file'.", "file");
        }
        var expiresAfter = options.EffectiveFileRetention;
        if (form.ContainsKey("expires_after") || form.ContainsKey("expires_after[anchor]") || form.ContainsKey("expires_after[seconds]"))
        {
            // As OpenAI's SDKs send an object in a form: a field for each of its properties.
            var (after, error) = FileExpiry.Read(Field(form, "expires_after[anchor]"), Field(form, "expires_after[seconds]"), "expires_after", options.EffectiveFileRetention);
            if (after is null)
            {
                return GatewayError.Invalid(error!, "expires_after");
            }
            expiresAfter = after.Value;
        }
        if (await BatchEndpoint.OverStorageAsync(store, options, time, call.Caller!.Tenant.Id, upload.Length, context.RequestAborted) is { } full)
        {
            return full;
        }
        var content = new byte[upload.Length];
        await using (var read = upload.OpenReadStream())
        {
            await read.ReadExactlyAsync(content, context.RequestAborted);
        }
        var now = BatchEndpoint.Now(time);
        var file = new StoredFile(BatchRunner.NewFileId(now), call.Caller!.Tenant.Id, purpose, FileName(upload.FileName), content.Length, now)
        {
            ExpiresAt = now + expiresAfter,
            Content = content,
        };
        await store.AddFileAsync(file, context.RequestAborted);
        return await BatchEndpoint.JsonAsync(context, json => BatchDocuments.WriteFile(json, file));
    }, admit: true);

    /// <summary>
    /// OpenAI's list of files: those of <c>purpose</c> when it is given, <c>limit</c> of them (1–10,000; 10,000 by default),
    /// newest first unless <c>order</c> is <c>asc</c>, past the file <c>after</c> in that order when it is given.
    /// </summary>
    public Task ListFilesAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        if (BatchEndpoint.Limit(context, MaxFilesListed, MaxFilesListed) is not { } limit)
        {
            return GatewayError.Invalid($"'limit' must be 1 to {MaxFilesListed}.", "limit");
        }
        var query = context.Request.Query;
        var order = query["order"] is { Count: > 0 } sent ? sent[0] : "desc";
        if (order is not ("asc" or "desc"))
        {
            return GatewayError.Invalid($"'order' is \"{order}\": it must be \"asc\" or \"desc\".", "order");
        }
        var purpose = query["purpose"] is { Count: > 0 } purposes ? purposes[0] : null;
        var after = query["after"] is { Count: > 0 } cursor ? cursor[0] : null;
        var files = await store.ListFilesAsync(call.Caller!.Tenant.Id, purpose, after, order == "asc", limit + 1, time.GetUtcNow(), context.RequestAborted);
        if (files is null)
        {
            return GatewayError.Invalid($"No such File object: {after} ('after' must be the id of one of your files).", "after");
        }
        return await WriteListAsync(context, files, limit, f => f.Id, BatchDocuments.WriteFile);
    });

    public Task GetFileAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
        await store.GetFileAsync(call.Caller!.Tenant.Id, BatchEndpoint.Id(context), withContent: false, time.GetUtcNow(), context.RequestAborted) is { } file
            ? await BatchEndpoint.JsonAsync(context, json => BatchDocuments.WriteFile(json, file))
            : FileNotFound(context));

    public Task GetFileContentAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        if (await store.GetFileAsync(call.Caller!.Tenant.Id, BatchEndpoint.Id(context), withContent: true, time.GetUtcNow(), context.RequestAborted) is not { Content: { } content })
        {
            return FileNotFound(context);
        }
        context.Response.ContentType = "application/octet-stream";
        context.Response.ContentLength = content.Length;
        await context.Response.Body.WriteAsync(content, context.RequestAborted);
        return null;
    });

    public Task DeleteFileAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        var id = BatchEndpoint.Id(context);
        if (!await store.DeleteFileAsync(call.Caller!.Tenant.Id, id, time.GetUtcNow(), context.RequestAborted))
        {
            return FileNotFound(context);
        }
        return await BatchEndpoint.DeletedAsync(context, id, "file");
    });

    public Task CreateBatchAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        var body = await BatchEndpoint.ReadBodyAsync(context, 1024 * 1024);
        if (body is null)
        {
            return BatchEndpoint.TooLarge(1024 * 1024);
        }
        string? inputFileId, batchEndpoint, window;
        string? metadata = null;
        var outputExpiresAfter = options.EffectiveFileRetention;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return GatewayError.Invalid("The request body must be a JSON object.");
            }
            inputFileId = String(root, "input_file_id");
            batchEndpoint = String(root, "endpoint");
            window = String(root, "completion_window");
            if (root.TryGetProperty("metadata", out var meta) && meta.ValueKind != JsonValueKind.Null)
            {
                if (BatchInput.OpenAIMetadataError(meta) is { } error)
                {
                    return GatewayError.Invalid(error, "metadata");
                }
                metadata = meta.GetRawText();
            }
            if (root.TryGetProperty("output_expires_after", out var policy) && policy.ValueKind != JsonValueKind.Null)
            {
                var (after, error) = FileExpiry.Read(policy, "output_expires_after", options.EffectiveFileRetention);
                if (after is null)
                {
                    return GatewayError.Invalid(error!, "output_expires_after");
                }
                outputExpiresAfter = after.Value;
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string whose escapes make no text (a lone surrogate).
            return GatewayError.Invalid("The request body is not valid JSON.");
        }
        if (inputFileId is null)
        {
            return GatewayError.Invalid("'input_file_id' is required.", "input_file_id");
        }
        if (batchEndpoint is null || !BatchInput.OpenAIEndpoints.Contains(batchEndpoint))
        {
            return GatewayError.Invalid($"'endpoint' must be one of {string.Join(", ", BatchInput.OpenAIEndpoints)}.", "endpoint");
        }
        if (window != "24h")
        {
            return GatewayError.Invalid("'completion_window' must be \"24h\".", "completion_window");
        }
        var tenant = call.Caller!.Tenant.Id;
        if (await store.GetFileAsync(tenant, inputFileId, withContent: true, time.GetUtcNow(), context.RequestAborted) is not { Content: { } content } file)
        {
            return new GatewayError(ErrorKind.NotFound, $"No such File object: {inputFileId}", "file_not_found", "input_file_id");
        }
        if (file.Purpose != "batch")
        {
            return GatewayError.Invalid($"File {inputFileId} has purpose \"{file.Purpose}\"; a batch's input must have purpose \"batch\".", "input_file_id");
        }
        var input = BatchInput.ReadOpenAI(content, batchEndpoint, options.MaxRequests);
        if (input.Items is not { } items)
        {
            return GatewayError.Invalid(input.Error!, input.Param);
        }
        var now = BatchEndpoint.Now(time);
        if (BatchEndpoint.RefusedAsBatch(call, input.Models, now) is { } refused)
        {
            return refused;
        }
        // The batch keeps a copy of its requests beside the file (so it runs whatever becomes of the file): counted as any.
        if (await BatchEndpoint.OverStorageAsync(store, options, time, tenant, items.Sum(i => (long)i.Body.Length), context.RequestAborted) is { } full)
        {
            return full;
        }
        var batch = new BatchJob(RequestPipeline.NewId("batch_", now), BatchApi.OpenAI, tenant, call.Caller.Key.Id, batchEndpoint, BatchStates.InProgress,
            now, now + options.EffectiveCompletionWindow)
        {
            InputFileId = inputFileId,
            CompletionWindow = window,
            Model = input.Model,
            Metadata = metadata,
            UserAgent = UserAgent(context),
            ClientIp = context.Connection.RemoteIpAddress?.ToString(),
            OutputExpiresAfter = outputExpiresAfter,
            // Its requests and answers are kept beside its files only to run it and write them: gone as Anthropic's are.
            ArchivesAt = now + options.EffectiveResultsRetention,
            Counts = new BatchCounts(items.Count, 0, 0, 0, 0),
        };
        await store.AddBatchAsync(batch, items, context.RequestAborted);
        runner.Wake();
        return await BatchEndpoint.JsonAsync(context, json => BatchDocuments.WriteOpenAIBatch(json, batch));
    }, admit: true);

    public Task GetBatchAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
        await store.GetBatchAsync(call.Caller!.Tenant.Id, BatchEndpoint.Id(context), context.RequestAborted) is { Api: BatchApi.OpenAI } batch
            ? await BatchEndpoint.JsonAsync(context, json => BatchDocuments.WriteOpenAIBatch(json, batch))
            : BatchNotFound(context));

    public Task CancelBatchAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        var tenant = call.Caller!.Tenant.Id;
        var id = BatchEndpoint.Id(context);
        if (await store.GetBatchAsync(tenant, id, context.RequestAborted) is not { Api: BatchApi.OpenAI })
        {
            return BatchNotFound(context);
        }
        var batch = await store.CancelBatchAsync(tenant, id, time.GetUtcNow(), context.RequestAborted);
        if (batch is { IsEnded: true, Ending: not BatchEndings.Cancelled })
        {
            return new GatewayError(ErrorKind.InvalidRequest, $"Cannot cancel a batch with status '{BatchDocuments.OpenAIStatus(batch)}'.", "batch_not_cancellable") { StatusOverride = 409 };
        }
        runner.Wake();
        return await BatchEndpoint.JsonAsync(context, json => BatchDocuments.WriteOpenAIBatch(json, batch!));
    });

    public Task ListBatchesAsync(HttpContext context) => endpoint.ServeAsync(context, Dialect.OpenAI, async call =>
    {
        if (BatchEndpoint.Limit(context, 20, 100) is not { } limit)
        {
            return GatewayError.Invalid("'limit' must be 1 to 100.", "limit");
        }
        var after = context.Request.Query["after"] is { Count: > 0 } cursor ? cursor[0] : null;
        var batches = await store.ListBatchesAsync(call.Caller!.Tenant.Id, BatchApi.OpenAI, after, null, limit + 1, context.RequestAborted);
        if (batches is null)
        {
            return GatewayError.Invalid($"No batch found with id '{after}' ('after' must be the id of one of your batches).", "after");
        }
        return await WriteListAsync(context, batches, limit, b => b.Id, BatchDocuments.WriteOpenAIBatch);
    });

    /// <summary>
    /// OpenAI's list object: the first <paramref name="limit"/> of <paramref name="rows"/> (read one more than the page, to
    /// tell <c>has_more</c>), and the ids of the page's first and last.
    /// </summary>
    internal static Task<GatewayError?> WriteListAsync<T>(HttpContext context, IReadOnlyList<T> rows, int limit, Func<T, string> id, Action<Utf8JsonWriter, T> write)
    {
        var page = rows.Take(limit).ToList();
        return BatchEndpoint.JsonAsync(context, json =>
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            foreach (var row in page)
            {
                write(json, row);
            }
            json.WriteEndArray();
            json.WriteString("first_id", page.Count > 0 ? id(page[0]) : null);
            json.WriteString("last_id", page.Count > 0 ? id(page[^1]) : null);
            json.WriteBoolean("has_more", rows.Count > limit);
            json.WriteEndObject();
        });
    }

    /// <summary>The uploaded file's name without a path or control characters, at most 256 characters, as it is stored and shown.</summary>
    private static string FileName(string sent)
    {
        var name = string.Concat(Path.GetFileName(sent).Where(c => !char.IsControl(c)));
        return name.Length == 0 ? "upload.jsonl" : name[..Math.Min(name.Length, 256)];
    }

    internal static string? UserAgent(HttpContext context) =>
        context.Request.Headers.UserAgent.ToString() is { Length: > 0 } agent ? agent[..Math.Min(agent.Length, 256)] : null;

    private static string? Field(IFormCollection form, string name) => form.TryGetValue(name, out var value) ? value.ToString() : null;

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static GatewayError FileNotFound(HttpContext context) =>
        new(ErrorKind.NotFound, $"No such File object: {BatchEndpoint.Id(context)}", "file_not_found", "id");

    private static GatewayError BatchNotFound(HttpContext context) =>
        new(ErrorKind.NotFound, $"No batch found with id '{BatchEndpoint.Id(context)}'.", "batch_not_found", "id");
}
