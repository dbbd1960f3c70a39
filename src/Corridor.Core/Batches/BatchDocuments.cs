using System.Buffers;
using System.Text.Json;
using Corridor.Core.Json;

namespace Corridor.Core.Batches;

/// <summary>
/// Batches, files and results written in the shape of the API they were made through: OpenAI's batch, file and result
/// lines (times in Unix seconds) and Anthropic's message batch and result lines (times in RFC 3339).
/// </summary>
public static class BatchDocuments
{
    /// <summary>OpenAI's status: <c>in_progress</c>, <c>cancelling</c>, or how it ended (<c>completed</c>, <c>cancelled</c>, <c>expired</c>, <c>failed</c>).</summary>
    public static string OpenAIStatus(BatchJob batch) => batch.State switch
    {
        BatchStates.InProgress => "in_progress",
        BatchStates.Cancelling => "cancelling",
        _ => batch.Ending ?? BatchEndings.Completed,
    };

    public static void WriteOpenAIBatch(Utf8JsonWriter json, BatchJob batch)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(batch);
        json.WriteStartObject();
        json.WriteString("id", batch.Id);
        json.WriteString("object", "batch");
        json.WriteString("endpoint", batch.Endpoint);
        if (batch.Model is { } model)
        {
            // OpenAI's model is optional: a batch whose requests name several models (Corridor allows it) gives none.
            json.WriteString("model", model);
        }
        WriteOpenAIErrors(json, batch.Failure);
        json.WriteString("input_file_id", batch.InputFileId);
        json.WriteString("completion_window", batch.CompletionWindow ?? "24h");
        json.WriteString("status", OpenAIStatus(batch));
        json.WriteString("output_file_id", batch.OutputFileId);
        json.WriteString("error_file_id", batch.ErrorFileId);
        json.WriteNumber("created_at", batch.CreatedAt.ToUnixTimeSeconds());
        // Its requests are checked when it is made, so it is in progress from then on.
        json.WriteNumber("in_progress_at", batch.CreatedAt.ToUnixTimeSeconds());
        json.WriteNumber("expires_at", batch.ExpiresAt.ToUnixTimeSeconds());
        UnixOrNull(json, "finalizing_at", batch.Ending == BatchEndings.Completed ? batch.EndedAt : null);
        UnixOrNull(json, "completed_at", batch.Ending == BatchEndings.Completed ? batch.EndedAt : null);
        UnixOrNull(json, "failed_at", batch.Ending == BatchEndings.Failed ? batch.EndedAt : null);
        UnixOrNull(json, "expired_at", batch.Ending == BatchEndings.Expired ? batch.EndedAt : null);
        UnixOrNull(json, "cancelling_at", batch.CancellingAt);
        UnixOrNull(json, "cancelled_at", batch.Ending == BatchEndings.Cancelled ? batch.EndedAt : null);
        json.WriteStartObject("request_counts");
        var counts = batch.Counts;
        json.WriteNumber("total", counts.Total);
        json.WriteNumber("completed", counts.Succeeded);
        json.WriteNumber("failed", counts.Errored + counts.Canceled + counts.Expired);
        json.WriteEndObject();
        RawOrNull(json, "metadata", batch.Metadata);
        var tokens = batch.Tokens;
        ResponseUsageJson.Write(json, tokens.Input, tokens.Cached, tokens.Output, tokens.Reasoning);
        json.WriteEndObject();
    }

    /// <summary>
    /// OpenAI's <c>errors</c> of a batch: null, or for a batch that failed, a list of its one error (no <c>param</c> or
    /// <c>line</c>: it is the batch's key that was refused, not a line of its input).
    /// </summary>
    private static void WriteOpenAIErrors(Utf8JsonWriter json, BatchFailure? failure)
    {
        if (failure is null)
        {
            json.WriteNull("errors");
            return;
        }
        json.WriteStartObject("errors");
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        json.WriteStartObject();
        json.WriteString("code", failure.Code);
        json.WriteString("message", failure.Message);
        json.WriteNull("param");
        json.WriteNull("line");
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>
    /// Anthropic's message batch as it is at <paramref name="now"/>; <paramref name="resultsUrl"/> is given once it has ended.
    /// Past its retention it is <c>archived_at</c> then: its results are no longer available (the URL answers so).
    /// </summary>
    public static void WriteMessageBatch(Utf8JsonWriter json, BatchJob batch, string? resultsUrl, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(batch);
        json.WriteStartObject();
        json.WriteString("id", batch.Id);
        json.WriteString("type", "message_batch");
        json.WriteString("processing_status", batch.State switch
        {
            BatchStates.InProgress => "in_progress",
            BatchStates.Cancelling => "canceling",
            _ => "ended",
        });
        json.WriteStartObject("request_counts");
        var counts = batch.Counts;
        json.WriteNumber("processing", counts.Pending);
        json.WriteNumber("succeeded", counts.Succeeded);
        json.WriteNumber("errored", counts.Errored);
        json.WriteNumber("canceled", counts.Canceled);
        json.WriteNumber("expired", counts.Expired);
        json.WriteEndObject();
        TimeOrNull(json, "ended_at", batch.EndedAt);
        json.WriteString("created_at", batch.CreatedAt.UtcDateTime);
        json.WriteString("expires_at", batch.ExpiresAt.UtcDateTime);
        TimeOrNull(json, "archived_at", batch.IsArchived(now) ? batch.ArchivesAt : null);
        TimeOrNull(json, "cancel_initiated_at", batch.CancellingAt);
        json.WriteString("results_url", batch.IsEnded ? resultsUrl : null);
        json.WriteEndObject();
    }

    public static void WriteFile(Utf8JsonWriter json, StoredFile file)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(file);
        json.WriteStartObject();
        json.WriteString("id", file.Id);
        json.WriteString("object", "file");
        json.WriteNumber("bytes", file.Bytes);
        json.WriteNumber("created_at", file.CreatedAt.ToUnixTimeSeconds());
        UnixOrNull(json, "expires_at", file.ExpiresAt);
        json.WriteString("filename", file.FileName);
        json.WriteString("purpose", file.Purpose);
        json.WriteString("status", "processed");
        json.WriteNull("status_details");
        json.WriteEndObject();
    }

    /// <summary>
    /// OpenAI's result files of an ended batch: the output file has a line for each request answered with a 2xx, the
    /// error file one for each other request (answered with an error, or not run: as <paramref name="notRun"/> ends it),
    /// in the batch's order. A file with no line is null.
    /// </summary>
    public static (byte[]? Output, byte[]? Errors) OpenAIResults(IEnumerable<BatchItem> items, BatchNotRun notRun)
    {
        ArgumentNullException.ThrowIfNull(items);
        var files = new OpenAIResultFiles(notRun);
        foreach (var item in items)
        {
            files.Add(item);
        }
        return files.Finish();
    }

    /// <summary>
    /// <see cref="OpenAIResults"/> written as the requests are read, one at a time, so only the files' bytes are held, not
    /// every request's body and answer at once.
    /// </summary>
    public sealed class OpenAIResultFiles(BatchNotRun notRun)
    {
        private readonly ArrayBufferWriter<byte> _output = new();
        private readonly ArrayBufferWriter<byte> _errors = new();

        public void Add(BatchItem item)
        {
            ArgumentNullException.ThrowIfNull(notRun);
            item = notRun.Apply(item);
            var target = item.State == BatchItemStates.Succeeded ? _output : _errors;
            using (var json = new Utf8JsonWriter(target))
            {
                WriteOpenAIResult(json, item);
            }
            target.Write("\n"u8);
        }

        public (byte[]? Output, byte[]? Errors) Finish() =>
            (_output.WrittenCount == 0 ? null : _output.WrittenSpan.ToArray(), _errors.WrittenCount == 0 ? null : _errors.WrittenSpan.ToArray());
    }

    /// <summary>
    /// One line: the answer (a request not run but refused for the whole batch has the refusal, and no request id), or, for a
    /// request neither answered nor refused, why it was not run.
    /// </summary>
    private static void WriteOpenAIResult(Utf8JsonWriter json, BatchItem item)
    {
        json.WriteStartObject();
        json.WriteString("id", "batch_req_" + (item.RequestId is { Length: > 4 } id ? id[4..] : item.Position.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        json.WriteString("custom_id", item.CustomId);
        if (item.Status is { } status && item.Response is { } response)
        {
            json.WriteStartObject("response");
            json.WriteNumber("status_code", status);
            json.WriteString("request_id", item.RequestId);
            RawOrString(json, "body", response);
            json.WriteEndObject();
            json.WriteNull("error");
        }
        else
        {
            var expired = item.State == BatchItemStates.Expired;
            json.WriteNull("response");
            json.WriteStartObject("error");
            json.WriteString("code", expired ? "batch_expired" : "batch_cancelled");
            json.WriteString("message", expired
                ? "This request could not be executed before the completion window expired."
                : "This request was not executed because the batch was cancelled.");
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>
    /// One line of Anthropic's results: <c>succeeded</c> with the message, <c>errored</c> with the error as the request was
    /// answered, or <c>canceled</c> / <c>expired</c>.
    /// </summary>
    public static void WriteMessageBatchResult(Utf8JsonWriter json, BatchItem item)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(item);
        json.WriteStartObject();
        json.WriteString("custom_id", item.CustomId);
        json.WriteStartObject("result");
        json.WriteString("type", item.State);
        if (item.State == BatchItemStates.Succeeded && item.Response is { } message)
        {
            RawOrString(json, "message", message);
        }
        else if (item.State == BatchItemStates.Errored && item.Response is { } error)
        {
            RawOrString(json, "error", error);
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void RawOrString(Utf8JsonWriter json, string name, byte[] body)
    {
        json.WritePropertyName(name);
        if (JsonObjectText.IsOneObject(body))
        {
            json.WriteRawValue(body, skipInputValidation: true);
        }
        else
        {
            // Never expected (the gateway answers in JSON), but a result file must stay one JSON object a line.
            json.WriteStringValue(System.Text.Encoding.UTF8.GetString(body));
        }
    }

    private static void RawOrNull(Utf8JsonWriter json, string name, string? raw)
    {
        if (raw is null)
        {
            json.WriteNull(name);
            return;
        }
        json.WritePropertyName(name);
        json.WriteRawValue(raw);
    }

    private static void UnixOrNull(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            json.WriteNumber(name, value.ToUnixTimeSeconds());
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static void TimeOrNull(Utf8JsonWriter json, string name, DateTimeOffset? time)
    {
        if (time is { } value)
        {
            json.WriteString(name, value.UtcDateTime);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
