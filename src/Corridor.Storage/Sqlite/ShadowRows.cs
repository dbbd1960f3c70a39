using System.Globalization;
using Corridor.Core.Shadow;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>How a <see cref="ShadowResult"/> maps to a row of <c>shadow_results</c>.</summary>
internal static class ShadowRows
{
    // Order matters: Bind and Read use these positions.
    private static readonly string[] Columns =
    [
        "request_id", "primary_request_id", "time", "tenant_id", "primary_model", "candidate_model", "outcome", "reason",
        "primary_latency_ms", "candidate_latency_ms", "primary_cost", "candidate_cost",
        "jaccard", "exact_match", "length_ratio", "tool_names_match", "tool_arguments_match",
    ];

    internal static readonly string InsertSql = SqliteColumns.Insert("shadow_results", Columns, "request_id");

    internal static readonly string SelectSql = SqliteColumns.Select("shadow_results", Columns);

    internal static void AddParameters(SqliteCommand command) => SqliteColumns.AddParameters(command, Columns);

    internal static void Bind(SqliteParameterCollection p, ShadowResult r)
    {
        p[0].Value = r.RequestId;
        p[1].Value = r.PrimaryRequestId;
        p[2].Value = SqliteValues.ToUnixMs(r.Time);
        p[3].Value = SqliteValues.OrNull(r.TenantId);
        p[4].Value = r.PrimaryModel;
        p[5].Value = r.CandidateModel;
        p[6].Value = r.Outcome.ToString();
        p[7].Value = SqliteValues.OrNull(r.Reason);
        p[8].Value = r.PrimaryLatencyMs;
        p[9].Value = r.CandidateLatencyMs is { } ms ? ms : DBNull.Value;
        p[10].Value = r.PrimaryCost.ToString(CultureInfo.InvariantCulture);
        p[11].Value = r.CandidateCost.ToString(CultureInfo.InvariantCulture);
        var s = r.Similarity;
        p[12].Value = s is { } a ? a.Jaccard : DBNull.Value;
        p[13].Value = s is { } b ? b.ExactMatch : DBNull.Value;
        p[14].Value = s is { } c ? c.LengthRatio : DBNull.Value;
        p[15].Value = s?.ToolNamesMatch is { } names ? names : DBNull.Value;
        p[16].Value = s?.ToolArgumentsMatch is { } arguments ? arguments : DBNull.Value;
    }

    internal static ShadowResult Read(SqliteDataReader r) => new(
        RequestId: r.GetString(0),
        PrimaryRequestId: r.GetString(1),
        Time: SqliteValues.FromUnixMs(r.GetInt64(2)),
        TenantId: SqliteValues.GetStringOrNull(r, 3),
        PrimaryModel: r.GetString(4),
        CandidateModel: r.GetString(5),
        Outcome: Enum.Parse<ShadowOutcome>(r.GetString(6)),
        Reason: SqliteValues.GetStringOrNull(r, 7),
        PrimaryLatencyMs: r.GetInt32(8),
        CandidateLatencyMs: r.IsDBNull(9) ? null : r.GetInt32(9),
        PrimaryCost: SqliteValues.ParseDecimal(r.GetString(10)),
        CandidateCost: SqliteValues.ParseDecimal(r.GetString(11)),
        Similarity: r.IsDBNull(12) ? null : new Similarity(
            r.GetDouble(12),
            r.GetBoolean(13),
            r.GetDouble(14),
            r.IsDBNull(15) ? null : r.GetBoolean(15),
            r.IsDBNull(16) ? null : r.GetBoolean(16)));
}
