using Corridor.Core.Admission;
using Corridor.Core.Audit;
using Corridor.Core.Batches;
using Corridor.Core.Metering;
using Corridor.Core.Reports;
using Corridor.Core.Screening;
using Corridor.Core.Shadow;
using Corridor.Core.Tenants;
using Corridor.Storage.Monitoring;
using Corridor.Storage.Responses;

namespace Corridor.Storage;

/// <summary>
/// Everything Corridor persists. The embedded default is one SQLite file; PostgreSQL comes later
/// behind the same interface. Implementations create and migrate their schema in <see cref="MigrateAsync"/>.
/// Times are kept to the millisecond, in UTC.
/// <para>
/// Admin changes take the audit entries that record them: they are appended to the audit log in the same transaction as the
/// change, so a change is never stored without its record nor a record without its change.
/// </para>
/// </summary>
public interface ICorridorStore : IAsyncDisposable
{
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A number that changes whenever tenants or keys change, from this process or another one
    /// (the CLI writing to the same file). Caches poll it and reload when it moves.
    /// </summary>
    ValueTask<long> GetRevisionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Writes a consistent copy of the whole store to <paramref name="path"/>, a file that must not exist yet, while
    /// gateways keep serving and writing (SQLite's <c>VACUUM INTO</c>: one read transaction, writers not held), then reads
    /// the copy back and checks it (<see cref="StoreBackup"/>). The copy holds what was committed when it began; ledger rows
    /// still in a running gateway's journal (milliseconds' worth) are not in it. A PostgreSQL store is backed up with
    /// PostgreSQL's own tools: <see cref="NotSupportedException"/>.
    /// </summary>
    Task<StoreBackup> BackupAsync(string path, CancellationToken cancellationToken);

    /// <summary>Throws <see cref="CorridorStoreException"/> (<see cref="StoreError.Duplicate"/>) when the id is taken.</summary>
    Task AddTenantAsync(Tenant tenant, CancellationToken cancellationToken) => AddTenantAsync(tenant, [], cancellationToken);

