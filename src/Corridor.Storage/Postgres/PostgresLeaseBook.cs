using Corridor.Core.Admission;
using Npgsql;

namespace Corridor.Storage.Postgres;

/// <summary>
/// The fleet's lease book in PostgreSQL (migrations 10, 14 and 18): <see cref="LeaseArithmetic.Grant"/> done by one
/// atomic statement per row, so replicas leasing at once never together take more than the limit; budget slices counted
/// per registered replica and given back when it stops beating (<see cref="ReclaimAsync"/>, the database's clock).
/// Called by a background worker, never on the request path.
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

    // A budget is granted only to a registered replica ($7), and the grant is added to what the book counts it holding in
    // the same statement: a replica killed right after the grant still has it counted, and given back when it expires.
    // The registration is locked (KEY SHARE) until the statement commits, so a reclaim deleting it waits for the holding
    // to be counted, or this statement finds it gone and grants nothing.
    private const string LeaseBudgetSql = """
        WITH replica AS MATERIALIZED (SELECT 1 FROM admission_replicas WHERE replica_id = $7 FOR KEY SHARE),
        granted AS (
            INSERT INTO admission_leases AS l (scope, id, kind, period, taken, last_grant)
            SELECT $1, $2, $3, $4, GREATEST(0, LEAST($6, $5)), GREATEST(0, LEAST($6, $5)) FROM replica
            ON CONFLICT (scope, id, kind, period) DO UPDATE
                SET last_grant = GREATEST(0, LEAST($6, $5 - l.taken)),
                    taken = l.taken + GREATEST(0, LEAST($6, $5 - l.taken))
            RETURNING last_grant),
        held AS (
            INSERT INTO admission_holdings AS h (replica_id, scope, id, kind, period, unspent)
            SELECT $7, $1, $2, $3, $4, last_grant FROM granted
            ON CONFLICT (replica_id, scope, id, kind, period) DO UPDATE SET unspent = h.unspent + excluded.unspent)
        SELECT coalesce((SELECT last_grant FROM granted), 0)
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

    // A budget's return also lowers what the replica ($7) holds, by its positive part (a negative one is spend beyond
    // reservations, charged whatever happens). Once the replica's registration is gone the book took its holdings back
    // already: only a negative return applies. The registration is locked (KEY SHARE) until commit: a reclaim deleting it
    // waits and then counts the lowered holding, or went first and this statement finds it gone.
    private const string ReturnBudgetSql = """
        WITH replica AS MATERIALIZED (SELECT 1 FROM admission_replicas WHERE replica_id = $7 FOR KEY SHARE),
        first AS (INSERT INTO admission_returns (id, kind, period) VALUES ($6, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING id),
        held AS (
            UPDATE admission_holdings SET unspent = unspent - GREATEST($5, 0)
            WHERE replica_id = $7 AND scope = $1 AND id = $2 AND kind = $3 AND period = $4
                AND EXISTS (SELECT 1 FROM first) AND EXISTS (SELECT 1 FROM replica))
        UPDATE admission_leases SET taken = taken - CASE WHEN EXISTS (SELECT 1 FROM replica) THEN $5 ELSE LEAST($5, 0) END
        WHERE scope = $1 AND id = $2 AND kind = $3 AND period = $4 AND EXISTS (SELECT 1 FROM first)
        """;

    private const string PruneSql = "DELETE FROM admission_leases WHERE kind = $1 AND period < $2";

    private const string PruneHoldingsSql = "DELETE FROM admission_holdings WHERE kind = $1 AND period < $2";

    private const string RegisterSql = "INSERT INTO admission_replicas (replica_id, seen) VALUES ($1, now())";

    // A heartbeat, run as one batch (one implicit transaction): the UPDATE locks the registration until commit, so a
    // reclaim cannot delete it between the statements; when it is gone, nothing is inserted and the UPDATE says so.
    private const string BeatSql = "UPDATE admission_replicas SET seen = now() WHERE replica_id = $1";

    private const string ForgetHeldSql = "DELETE FROM admission_holdings WHERE replica_id = $1";

    private const string ReportHeldSql = """
        INSERT INTO admission_holdings (replica_id, scope, id, kind, period, unspent)
        SELECT $1, h.scope, h.id, h.kind, h.period, h.unspent
        FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::numeric[]) AS h (scope, id, kind, period, unspent)
        WHERE EXISTS (SELECT 1 FROM admission_replicas WHERE replica_id = $1)
        """;

    private const string LeaveSql = "DELETE FROM admission_replicas WHERE replica_id = $1";

    // The reclaim's first statement: it waits for the statements that locked these registrations (a return, a grant, a
    // heartbeat) and checks seen again on what they left; the second runs on a snapshot taken after them.
    private const string ExpireSql = "DELETE FROM admission_replicas WHERE seen < now() - $1::interval RETURNING replica_id";

    private const string GiveBackHeldSql = """
        WITH gone AS (DELETE FROM admission_holdings WHERE replica_id = ANY($1) RETURNING scope, id, kind, period, unspent),
        back AS (SELECT scope, id, kind, period, sum(unspent) AS unspent FROM gone GROUP BY scope, id, kind, period)
        UPDATE admission_leases AS l SET taken = l.taken - back.unspent
        FROM back WHERE l.scope = back.scope AND l.id = back.id AND l.kind = back.kind AND l.period = back.period
        """;

    // A return of a pruned period can only update a row that is gone: its id need not be kept.
    private const string PruneReturnsSql = "DELETE FROM admission_returns WHERE kind = $1 AND period < $2";

    private const string SeedSql = """
        INSERT INTO admission_leases (scope, id, kind, period, taken, last_grant) VALUES ($1, $2, $3, $4, $5, 0)
        ON CONFLICT (scope, id, kind, period) DO NOTHING
        """;

    public async ValueTask<decimal> LeaseAsync(LeaseKey key, decimal limit, decimal want, string replica, CancellationToken cancellationToken)
    {
        var budget = LeaseArithmetic.IsBudget(key.Subject.Kind);
        if (BudgetPeriod(key) is var (start, end))
        {
            await using var first = Command(key.Subject.Scope == LimitScope.Tenant ? StartTenantFromLedgerSql : StartKeyFromLedgerSql, key);
            first.Parameters.AddWithValue(start);
            first.Parameters.AddWithValue(end);
            await first.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = Command(budget ? LeaseBudgetSql : LeaseSql, key);
        command.Parameters.AddWithValue(limit);
        command.Parameters.AddWithValue(want);
        if (budget)
        {
            command.Parameters.AddWithValue(replica);
        }
        return (decimal)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async ValueTask ReturnAsync(LeaseReturn back, string replica, CancellationToken cancellationToken)
    {
        var budget = LeaseArithmetic.IsBudget(back.Key.Subject.Kind);
        await using var command = Command(budget ? ReturnBudgetSql : ReturnSql, back.Key);
        command.Parameters.AddWithValue(back.Unused);
        command.Parameters.AddWithValue(back.Id);
        if (budget)
        {
            command.Parameters.AddWithValue(replica);
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask RegisterAsync(string replica, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(RegisterSql);
        command.Parameters.AddWithValue(replica);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask<bool> HeartbeatAsync(string replica, IReadOnlyList<LeaseHeld> held, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(held);
        await using var batch = dataSource.CreateBatch();
        var beat = new NpgsqlBatchCommand(BeatSql);
        beat.Parameters.AddWithValue(replica);
        var forget = new NpgsqlBatchCommand(ForgetHeldSql);
        forget.Parameters.AddWithValue(replica);
        var report = new NpgsqlBatchCommand(ReportHeldSql);
        report.Parameters.AddWithValue(replica);
        report.Parameters.AddWithValue(held.Select(h => Scope(h.Key.Subject.Scope)).ToArray());
        report.Parameters.AddWithValue(held.Select(h => h.Key.Subject.Id).ToArray());
        report.Parameters.AddWithValue(held.Select(h => KindName(h.Key.Subject.Kind)).ToArray());
        report.Parameters.AddWithValue(held.Select(h => h.Key.Period).ToArray());
        report.Parameters.AddWithValue(held.Select(h => h.Unspent).ToArray());
        batch.BatchCommands.Add(beat);
        batch.BatchCommands.Add(forget);
        batch.BatchCommands.Add(report);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return beat.RecordsAffected == 1;
    }

    public async ValueTask ReclaimAsync(TimeSpan expiry, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var gone = new List<string>();
        await using (var expire = new NpgsqlCommand(ExpireSql, connection, transaction))
        {
            expire.Parameters.AddWithValue(expiry);
            await using var reader = await expire.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                gone.Add(reader.GetString(0));
            }
        }
        if (gone.Count > 0)
        {
            await using var giveBack = new NpgsqlCommand(GiveBackHeldSql, connection, transaction);
            giveBack.Parameters.AddWithValue(gone.ToArray());
            await giveBack.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public async ValueTask LeaveAsync(string replica, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        foreach (var sql in (string[])[ForgetHeldSql, LeaveSql])
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.AddWithValue(replica);
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask SeedAsync(LeaseKey key, decimal taken, CancellationToken cancellationToken)
    {
        await using var command = Command(SeedSql, key);
        command.Parameters.AddWithValue(taken);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async ValueTask PruneAsync(LeaseKind kind, long before, CancellationToken cancellationToken)
    {
        foreach (var sql in (string[])[PruneSql, PruneReturnsSql, PruneHoldingsSql])
        {
            await using var command = dataSource.CreateCommand(sql);
            command.Parameters.AddWithValue(KindName(kind));
            command.Parameters.AddWithValue(before);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static string Scope(LimitScope scope) => scope == LimitScope.Tenant ? "tenant" : "key";

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
        command.Parameters.AddWithValue(Scope(key.Subject.Scope));
        command.Parameters.AddWithValue(key.Subject.Id);
        command.Parameters.AddWithValue(KindName(key.Subject.Kind));
        command.Parameters.AddWithValue(key.Period);
        return command;
    }
}
