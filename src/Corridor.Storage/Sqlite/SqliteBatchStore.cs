using System.Runtime.CompilerServices;
using Corridor.Core.Batches;
using Corridor.Core.Reports;
using Microsoft.Data.Sqlite;
using static Corridor.Storage.Sqlite.SqliteValues;

namespace Corridor.Storage.Sqlite;

/// <summary>Batches, their requests and files (migrations 15 and 17; docs/batches.md), and what the ledger holds of their runs (migration 18).</summary>
internal sealed partial class SqliteStore
{
    public async Task AddFileAsync(StoredFile file, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        AddFileCommand(command, file);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddFileCommand(SqliteCommand command, StoredFile file)
    {
        command.CommandText = $"INSERT INTO files ({StoreRows.FileColumns}, content) VALUES ($id, $tenant_id, $purpose, $filename, $bytes, $created_at, $expires_at, $content)";
        command.Parameters.AddWithValue("$id", file.Id);
        command.Parameters.AddWithValue("$tenant_id", file.TenantId);
        command.Parameters.AddWithValue("$purpose", file.Purpose);
        command.Parameters.AddWithValue("$filename", file.FileName);
        command.Parameters.AddWithValue("$bytes", file.Bytes);
        command.Parameters.AddWithValue("$created_at", ToUnixMs(file.CreatedAt));
        command.Parameters.AddWithValue("$expires_at", OrNull(file.ExpiresAt));
        command.Parameters.AddWithValue("$content", file.Content ?? []);
    }

    public async Task<StoredFile?> GetFileAsync(string tenantId, string fileId, bool withContent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {StoreRows.FileColumns}{(withContent ? ", content" : "")} FROM files WHERE id = $id AND tenant_id = $tenant_id AND {NotExpired}";
        command.Parameters.AddWithValue("$id", fileId);
        command.Parameters.AddWithValue("$tenant_id", tenantId);
        command.Parameters.AddWithValue("$now", ToUnixMs(now));
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var file = Rows.File(reader);
        return withContent ? file with { Content = (byte[])reader.GetValue(StoreRows.FileContentColumn) } : file;
    }

    public async Task<IReadOnlyList<StoredFile>?> ListFilesAsync(string tenantId, string? purpose, string? after, bool ascending, int limit, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.Parameters.AddWithValue("$tenant_id", tenantId);
        command.Parameters.AddWithValue("$now", ToUnixMs(now));
        var (order, beyond) = StoreRows.FilePageOrder(ascending);
        var past = "";
        if (after is not null)
        {
            // The cursor's place, read first: a cursor that is not the tenant's file is refused, not taken for an empty page.
            command.CommandText = $"SELECT created_at FROM files WHERE id = $after AND tenant_id = $tenant_id AND {NotExpired}";
            command.Parameters.AddWithValue("$after", after);
            if (await command.ExecuteScalarAsync(cancellationToken) is not long afterCreatedAt)
            {
                return null;
            }
            command.Parameters.AddWithValue("$after_created_at", afterCreatedAt);
            past = $"AND (created_at, id) {beyond} ($after_created_at, $after)";
        }
        command.CommandText = $"""
            SELECT {StoreRows.FileColumns} FROM files
            WHERE tenant_id = $tenant_id AND ($purpose IS NULL OR purpose = $purpose) AND {NotExpired} {past}
            ORDER BY created_at {order}, id {order}
            LIMIT $limit
            """;
        command.Parameters.AddWithValue("$purpose", OrNull(purpose));
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadAllAsync(command, Rows.File, cancellationToken);
    }

    public async Task<bool> DeleteFileAsync(string tenantId, string fileId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"DELETE FROM files WHERE id = $id AND tenant_id = $tenant_id AND {NotExpired}";
        command.Parameters.AddWithValue("$id", fileId);
        command.Parameters.AddWithValue("$tenant_id", tenantId);
        command.Parameters.AddWithValue("$now", ToUnixMs(now));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<long> GetStoredBatchBytesAsync(string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        // Every batch keeps a copy of its requests, and their answers, until its retention ends (an OpenAI batch's beside its
        // input and result files, which count as files): all of it is stored, so all of it is counted.
        command.CommandText = $"""
            SELECT (SELECT coalesce(sum(bytes), 0) FROM files WHERE tenant_id = $tenant_id AND {NotExpired})
                 + (SELECT coalesce(sum(length(i.body) + coalesce(length(i.response), 0)), 0)
                    FROM batches b JOIN batch_items i ON i.batch_id = b.id
                    WHERE b.tenant_id = $tenant_id AND {StillKept})
            """;
        command.Parameters.AddWithValue("$tenant_id", tenantId);
        command.Parameters.AddWithValue("$now", ToUnixMs(now));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The condition that keeps a file not expired by <c>$now</c>.</summary>
    private const string NotExpired = "(expires_at IS NULL OR expires_at > $now)";

    public async Task<ExpiredBatchData> RemoveExpiredBatchDataAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // A read first (the two partial indexes, nothing locked): the sweep runs on every gateway, and a write transaction
        // each time would take the file's write lock from the ledger for nothing.
        using (var look = connection.CreateCommand())
        {
            look.CommandText = $"""
                SELECT EXISTS (SELECT 1 FROM files WHERE expires_at <= $now)
                    OR EXISTS (SELECT 1 FROM batches WHERE archives_at <= $now AND archived_at IS NULL AND {ArchivableBatch})
                """;
            look.Parameters.AddWithValue("$now", ToUnixMs(now));
            if ((long)(await look.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                return new ExpiredBatchData(0, 0);
            }
        }
        // A few at a time, each its own transaction, so the write lock is never held long.
        int files = 0, batches = 0, removed;
        do
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM files WHERE id IN (SELECT id FROM files WHERE expires_at <= $now LIMIT {FilesPerStep})";
            command.Parameters.AddWithValue("$now", ToUnixMs(now));
            files += removed = await command.ExecuteNonQueryAsync(cancellationToken);
        }
        while (removed == FilesPerStep);
        while (true)
        {
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = $"""
                UPDATE batches SET archived_at = $now
                WHERE id = (SELECT id FROM batches WHERE archives_at <= $now AND archived_at IS NULL AND {ArchivableBatch} LIMIT 1)
                RETURNING id
                """;
            command.Parameters.AddWithValue("$now", ToUnixMs(now));
            if (await command.ExecuteScalarAsync(cancellationToken) is not string batchId)
            {
                break;
            }
            command.CommandText = "UPDATE batch_items SET body = X'', response = NULL WHERE batch_id = $id";
            command.Parameters.AddWithValue("$id", batchId);
            await command.ExecuteNonQueryAsync(cancellationToken);
            transaction.Commit();
            batches++;
        }
        return new ExpiredBatchData(files, batches);
    }

    /// <summary>How many expired files one statement of the sweep deletes.</summary>
    private const int FilesPerStep = 100;

    /// <summary>A batch whose stored requests and answers may go once it is past <c>archives_at</c>: one that has ended.</summary>
    private const string ArchivableBatch = "state = 'ended'";

    /// <summary>The condition on a batch <c>b</c> whose stored requests and answers are still kept at <c>$now</c>.</summary>
    private const string StillKept = "(b.archives_at IS NULL OR b.archives_at > $now OR b.state <> 'ended')";

    public async Task AddBatchAsync(BatchJob batch, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(items);
        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"""
                INSERT INTO batches ({StoreRows.BatchColumns})
                VALUES ($id, $api, $tenant_id, $key_id, $endpoint, $state, $created_at, $expires_at, $input_file_id, $completion_window,
                        $metadata, $user_agent, NULL, NULL, NULL, NULL, NULL, $client_ip, $model, $output_expires_after, $archives_at, NULL, NULL, $betas)
                """;
            command.Parameters.AddWithValue("$id", batch.Id);
            command.Parameters.AddWithValue("$api", StoreRows.BatchApiName(batch.Api));
            command.Parameters.AddWithValue("$tenant_id", batch.TenantId);
            command.Parameters.AddWithValue("$key_id", batch.KeyId);
            command.Parameters.AddWithValue("$endpoint", batch.Endpoint);
            command.Parameters.AddWithValue("$state", batch.State);
            command.Parameters.AddWithValue("$created_at", ToUnixMs(batch.CreatedAt));
            command.Parameters.AddWithValue("$expires_at", ToUnixMs(batch.ExpiresAt));
            command.Parameters.AddWithValue("$input_file_id", OrNull(batch.InputFileId));
            command.Parameters.AddWithValue("$completion_window", OrNull(batch.CompletionWindow));
            command.Parameters.AddWithValue("$metadata", OrNull(batch.Metadata));
            command.Parameters.AddWithValue("$user_agent", OrNull(batch.UserAgent));
            command.Parameters.AddWithValue("$client_ip", OrNull(batch.ClientIp));
            command.Parameters.AddWithValue("$model", OrNull(batch.Model));
            command.Parameters.AddWithValue("$output_expires_after", batch.OutputExpiresAfter is { } after ? (long)after.TotalSeconds : DBNull.Value);
            command.Parameters.AddWithValue("$archives_at", OrNull(batch.ArchivesAt));
            command.Parameters.AddWithValue("$betas", OrNull(batch.Betas));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO batch_items (batch_id, position, custom_id, body, state) VALUES ($batch_id, $position, $custom_id, $body, 'pending')";
            insert.Parameters.AddWithValue("$batch_id", batch.Id);
            var position = insert.Parameters.Add("$position", SqliteType.Integer);
            var customId = insert.Parameters.Add("$custom_id", SqliteType.Text);
            var body = insert.Parameters.Add("$body", SqliteType.Blob);
            insert.Prepare();
            foreach (var item in items)
            {
                position.Value = item.Position;
                customId.Value = item.CustomId;
                body.Value = item.Body;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        transaction.Commit();
    }

    public async Task<BatchJob?> GetBatchAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await GetBatchAsync(connection, null, "id = $id AND tenant_id = $tenant_id", batchId, tenantId, cancellationToken);
    }

    private static async Task<BatchJob?> GetBatchAsync(SqliteConnection connection, SqliteTransaction? transaction, string where, string batchId, string? tenantId,
        CancellationToken cancellationToken)
    {
        BatchJob batch;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"SELECT {StoreRows.BatchColumns} FROM batches WHERE {where}";
            command.Parameters.AddWithValue("$id", batchId);
            command.Parameters.AddWithValue("$tenant_id", OrNull(tenantId));
            using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }
            batch = Rows.Batch(reader);
        }
        return await CountItemsAsync(connection, transaction, batch, cancellationToken);
    }