    /// <summary>Adds the tenant and appends <paramref name="audit"/>, together.</summary>
    Task AddTenantAsync(Tenant tenant, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>
    /// Stores every field of <paramref name="tenant"/> but its id and creation time, and appends <paramref name="audit"/>, together.
    /// Returns false (and appends nothing) when no tenant has that id.
    /// </summary>
    Task<bool> UpdateTenantAsync(Tenant tenant, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    Task<Tenant?> GetTenantAsync(string tenantId, CancellationToken cancellationToken);
    Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken);

    /// <summary>Throws <see cref="CorridorStoreException"/>: <see cref="StoreError.UnknownTenant"/>, or <see cref="StoreError.Duplicate"/> for a taken id or hash.</summary>
    Task AddKeyAsync(ApiKey key, CancellationToken cancellationToken) => AddKeyAsync(key, [], cancellationToken);

    /// <summary>Adds the key and appends <paramref name="audit"/>, together.</summary>
    Task AddKeyAsync(ApiKey key, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    Task<ApiKey?> GetKeyAsync(string keyId, CancellationToken cancellationToken);
    Task<IReadOnlyList<ApiKey>> ListKeysAsync(string? tenantId, CancellationToken cancellationToken);
    /// <summary>Returns false when no such key exists; revoking a revoked key keeps its first revocation time.</summary>
    Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken) => RevokeKeyAsync(keyId, at, [], cancellationToken);

    /// <summary>As <see cref="RevokeKeyAsync(string, DateTimeOffset, CancellationToken)"/>; <paramref name="audit"/> is appended only when this call revoked the key.</summary>
    Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset at, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>
    /// Sets when an unrevoked key stops working by itself (<paramref name="expiresAt"/> null: never) and appends
    /// <paramref name="audit"/>, together. Returns false, appending nothing, when no such key exists or it is revoked.
    /// </summary>
    Task<bool> SetKeyExpiryAsync(string keyId, DateTimeOffset? expiresAt, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>Records last use, coalesced by the caller (at most one write per key per interval).</summary>
    Task TouchKeysAsync(IReadOnlyCollection<KeyValuePair<string, DateTimeOffset>> lastUsed, CancellationToken cancellationToken);

    /// <summary>
    /// The gateway's secret named <paramref name="name"/> (<see cref="GatewaySecrets"/>): <see cref="GatewaySecrets.Bytes"/>
    /// random bytes that the first call on this database makes, whichever process makes it, and that every later call, of
    /// any process and after any restart, reads. Two first calls at once get the same secret: each inserts its own only if
    /// none is there, then reads what is. With it, the value it replaced at its last rotation (<see cref="RotateSecretAsync"/>).
    /// </summary>
    Task<GatewaySecret> GetSecretAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the secret named <paramref name="name"/> with new random bytes and keeps the value it had as the previous one
    /// (the one before that is gone), at <paramref name="at"/>, and appends <paramref name="audit"/>, together. Moves the
    /// revision, so running gateways take it up (<see cref="GetRevisionAsync"/>). Returns false, appending nothing, when the
    /// store keeps no secret of that name (no gateway has asked for it).
    /// </summary>
    Task<bool> RotateSecretAsync(string name, DateTimeOffset at, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>Every tenant's and key's own limits (those without a row have none of their own).</summary>
    Task<IReadOnlyList<SubjectLimits>> ListLimitsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Stores the limits of a tenant or key (an empty set removes its row) and appends <paramref name="audit"/>, together.
    /// Returns false (and appends nothing) when no such tenant or key exists.
    /// </summary>
    Task<bool> SetLimitsAsync(SubjectLimits limits, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>
    /// Appends a batch, all of it or none: when this returns the rows are durable (docs/durability.md). Rows whose request id
    /// is already stored are ignored, so a retried batch never doubles.
    /// </summary>
    Task AppendLedgerAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken);

    /// <summary>
    /// Makes one ledger row durable at once, on the caller's thread, when the store's durable point is a local copy cheaper
    /// than gathering rows into a batch (the embedded store's journal, unless it flushes to disk: docs/durability.md);
    /// false when the row should go through <see cref="AppendLedgerAsync"/> in a batch, as it always does with PostgreSQL.
    /// </summary>
    bool TryAppendLedger(LedgerEntry entry) => false;

    /// <summary>
    /// Ledger rows durable but not yet where another process reads them: the embedded store's journal, when this store owns
    /// it (docs/durability.md). This store's own reads always include them. Zero for PostgreSQL.
    /// </summary>
    long LedgerBacklog => 0;

    /// <summary>
    /// What the operator should know at start about how this store makes ledger rows durable when it is not the usual way
    /// (the embedded store without its journal, held by another process); null otherwise.
    /// </summary>
    string? LedgerNotice => null;

    /// <summary>
    /// The embedded store's ledger journal segments this store found damaged when it took the journal: one message each,
    /// naming the file, where it was set aside and what of it could not be read (the rows that could are in the ledger;
    /// docs/durability.md). Empty for PostgreSQL.
    /// </summary>
    IReadOnlyList<string> LedgerJournalSetAside => [];

    /// <summary>Damaged ledger journal segments set aside in the journal's folder (by this process or an earlier one) until the operator moves them out; 0 for PostgreSQL.</summary>
    int LedgerJournalSetAsideFiles => 0;
    /// <summary>Streams rows with <paramref name="from"/> &lt;= time &lt; <paramref name="to"/> (either bound optional), oldest first.</summary>
    IAsyncEnumerable<LedgerEntry> ReadLedgerAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken);
    /// <summary>
    /// The newest <paramref name="count"/> rows of requests made with a key of a tenant the store knows (not refused as
    /// unauthenticated, 401), oldest first (<c>corridor policy diff</c> decides them again). Read newest first through the
    /// ledger's time index and stopped at <paramref name="count"/>: it costs the rows it returns and those it passes over
    /// among them, not the ledger.
    /// </summary>
    Task<IReadOnlyList<LedgerEntry>> ReadRecentTenantRequestsAsync(int count, CancellationToken cancellationToken);
    /// <summary>Appends shadow evaluation results in one transaction; a result whose request id is already stored is ignored.</summary>
    Task AppendShadowResultsAsync(IReadOnlyList<ShadowResult> results, CancellationToken cancellationToken);

    /// <summary>Streams shadow results with <paramref name="from"/> &lt;= time &lt; <paramref name="to"/> (either bound optional), oldest first.</summary>
    IAsyncEnumerable<ShadowResult> ReadShadowResultsAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken);

    /// <summary>
    /// Totals of billable rows with <paramref name="from"/> &lt;= time &lt; <paramref name="to"/>, ordered by tenant and model:
    /// of <paramref name="tenantId"/> alone when given (read through the ledger's tenant index), else of every tenant.
    /// </summary>
    Task<IReadOnlyList<UsageTotal>> GetUsageTotalsAsync(DateTimeOffset? from, DateTimeOffset? to, string? tenantId, CancellationToken cancellationToken);

    /// <summary>
    /// Appends entries to the audit log in one transaction, in order. The last record is read inside that transaction, so
    /// writers in several processes queue up and the log stays one chain. Returns the sealed records.
    /// </summary>
    Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken);

