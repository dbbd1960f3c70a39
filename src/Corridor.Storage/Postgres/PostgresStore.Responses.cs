using Corridor.Storage.Responses;
using Npgsql;
using NpgsqlTypes;

namespace Corridor.Storage.Postgres;

/// <summary>
/// Stored Responses API answers (migration 29; docs/responses.md, "Stored responses"), as <see cref="Sqlite.SqliteStore"/>
/// keeps them. Each change is one statement, so replicas reading, deleting and sweeping at once never remove a row twice.
/// </summary>
internal sealed partial class PostgresStore
{
    // Expired responses, a hundred at a time, passing over rows another replica's sweep has locked (it removes them).
    private const string RemoveExpiredResponsesSql = """
        WITH gone AS (
            DELETE FROM responses WHERE id IN (SELECT id FROM responses WHERE expires_at <= $1 LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING 1)
        SELECT count(*) FROM gone
        """;

    public async Task AddResponseAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        await using var command = _dataSource.CreateCommand(
            $"INSERT INTO responses ({StoreRows.ResponseColumns}, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)");
        command.Parameters.AddWithValue(response.Id);
        command.Parameters.AddWithValue(response.TenantId);
        command.Parameters.AddWithValue(response.KeyId);
        command.Parameters.AddWithValue(response.Model);
        command.Parameters.AddWithValue(response.Status);
        command.Parameters.AddWithValue(PostgresValues.ToUtc(response.CreatedAt));
        command.Parameters.AddWithValue(PostgresValues.ToUtc(response.ExpiresAt));
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = PostgresValues.OrNull(response.Instructions) });
        command.Parameters.AddWithValue(response.InputItems);
        command.Parameters.AddWithValue(response.OutputItems);
        command.Parameters.AddWithValue(response.InputTokens);
        command.Parameters.AddWithValue(response.OutputTokens);
        command.Parameters.AddWithValue(response.Body);
        command.Parameters.AddWithValue(response.Bytes);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> GetStoredResponseBytesAsync(string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("SELECT coalesce(sum(bytes), 0)::bigint FROM responses WHERE tenant_id = $1 AND expires_at > $2");
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(PostgresValues.ToUtc(now));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<StoredResponse?> GetResponseAsync(string tenantId, string responseId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var found = await QueryAsync(
            $"SELECT {StoreRows.ResponseColumns} FROM responses WHERE id = $1 AND tenant_id = $2 AND expires_at > $3",
            PostgresValues.Rows.Response,
            cancellationToken,
            responseId,
            tenantId,
            PostgresValues.ToUtc(now));
        return found.Count == 0 ? null : found[0];
    }

    public async Task<bool> DeleteResponseAsync(string tenantId, string responseId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM responses WHERE id = $1 AND tenant_id = $2 AND expires_at > $3");
        command.Parameters.AddWithValue(responseId);
        command.Parameters.AddWithValue(tenantId);
        command.Parameters.AddWithValue(PostgresValues.ToUtc(now));
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<int> RemoveExpiredResponsesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var removed = 0;
        while (true)
        {
            await using var command = _dataSource.CreateCommand(RemoveExpiredResponsesSql);
            command.Parameters.AddWithValue(PostgresValues.ToUtc(now));
            var step = (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
            if (step == 0)
            {
                return removed;
            }
            removed += step;
        }
    }
}
