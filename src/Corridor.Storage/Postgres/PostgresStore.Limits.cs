using System.Runtime.CompilerServices;
using Corridor.Core.Admission;
using Corridor.Core.Audit;
using Corridor.Core.Shadow;
using Npgsql;
using NpgsqlTypes;

namespace Corridor.Storage.Postgres;

/// <summary>Tenants' and keys' own limits and budgets, and shadow evaluation results (PostgreSQL migration 8).</summary>
internal sealed partial class PostgresStore
{
    private const string LimitsColumns = "scope, id, rpm, tpm, concurrent_streams, daily_soft_budget, daily_budget, monthly_soft_budget, monthly_budget";

    private const string ShadowColumns =
        "request_id, primary_request_id, time, tenant_id, primary_model, candidate_model, outcome, reason, primary_latency_ms, candidate_latency_ms, "
        + "primary_cost, candidate_cost, jaccard, exact_match, length_ratio, tool_names_match, tool_arguments_match";

    public Task<IReadOnlyList<SubjectLimits>> ListLimitsAsync(CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {LimitsColumns} FROM limits ORDER BY scope COLLATE \"C\", id COLLATE \"C\"", null, ReadLimits, cancellationToken);

    public Task<bool> SetLimitsAsync(SubjectLimits limits, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            var owner = limits.Scope == LimitScope.Tenant ? "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)" : "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1)";
            await using (var exists = new NpgsqlCommand(owner, connection, transaction))
            {
                exists.Parameters.AddWithValue(limits.Id);
                if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!)
                {
                    return false;
                }
            }

