using System.Runtime.CompilerServices;
using Corridor.Core.Batches;
using Corridor.Core.Reports;
using Npgsql;
using NpgsqlTypes;

namespace Corridor.Storage.Postgres;

/// <summary>
/// Batches, their requests and files (PostgreSQL migrations 19 and 21; docs/batches.md), and what the ledger holds of their
/// runs (migration 22), as <see cref="Sqlite.SqliteStore"/> keeps
/// them. Several replicas share these rows, so each change that two could make at once is one statement
/// whose condition decides: a claim takes a batch no other claim has locked, a result lands only on a pending request, a
/// batch ends once.
/// </summary>
internal sealed partial class PostgresStore
{
    private const string FileColumns = StoreRows.FileColumns;
    private const string BatchColumns = StoreRows.BatchColumns;
    private const string BatchItemColumns = StoreRows.BatchItemColumns;

    // A batch's requests by state as two arrays side by side (null for a batch without requests), read with the batch in
    // one statement; ReadBatch adds them up.
    private const string CountsJoin = """
        CROSS JOIN LATERAL (
            SELECT array_agg(s.state) AS states, array_agg(s.n) AS counts,
                sum(s.input) AS input, sum(s.cached) AS cached, sum(s.output) AS output, sum(s.reasoning) AS reasoning
            FROM (
                SELECT state, count(*) AS n, sum(input_tokens) AS input, sum(cached_tokens) AS cached, sum(output_tokens) AS output,
                    sum(reasoning_tokens) AS reasoning
                FROM batch_items WHERE batch_id = b.id GROUP BY state) AS s) AS c
        """;

    /// <summary>What <see cref="CountsJoin"/> adds to a batch's columns, in the order <see cref="ReadBatch"/> reads them.</summary>
    private const string CountsColumns = "c.states, c.counts, c.input, c.cached, c.output, c.reasoning";

    private const string SelectBatches = $"SELECT {BatchColumns}, {CountsColumns} FROM batches AS b {CountsJoin}";

    // The claim (ClaimBatchAsync): its holder's own batch first, renewing the claim, waiting for a writer that has it locked
    // (a cancel, an end) rather than passing it by; else the oldest free batch, passing over those another gateway is
    // claiming at this moment (locked), so two claims never take the same one. The lock is taken in the subquery, and a row
    // changed since this statement's snapshot is checked again against its condition, so a batch another claim just took
    // is not free any more.
    private static readonly string[] ClaimSql = ClaimsOf("");

    // The claim of a batch due to end without running (ClaimBatchToEndAsync): cancelled, its completion window over (by
    // the gateway's clock, as the window was set from it when the batch was made), or its key refused ($4, the keys the
    // claiming gateway knows to be refused). Two replicas sweeping at once never take the same batch: the claim's lock
    // decides, as between workers.
    private static readonly string[] ClaimToEndSql = ClaimsOf("AND (state = 'cancelling' OR expires_at <= $3 OR key_id = ANY($4))");

    // How long a claim holds ($2, an interval) is measured by the database's clock, as the lease book's expiry is: one clock
    // for every replica, so a replica whose clock runs ahead does not take a live holder's batch over early, nor one whose
    // clock runs behind hold a dead one's too long.
    private static string[] ClaimsOf(string due) =>
    [
        Claim($"owner = $1 {due}", "FOR UPDATE"),
        Claim($"(owner IS NULL OR owner_until < now()) {due}", "FOR UPDATE SKIP LOCKED"),
    ];

    private static string Claim(string holder, string locking) => $"""
        WITH claimed AS (
            UPDATE batches SET owner = $1, owner_until = now() + $2
            WHERE id = (
                SELECT id FROM batches
                WHERE state <> 'ended' AND {holder}
                ORDER BY created_at, id COLLATE "C"
                LIMIT 1
                {locking})
            RETURNING {BatchColumns})
        SELECT {BatchColumns}, {CountsColumns} FROM claimed AS b {CountsJoin}
        """;

