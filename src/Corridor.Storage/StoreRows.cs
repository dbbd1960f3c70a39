using System.Data.Common;
using Corridor.Core.Audit;
using Corridor.Core.Batches;
using Corridor.Core.Metering;
using Corridor.Core.Reports;
using Corridor.Core.Tenants;

namespace Corridor.Storage;

/// <summary>
/// The columns both stores share, in one order, and how a row of each table becomes a record. The stores differ only in how
/// a time and an amount of money are kept (SQLite: Unix milliseconds and decimal text; PostgreSQL: <c>timestamptz</c> and
/// <c>numeric</c>), which each says in its subclass.
/// </summary>
internal abstract class StoreRows
{
    internal const string TenantColumns =
        "id, legal_name, country, created_at, controlling_country, entity_type, tier, verification_expires_at, use_case, denied_party";

    internal const string KeyColumns = "id, tenant_id, prefix, hash, created_at, last_used_at, revoked_at, name, expires_at";

    internal const string AuditColumns = "sequence, time, actor, action, subject, details, previous_hash, hash";

    /// <summary>The ledger's columns; <see cref="Ledger"/> and the writers use these positions.</summary>
    internal static readonly IReadOnlyList<string> LedgerColumns =
    [
        "request_id", "time", "tenant_id", "key_id", "model", "endpoint", "deployment_id", "region",
        "status", "outcome", "input_tokens", "output_tokens", "cost", "estimated", "latency_ms", "billable",
        "error_code", "client_ip", "user_agent", "request_body", "response_text", "finish_reason",
        "vendor", "decision_id", "revenue", "shadow_of", "cache_read_tokens", "cache_write_tokens",
        "batch_id",
    ];

    internal static readonly string LedgerColumnList = string.Join(", ", LedgerColumns);

    /// <summary>A file's columns but its content; <see cref="File"/> reads these positions.</summary>
    internal const string FileColumns = "id, tenant_id, purpose, filename, bytes, created_at, expires_at";

    /// <summary>Where <see cref="FileColumns"/> is followed by the content, when a file is read with it.</summary>
    internal const int FileContentColumn = 7;

    /// <summary>A batch's columns; <see cref="Batch"/> reads these positions (its counts are read from its requests).</summary>
    internal const string BatchColumns =
        "id, api, tenant_id, key_id, endpoint, state, created_at, expires_at, input_file_id, completion_window, metadata, user_agent, " +
        "ending, cancelling_at, ended_at, output_file_id, error_file_id, client_ip, model, output_expires_after, archives_at, failure_code, failure_message, betas";

    /// <summary>How many columns <see cref="BatchColumns"/> names: what a query adds after them starts here.</summary>
    internal const int BatchColumnCount = 24;

    /// <summary>A batch request's columns; <see cref="BatchItem"/> reads these positions.</summary>
    internal const string BatchItemColumns = "position, custom_id, body, state, status, request_id, response, attempt, ended_at, started_at, input_tokens, cached_tokens, output_tokens, reasoning_tokens";

    /// <summary>The rows <see cref="ICorridorStore.ReadRecentTenantRequestsAsync"/> returns: a known tenant's, not a 401.</summary>
    internal const string RecentTenantRequests = " WHERE tenant_id IN (SELECT id FROM tenants) AND status <> 401";

    /// <summary>The parameter marker of this database (<c>$</c> or <c>@</c>).</summary>
    protected abstract string ParameterPrefix { get; }

    /// <summary>A time as this store keeps it, for a parameter.</summary>
    protected abstract object TimeValue(DateTimeOffset time);

    protected abstract DateTimeOffset GetTime(DbDataReader reader, int ordinal);

    /// <summary>Adds <c>from &lt;= time &lt; to</c> conditions (each only when given) and their parameters to <paramref name="command"/>.</summary>
    internal string TimeRange(DbCommand command, DateTimeOffset? from, DateTimeOffset? to, string firstKeyword)
    {
        var sql = new System.Text.StringBuilder();
        var keyword = firstKeyword;
        foreach (var (name, op, bound) in new[] { ("from", ">=", from), ("to", "<", to) })
        {
            if (bound is { } time)
            {
                sql.Append(' ').Append(keyword).Append(" time ").Append(op).Append(' ').Append(ParameterPrefix).Append(name);
                AddParameter(command, name, TimeValue(time));
                keyword = "AND";
            }
        }

        return sql.ToString();
    }