    /// <summary>
    /// As <see cref="AppendAuditAsync"/>, for a batch an earlier call may have stored though it failed (the connection broke
    /// during the commit, so its outcome is unknown): when the log already holds the batch, as one run of records, those
    /// records are returned and nothing is appended, so retrying a batch never writes it twice. The check is made inside
    /// the appending transaction, whose lock an earlier append still running would hold.
    /// </summary>
    Task<IReadOnlyList<AuditRecord>> AppendAuditAgainAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken);

    /// <summary>Streams the records with sequence &gt;= <paramref name="fromSequence"/>, in sequence order.</summary>
    IAsyncEnumerable<AuditRecord> ReadAuditAsync(long fromSequence, CancellationToken cancellationToken);

    /// <summary>The newest <see cref="AuditQuery.Limit"/> records that match, in sequence order.</summary>
    Task<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>The denied-party list and the screening threshold (an empty list and the default threshold before any import).</summary>
    Task<DeniedPartyList> GetDeniedPartyListAsync(CancellationToken cancellationToken);

    /// <summary>Replaces the whole list, flags tenants (<paramref name="flagged"/>: their new state) and appends <paramref name="audit"/>, together.</summary>
    Task ReplaceDeniedPartyListAsync(
        IReadOnlyList<DeniedPartyEntry> entries,
        DeniedPartyListSource source,
        IReadOnlyList<Tenant> flagged,
        IReadOnlyList<AuditEntry> audit,
        CancellationToken cancellationToken);

    /// <summary>Sets the score at which screening matches (above 0, at most 1) and appends <paramref name="audit"/>, together.</summary>
    Task SetScreeningThresholdAsync(double threshold, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    // The distillation monitor's enforcement and cases (docs/monitor.md). The defaults throw so a store that has not
    // implemented them yet still builds; the gateway then runs the monitor without persistence (and logs it).

    /// <summary>Every subject with a stored level or pin.</summary>
    Task<IReadOnlyList<EnforcementRecord>> ListEnforcementAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep enforcement");

    /// <summary>Sets a subject's automatic level or pin (<see cref="EnforcementUpdate"/>) and appends <paramref name="audit"/>, together.</summary>
    Task SetEnforcementAsync(EnforcementUpdate update, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep enforcement");

    /// <summary>Cases, newest first, optionally only those with a status or about a subject.</summary>
    Task<IReadOnlyList<CaseRecord>> ListCasesAsync(string? status, string? subject, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep cases");

    Task<CaseRecord?> GetCaseAsync(string caseId, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep cases");

    /// <summary>
    /// Inserts (version 1) or replaces (the stored version + 1) a case and appends <paramref name="audit"/>, together.
    /// Returns false, writing nothing, when another writer saved the case since it was read.
    /// </summary>
    Task<bool> SaveCaseAsync(CaseRecord record, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep cases");

    // Batches and the files they come from and end in (docs/batches.md). Every read and change names the tenant: a batch
    // or file of another tenant is not found. The defaults throw so a store without them still builds.

    /// <summary>Stores a file with its content.</summary>
    Task AddFileAsync(StoredFile file, CancellationToken cancellationToken) => throw new NotSupportedException("this store does not keep files");

    /// <summary>
    /// The tenant's file, with its content when <paramref name="withContent"/>; null when the tenant has no such file, or it
    /// had expired by <paramref name="now"/>.
    /// </summary>
    Task<StoredFile?> GetFileAsync(string tenantId, string fileId, bool withContent, DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep files");

    /// <summary>
    /// A page of the tenant's files, without their content, newest first (oldest first when <paramref name="ascending"/>;
    /// files made at the same moment in the order of their ids): at most <paramref name="limit"/>, only those of
    /// <paramref name="purpose"/> when it is given, and only those past <paramref name="after"/> (a file id) in that order
    /// when it is given; none that had expired by <paramref name="now"/>. Null when <paramref name="after"/> is not one of the
    /// tenant's files (or had expired).
    /// </summary>
    Task<IReadOnlyList<StoredFile>?> ListFilesAsync(string tenantId, string? purpose, string? after, bool ascending, int limit, DateTimeOffset now,
        CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep files");

    /// <summary>
    /// Deletes the tenant's file; false when it has no such file, or it had expired by <paramref name="now"/> (gone for the
    /// tenant as for <see cref="GetFileAsync"/>: <see cref="RemoveExpiredBatchDataAsync"/> removes it).
    /// </summary>
    Task<bool> DeleteFileAsync(string tenantId, string fileId, DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep files");

    /// <summary>
    /// The bytes the tenant keeps for batches: its files (uploads and results) and its message batches' requests and answers
    /// (each request's body and its answer's, as stored), so that a tenant can be held to a share of the store's disk. What
    /// had expired by <paramref name="now"/> (files, and message batches past <see cref="BatchJob.ArchivesAt"/>) does not
    /// count, whether or not <see cref="RemoveExpiredBatchDataAsync"/> has removed it yet.
    /// </summary>
    Task<long> GetStoredBatchBytesAsync(string tenantId, DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep files");

    /// <summary>
    /// Removes what had expired by <paramref name="now"/>: every file past its <see cref="StoredFile.ExpiresAt"/>, and the
    /// stored requests and answers (bodies) of every ended batch past its <see cref="BatchJob.ArchivesAt"/>, the batch and
    /// its requests' states and tokens kept. Safe to run on several gateways at once: each removal is one idempotent
    /// statement. Returns how many files and batches it removed or emptied.
    /// </summary>
    Task<ExpiredBatchData> RemoveExpiredBatchDataAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep files");

    /// <summary>Stores a new batch and its requests, together.</summary>
    Task AddBatchAsync(BatchJob batch, IReadOnlyList<BatchItem> items, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>The tenant's batch with its counts; null when the tenant has no such batch.</summary>
    Task<BatchJob?> GetBatchAsync(string tenantId, string batchId, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>
    /// The tenant's batches made through <paramref name="api"/>, newest first, with their counts: at most
    /// <paramref name="limit"/>, those made before <paramref name="after"/> (a batch id) when it is given, and after
    /// <paramref name="before"/> when it is given; then the page is the one just newer than <paramref name="before"/>
    /// (Anthropic's <c>before_id</c>): its newest batch is the one farthest from it. Null when <paramref name="after"/> or
    /// <paramref name="before"/> is not one of the tenant's batches made through <paramref name="api"/>.
    /// </summary>
    Task<IReadOnlyList<BatchJob>?> ListBatchesAsync(string tenantId, BatchApi api, string? after, string? before, int limit, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>
    /// Asks a batch in progress to stop (state <see cref="BatchStates.Cancelling"/>, at <paramref name="at"/>); a batch
    /// cancelling or ended is left as it is. Returns the batch as it is after, or null when the tenant has no such batch.
    /// </summary>
    Task<BatchJob?> CancelBatchAsync(string tenantId, string batchId, DateTimeOffset at, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>Deletes an ended batch and its requests; false when the tenant has no such batch or it has not ended.</summary>
    Task<bool> DeleteBatchAsync(string tenantId, string batchId, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>
    /// Takes the oldest batch not ended that no gateway holds (or whose holder's claim ran out before <paramref name="now"/>,
    /// or that <paramref name="owner"/> holds) for <paramref name="owner"/> until <paramref name="until"/>; null when there is
    /// none. Called again by the holder, it renews the claim on the same batch. A store shared by several gateways
    /// (PostgreSQL) measures the claim, <c>until − now</c>, and its running out by its own clock, not the callers'.
    /// </summary>
    Task<BatchJob?> ClaimBatchAsync(string owner, DateTimeOffset now, DateTimeOffset until, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>
    /// As <see cref="ClaimBatchAsync"/>, but only a batch due to end without running any more: its cancel asked
    /// (<see cref="BatchStates.Cancelling"/>), its completion window over (its <see cref="BatchJob.ExpiresAt"/> at or before
    /// <paramref name="now"/>), or its key one of <paramref name="refusedKeyIds"/> (revoked, expired, or it or its tenant
    /// suspended, as the caller knows them), so that it ends though every worker is busy with other batches. A batch a live
    /// claim holds is left to its holder, which ends it itself.
    /// </summary>
    Task<BatchJob?> ClaimBatchToEndAsync(string owner, DateTimeOffset now, DateTimeOffset until, IReadOnlyCollection<string> refusedKeyIds,
        CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>
    /// The keys (each with its tenant, once) that batches not ended run as: those a gateway checks for a refusal that ends
    /// their batches (<see cref="ClaimBatchToEndAsync"/>).
    /// </summary>
    Task<IReadOnlyList<(string TenantId, string KeyId)>> ListOpenBatchKeysAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>Gives up <paramref name="owner"/>'s claim on a batch (a gateway stopping), so another gateway may take it at once.</summary>
    Task ReleaseBatchAsync(string batchId, string owner, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>Up to <paramref name="limit"/> of a batch's pending requests after <paramref name="afterPosition"/>, in order.</summary>
    Task<IReadOnlyList<BatchItem>> ReadPendingBatchItemsAsync(string batchId, int afterPosition, int limit, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>
    /// Stores a request's result or its attempt count (<see cref="BatchItem.State"/>, status, request id, response,
    /// attempt, end); only while it is pending, so a result is never overwritten. False when it was not pending.
    /// </summary>
    Task<bool> SaveBatchItemAsync(string batchId, BatchItem item, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>
    /// Ends a batch: its pending requests end as <paramref name="notRun"/> says (canceled, expired, or errored with one
    /// refusal; none are pending when it completed), <paramref name="files"/> (its results) are stored, and the batch is
    /// ended with <paramref name="ending"/> (and <paramref name="failure"/> when it <see cref="BatchEndings.Failed"/>), the
    /// files' ids and <paramref name="at"/>, all together. False, changing nothing, when it had already ended.
    /// </summary>
    Task<bool> EndBatchAsync(string batchId, string ending, BatchFailure? failure, BatchNotRun notRun, DateTimeOffset at, string? outputFileId, string? errorFileId,
        IReadOnlyList<StoredFile> files, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>Every request of a batch in order, with its result.</summary>
    IAsyncEnumerable<BatchItem> ReadBatchItemsAsync(string batchId, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    /// <summary>
    /// Sums of the tenant's ledger rows of the batches <paramref name="batchIds"/> with <paramref name="from"/> &lt;= time &lt;
    /// <paramref name="to"/> (either bound optional), per batch and model, ordered by both; a batch with no rows has none.
    /// Read through the ledger's index of batch rows (SQLite migration 18, PostgreSQL migration 22), never a scan of live rows.
    /// </summary>
    Task<IReadOnlyList<BatchUsage>> GetBatchUsageAsync(string tenantId, IReadOnlyCollection<string> batchIds, DateTimeOffset? from, DateTimeOffset? to,
        CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep batches");

    // Stored Responses API answers (docs/responses.md, "Stored responses"). Every read and change names the tenant: a response
    // of another tenant is not found, nor one that had expired by the time given. The defaults throw so a store without
    // them still builds.

    /// <summary>Keeps a response (its id is new: made from its request's).</summary>
    Task AddResponseAsync(StoredResponse response, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep responses");

    /// <summary>The tenant's response; null when the tenant has none of that id, or it had expired by <paramref name="now"/>.</summary>
    Task<StoredResponse?> GetResponseAsync(string tenantId, string responseId, DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep responses");

    /// <summary>Deletes the tenant's response; false when it has none of that id, or it had expired by <paramref name="now"/>.</summary>
    Task<bool> DeleteResponseAsync(string tenantId, string responseId, DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep responses");

    /// <summary>
    /// The <see cref="StoredResponse.Bytes"/> of the tenant's responses not expired by <paramref name="now"/>: what
    /// <c>responses.maxTenantBytes</c> bounds. Read through the index of the tenant's responses (SQLite migration 27,
    /// PostgreSQL migration 31), never their text.
    /// </summary>
    Task<long> GetStoredResponseBytesAsync(string tenantId, DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep responses");

    /// <summary>
    /// Removes every response past its <see cref="StoredResponse.ExpiresAt"/> by <paramref name="now"/>, a few at a time;
    /// safe to run on several gateways at once. Returns how many it removed.
    /// </summary>
    Task<int> RemoveExpiredResponsesAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        throw new NotSupportedException("this store does not keep responses");

    /// <summary>
    /// The fleet's shared book of rate and budget allowances, for a store that several gateways share (PostgreSQL);
    /// null for a store of one process (SQLite), whose gateway keeps its counters to itself.
    /// </summary>
    ILeaseBook? LeaseBook => null;
}

/// <summary>What <see cref="ICorridorStore.RemoveExpiredBatchDataAsync"/> removed: files deleted, batches emptied of their bodies.</summary>
public sealed record ExpiredBatchData(int Files, int Batches);

/// <summary>Which audit records to find: by subject and action (both optional), the newest <see cref="Limit"/>.</summary>
public sealed record AuditQuery(string? Subject = null, string? Action = null, int Limit = 50);

/// <summary>Where the stored list came from: the file's name, its SHA-256 (lowercase hex) and when it was imported.</summary>
public sealed record DeniedPartyListSource(string FileName, string Sha256, DateTimeOffset ImportedAt);

/// <summary>The stored denied-party list, the threshold, and its source (null before the first import).</summary>
public sealed record DeniedPartyList(IReadOnlyList<DeniedPartyEntry> Entries, double Threshold, DeniedPartyListSource? Source)
{
    public DeniedPartyScreener CreateScreener() => new(Entries, Threshold);
}

/// <summary>Billable totals for one tenant and model.</summary>
public sealed record UsageTotal(string TenantId, string Model, long Requests, long InputTokens, long OutputTokens, decimal Cost)
{
    /// <summary>Of <see cref="InputTokens"/>, those the vendor read from its prompt cache (billed at the cache-read price).</summary>
    public long CacheReadTokens { get; init; }

    /// <summary>Of <see cref="InputTokens"/>, those the vendor wrote to its prompt cache (billed at the cache-write price).</summary>
    public long CacheWriteTokens { get; init; }
}

/// <summary>The limits a tenant or key has of its own.</summary>
public sealed record SubjectLimits(LimitScope Scope, string Id, Limits Limits);