    private static async Task<BatchJob> CountItemsAsync(SqliteConnection connection, SqliteTransaction? transaction, BatchJob batch, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            SELECT state, count(*), sum(input_tokens), sum(cached_tokens), sum(output_tokens), sum(reasoning_tokens)
            FROM batch_items WHERE batch_id = $batch_id GROUP BY state
            """;
        command.Parameters.AddWithValue("$batch_id", batch.Id);
        var counts = BatchCounts.None;
        var tokens = BatchTokens.None;
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts = counts.Add(reader.GetString(0), reader.GetInt64(1));
            tokens = tokens.Add(new BatchTokens(reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }
        return batch with { Counts = counts, Tokens = tokens };
    }

    public async Task<IReadOnlyList<BatchJob>?> ListBatchesAsync(string tenantId, BatchApi api, string? after, string? before, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        List<BatchJob> batches;
        using (var command = connection.CreateCommand())
        {
            command.Parameters.AddWithValue("$tenant_id", tenantId);
            command.Parameters.AddWithValue("$api", StoreRows.BatchApiName(api));
            // The cursors' places, read first: a cursor that is not the tenant's batch of this API is refused, not taken for
            // an empty page.
            var past = "";
            foreach (var (cursor, name, beyond) in new[] { (after, "after", "<"), (before, "before", ">") })
            {
                if (cursor is null)
                {
                    continue;
                }
                command.CommandText = "SELECT created_at FROM batches WHERE id = $cursor AND tenant_id = $tenant_id AND api = $api";
                command.Parameters.AddWithValue("$cursor", cursor);
                var createdAt = await command.ExecuteScalarAsync(cancellationToken);
                command.Parameters.RemoveAt("$cursor");
                if (createdAt is not long at)
                {
                    return null;
                }
                command.Parameters.AddWithValue($"${name}", cursor);
                command.Parameters.AddWithValue($"${name}_created_at", at);
                past += $" AND (created_at, id) {beyond} (${name}_created_at, ${name})";
            }
            // Newest first; "after" a batch means older than it, "before" newer (OpenAI's and Anthropic's cursors page that
            // way). A page before a batch is the one nearest to it, so it is read oldest first and turned round.
            var order = StoreRows.BatchPageOrder(before);
            command.CommandText = $"""
                SELECT {StoreRows.BatchColumns} FROM batches
                WHERE tenant_id = $tenant_id AND api = $api{past}
                ORDER BY created_at {order}, id {order}
                LIMIT $limit
                """;
            command.Parameters.AddWithValue("$limit", limit);
            batches = await ReadAllAsync(command, Rows.Batch, cancellationToken);
        }
        if (before is not null)
        {
            batches.Reverse();
        }
        for (var i = 0; i < batches.Count; i++)
        {
            batches[i] = await CountItemsAsync(connection, null, batches[i], cancellationToken);
        }
        return batches;
    }

    public async Task<BatchJob?> CancelBatchAsync(string tenantId, string batchId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "UPDATE batches SET state = 'cancelling', cancelling_at = $at WHERE id = $id AND tenant_id = $tenant_id AND state = 'in_progress'";
            command.Parameters.AddWithValue("$id", batchId);
            command.Parameters.AddWithValue("$tenant_id", tenantId);
            command.Parameters.AddWithValue("$at", ToUnixMs(at));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        var batch = await GetBatchAsync(connection, transaction, "id = $id AND tenant_id = $tenant_id", batchId, tenantId, cancellationToken);
        transaction.Commit();
        return batch;
    }

    public async Task<bool> DeleteBatchAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            DELETE FROM batch_items WHERE batch_id = (SELECT id FROM batches WHERE id = $id AND tenant_id = $tenant_id AND state = 'ended');
            DELETE FROM batches WHERE id = $id AND tenant_id = $tenant_id AND state = 'ended';
            SELECT changes();
            """;
        command.Parameters.AddWithValue("$id", batchId);
        command.Parameters.AddWithValue("$tenant_id", tenantId);
        var deleted = (long)(await command.ExecuteScalarAsync(cancellationToken))! > 0;
        transaction.Commit();
        return deleted;
    }

