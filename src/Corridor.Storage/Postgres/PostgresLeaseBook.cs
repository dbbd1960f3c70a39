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

    private const string ReturnSql = "UPDATE admission_leases SET taken = taken - $5 WHERE scope = $1 AND id = $2 AND kind = $3 AND period = $4";

    private const string PruneSql = "DELETE FROM admission_leases WHERE kind = $1 AND period < $2";

    private const string SeedSql = """
        INSERT INTO admission_leases (scope, id, kind, period, taken, last_grant) VALUES ($1, $2, $3, $4, $5, 0)
        ON CONFLICT (scope, id, kind, period) DO NOTHING
        """;

    public async ValueTask<decimal> LeaseAsync(LeaseKey key, decimal limit, decimal want, CancellationToken cancellationToken)
    {
        await using var command = Command(LeaseSql, key);
        command.Parameters.AddWithValue(limit);
        command.Parameters.AddWithValue(want);
        return (decimal)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async ValueTask ReturnAsync(LeaseKey key, decimal unused, CancellationToken cancellationToken)
    {
        await using var command = Command(ReturnSql, key);
        command.Parameters.AddWithValue(unused);
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
        await using var command = dataSource.CreateCommand(PruneSql);
        command.Parameters.AddWithValue(KindName(kind));
        command.Parameters.AddWithValue(before);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    internal static string KindName(LeaseKind kind) => kind switch
    {
        LeaseKind.Requests => "requests",
        LeaseKind.Tokens => "tokens",
        LeaseKind.DayBudget => "day_budget",
        _ => "month_budget",
    };

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