            var l = limits.Limits;
            await using (var command = new NpgsqlCommand { Connection = connection, Transaction = transaction })
            {
                command.Parameters.AddWithValue(ScopeName(limits.Scope));
                command.Parameters.AddWithValue(limits.Id);
                if (l.IsEmpty)
                {
                    command.CommandText = "DELETE FROM limits WHERE scope = $1 AND id = $2";
                }
                else
                {
                    command.CommandText = $"""
                        INSERT INTO limits ({LimitsColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                        ON CONFLICT (scope, id) DO UPDATE SET rpm = EXCLUDED.rpm, tpm = EXCLUDED.tpm, concurrent_streams = EXCLUDED.concurrent_streams,
                            daily_soft_budget = EXCLUDED.daily_soft_budget, daily_budget = EXCLUDED.daily_budget,
                            monthly_soft_budget = EXCLUDED.monthly_soft_budget, monthly_budget = EXCLUDED.monthly_budget
                        """;
                    command.Parameters.Add(Nullable(NpgsqlDbType.Integer, l.RequestsPerMinute));
                    command.Parameters.Add(Nullable(NpgsqlDbType.Bigint, l.TokensPerMinute));
                    command.Parameters.Add(Nullable(NpgsqlDbType.Integer, l.ConcurrentStreams));
                    command.Parameters.Add(Nullable(NpgsqlDbType.Numeric, l.DailySoftBudget));
                    command.Parameters.Add(Nullable(NpgsqlDbType.Numeric, l.DailyHardBudget));
                    command.Parameters.Add(Nullable(NpgsqlDbType.Numeric, l.MonthlySoftBudget));
                    command.Parameters.Add(Nullable(NpgsqlDbType.Numeric, l.MonthlyHardBudget));
                }
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            return true;
        }, cancellationToken);
    }

    public async Task AppendShadowResultsAsync(IReadOnlyList<ShadowResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0)
        {
            return;
        }
        // A repeated request id (a retried batch) is skipped, as in the ledger.
        await InTransactionAsync(async (connection, transaction) =>
        {
            foreach (var r in results)
            {
                await using var command = new NpgsqlCommand(
                    $"INSERT INTO shadow_results ({ShadowColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (request_id) DO NOTHING",
                    connection, transaction);
                var s = r.Similarity;
                command.Parameters.AddWithValue(r.RequestId);
                command.Parameters.AddWithValue(r.PrimaryRequestId);
                command.Parameters.AddWithValue(PostgresValues.ToUtc(r.Time));
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = PostgresValues.OrNull(r.TenantId) });
                command.Parameters.AddWithValue(r.PrimaryModel);
                command.Parameters.AddWithValue(r.CandidateModel);
                command.Parameters.AddWithValue(r.Outcome.ToString());
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = PostgresValues.OrNull(r.Reason) });
                command.Parameters.AddWithValue(r.PrimaryLatencyMs);
                command.Parameters.Add(Nullable(NpgsqlDbType.Integer, r.CandidateLatencyMs));
                command.Parameters.AddWithValue(r.PrimaryCost);
                command.Parameters.AddWithValue(r.CandidateCost);
                command.Parameters.Add(Nullable(NpgsqlDbType.Double, s?.Jaccard));
                command.Parameters.Add(Nullable(NpgsqlDbType.Boolean, s?.ExactMatch));
                command.Parameters.Add(Nullable(NpgsqlDbType.Double, s?.LengthRatio));
                command.Parameters.Add(Nullable(NpgsqlDbType.Boolean, s?.ToolNamesMatch));
                command.Parameters.Add(Nullable(NpgsqlDbType.Boolean, s?.ToolArgumentsMatch));
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            return true;
        }, cancellationToken);
    }

    public async IAsyncEnumerable<ShadowResult> ReadShadowResultsAsync(DateTimeOffset? from, DateTimeOffset? to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand { Connection = connection };
        command.CommandText = $"SELECT {ShadowColumns} FROM shadow_results" + PostgresValues.Rows.TimeRange(command, from, to, "WHERE") + " ORDER BY time, request_id COLLATE \"C\"";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return new ShadowResult(
                RequestId: reader.GetString(0),
                PrimaryRequestId: reader.GetString(1),
                Time: reader.GetFieldValue<DateTimeOffset>(2),
                TenantId: reader.IsDBNull(3) ? null : reader.GetString(3),
                PrimaryModel: reader.GetString(4),
                CandidateModel: reader.GetString(5),
                Outcome: Enum.Parse<ShadowOutcome>(reader.GetString(6)),
                Reason: reader.IsDBNull(7) ? null : reader.GetString(7),
                PrimaryLatencyMs: reader.GetInt32(8),
                CandidateLatencyMs: reader.IsDBNull(9) ? null : reader.GetInt32(9),
                PrimaryCost: reader.GetDecimal(10),
                CandidateCost: reader.GetDecimal(11),
                Similarity: reader.IsDBNull(12) ? null : new Similarity(
                    reader.GetDouble(12),
                    reader.GetBoolean(13),
                    reader.GetDouble(14),
                    reader.IsDBNull(15) ? null : reader.GetBoolean(15),
                    reader.IsDBNull(16) ? null : reader.GetBoolean(16)));
        }
    }

    private static string ScopeName(LimitScope scope) => scope == LimitScope.Tenant ? "tenant" : "key";

    private static NpgsqlParameter Nullable<T>(NpgsqlDbType type, T? value) where T : struct =>
        new() { NpgsqlDbType = type, Value = value is { } v ? v : DBNull.Value };

    private static SubjectLimits ReadLimits(NpgsqlDataReader r) => new(
        r.GetString(0) == "tenant" ? LimitScope.Tenant : LimitScope.Key,
        r.GetString(1),
        new Limits
        {
            RequestsPerMinute = r.IsDBNull(2) ? null : r.GetInt32(2),
            TokensPerMinute = r.IsDBNull(3) ? null : r.GetInt64(3),
            ConcurrentStreams = r.IsDBNull(4) ? null : r.GetInt32(4),
            DailySoftBudget = r.IsDBNull(5) ? null : r.GetDecimal(5),
            DailyHardBudget = r.IsDBNull(6) ? null : r.GetDecimal(6),
            MonthlySoftBudget = r.IsDBNull(7) ? null : r.GetDecimal(7),
            MonthlyHardBudget = r.IsDBNull(8) ? null : r.GetDecimal(8),
        });
}
