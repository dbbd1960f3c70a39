using System.Data.Common;
using Corridor.Core.Metering;
using Npgsql;
using NpgsqlTypes;

namespace Corridor.Storage.Postgres;

/// <summary>
/// How a <see cref="LedgerEntry"/> maps to a row of the partitioned <c>ledger</c>: one column list for binary COPY and select.
/// </summary>
internal static class PostgresLedger
{
    private static readonly string ColumnList = StoreRows.LedgerColumnList;

    internal static readonly string CopyIntoLedgerSql = $"COPY ledger ({ColumnList}) FROM STDIN (FORMAT BINARY)";

    internal static readonly string CopyIntoIncomingSql = $"COPY ledger_incoming ({ColumnList}) FROM STDIN (FORMAT BINARY)";

    /// <summary>The retry path: a staging table shaped like the ledger, gone at commit.</summary>
    internal const string CreateIncomingSql = "CREATE TEMP TABLE ledger_incoming (LIKE ledger INCLUDING DEFAULTS) ON COMMIT DROP";

    // Adds to a day's totals; rows come sorted by key, so two writers lock the rows they share in the same order.
    private const string AddToDailySql = """
        ON CONFLICT (day, tenant_id, model) DO UPDATE SET
            requests = u.requests + excluded.requests,
            input_tokens = u.input_tokens + excluded.input_tokens,
            output_tokens = u.output_tokens + excluded.output_tokens,
            cost = u.cost + excluded.cost,
            cache_read_tokens = u.cache_read_tokens + excluded.cache_read_tokens,
            cache_write_tokens = u.cache_write_tokens + excluded.cache_write_tokens
        """;

    /// <summary>
    /// Moves the staged rows in, skipping those already stored (a retried batch) and repeats within the batch, and adds
    /// only the rows it inserted to the daily totals.
    /// </summary>
    internal static readonly string InsertIncomingSql = $"""
        WITH inserted AS (
            INSERT INTO ledger ({ColumnList}, seq) SELECT {ColumnList}, seq FROM ledger_incoming ORDER BY seq
            ON CONFLICT (time, request_id) DO NOTHING
            RETURNING time, tenant_id, model, input_tokens, output_tokens, cost, cache_read_tokens, cache_write_tokens, billable)
        INSERT INTO usage_daily AS u (day, tenant_id, model, requests, input_tokens, output_tokens, cost, cache_read_tokens, cache_write_tokens)
        SELECT (time AT TIME ZONE 'UTC')::date, tenant_id, model, count(*), sum(input_tokens), sum(output_tokens), sum(cost),
            sum(cache_read_tokens), sum(cache_write_tokens)
        FROM inserted WHERE billable AND tenant_id IS NOT NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        {AddToDailySql}
        """;

    /// <summary>Adds a batch's billable totals (computed here, grouped by day, tenant and model) to the daily totals.</summary>
    internal static readonly string AddDailySql = $"""
        INSERT INTO usage_daily AS u (day, tenant_id, model, requests, input_tokens, output_tokens, cost, cache_read_tokens, cache_write_tokens)
        SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::numeric[], $8::bigint[], $9::bigint[])
        ORDER BY 1, 2, 3
        {AddToDailySql}
        """;

    /// <summary>The parameters of <see cref="AddDailySql"/>: the batch's billable rows summed per UTC day, tenant and model.</summary>
    internal static void AddDailyParameters(NpgsqlCommand command, IReadOnlyList<LedgerEntry> entries)
    {
        var totals = new SortedDictionary<(DateOnly Day, string Tenant, string Model), (long Requests, long Input, long Output, decimal Cost, long CacheRead, long CacheWrite)>();
        foreach (var e in entries)
        {
            if (!e.Billable || e.TenantId is null)
            {
                continue;
            }

            var key = (DateOnly.FromDateTime(e.Time.UtcDateTime), Storable(e.TenantId)!, Storable(e.Model)!);
            totals.TryGetValue(key, out var t);
            totals[key] = (t.Requests + 1, t.Input + e.InputTokens, t.Output + e.OutputTokens, t.Cost + e.Cost, t.CacheRead + e.CacheReadTokens, t.CacheWrite + e.CacheWriteTokens);
        }

        command.Parameters.AddWithValue(totals.Keys.Select(k => k.Day).ToArray());
        command.Parameters.AddWithValue(totals.Keys.Select(k => k.Tenant).ToArray());
        command.Parameters.AddWithValue(totals.Keys.Select(k => k.Model).ToArray());
        command.Parameters.AddWithValue(totals.Values.Select(v => v.Requests).ToArray());
        command.Parameters.AddWithValue(totals.Values.Select(v => v.Input).ToArray());
        command.Parameters.AddWithValue(totals.Values.Select(v => v.Output).ToArray());
        command.Parameters.AddWithValue(totals.Values.Select(v => v.Cost).ToArray());
        command.Parameters.AddWithValue(totals.Values.Select(v => v.CacheRead).ToArray());
        command.Parameters.AddWithValue(totals.Values.Select(v => v.CacheWrite).ToArray());
    }

