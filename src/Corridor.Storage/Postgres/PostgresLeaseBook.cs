using Corridor.Core.Admission;
using Npgsql;

namespace Corridor.Storage.Postgres;

/// <summary>
/// The fleet's lease book in PostgreSQL (migration 10): <see cref="LeaseArithmetic.Grant"/> done by one atomic
/// statement per row, so replicas leasing at once never together take more than the limit. Called by a background
/// worker, never on the request path.
/// </summary>
internal sealed class PostgresLeaseBook(NpgsqlDataSource dataSource) : ILeaseBook
{
    // All SET expressions see the row as it was, so last_grant is min(want, limit - taken) of the old taken; a concurrent
    // lease waits for the row lock and is evaluated again on the row as the first left it.
    private const string LeaseSql = """
        INSERT INTO admission_leases AS l (scope, id, kind, period, taken, last_grant)
        VALUES ($1, $2, $3, $4, GREATEST(0, LEAST($6, $5)), GREATEST(0, LEAST($6, $5)))
        ON CONFLICT (scope, id, kind, period) DO UPDATE
            SET last_grant = GREATEST(0, LEAST($6, $5 - l.taken)),
                taken = l.taken + GREATEST(0, LEAST($6, $5 - l.taken))
        RETURNING last_grant
        """;

    // A budget's row the book lacks (its first lease this period) starts from the ledger's billable spend of the period,
    // each row counted to the time it ended, as settlement and the spend restored at start count it: a budget set on a
    // subject that was already spending without one must not admit a whole budget on top of that spend. The scalar
    // subquery runs only when the row is missing (the outer WHERE is a one-time filter). A key's rows are found through
    // its tenant, so the (tenant_id, time) index serves both.
    private const string StartFromLedgerSql = """
        INSERT INTO admission_leases (scope, id, kind, period, taken, last_grant)
        SELECT $1, $2, $3, $4, (
            SELECT coalesce(sum(cost), 0) FROM ledger
            WHERE billable AND /*subject*/
                AND time >= $5::timestamptz - interval '1 day' AND time < $6
                AND time + latency_ms * interval '1 millisecond' >= $5
                AND time + latency_ms * interval '1 millisecond' < $6), 0
        WHERE NOT EXISTS (SELECT 1 FROM admission_leases WHERE scope = $1 AND id = $2 AND kind = $3 AND period = $4)
        ON CONFLICT (scope, id, kind, period) DO NOTHING
        """;

    private static readonly string StartTenantFromLedgerSql = StartFromLedgerSql.Replace("/*subject*/", "tenant_id = $2", StringComparison.Ordinal);

    private static readonly string StartKeyFromLedgerSql = StartFromLedgerSql.Replace(
        "/*subject*/", "tenant_id = (SELECT tenant_id FROM api_keys WHERE id = $2) AND key_id = $2", StringComparison.Ordinal);

    // A return is applied once: its id goes into admission_returns in the same statement, and a return whose id is there
    // already (sent again after its answer was lost) updates nothing.
    private const string ReturnSql = """
        WITH first AS (INSERT INTO admission_returns (id, kind, period) VALUES ($6, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id)
        UPDATE admission_leases SET taken = taken - $5
        WHERE scope = $1 AND id = $2 AND kind = $3 AND period = $4 AND EXISTS (SELECT 1 FROM first)
        """;

    private const string PruneSql = "DELETE FROM admission_leases WHERE kind = $1 AND period < $2";

    // A return of a pruned period can only update a row that is gone: its id need not be kept.
    private const string PruneReturnsSql = "DELETE FROM admission_returns WHERE kind = $1 AND period < $2";

    private const string SeedSql = """
        INSERT INTO admission_leases (scope, id, kind, period, taken, last_grant) VALUES ($1, $2, $3, $4, $5, 0)
        ON CONFLICT (scope, id, kind, period) DO NOTHING
        """;

    public async ValueTask<decimal> LeaseAsync(LeaseKey key, decimal limit, decimal want, CancellationToken cancellationToken)
    {
        if (BudgetPeriod(key) is var (start, end))
        {
            await using var first = Command(key.Subject.Scope == LimitScope.Tenant ? StartTenantFromLedgerSql : StartKeyFromLedgerSql, key);
            first.Parameters.AddWithValue(start);
            first.Parameters.AddWithValue(end);
            await first.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = Command(LeaseSql, key);
        command.Parameters.AddWithValue(limit);
        command.Parameters.AddWithValue(want);
        return (decimal)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async ValueTask ReturnAsync(LeaseReturn back, CancellationToken cancellationToken)
    {
        await using var command = Command(ReturnSql, back.Key);
        command.Parameters.AddWithValue(back.Unused);
        command.Parameters.AddWithValue(back.Id);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask SeedAsync(LeaseKey key, decimal taken, CancellationToken cancellationToken)
    {
        await using var command = Command(SeedSql, key);
        command.Parameters.AddWithValue(taken);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask PruneAsync(LeaseKind kind, long before, CancellationToken cancellationToken)
    {
        foreach (var sql in (string[])[PruneSql, PruneReturnsSql])
        {
            await using var command = dataSource.CreateCommand(sql);
            command.Parameters.AddWithValue(KindName(kind));
            command.Parameters.AddWithValue(before);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    internal static string KindName(LeaseKind kind) => kind switch
    {
        LeaseKind.Requests => "requests",
        LeaseKind.Tokens => "tokens",
        LeaseKind.DayBudget => "day_budget",
        _ => "month_budget",
    };

    /// <summary>The UTC instants a day's or month's budget period starts and ends (null for rates).</summary>
    private static (DateTimeOffset Start, DateTimeOffset End)? BudgetPeriod(LeaseKey key)
    {
        switch (key.Subject.Kind)
        {
            case LeaseKind.DayBudget:
                var day = new DateTimeOffset(DateOnly.FromDayNumber((int)key.Period).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
                return (day, day.AddDays(1));
            case LeaseKind.MonthBudget:
                // LeasePeriods numbers months as year × 12 + month.
                var month = new DateTimeOffset((int)((key.Period - 1) / 12), (int)((key.Period - 1) % 12) + 1, 1, 0, 0, 0, TimeSpan.Zero);
                return (month, month.AddMonths(1));
            default:
                return null;
        }
    }

    private NpgsqlCommand Command(string sql, LeaseKey key)
    {
        var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue(key.Subject.Scope == LimitScope.Tenant ? "tenant" : "key");
        command.Parameters.AddWithValue(key.Subject.Id);
        command.Parameters.AddWithValue(KindName(key.Subject.Kind));
        command.Parameters.AddWithValue(key.Period);
        return command;
    }
}