    /// <summary>
    /// The condition on a ledger row's tenant for a usage query: one tenant's rows (with its parameter, so the
    /// <c>(tenant_id, time)</c> index finds them) or, with no tenant, every row that has one.
    /// </summary>
    internal string Tenant(DbCommand command, string? tenantId)
    {
        if (tenantId is null)
        {
            return "tenant_id IS NOT NULL";
        }

        AddParameter(command, "tenant_id", tenantId);
        return $"tenant_id = {ParameterPrefix}tenant_id";
    }

    /// <summary>
    /// The sequence and hash of the last stored audit record (0 and the genesis hash for an empty log), read with
    /// <paramref name="command"/> (a fresh command inside the appending transaction, which must already keep other writers
    /// out: SQLite's <c>BEGIN IMMEDIATE</c>, PostgreSQL's advisory lock).
    /// </summary>
    internal static async Task<(long Sequence, string Hash)> ReadAuditHeadAsync(DbCommand command, CancellationToken cancellationToken)
    {
        command.CommandText = "SELECT sequence, hash FROM audit_log ORDER BY sequence DESC LIMIT 1";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), reader.GetString(1)) : (0, AuditChain.GenesisHash);
    }

    /// <summary>
    /// The records of <paramref name="entries"/> when the log holds them as one run, in order (a batch an earlier append
    /// stored though its caller saw it fail); null otherwise. Read with <paramref name="command"/> (a fresh command) inside
    /// the appending transaction, after its lock is taken. The first entry's subject, action and time (to the millisecond,
    /// as sealed) find where the run would start; the entries sealed from there must give the hashes stored, so only the
    /// very same entries in the very same order match (an identical batch appended at the same millisecond is taken for it).
    /// </summary>
    internal async Task<IReadOnlyList<AuditRecord>?> FindAuditRunAsync(DbCommand command, IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken)
    {
        var first = entries[0];
        command.CommandText = $"SELECT sequence, previous_hash, hash FROM audit_log WHERE subject = {ParameterPrefix}subject AND action = {ParameterPrefix}action "
            + $"AND time = {ParameterPrefix}time ORDER BY sequence DESC";
        AddParameter(command, "subject", first.Subject);
        AddParameter(command, "action", first.Action);
        AddParameter(command, "time", TimeValue(DateTimeOffset.FromUnixTimeMilliseconds(first.Time.ToUnixTimeMilliseconds())));
        var starts = new List<(long Sequence, string PreviousHash, string Hash)>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                starts.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        foreach (var (sequence, previousHash, hash) in starts)
        {
            var run = AuditChain.SealAll(entries, sequence - 1, previousHash);
            if (run[0].Hash != hash)
            {
                continue;
            }

            command.Parameters.Clear();
            command.CommandText = $"SELECT hash FROM audit_log WHERE sequence >= {ParameterPrefix}first AND sequence <= {ParameterPrefix}last ORDER BY sequence";
            AddParameter(command, "first", sequence);
            AddParameter(command, "last", sequence + entries.Count - 1);
            var stored = new List<string>(entries.Count);
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    stored.Add(reader.GetString(0));
                }
            }

            if (stored.SequenceEqual(run.Select(r => r.Hash), StringComparer.Ordinal))
            {
                return run;
            }
        }

        return null;
    }

    /// <summary>
    /// Runs <paramref name="query"/> on <paramref name="command"/> (a fresh command on an open connection): the newest
    /// matching records up to its limit, returned oldest first.
    /// </summary>
    internal async Task<IReadOnlyList<AuditRecord>> SearchAuditAsync(DbCommand command, AuditQuery query, CancellationToken cancellationToken)
    {
        var where = new List<string>();
        foreach (var (column, value) in new[] { ("subject", query.Subject), ("action", query.Action) })
        {
            if (value is not null)
            {
                where.Add($"{column} = {ParameterPrefix}{column}");
                AddParameter(command, column, value);
            }
        }

        command.CommandText = $"SELECT {AuditColumns} FROM audit_log"
            + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : string.Empty)
            + $" ORDER BY sequence DESC LIMIT {ParameterPrefix}limit";
        AddParameter(command, "limit", Math.Max(0, query.Limit));
        var records = new List<AuditRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            records.Add(Audit(reader));
        }

        records.Reverse();
        return records;
    }

    private void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = ParameterPrefix + name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    protected abstract decimal GetMoney(DbDataReader reader, int ordinal);

    internal DateTimeOffset? GetTimeOrNull(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : GetTime(reader, ordinal);

    internal static string? GetStringOrNull(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    internal Tenant Tenant(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), GetTime(r, 3))
        {
            ControllingCountry = GetStringOrNull(r, 4),
            EntityType = TenantNames.TryParseEntityType(r.GetString(5), out var entityType) ? entityType : throw Corrupt("entity_type", r.GetString(5)),
            Tier = TenantNames.TryParseTier(r.GetString(6), out var tier) ? tier : throw Corrupt("tier", r.GetString(6)),
            VerificationExpiresAt = GetTimeOrNull(r, 7),
            UseCase = GetStringOrNull(r, 8),
            DeniedParty = TenantNames.TryParseDeniedParty(r.GetString(9), out var deniedParty) ? deniedParty : throw Corrupt("denied_party", r.GetString(9)),
        };

    // The CHECK constraints keep these out; only a database edited by hand without them could hold one.
    private static InvalidDataException Corrupt(string column, string value) => new($"The tenants table holds '{value}' in {column}, which this Corridor does not know.");

    internal ApiKey Key(DbDataReader r) => new(
        Id: r.GetString(0),
        TenantId: r.GetString(1),
        Prefix: r.GetString(2),
        Hash: r.GetString(3),
        CreatedAt: GetTime(r, 4),
        LastUsedAt: GetTimeOrNull(r, 5),
        RevokedAt: GetTimeOrNull(r, 6),
        Name: GetStringOrNull(r, 7),
        ExpiresAt: GetTimeOrNull(r, 8));

    internal AuditRecord Audit(DbDataReader r) => new(
        Sequence: r.GetInt64(0),
        Time: GetTime(r, 1),
        Actor: r.GetString(2),
        Action: r.GetString(3),
        Subject: r.GetString(4),
        Details: r.GetString(5),
        PreviousHash: r.GetString(6),
        Hash: r.GetString(7));

    internal LedgerEntry Ledger(DbDataReader r) => new(
        RequestId: r.GetString(0),
        Time: GetTime(r, 1),
        TenantId: GetStringOrNull(r, 2),
        KeyId: GetStringOrNull(r, 3),
        Model: r.GetString(4),
        Endpoint: r.GetString(5),
        DeploymentId: GetStringOrNull(r, 6),
        Region: GetStringOrNull(r, 7),
        Status: r.GetInt32(8),
        Outcome: Enum.Parse<RequestOutcome>(r.GetString(9)),
        InputTokens: r.GetInt64(10),
        OutputTokens: r.GetInt64(11),
        Cost: GetMoney(r, 12),
        Estimated: r.GetBoolean(13),
        LatencyMs: r.GetInt32(14),
        Billable: r.GetBoolean(15),
        ErrorCode: GetStringOrNull(r, 16),
        ClientIp: GetStringOrNull(r, 17),
        UserAgent: GetStringOrNull(r, 18),
        RequestBody: Utf8Text.From(GetStringOrNull(r, 19)),
        ResponseText: GetStringOrNull(r, 20),
        FinishReason: GetStringOrNull(r, 21))
    {
        Vendor = GetStringOrNull(r, 22),
        DecisionId = GetStringOrNull(r, 23),
        Revenue = GetMoney(r, 24),
        ShadowOf = GetStringOrNull(r, 25),
        CacheReadTokens = r.GetInt64(26),
        CacheWriteTokens = r.GetInt64(27),
        BatchId = GetStringOrNull(r, 28),
    };

    /// <summary>
    /// A batch's ledger sums for one model, selected in these positions by each store's query: the batch's id and the
    /// model, then the rows' count and of them those that succeeded, were billable and were estimated (integers), the input,
    /// cache-read, cache-write and output tokens, cost and revenue: one row's own values (SQLite, summed by the caller in
    /// decimal), or sums (PostgreSQL).
    /// </summary>
    internal BatchUsage BatchUsage(DbDataReader r) => new(r.GetString(0), r.GetString(1), new BatchLedgerTotals(
        r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), r.GetInt64(8), r.GetInt64(9), GetMoney(r, 10), GetMoney(r, 11)));

    /// <summary>
    /// The direction a page of batches is read in: newest first, but oldest first when it is the page just newer than a
    /// batch (<paramref name="before"/>), so that the page is the nearest to it; the caller turns that one round.
    /// </summary>
    internal static string BatchPageOrder(string? before) => before is null ? "DESC" : "ASC";

    /// <summary>
    /// How a page of files is read: its direction (newest first unless <paramref name="ascending"/>) and the comparison that
    /// keeps the files past a cursor file's <c>(created_at, id)</c> in that direction.
    /// </summary>
    internal static (string Order, string Past) FilePageOrder(bool ascending) => ascending ? ("ASC", ">") : ("DESC", "<");

    /// <summary>How <paramref name="api"/> is kept in <c>batches.api</c>.</summary>
    internal static string BatchApiName(BatchApi api) => api == BatchApi.OpenAI ? "openai" : "anthropic";

    /// <summary>A stored response's columns; <see cref="Response"/> reads these positions.</summary>
    internal const string ResponseColumns =
        "id, tenant_id, key_id, model, status, created_at, expires_at, instructions, input_items, output_items, input_tokens, output_tokens, body";

    internal Responses.StoredResponse Response(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), GetTime(r, 5), GetTime(r, 6))
        {
            Instructions = r.IsDBNull(7) ? null : r.GetString(7),
            InputItems = r.GetString(8),
            OutputItems = r.GetString(9),
            InputTokens = r.GetInt64(10),
            OutputTokens = r.GetInt64(11),
            Body = r.GetString(12),
        };

    internal StoredFile File(DbDataReader r) =>
        new(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt64(4), GetTime(r, 5)) { ExpiresAt = GetTimeOrNull(r, 6) };

    internal BatchJob Batch(DbDataReader r) => new(
        r.GetString(0),
        r.GetString(1) == "openai" ? BatchApi.OpenAI : BatchApi.Anthropic,
        r.GetString(2),
        r.GetString(3),
        r.GetString(4),
        r.GetString(5),
        GetTime(r, 6),
        GetTime(r, 7))
    {
        InputFileId = GetStringOrNull(r, 8),
        CompletionWindow = GetStringOrNull(r, 9),
        Metadata = GetStringOrNull(r, 10),
        UserAgent = GetStringOrNull(r, 11),
        Ending = GetStringOrNull(r, 12),
        CancellingAt = GetTimeOrNull(r, 13),
        EndedAt = GetTimeOrNull(r, 14),
        OutputFileId = GetStringOrNull(r, 15),
        ErrorFileId = GetStringOrNull(r, 16),
        ClientIp = GetStringOrNull(r, 17),
        Model = GetStringOrNull(r, 18),
        OutputExpiresAfter = r.IsDBNull(19) ? null : TimeSpan.FromSeconds(r.GetInt64(19)),
        ArchivesAt = GetTimeOrNull(r, 20),
        Failure = r.IsDBNull(21) ? null : new BatchFailure(r.GetString(21), GetStringOrNull(r, 22) ?? ""),
        Betas = GetStringOrNull(r, 23),
    };

    internal BatchItem BatchItem(DbDataReader r) => new(r.GetInt32(0), r.GetString(1), (byte[])r.GetValue(2))
    {
        State = r.GetString(3),
        Status = r.IsDBNull(4) ? null : r.GetInt32(4),
        RequestId = GetStringOrNull(r, 5),
        Response = r.IsDBNull(6) ? null : (byte[])r.GetValue(6),
        Attempt = r.GetInt32(7),
        EndedAt = GetTimeOrNull(r, 8),
        StartedAt = GetTimeOrNull(r, 9),
        Tokens = new BatchTokens(r.GetInt64(10), r.GetInt64(11), r.GetInt64(12), r.GetInt64(13)),
    };
}