    internal static readonly string SelectSql = $"SELECT {ColumnList} FROM ledger";

    /// <summary>The first instant of the UTC month holding <paramref name="time"/>: the partition it goes to.</summary>
    internal static DateTimeOffset MonthOf(DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        return new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
    }

    internal static async Task WriteAsync(NpgsqlBinaryImporter importer, IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        foreach (var e in entries)
        {
            await importer.StartRowAsync(cancellationToken);
            await WriteText(importer, e.RequestId, cancellationToken);
            await importer.WriteAsync(PostgresValues.ToUtc(e.Time), NpgsqlDbType.TimestampTz, cancellationToken);
            await WriteText(importer, e.TenantId, cancellationToken);
            await WriteText(importer, e.KeyId, cancellationToken);
            await WriteText(importer, e.Model, cancellationToken);
            await WriteText(importer, e.Endpoint, cancellationToken);
            await WriteText(importer, e.DeploymentId, cancellationToken);
            await WriteText(importer, e.Region, cancellationToken);
            await importer.WriteAsync(e.Status, NpgsqlDbType.Integer, cancellationToken);
            await importer.WriteAsync(RequestOutcomes.Name(e.Outcome), NpgsqlDbType.Text, cancellationToken);
            await importer.WriteAsync(e.InputTokens, NpgsqlDbType.Bigint, cancellationToken);
            await importer.WriteAsync(e.OutputTokens, NpgsqlDbType.Bigint, cancellationToken);
            await importer.WriteAsync(e.Cost, NpgsqlDbType.Numeric, cancellationToken);
            await importer.WriteAsync(e.Estimated, NpgsqlDbType.Boolean, cancellationToken);
            await importer.WriteAsync(e.LatencyMs, NpgsqlDbType.Integer, cancellationToken);
            await importer.WriteAsync(e.Billable, NpgsqlDbType.Boolean, cancellationToken);
            await WriteText(importer, e.ErrorCode, cancellationToken);
            await WriteText(importer, e.ClientIp, cancellationToken);
            await WriteText(importer, e.UserAgent, cancellationToken);
            await WriteText(importer, e.RequestBody?.ToString(), cancellationToken);
            await WriteText(importer, e.ResponseText, cancellationToken);
            await WriteText(importer, e.FinishReason, cancellationToken);
            await WriteText(importer, e.Vendor, cancellationToken);
            await WriteText(importer, e.DecisionId, cancellationToken);
            await importer.WriteAsync(e.Revenue, NpgsqlDbType.Numeric, cancellationToken);
            await WriteText(importer, e.ShadowOf, cancellationToken);
            await importer.WriteAsync(e.CacheReadTokens, NpgsqlDbType.Bigint, cancellationToken);
            await importer.WriteAsync(e.CacheWriteTokens, NpgsqlDbType.Bigint, cancellationToken);
            await WriteText(importer, e.BatchId, cancellationToken);
        }
    }

    // A null where the column is NOT NULL (a broken row) reaches the server as NULL and fails the whole batch there.
    private static Task WriteText(NpgsqlBinaryImporter importer, string? value, CancellationToken cancellationToken) =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(Storable(value), NpgsqlDbType.Text, cancellationToken);

    /// <summary>
    /// <paramref name="value"/> with U+0000 replaced by U+FFFD: PostgreSQL's text cannot hold U+0000 and refuses the whole
    /// COPY (22021), and a client chooses some of this text (the model it names, even in a refused request) and an upstream
    /// the rest (the response), so one such row would fail its batch, then the spool's replay of it, for good.
    /// </summary>
    internal static string? Storable(string? value) =>
        value is null || !value.Contains('\0', StringComparison.Ordinal) ? value : value.Replace('\0', '\uFFFD');
}

/// <summary>Conversions between .NET values and the columns: times are <c>timestamptz</c> kept to the millisecond, money is <c>numeric</c>.</summary>
internal sealed class PostgresValues : StoreRows
{
    internal static readonly PostgresValues Rows = new();

    protected override string ParameterPrefix => "@";

    protected override object TimeValue(DateTimeOffset time) => ToUtc(time);

    protected override DateTimeOffset GetTime(DbDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);

    protected override decimal GetMoney(DbDataReader reader, int ordinal) => reader.GetDecimal(ordinal);

    /// <summary>UTC, truncated to the millisecond as the SQLite store keeps it, so both stores return the same times.</summary>
    internal static DateTimeOffset ToUtc(DateTimeOffset time) => DateTimeOffset.FromUnixTimeMilliseconds(time.ToUnixTimeMilliseconds());

    internal static object OrNull(string? value) => value is null ? DBNull.Value : value;

    internal static object OrNull(DateTimeOffset? value) => value is { } time ? ToUtc(time) : DBNull.Value;

}
