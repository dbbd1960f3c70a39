using System.Globalization;
using Corridor.Core.Metering;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>How a <see cref="LedgerEntry"/> is bound to an insert into <c>ledger</c> (rows are read by <see cref="StoreRows.Ledger"/>).</summary>
internal static class LedgerRows
{
    private static IReadOnlyList<string> Columns => StoreRows.LedgerColumns;

    // Only a repeated request id is skipped (a retried batch); unlike INSERT OR IGNORE, a row breaking any other
    // constraint fails the batch loudly instead of vanishing.
    internal static readonly string InsertSql =
        $"INSERT INTO ledger ({StoreRows.LedgerColumnList}) VALUES ({string.Join(", ", Columns.Select(c => "$" + c))}) ON CONFLICT (request_id) DO NOTHING";

    internal static readonly string SelectSql = $"SELECT {StoreRows.LedgerColumnList} FROM ledger";

    /// <summary>Adds one parameter per column, to be bound row after row on the same prepared command.</summary>
    internal static void AddParameters(SqliteCommand command)
    {
        foreach (var column in Columns)
        {
            command.Parameters.Add(new SqliteParameter("$" + column, DBNull.Value));
        }
    }

    internal static void Bind(SqliteParameterCollection p, LedgerEntry e)
    {
        p[0].Value = e.RequestId;
        p[1].Value = SqliteValues.ToUnixMs(e.Time);
        p[2].Value = SqliteValues.OrNull(e.TenantId);
        p[3].Value = SqliteValues.OrNull(e.KeyId);
        p[4].Value = e.Model;
        p[5].Value = e.Endpoint;
        p[6].Value = SqliteValues.OrNull(e.DeploymentId);
        p[7].Value = SqliteValues.OrNull(e.Region);
        p[8].Value = e.Status;
        p[9].Value = e.Outcome.ToString();
        p[10].Value = e.InputTokens;
        p[11].Value = e.OutputTokens;
        p[12].Value = e.Cost.ToString(CultureInfo.InvariantCulture);
        p[13].Value = e.Estimated;
        p[14].Value = e.LatencyMs;
        p[15].Value = e.Billable;
        p[16].Value = SqliteValues.OrNull(e.ErrorCode);
        p[17].Value = SqliteValues.OrNull(e.ClientIp);
        p[18].Value = SqliteValues.OrNull(e.UserAgent);
        p[19].Value = SqliteValues.OrNull(e.RequestBody);
        p[20].Value = SqliteValues.OrNull(e.ResponseText);
        p[21].Value = SqliteValues.OrNull(e.FinishReason);
        p[22].Value = SqliteValues.OrNull(e.Vendor);
        p[23].Value = SqliteValues.OrNull(e.DecisionId);
    }
}
