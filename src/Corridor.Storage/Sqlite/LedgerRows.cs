using System.Globalization;
using Corridor.Core.Metering;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>How a <see cref="LedgerEntry"/> maps to a row of <c>ledger</c>: one column list for insert and select.</summary>
internal static class LedgerRows
{
    // Order matters: Bind and Read use these positions.
    private static readonly string[] Columns =
    [
        "request_id", "time", "tenant_id", "key_id", "model", "endpoint", "deployment_id", "region",
        "status", "outcome", "input_tokens", "output_tokens", "cost", "estimated", "latency_ms", "billable",
        "error_code", "client_ip", "user_agent", "request_body", "response_text", "finish_reason",
        "vendor", "decision_id", "revenue", "shadow_of",
    ];

    internal static readonly string InsertSql = SqliteColumns.Insert("ledger", Columns, "request_id");

    internal static readonly string SelectSql = SqliteColumns.Select("ledger", Columns);

    internal static void AddParameters(SqliteCommand command) => SqliteColumns.AddParameters(command, Columns);

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
        p[24].Value = e.Revenue.ToString(CultureInfo.InvariantCulture);
        p[25].Value = SqliteValues.OrNull(e.ShadowOf);
    }

    internal static LedgerEntry Read(SqliteDataReader r) => new(
        RequestId: r.GetString(0),
        Time: SqliteValues.FromUnixMs(r.GetInt64(1)),
        TenantId: SqliteValues.GetStringOrNull(r, 2),
        KeyId: SqliteValues.GetStringOrNull(r, 3),
        Model: r.GetString(4),
        Endpoint: r.GetString(5),
        DeploymentId: SqliteValues.GetStringOrNull(r, 6),
        Region: SqliteValues.GetStringOrNull(r, 7),
        Status: r.GetInt32(8),
        Outcome: Enum.Parse<RequestOutcome>(r.GetString(9)),
        InputTokens: r.GetInt64(10),
        OutputTokens: r.GetInt64(11),
        Cost: SqliteValues.ParseDecimal(r.GetString(12)),
        Estimated: r.GetBoolean(13),
        LatencyMs: r.GetInt32(14),
        Billable: r.GetBoolean(15),
        ErrorCode: SqliteValues.GetStringOrNull(r, 16),
        ClientIp: SqliteValues.GetStringOrNull(r, 17),
        UserAgent: SqliteValues.GetStringOrNull(r, 18),
        RequestBody: SqliteValues.GetStringOrNull(r, 19),
        ResponseText: SqliteValues.GetStringOrNull(r, 20),
        FinishReason: SqliteValues.GetStringOrNull(r, 21))
    {
        Vendor = SqliteValues.GetStringOrNull(r, 22),
        DecisionId = SqliteValues.GetStringOrNull(r, 23),
        Revenue = SqliteValues.ParseDecimal(r.GetString(24)),
        ShadowOf = SqliteValues.GetStringOrNull(r, 25),
    };
}
