using Corridor.Storage.Responses;
using Microsoft.Data.Sqlite;
using static Corridor.Storage.Sqlite.SqliteValues;

namespace Corridor.Storage.Sqlite;

/// <summary>Stored Responses API answers (migration 25; docs/responses.md, "Stored responses").</summary>
internal sealed partial class SqliteStore
{
    /// <summary>The condition that keeps a response not expired by <c>$now</c>.</summary>
    private const string ResponseNotExpired = "expires_at > $now";

    /// <summary>How many expired responses one step of the sweep removes: each step is its own short write.</summary>
    private const int ResponsesPerStep = 100;

    public async Task AddResponseAsync(StoredResponse response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO responses ({StoreRows.ResponseColumns}, bytes)
            VALUES ($id, $tenant_id, $key_id, $model, $status, $created_at, $expires_at, $instructions, $input_items, $output_items, $input_tokens, $output_tokens, $body, $bytes)
            """;
        command.Parameters.AddWithValue("$id", response.Id);
        command.Parameters.AddWithValue("$tenant_id", response.TenantId);
        command.Parameters.AddWithValue("$key_id", response.KeyId);
        command.Parameters.AddWithValue("$model", response.Model);
        command.Parameters.AddWithValue("$status", response.Status);
        command.Parameters.AddWithValue("$created_at", ToUnixMs(response.CreatedAt));
        command.Parameters.AddWithValue("$expires_at", ToUnixMs(response.ExpiresAt));
        command.Parameters.AddWithValue("$instructions", OrNull(response.Instructions));
        command.Parameters.AddWithValue("$input_items", response.InputItems);
        command.Parameters.AddWithValue("$output_items", response.OutputItems);
        command.Parameters.AddWithValue("$input_tokens", response.InputTokens);
        command.Parameters.AddWithValue("$output_tokens", response.OutputTokens);
        command.Parameters.AddWithValue("$body", response.Body);
        command.Parameters.AddWithValue("$bytes", response.Bytes);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<long> GetStoredResponseBytesAsync(string tenantId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT coalesce(sum(bytes), 0) FROM responses WHERE tenant_id = $tenant_id AND {ResponseNotExpired}";
        command.Parameters.AddWithValue("$tenant_id", tenantId);
        command.Parameters.AddWithValue("$now", ToUnixMs(now));
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<StoredResponse?> GetResponseAsync(string tenantId, string responseId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = ResponseCommand(connection, $"SELECT {StoreRows.ResponseColumns} FROM responses", tenantId, responseId, now);
        var found = await ReadAllAsync(command, Rows.Response, cancellationToken);
        return found.Count == 0 ? null : found[0];
    }

    public async Task<bool> DeleteResponseAsync(string tenantId, string responseId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = ResponseCommand(connection, "DELETE FROM responses", tenantId, responseId, now);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary><paramref name="verb"/> on the tenant's response of that id, if it had not expired by <paramref name="now"/>.</summary>
    private static SqliteCommand ResponseCommand(SqliteConnection connection, string verb, string tenantId, string responseId, DateTimeOffset now)
    {
        var command = connection.CreateCommand();
        command.CommandText = $"{verb} WHERE id = $id AND tenant_id = $tenant_id AND {ResponseNotExpired}";
        command.Parameters.AddWithValue("$id", responseId);
        command.Parameters.AddWithValue("$tenant_id", tenantId);
        command.Parameters.AddWithValue("$now", ToUnixMs(now));
        return command;
    }

    public async Task<int> RemoveExpiredResponsesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // A few at a time, each its own write, so the file's write lock is never held long from the ledger's writer.
        int removed = 0, step;
        do
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM responses WHERE id IN (SELECT id FROM responses WHERE expires_at <= $now LIMIT {ResponsesPerStep})";
            command.Parameters.AddWithValue("$now", ToUnixMs(now));
            removed += step = await command.ExecuteNonQueryAsync(cancellationToken);
        }
        while (step == ResponsesPerStep);
        return removed;
    }
}