    public async Task AddFileAsync(StoredFile file, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(file);
        await using var command = _dataSource.CreateCommand();
        AddFileCommand(command, file);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddFileCommand(NpgsqlCommand command, StoredFile file)
    {
        command.CommandText = $"INSERT INTO files ({FileColumns}, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
        command.Parameters.AddWithValue(file.Id);
        command.Parameters.AddWithValue(file.TenantId);
        command.Parameters.AddWithValue(file.Purpose);
        command.Parameters.AddWithValue(file.FileName);
        command.Parameters.AddWithValue(file.Bytes);
        command.Parameters.AddWithValue(PostgresValues.ToUtc(file.CreatedAt));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = PostgresValues.OrNull(file.ExpiresAt) });
        command.Parameters.AddWithValue(file.Content ?? []);
    }

    public async Task<StoredFile?> GetFileAsync(string tenantId, string fileId, bool withContent, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var files = await QueryAsync(
            $"SELECT {FileColumns}{(withContent ? ", content" : "")} FROM files WHERE id = $1 AND tenant_id = $2 AND {NotExpired("$3")}",
            r => withContent ? PostgresValues.Rows.File(r) with { Content = r.GetFieldValue<byte[]>(StoreRows.FileContentColumn) } : PostgresValues.Rows.File(r),
            cancellationToken,
            fileId,
            tenantId,
            PostgresValues.ToUtc(now));
        return files.Count == 0 ? null : files[0];
    }

    public async Task<IReadOnlyList<StoredFile>?> ListFilesAsync(string tenantId, string? purpose, string? after, bool ascending, int limit, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var (order, beyond) = StoreRows.FilePageOrder(ascending);
        var past = "";
        List<object> parameters = [tenantId, Text(purpose), limit, PostgresValues.ToUtc(now)];
        if (after is not null)
        {
            // The cursor's place, read first: a cursor that is not the tenant's file is refused, not taken for an empty page.
            var cursor = await QueryAsync(
                $"SELECT created_at FROM files WHERE id = $1 AND tenant_id = $2 AND {NotExpired("$3")}", r => r.GetFieldValue<DateTime>(0), cancellationToken, after, tenantId,
                PostgresValues.ToUtc(now));
            if (cursor.Count == 0)
            {
                return null;
            }

            parameters.AddRange([cursor[0], after]);
            past = $"AND (created_at, id COLLATE \"C\") {beyond} ($5, $6::text COLLATE \"C\")";
        }

        return await QueryAsync(
            $"""
            SELECT {FileColumns} FROM files
            WHERE tenant_id = $1 AND ($2::text IS NULL OR purpose = $2) AND {NotExpired("$4")} {past}
            ORDER BY created_at {order}, id COLLATE "C" {order}
            LIMIT $3
            """,
            PostgresValues.Rows.File,
            cancellationToken,
            [.. parameters]);
    }

    public async Task<bool> DeleteFileAsync(string tenantId, string fileId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"DELETE FROM files WHERE id = $1 AND tenant_id = $2 AND {NotExpired("$3")}");
        command.Parameters.AddWithValue(fileId);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(PostgresValues.ToUtc(now));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<long> GetStoredBatchBytesAsync(string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Every batch keeps a copy of its requests, and their answers, until its retention ends (an OpenAI batch's beside its
        // input and result files, which count as files): all of it is stored, so all of it is counted.
        await using var command = _dataSource.CreateCommand($"""
            SELECT ((SELECT coalesce(sum(bytes), 0) FROM files WHERE tenant_id = $1 AND {NotExpired("$2")})
                 + (SELECT coalesce(sum(octet_length(i.body) + coalesce(octet_length(i.response), 0)), 0)
                    FROM batches b JOIN batch_items i ON i.batch_id = b.id
                    WHERE b.tenant_id = $1 AND (b.archives_at IS NULL OR b.archives_at > $2 OR b.state <> 'ended')))::bigint
            """);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(PostgresValues.ToUtc(now));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The condition that keeps a file not expired by the time in <paramref name="now"/> (a parameter).</summary>
    private static string NotExpired(string now) => $"(expires_at IS NULL OR expires_at > {now})";

    // The sweep's steps, each one statement that decides alone, so gateways sweeping at once neither wait on each other nor
    // remove anything twice: rows another sweep has locked are passed over (it removes them), and a row gone is gone.
    // Expired files, a hundred at a time.
    private const string RemoveExpiredFilesSql = """
        WITH gone AS (
            DELETE FROM files WHERE id IN (SELECT id FROM files WHERE expires_at <= $1 LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING 1)
        SELECT count(*) FROM gone
        """;

    // Ended batches past archives_at, a few at a time: marked archived and their requests' bodies and answers emptied together.
    private const string ArchiveBatchesSql = """
        WITH archived AS (
            UPDATE batches SET archived_at = $1
            WHERE id IN (
                SELECT id FROM batches WHERE archives_at <= $1 AND archived_at IS NULL AND state = 'ended' LIMIT 10 FOR UPDATE SKIP LOCKED)
            RETURNING id),
        emptied AS (UPDATE batch_items SET body = ''::bytea, response = NULL WHERE batch_id IN (SELECT id FROM archived))
        SELECT count(*) FROM archived
        """;

    public async Task<ExpiredBatchData> RemoveExpiredBatchDataAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var removed = new int[2];
        foreach (var (sql, i) in new[] { (RemoveExpiredFilesSql, 0), (ArchiveBatchesSql, 1) })
        {
            while (true)
            {
                await using var command = _dataSource.CreateCommand(sql);
                command.Parameters.AddWithValue(PostgresValues.ToUtc(now));
                var step = (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
                if (step == 0)
                {
                    break;
                }

                removed[i] += step;
            }
        }

        return new ExpiredBatchData(removed[0], removed[1]);
    }

    /// <summary>The batch, then its requests with binary COPY (up to 100,000 of them), in one transaction.</summary>
    public Task AddBatchAsync(BatchJob batch, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(items);
        return InTransactionAsync(async (connection, transaction) =>
        {
            await using (var command = new NpgsqlCommand(
                $"INSERT INTO batches ({BatchColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, NULL, NULL, NULL, $13, $14, $15, $16, NULL, NULL, $17)",
                connection,
                transaction))
            {
                command.Parameters.AddWithValue(batch.Id);
                command.Parameters.AddWithValue(StoreRows.BatchApiName(batch.Api));
                command.Parameters.AddWithValue(batch.TenantId);
                command.Parameters.AddWithValue(batch.KeyId);
                command.Parameters.AddWithValue(batch.Endpoint);
                command.Parameters.AddWithValue(batch.State);
                command.Parameters.AddWithValue(PostgresValues.ToUtc(batch.CreatedAt));
                command.Parameters.AddWithValue(PostgresValues.ToUtc(batch.ExpiresAt));
                command.Parameters.Add(Text(batch.InputFileId));
                command.Parameters.Add(Text(batch.CompletionWindow));
                command.Parameters.Add(Text(batch.Metadata));
                command.Parameters.Add(Text(batch.UserAgent));
                command.Parameters.Add(Text(batch.ClientIp));
                command.Parameters.Add(Text(batch.Model));
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = batch.OutputExpiresAfter is { } after ? (long)after.TotalSeconds : DBNull.Value });
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = PostgresValues.OrNull(batch.ArchivesAt) });
                command.Parameters.Add(Text(batch.Betas));
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var importer = await connection.BeginBinaryImportAsync(
                "COPY batch_items (batch_id, position, custom_id, body, state) FROM STDIN (FORMAT BINARY)", cancellationToken))
            {
                foreach (var item in items)
                {
                    await importer.StartRowAsync(cancellationToken);
                    await importer.WriteAsync(batch.Id, NpgsqlDbType.Text, cancellationToken);
                    await importer.WriteAsync(item.Position, NpgsqlDbType.Integer, cancellationToken);
                    await importer.WriteAsync(item.CustomId, NpgsqlDbType.Text, cancellationToken);
                    await importer.WriteAsync(item.Body, NpgsqlDbType.Bytea, cancellationToken);
                    await importer.WriteAsync(BatchItemStates.Pending, NpgsqlDbType.Text, cancellationToken);
                }

                await importer.CompleteAsync(cancellationToken);
            }

            return true;
        }, cancellationToken);
    }

    public async Task<BatchJob?> GetBatchAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        var batches = await QueryAsync($"{SelectBatches} WHERE id = $1 AND tenant_id = $2", ReadBatch, cancellationToken, batchId, tenantId);
        return batches.Count == 0 ? null : batches[0];
    }

    public async Task<IReadOnlyList<BatchJob>?> ListBatchesAsync(string tenantId, BatchApi api, string? after, string? before, int limit, CancellationToken cancellationToken)
    {
        List<object> parameters = [tenantId, StoreRows.BatchApiName(api), limit];
        var past = "";
        // The cursors' places, read first: a cursor that is not the tenant's batch of this API is refused, not taken for an
        // empty page.
        foreach (var (cursor, beyond) in new[] { (after, "<"), (before, ">") })
        {
            if (cursor is null)
            {
                continue;
            }

            var place = await QueryAsync("SELECT created_at FROM batches WHERE id = $1 AND tenant_id = $2 AND api = $3",
                r => r.GetFieldValue<DateTime>(0), cancellationToken, cursor, tenantId, StoreRows.BatchApiName(api));
            if (place.Count == 0)
            {
                return null;
            }

            parameters.AddRange([place[0], cursor]);
            past += $" AND (created_at, id COLLATE \"C\") {beyond} (${parameters.Count - 1}, ${parameters.Count}::text COLLATE \"C\")";
        }

        // Newest first; "after" a batch means older than it, "before" newer (OpenAI's and Anthropic's cursors page that
        // way). A page before a batch is the one nearest to it, so it is read oldest first and turned round.
        var order = StoreRows.BatchPageOrder(before);
        var batches = await QueryAsync(
            $"""
            {SelectBatches}
            WHERE tenant_id = $1 AND api = $2{past}
            ORDER BY created_at {order}, id COLLATE "C" {order}
            LIMIT $3
            """,
            ReadBatch,
            cancellationToken,
            [.. parameters]);
        return before is null ? batches : batches.Reverse().ToList();
    }

    public Task<BatchJob?> CancelBatchAsync(string tenantId, string batchId, DateTimeOffset at, CancellationToken cancellationToken) =>
        InTransactionAsync(async (connection, transaction) =>
        {
            await using (var command = new NpgsqlCommand(
                "UPDATE batches SET state = 'cancelling', cancelling_at = $3 WHERE id = $1 AND tenant_id = $2 AND state = 'in_progress'", connection, transaction))
            {
                command.Parameters.AddWithValue(batchId);
                command.Parameters.AddWithValue(tenantId);
                command.Parameters.AddWithValue(PostgresValues.ToUtc(at));
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var command = new NpgsqlCommand($"{SelectBatches} WHERE id = $1 AND tenant_id = $2", connection, transaction))
            {
                command.Parameters.AddWithValue(batchId);
                command.Parameters.AddWithValue(tenantId);
                return await ReadBatchAsync(command, cancellationToken);
            }
        }, cancellationToken);

    public async Task<bool> DeleteBatchAsync(string tenantId, string batchId, CancellationToken cancellationToken)
    {
        // One statement: the batch goes only when it has ended, and its requests with it.
        await using var command = _dataSource.CreateCommand("""
            WITH deleted AS (DELETE FROM batches WHERE id = $1 AND tenant_id = $2 AND state = 'ended' RETURNING id),
                 items AS (DELETE FROM batch_items WHERE batch_id IN (SELECT id FROM deleted))
            SELECT count(*) FROM deleted
            """);
        command.Parameters.AddWithValue(batchId);
        command.Parameters.AddWithValue(tenantId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! > 0;
    }

    public async Task ReleaseBatchAsync(string batchId, string owner, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("UPDATE batches SET owner = NULL, owner_until = NULL WHERE id = $1 AND owner = $2");
        command.Parameters.AddWithValue(batchId);
        command.Parameters.AddWithValue(owner);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Holds the claim for <c>until − now</c> by the database's clock (<see cref="ClaimsOf"/>).</summary>
    public Task<BatchJob?> ClaimBatchAsync(string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        ClaimAsync(ClaimSql, owner, now, until, cancellationToken);

    public Task<BatchJob?> ClaimBatchToEndAsync(string owner, DateTimeOffset now, DateTimeOffset until, IReadOnlyCollection<string> refusedKeyIds,
        CancellationToken cancellationToken) =>
        ClaimAsync(ClaimToEndSql, owner, now, until, cancellationToken, [.. refusedKeyIds]);

    public Task<IReadOnlyList<(string TenantId, string KeyId)>> ListOpenBatchKeysAsync(CancellationToken cancellationToken) =>
        QueryAsync("SELECT DISTINCT tenant_id, key_id FROM batches WHERE state <> 'ended'", r => (r.GetString(0), r.GetString(1)), cancellationToken);

    private async Task<BatchJob?> ClaimAsync(string[] claims, string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken,
        string[]? refusedKeyIds = null)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var sql in claims)
        {
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddWithValue(owner);
            command.Parameters.AddWithValue(until - now);
            command.Parameters.AddWithValue(PostgresValues.ToUtc(now));
            if (refusedKeyIds is not null)
            {
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = refusedKeyIds });
            }
            if (await ReadBatchAsync(command, cancellationToken) is { } batch)
            {
                return batch;
            }
        }

        return null;
    }

    public Task<IReadOnlyList<BatchItem>> ReadPendingBatchItemsAsync(string batchId, int afterPosition, int limit, CancellationToken cancellationToken) =>
        QueryAsync(
            $"""
            SELECT {BatchItemColumns} FROM batch_items
            WHERE batch_id = $1 AND position > $2 AND state = 'pending'
            ORDER BY position LIMIT $3
            """,
            PostgresValues.Rows.BatchItem,
            cancellationToken,
            batchId,
            afterPosition,
            limit);

    public async Task<bool> SaveBatchItemAsync(string batchId, BatchItem item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        // Only while pending: a batch ended meanwhile (its pending requests marked) or a result stored already stays as it is.
        await using var command = _dataSource.CreateCommand("""
            UPDATE batch_items SET state = $3, status = $4, request_id = $5, response = $6, attempt = $7, ended_at = $8, started_at = $9,
                input_tokens = $10, cached_tokens = $11, output_tokens = $12, reasoning_tokens = $13
            WHERE batch_id = $1 AND position = $2 AND state = 'pending'
            """);
        command.Parameters.AddWithValue(batchId);
        command.Parameters.AddWithValue(item.Position);
        command.Parameters.AddWithValue(item.State);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = item.Status is { } status ? status : DBNull.Value });
        command.Parameters.Add(Text(item.RequestId));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = item.Response is { } response ? response : DBNull.Value });
        command.Parameters.AddWithValue(item.Attempt);
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = PostgresValues.OrNull(item.EndedAt) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = PostgresValues.OrNull(item.StartedAt) });
        command.Parameters.AddWithValue(item.Tokens.Input);
        command.Parameters.AddWithValue(item.Tokens.Cached);
        command.Parameters.AddWithValue(item.Tokens.Output);
        command.Parameters.AddWithValue(item.Tokens.Reasoning);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public Task<bool> EndBatchAsync(string batchId, string ending, BatchFailure? failure, BatchNotRun notRun, DateTimeOffset at, string? outputFileId, string? errorFileId,
        IReadOnlyList<StoredFile> files, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notRun);
        ArgumentNullException.ThrowIfNull(files);
        return InTransactionAsync(async (connection, transaction) =>
        {
            // The batch's row first: a second gateway ending it at the same moment waits here, then finds it ended and changes nothing.
            await using (var command = new NpgsqlCommand("""
                UPDATE batches SET state = 'ended', ending = $2, ended_at = $3, output_file_id = $4, error_file_id = $5, failure_code = $6, failure_message = $7,
                    owner = NULL, owner_until = NULL
                WHERE id = $1 AND state <> 'ended'
                """, connection, transaction))
            {
                command.Parameters.AddWithValue(batchId);
                command.Parameters.AddWithValue(ending);
                command.Parameters.AddWithValue(PostgresValues.ToUtc(at));
                command.Parameters.Add(Text(outputFileId));
                command.Parameters.Add(Text(errorFileId));
                command.Parameters.Add(Text(failure?.Code));
                command.Parameters.Add(Text(failure?.Message));
                if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    return false;
                }
            }

            await using (var command = new NpgsqlCommand(
                "UPDATE batch_items SET state = $2, ended_at = $3, status = $4, response = $5 WHERE batch_id = $1 AND state = 'pending'", connection, transaction))
            {
                command.Parameters.AddWithValue(batchId);
                command.Parameters.AddWithValue(notRun.State);
                command.Parameters.AddWithValue(PostgresValues.ToUtc(at));
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = notRun.Status is { } status ? status : DBNull.Value });
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = notRun.Response is { } response ? response : DBNull.Value });
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            foreach (var file in files)
            {
                await using var command = new NpgsqlCommand { Connection = connection, Transaction = transaction };
                AddFileCommand(command, file);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            return true;
        }, cancellationToken);
    }

    public async IAsyncEnumerable<BatchItem> ReadBatchItemsAsync(string batchId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {BatchItemColumns} FROM batch_items WHERE batch_id = $1 ORDER BY position");
        command.Parameters.AddWithValue(batchId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return PostgresValues.Rows.BatchItem(reader);
        }
    }

    /// <summary>Summed here in <c>numeric</c>, exact, through the ledger's index of batch rows on every partition.</summary>
    public async Task<IReadOnlyList<BatchUsage>> GetBatchUsageAsync(string tenantId, IReadOnlyCollection<string> batchIds, DateTimeOffset? from, DateTimeOffset? to,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batchIds);
        if (batchIds.Count == 0)
        {
            return [];
        }
        await using var command = _dataSource.CreateCommand();
        command.Parameters.AddWithValue("batch_ids", batchIds.ToArray());
        command.Parameters.AddWithValue("tenant_id", tenantId);
        command.CommandText = $"""
            SELECT batch_id, model, count(*), count(*) FILTER (WHERE outcome = 'Success'), count(*) FILTER (WHERE billable), count(*) FILTER (WHERE estimated),
                sum(input_tokens)::bigint, sum(cache_read_tokens)::bigint, sum(cache_write_tokens)::bigint, sum(output_tokens)::bigint, sum(cost), sum(revenue)
            FROM ledger
            WHERE batch_id = ANY(@batch_ids) AND tenant_id = @tenant_id{PostgresValues.Rows.TimeRange(command, from, to, "AND")}
            GROUP BY batch_id, model ORDER BY batch_id COLLATE "C", model COLLATE "C"
            """;
        var usage = new List<BatchUsage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            usage.Add(PostgresValues.Rows.BatchUsage(reader));
        }
        return usage;
    }

    /// <summary>The one batch <paramref name="command"/> selects (with <see cref="CountsJoin"/>), or null.</summary>
    private static async Task<BatchJob?> ReadBatchAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadBatch(reader) : null;
    }

    private static BatchJob ReadBatch(NpgsqlDataReader r)
    {
        var counts = BatchCounts.None;
        var tokens = BatchTokens.None;
        const int C = StoreRows.BatchColumnCount;
        if (!r.IsDBNull(C))
        {
            var states = r.GetFieldValue<string[]>(C);
            var numbers = r.GetFieldValue<long[]>(C + 1);
            for (var i = 0; i < states.Length; i++)
            {
                counts = counts.Add(states[i], numbers[i]);
            }
            // Sums of bigint are numeric.
            tokens = new BatchTokens((long)r.GetDecimal(C + 2), (long)r.GetDecimal(C + 3), (long)r.GetDecimal(C + 4), (long)r.GetDecimal(C + 5));
        }

        return PostgresValues.Rows.Batch(r) with { Counts = counts, Tokens = tokens };
    }
}