    public Task<BatchJob?> ClaimBatchAsync(string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        ClaimAsync(owner, now, until, "", cancellationToken);

    /// <summary>The refused keys are one JSON array parameter, so the statement is the same whatever their number.</summary>
    public Task<BatchJob?> ClaimBatchToEndAsync(string owner, DateTimeOffset now, DateTimeOffset until, IReadOnlyCollection<string> refusedKeyIds,
        CancellationToken cancellationToken) =>
        ClaimAsync(owner, now, until, "AND (state = 'cancelling' OR expires_at <= $now OR key_id IN (SELECT value FROM json_each($refused)))", cancellationToken,
            JsonArray(refusedKeyIds));

    public async Task<IReadOnlyList<(string TenantId, string KeyId)>> ListOpenBatchKeysAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        // The open batches' index: ended batches, however many, are not read.
        command.CommandText = "SELECT DISTINCT tenant_id, key_id FROM batches INDEXED BY ix_batches_open WHERE state <> 'ended'";
        return await ReadAllAsync(command, r => (r.GetString(0), r.GetString(1)), cancellationToken);
    }

    /// <summary>A claim (<see cref="ClaimBatchAsync"/>) of a batch that also meets <paramref name="due"/> (with <c>$refused</c>, when given).</summary>
    private async Task<BatchJob?> ClaimAsync(string owner, DateTimeOffset now, DateTimeOffset until, string due, CancellationToken cancellationToken, string? refused = null)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // Its own batch first (renewing the claim), else the oldest free one.
        var candidate = $"""
            SELECT id FROM batches
            WHERE state <> 'ended' AND (owner IS NULL OR owner = $owner OR owner_until < $now) {due}
            ORDER BY owner = $owner DESC, created_at, id
            LIMIT 1
            """;
        using (var look = connection.CreateCommand())
        {
            // A read first (the open batches' index, nothing locked): an idle gateway polls, and a write transaction each
            // time would take the file's write lock from the ledger for nothing.
            look.CommandText = candidate;
            look.Parameters.AddWithValue("$owner", owner);
            look.Parameters.AddWithValue("$now", ToUnixMs(now));
            AddRefused(look, refused);
            if (await look.ExecuteScalarAsync(cancellationToken) is null)
            {
                return null;
            }
        }
        using var transaction = connection.BeginTransaction();
        string? batchId;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = $"""
                UPDATE batches SET owner = $owner, owner_until = $until
                WHERE id = ({candidate})
                RETURNING id
                """;
            command.Parameters.AddWithValue("$owner", owner);
            command.Parameters.AddWithValue("$now", ToUnixMs(now));
            command.Parameters.AddWithValue("$until", ToUnixMs(until));
            AddRefused(command, refused);
            batchId = (string?)await command.ExecuteScalarAsync(cancellationToken);
        }
        var batch = batchId is null ? null : await GetBatchAsync(connection, transaction, "id = $id", batchId, null, cancellationToken);
        transaction.Commit();
        return batch;
    }

    /// <summary><paramref name="values"/> as a JSON array of strings, for <c>json_each</c>.</summary>
    private static string JsonArray(IReadOnlyCollection<string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            foreach (var value in values)
            {
                json.WriteStringValue(value);
            }
            json.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void AddRefused(SqliteCommand command, string? refused)
    {
        if (refused is not null)
        {
            command.Parameters.AddWithValue("$refused", refused);
        }
    }

    public async Task ReleaseBatchAsync(string batchId, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "UPDATE batches SET owner = NULL, owner_until = NULL WHERE id = $id AND owner = $owner";
        command.Parameters.AddWithValue("$id", batchId);
        command.Parameters.AddWithValue("$owner", owner);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<BatchItem>> ReadPendingBatchItemsAsync(string batchId, int afterPosition, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT {StoreRows.BatchItemColumns} FROM batch_items
            WHERE batch_id = $batch_id AND position > $after AND state = 'pending'
            ORDER BY position LIMIT $limit
            """;
        command.Parameters.AddWithValue("$batch_id", batchId);
        command.Parameters.AddWithValue("$after", afterPosition);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadAllAsync(command, Rows.BatchItem, cancellationToken);
    }

    public async Task<bool> SaveBatchItemAsync(string batchId, BatchItem item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE batch_items SET state = $state, status = $status, request_id = $request_id, response = $response, attempt = $attempt, ended_at = $ended_at,
                started_at = $started_at, input_tokens = $input_tokens, cached_tokens = $cached_tokens, output_tokens = $output_tokens,
                reasoning_tokens = $reasoning_tokens
            WHERE batch_id = $batch_id AND position = $position AND state = 'pending'
            """;
        command.Parameters.AddWithValue("$batch_id", batchId);
        command.Parameters.AddWithValue("$position", item.Position);
        command.Parameters.AddWithValue("$state", item.State);
        command.Parameters.AddWithValue("$status", item.Status is { } status ? status : DBNull.Value);
        command.Parameters.AddWithValue("$request_id", OrNull(item.RequestId));
        command.Parameters.AddWithValue("$response", item.Response is { } response ? response : DBNull.Value);
        command.Parameters.AddWithValue("$attempt", item.Attempt);
        command.Parameters.AddWithValue("$ended_at", OrNull(item.EndedAt));
        command.Parameters.AddWithValue("$started_at", OrNull(item.StartedAt));
        command.Parameters.AddWithValue("$input_tokens", item.Tokens.Input);
        command.Parameters.AddWithValue("$cached_tokens", item.Tokens.Cached);
        command.Parameters.AddWithValue("$output_tokens", item.Tokens.Output);
        command.Parameters.AddWithValue("$reasoning_tokens", item.Tokens.Reasoning);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<bool> EndBatchAsync(string batchId, string ending, BatchFailure? failure, BatchNotRun notRun, DateTimeOffset at, string? outputFileId, string? errorFileId,
        IReadOnlyList<StoredFile> files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notRun);
        ArgumentNullException.ThrowIfNull(files);
        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                UPDATE batches SET state = 'ended', ending = $ending, ended_at = $at, output_file_id = $output_file_id, error_file_id = $error_file_id,
                    failure_code = $failure_code, failure_message = $failure_message, owner = NULL, owner_until = NULL
                WHERE id = $id AND state <> 'ended'
                """;
            command.Parameters.AddWithValue("$id", batchId);
            command.Parameters.AddWithValue("$ending", ending);
            command.Parameters.AddWithValue("$failure_code", OrNull(failure?.Code));
            command.Parameters.AddWithValue("$failure_message", OrNull(failure?.Message));
            command.Parameters.AddWithValue("$at", ToUnixMs(at));
            command.Parameters.AddWithValue("$output_file_id", OrNull(outputFileId));
            command.Parameters.AddWithValue("$error_file_id", OrNull(errorFileId));
            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }
        }
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                UPDATE batch_items SET state = $state, status = $status, response = $response, ended_at = $at
                WHERE batch_id = $id AND state = 'pending'
                """;
            command.Parameters.AddWithValue("$id", batchId);
            command.Parameters.AddWithValue("$state", notRun.State);
            command.Parameters.AddWithValue("$status", notRun.Status is { } status ? status : DBNull.Value);
            command.Parameters.AddWithValue("$response", notRun.Response is { } response ? response : DBNull.Value);
            command.Parameters.AddWithValue("$at", ToUnixMs(at));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        foreach (var file in files)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            AddFileCommand(command, file);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        transaction.Commit();
        return true;
    }

    public async IAsyncEnumerable<BatchItem> ReadBatchItemsAsync(string batchId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {StoreRows.BatchItemColumns} FROM batch_items WHERE batch_id = $batch_id ORDER BY position";
        command.Parameters.AddWithValue("$batch_id", batchId);
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return Rows.BatchItem(reader);
        }
    }

    /// <summary>
    /// Reads each row of the batches through their index (named, so a query planner's guess cannot turn it into a scan of the
    /// tenant's live rows) and sums them here in decimal: SQLite would add the cost text as floating point.
    /// </summary>
    public async Task<IReadOnlyList<BatchUsage>> GetBatchUsageAsync(string tenantId, IReadOnlyCollection<string> batchIds, DateTimeOffset? from, DateTimeOffset? to,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batchIds);
        if (batchIds.Count == 0)
        {
            return [];
        }
        await CatchUpLedgerAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        var ids = new List<string>();
        foreach (var (i, id) in batchIds.Index())
        {
            ids.Add($"$batch{i}");
            command.Parameters.AddWithValue($"$batch{i}", id);
        }
        command.Parameters.AddWithValue("$tenant_id", tenantId);
        command.CommandText = $"""
            SELECT batch_id, model, 1, outcome = 'Success', billable, estimated, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, cost, revenue
            FROM ledger INDEXED BY ix_ledger_batch_id
            WHERE batch_id IN ({string.Join(", ", ids)}) AND tenant_id = $tenant_id
            """ + Rows.TimeRange(command, from, to, "AND");
        var sums = new Dictionary<(string Batch, string Model), BatchLedgerTotals>();
        using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = Rows.BatchUsage(reader);
                var key = (row.BatchId, row.Model);
                sums[key] = sums.GetValueOrDefault(key) + row.Totals;
            }
        }
        return
        [
            .. sums.OrderBy(s => s.Key.Batch, StringComparer.Ordinal).ThenBy(s => s.Key.Model, StringComparer.Ordinal)
                .Select(s => new BatchUsage(s.Key.Batch, s.Key.Model, s.Value)),
        ];
    }

    /// <summary>Every row <paramref name="command"/> selects, read by <paramref name="read"/>.</summary>
    private static async Task<List<T>> ReadAllAsync<T>(SqliteCommand command, Func<System.Data.Common.DbDataReader, T> read, CancellationToken cancellationToken)
    {
        var rows = new List<T>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }
        return rows;
    }
}
