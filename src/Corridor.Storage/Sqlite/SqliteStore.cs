using System.Globalization;
using System.Runtime.CompilerServices;
using Corridor.Core.Admission;
using Corridor.Core.Audit;
using Corridor.Core.Metering;
using Corridor.Core.Shadow;
using Corridor.Core.Screening;
using Corridor.Core.Tenants;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, shared safely by the gateway and the command line.
/// Every operation takes a pooled connection of its own, so concurrent callers never share one;
/// writes run in <c>BEGIN IMMEDIATE</c> transactions and wait (busy timeout) rather than fail when another writer holds the file.
/// Ledger rows are durable once in the ledger journal beside the file (<see cref="LedgerJournal"/>) when this store owns it,
/// and go straight into SQLite otherwise.
/// </summary>
internal sealed partial class SqliteStore : ICorridorStore
{
    private const int BusyTimeoutMs = 5000;

    // SQLite result codes (https://sqlite.org/rescode.html).
    private const int SqliteConstraint = 19;
    private const int SqliteConstraintForeignKey = 787;
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;

    private const string TenantColumns = StoreRows.TenantColumns;
    private const string KeyColumns = StoreRows.KeyColumns;
    private const string LimitsColumns = "scope, id, rpm, tpm, concurrent_streams, daily_soft_budget, daily_budget, monthly_soft_budget, monthly_budget";

    private readonly string _connectionString;
    private readonly TimeProvider _timeProvider;
    private readonly string _openPragmas;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TimeSpan _checkpointInterval;
    private readonly long _restartFrames;
    private Task? _checkpoints;
    private int _checkpointing;

    // Taken by each ledger batch for its transaction and by the WAL's restart, so the restart waits for the batch in hand
    // and the next batch waits for the restart in this process rather than in SQLite's busy handler (which sleeps in
    // steps of milliseconds). It also keeps the ledger's connection to one batch at a time.
    private readonly SemaphoreSlim _ledgerTurn = new(1, 1);

    // Closed while the restart waits for its turn: batches written back to back (the writer at saturation) would otherwise
    // take the turn again and again before the woken restart thread runs, and the WAL would grow while it starves.
    private readonly ManualResetEventSlim _noRestartWaiting = new(initialState: true);
    private LedgerRows.Writer? _ledger;

    // The ledger's durable point when this store owns the journal beside the file (null: rows go straight into SQLite).
    private volatile LedgerJournal? _journal;
    private readonly Lock _journalGate = new();
    private bool _migrated;
    private bool _closing;
    private long _journalRetryAt;
    private readonly bool _fullSync;
    private readonly TimeSpan _ingestInterval;
    private readonly long _cachedBytes;
    private long _pageCacheReleasedUpTo;

    /// <summary>How often the background checkpoint runs once ledger rows are written.</summary>
    internal static readonly TimeSpan DefaultCheckpointInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The WAL's length, in frames (a page each), from which the checkpoint restarts it: 16 MiB with the
    /// <see cref="PageSize"/> of a database this store made, 4 MiB in a file made with SQLite's default 4 KiB pages.
    /// </summary>
    internal const long DefaultRestartFrames = 1024;

    /// <summary>
    /// The page size of a database file this store makes (SQLite's default is 4 KiB; a file made before keeps its own).
    /// Every page a transaction changes costs a few system calls whatever its size: two <c>pwrite</c>s into the WAL, and a
    /// <c>pread</c> and a <c>pwrite</c> when it is checkpointed. On ext4 such a call cost about 3 µs for 4 KiB and
    /// barely more for 16 KiB, so with rows of a kilobyte or so (a ledger row with its retained bodies) a 4 KiB page
    /// paid those calls for every three or four rows. Paired at saturation, 16 KiB against 4 KiB: about 1 µs less CPU a
    /// request (bench/README.md, "Eleventh round"); 64 KiB was no better than 16.
    /// </summary>
    internal const int PageSize = 16 * 1024;

    // How long the restart waits for a reader or another writer before it gives up until the next tick: it holds the
    // write lock meanwhile, so every writer waits with it.
    private const int RestartBusyTimeoutMs = 5;

    public SqliteStore(string path, TimeProvider? timeProvider = null, bool fullSync = false)
        : this(path, timeProvider, fullSync, DefaultCheckpointInterval, DefaultRestartFrames)
    {
    }

    internal SqliteStore(string path, TimeProvider? timeProvider, bool fullSync, TimeSpan checkpointInterval, long restartFrames, TimeSpan? ingestInterval = null,
        long cachedBytes = PageCacheRelease.DefaultKeptBytes)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _timeProvider = timeProvider ?? TimeProvider.System;
        _checkpointInterval = checkpointInterval;
        _restartFrames = restartFrames;
        _fullSync = fullSync;
        _ingestInterval = ingestInterval ?? LedgerJournal.DefaultIngestInterval;
        _cachedBytes = cachedBytes;
        // No automatic checkpoints in the committing connection: one would copy the WAL into the file and sync both inside
        // the commit that crossed the threshold, holding every response that waits on that commit (docs/durability.md).
        // The ledger's writer starts a background checkpoint instead (CheckpointAsync), which also restarts the WAL once it
        // has grown long; the last connection to close checkpoints as well.
        _openPragmas = $"PRAGMA busy_timeout = {BusyTimeoutMs}; PRAGMA synchronous = {(fullSync ? "FULL" : "NORMAL")}; PRAGMA wal_autocheckpoint = 0";
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            ForeignKeys = true,
        }.ToString();
    }

    /// <summary>The database file, as an absolute path.</summary>
    public string Path { get; }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var folder = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        await using var connection = await OpenAsync(cancellationToken);
        // Only a file with nothing in it yet takes the page size (SQLite ignores it otherwise), so it goes before WAL,
        // which writes the file's header. WAL lets the gateway read while the CLI (or the ledger writer) writes; both
        // settings are kept in the file.
        await ExecuteAsync(connection, $"PRAGMA page_size = {PageSize}", cancellationToken);
        await ExecuteAsync(connection, "PRAGMA journal_mode = WAL", cancellationToken);
        await SqliteMigrations.ApplyAsync(connection, _timeProvider, cancellationToken);
        // The ledger journal, unless another store holds it; what a crashed owner left in it is inserted first.
        _migrated = true;
        TryTakeJournal();
    }

    /// <summary>How often a store without the journal tries again to take it, while it writes ledger rows.</summary>
    internal static readonly TimeSpan JournalRetryInterval = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Takes the ledger journal when nothing else holds it: at migration, and then, while another process holds it (the
    /// command line, or another gateway on this file), at most every <see cref="JournalRetryInterval"/> as ledger rows come,
    /// so that a gateway started beside a running command goes over to the journal once the command ends.
    /// </summary>
    private void TryTakeJournal()
    {
        lock (_journalGate)
        {
            if (_journal is not null || !_migrated || _closing)
            {
                return;
            }
            _journalRetryAt = _timeProvider.GetTimestamp() + (long)(JournalRetryInterval.TotalSeconds * _timeProvider.TimestampFrequency);
            _journal = LedgerJournal.TryOpen(LedgerJournal.FolderFor(Path), _fullSync, InsertLedger, _ingestInterval);
            if (_journal is { SetAside: { Count: > 0 } setAside })
            {
                _journalSetAside = [.. _journalSetAside, .. setAside];
            }
        }
    }

    private IReadOnlyList<string> _journalSetAside = [];

    public IReadOnlyList<string> LedgerJournalSetAside => _journalSetAside;

    public int LedgerJournalSetAsideFiles => LedgerJournal.SetAsideFiles(LedgerJournal.FolderFor(Path));

    /// <summary>How much of the database file's start has left the operating system's cache (<see cref="PageCacheRelease"/>).</summary>
    internal long PageCacheReleasedUpTo => Volatile.Read(ref _pageCacheReleasedUpTo);

    /// <summary>Whether this store owns the ledger journal (<see cref="LedgerJournal"/>); false when another store has the file open.</summary>
    internal bool Journaled => _journal is not null;

    public long LedgerBacklog => _journal?.Backlog ?? 0;

    public bool TryAppendLedger(LedgerEntry entry) => _journal?.TryAppend(entry) ?? false;

    public string? LedgerNotice => _journal is null
        ? $"the ledger journal {LedgerJournal.FolderFor(Path)} is held by another process (the command line, or another gateway on this file): "
            + "ledger rows go straight into SQLite, one transaction a batch, which costs more CPU, until the other process lets it go "
            + $"(tried again every {JournalRetryInterval.TotalSeconds:0} seconds while rows come)"
        : null;

    public async ValueTask<long> GetRevisionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM revision WHERE id = 1";
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task AddTenantAsync(Tenant tenant, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        await AuditedAsync(audit, async (connection, transaction) =>
        {
            using var command = Command(connection, transaction, $"""
                INSERT INTO tenants ({TenantColumns})
                VALUES ($id, $legal_name, $country, $created_at, $controlling_country, $entity_type, $tier, $verification_expires_at, $use_case, $denied_party)
                """);
            BindTenant(command, tenant);
            command.Parameters.AddWithValue("$created_at", SqliteValues.ToUnixMs(tenant.CreatedAt));
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
            {
                throw new CorridorStoreException(StoreError.Duplicate, $"A tenant with id '{tenant.Id}' already exists.", ex);
            }

            return true;
        }, cancellationToken);
    }

    public Task<bool> UpdateTenantAsync(Tenant tenant, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            using var command = Command(connection, transaction, """
                UPDATE tenants SET legal_name = $legal_name, country = $country, controlling_country = $controlling_country,
                    entity_type = $entity_type, tier = $tier, verification_expires_at = $verification_expires_at,
                    use_case = $use_case, denied_party = $denied_party
                WHERE id = $id
                """);
            BindTenant(command, tenant);
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);
    }

    public Task<Tenant?> GetTenantAsync(string tenantId, CancellationToken cancellationToken) =>
        QueryByIdAsync($"SELECT {TenantColumns} FROM tenants WHERE id = $id", tenantId, SqliteValues.Rows.Tenant, cancellationToken);

    public Task<IReadOnlyList<Tenant>> ListTenantsAsync(CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {TenantColumns} FROM tenants ORDER BY id", null, null, SqliteValues.Rows.Tenant, cancellationToken);

    public async Task AddKeyAsync(ApiKey key, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await AuditedAsync(audit, async (connection, transaction) =>
        {
            using var command = Command(connection, transaction,
                $"INSERT INTO api_keys ({KeyColumns}) VALUES ($id, $tenant_id, $prefix, $hash, $created_at, $last_used_at, $revoked_at, $name, $expires_at)");
            command.Parameters.AddWithValue("$id", key.Id);
            command.Parameters.AddWithValue("$tenant_id", key.TenantId);
            command.Parameters.AddWithValue("$prefix", key.Prefix);
            command.Parameters.AddWithValue("$hash", key.Hash);
            command.Parameters.AddWithValue("$created_at", SqliteValues.ToUnixMs(key.CreatedAt));
            command.Parameters.AddWithValue("$last_used_at", SqliteValues.OrNull(key.LastUsedAt));
            command.Parameters.AddWithValue("$revoked_at", SqliteValues.OrNull(key.RevokedAt));
            command.Parameters.AddWithValue("$name", SqliteValues.OrNull(key.Name));
            command.Parameters.AddWithValue("$expires_at", SqliteValues.OrNull(key.ExpiresAt));
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (SqliteException ex) when (ex.SqliteExtendedErrorCode == SqliteConstraintForeignKey)
            {
                throw new CorridorStoreException(StoreError.UnknownTenant, $"No tenant with id '{key.TenantId}'.", ex);
            }
            catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
            {
                throw new CorridorStoreException(StoreError.Duplicate, $"A key with id '{key.Id}' or the same secret already exists.", ex);
            }

            return true;
        }, cancellationToken);
    }

    public Task<ApiKey?> GetKeyAsync(string keyId, CancellationToken cancellationToken) =>
        QueryByIdAsync($"SELECT {KeyColumns} FROM api_keys WHERE id = $id", keyId, SqliteValues.Rows.Key, cancellationToken);

    public Task<IReadOnlyList<ApiKey>> ListKeysAsync(string? tenantId, CancellationToken cancellationToken) => tenantId is null
        ? QueryAsync($"SELECT {KeyColumns} FROM api_keys ORDER BY tenant_id, created_at, id", null, null, SqliteValues.Rows.Key, cancellationToken)
        : QueryAsync($"SELECT {KeyColumns} FROM api_keys WHERE tenant_id = $tenant_id ORDER BY created_at, id", "$tenant_id", tenantId, SqliteValues.Rows.Key, cancellationToken);

    public Task<bool> SetKeyExpiryAsync(string keyId, DateTimeOffset? expiresAt, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            using var command = Command(connection, transaction, "UPDATE api_keys SET expires_at = $expires_at WHERE id = $id AND revoked_at IS NULL");
            command.Parameters.AddWithValue("$id", keyId);
            command.Parameters.AddWithValue("$expires_at", SqliteValues.OrNull(expiresAt));
            return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);
    }

    public async Task<bool> RevokeKeyAsync(string keyId, DateTimeOffset at, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyId);
        var revokedBefore = false;
        var revoked = await AuditedAsync(audit, async (connection, transaction) =>
        {
            // Only an unrevoked key changes, so the first revocation time stands and the revision moves once.
            using var command = Command(connection, transaction, "UPDATE api_keys SET revoked_at = $at WHERE id = $id AND revoked_at IS NULL");
            command.Parameters.AddWithValue("$id", keyId);
            command.Parameters.AddWithValue("$at", SqliteValues.ToUnixMs(at));
            if (await command.ExecuteNonQueryAsync(cancellationToken) > 0)
            {
                return true;
            }

            // A key revoked before is not revoked again, nor audited again; it is still a key that is revoked.
            revokedBefore = await ExistsAsync(connection, transaction, "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $id)", keyId, cancellationToken);
            return false;
        }, cancellationToken);
        return revoked || revokedBefore;
    }

    public Task TouchKeysAsync(IReadOnlyCollection<KeyValuePair<string, DateTimeOffset>> lastUsed, CancellationToken cancellationToken) =>
        ExecuteBatchAsync(
            lastUsed,
            "UPDATE api_keys SET last_used_at = $at WHERE id = $id AND (last_used_at IS NULL OR last_used_at < $at)",
            static command =>
            {
                command.Parameters.Add("$id", SqliteType.Text);
                command.Parameters.Add("$at", SqliteType.Integer);
            },
            static (parameters, use) =>
            {
                parameters[0].Value = use.Key;
                parameters[1].Value = SqliteValues.ToUnixMs(use.Value);
            },
            cancellationToken);

    public Task<IReadOnlyList<SubjectLimits>> ListLimitsAsync(CancellationToken cancellationToken) =>
        QueryAsync($"SELECT {LimitsColumns} FROM limits ORDER BY scope, id", null, null, ReadLimits, cancellationToken);

    public Task<bool> SetLimitsAsync(SubjectLimits limits, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            var subject = limits.Scope == LimitScope.Tenant
                ? "SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $id)"
                : "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $id)";
            if (!await ExistsAsync(connection, transaction, subject, limits.Id, cancellationToken))
            {
                return false;
            }

            using var command = Command(connection, transaction, "");
            var l = limits.Limits;
            command.Parameters.AddWithValue("$scope", ScopeName(limits.Scope));
            command.Parameters.AddWithValue("$id", limits.Id);
            if (l.IsEmpty)
            {
                command.CommandText = "DELETE FROM limits WHERE scope = $scope AND id = $id";
            }
            else
            {
                command.CommandText = $"""
                    INSERT OR REPLACE INTO limits ({LimitsColumns})
                    VALUES ($scope, $id, $rpm, $tpm, $streams, $daily_soft, $daily, $monthly_soft, $monthly)
                    """;
                command.Parameters.AddWithValue("$rpm", l.RequestsPerMinute is { } rpm ? rpm : DBNull.Value);
                command.Parameters.AddWithValue("$tpm", l.TokensPerMinute is { } tpm ? tpm : DBNull.Value);
                command.Parameters.AddWithValue("$streams", l.ConcurrentStreams is { } streams ? streams : DBNull.Value);
                command.Parameters.AddWithValue("$daily_soft", Money(l.DailySoftBudget));
                command.Parameters.AddWithValue("$daily", Money(l.DailyHardBudget));
                command.Parameters.AddWithValue("$monthly_soft", Money(l.MonthlySoftBudget));
                command.Parameters.AddWithValue("$monthly", Money(l.MonthlyHardBudget));
            }
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);

        static object Money(decimal? value) => value is { } amount ? amount.ToString(CultureInfo.InvariantCulture) : DBNull.Value;
    }

    public async Task AppendLedgerAsync(IReadOnlyList<LedgerEntry> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        if (_journal is null && _timeProvider.GetTimestamp() >= Volatile.Read(ref _journalRetryAt))
        {
            try
            {
                TryTakeJournal();
            }
            catch (Exception e) when (e is IOException or SqliteException)
            {
                // What the other process left cannot be replayed now (a file that cannot be read, the database refusing its
                // rows): this batch goes straight into SQLite, as before, and a later batch tries the journal again.
            }
        }

        if (_journal is { } journal)
        {
            await journal.AppendAsync(entries, cancellationToken);
            return;
        }

        cancellationToken.ThrowIfCancellationRequested();
        InsertLedger(entries);
    }

    /// <summary>Inserts ledger rows in one transaction on the ledger's own connection: the journal's passes, or every batch when there is no journal.</summary>
    private void InsertLedger(IReadOnlyList<LedgerEntry> entries)
    {
        // A restart waiting for its turn goes first: at most the length of one checkpoint of what is left (milliseconds).
        _noRestartWaiting.Wait();
        _ledgerTurn.Wait();
        try
        {
            _ledger ??= new LedgerRows.Writer(Open());
            try
            {
                _ledger.Append(entries);
            }
            catch
            {
                // Whatever went wrong, the next batch starts on a fresh connection.
                _ledger.Dispose();
                _ledger = null;
                throw;
            }
        }
        finally
        {
            _ledgerTurn.Release();
        }
        if (Interlocked.Exchange(ref _checkpointing, 1) == 0)
        {
            // A thread of its own: checkpoints block on disk I/O, and a busy thread pool must not hold them back.
            _checkpoints = Task.Factory.StartNew(
                () => RunCheckpoints(_stopping.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
    }

    /// <summary>Before a ledger read: every row appended so far is in the database.</summary>
    private ValueTask CatchUpLedgerAsync(CancellationToken cancellationToken) =>
        _journal?.CatchUpAsync(cancellationToken) ?? ValueTask.CompletedTask;

    /// <summary>
    /// Copies the WAL into the database file every <see cref="_checkpointInterval"/>, beside the writers (PASSIVE: it never
    /// blocks a commit), and restarts the WAL once it is <see cref="_restartFrames"/> long (<see cref="RestartWal"/>).
    /// A PASSIVE checkpoint alone never lets the WAL start over while rows keep coming: a commit lands during every
    /// checkpoint, so the WAL is never wholly copied when the next transaction begins, and the file grows without end
    /// (hundreds of megabytes a minute at saturation, each new block zeroed by the file system as it is written). Runs from
    /// the first ledger batch (the gateway) until the store is disposed, on the wall clock, as the disk does.
    /// </summary>
    private void RunCheckpoints(CancellationToken stopping)
    {
        using var cache = PageCacheRelease.TryOpen(Path, _cachedBytes);
        while (!stopping.WaitHandle.WaitOne(_checkpointInterval))
        {
            try
            {
                // Right before the checkpoint that writes new pages: the pages just freed are the ones it reuses.
                if (cache is not null)
                {
                    cache.Release();
                    Volatile.Write(ref _pageCacheReleasedUpTo, cache.ReleasedUpTo);
                }
                using var connection = Open();
                if (Checkpoint(connection, "PASSIVE") >= _restartFrames)
                {
                    RestartWal(connection, stopping);
                }
            }
            catch (SqliteException)
            {
                // Busy or failing: the WAL only grows until the next tick manages it.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Between two ledger batches, copies what the PASSIVE checkpoint just before could not (the commits made while it
    /// ran, little) so the next transaction starts the WAL from its beginning, where the file's blocks already exist.
    /// RESTART holds the write lock while it waits for readers, so it waits only <see cref="RestartBusyTimeoutMs"/>; when
    /// a reader or another writer is still there it gives up, and a later tick tries again.
    /// </summary>
    private void RestartWal(SqliteConnection connection, CancellationToken stopping)
    {
        // For this connection until it is next opened (Open sets the usual timeout again).
        Execute(connection, $"PRAGMA busy_timeout = {RestartBusyTimeoutMs}");
        _noRestartWaiting.Reset();
        try
        {
            _ledgerTurn.Wait(stopping);
            try
            {
                Checkpoint(connection, "RESTART");
            }
            finally
            {
                _ledgerTurn.Release();
            }
        }
        finally
        {
            _noRestartWaiting.Set();
        }
    }

    /// <summary>Runs one checkpoint; returns the WAL's length in frames.</summary>
    private static long Checkpoint(SqliteConnection connection, string mode)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA wal_checkpoint({mode})";
        using var reader = command.ExecuteReader();
        return reader.Read() ? reader.GetInt64(1) : 0;
    }

    public async IAsyncEnumerable<LedgerEntry> ReadLedgerAsync(DateTimeOffset? from, DateTimeOffset? to, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await CatchUpLedgerAsync(cancellationToken);
        await foreach (var entry in ReadTimeRangeAsync(LedgerRows.SelectSql, from, to, SqliteValues.Rows.Ledger, cancellationToken))
        {
            yield return entry;
        }
    }

    /// <summary>
    /// Newest first down the time index (rowid breaking ties, as <see cref="ReadLedgerAsync"/>'s order), stopped at
    /// <c>$count</c>. The index is named: left to itself the planner takes the <c>(tenant_id, time)</c> index for the tenant
    /// condition, then sorts every row it found.
    /// </summary>
    internal static readonly string RecentTenantRequestsSql =
        LedgerRows.SelectSql + " INDEXED BY ix_ledger_time" + StoreRows.RecentTenantRequests + " ORDER BY time DESC, rowid DESC LIMIT $count";

    public async Task<IReadOnlyList<LedgerEntry>> ReadRecentTenantRequestsAsync(int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        await CatchUpLedgerAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = RecentTenantRequestsSql;
        command.Parameters.AddWithValue("$count", count);
        var rows = new List<LedgerEntry>();
        using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(SqliteValues.Rows.Ledger(reader));
            }
        }
        rows.Reverse();
        return rows;
    }

    public Task AppendShadowResultsAsync(IReadOnlyList<ShadowResult> results, CancellationToken cancellationToken) =>
        ExecuteBatchAsync(results, ShadowRows.InsertSql, ShadowRows.AddParameters, ShadowRows.Bind, cancellationToken);

    public IAsyncEnumerable<ShadowResult> ReadShadowResultsAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken) =>
        ReadTimeRangeAsync(ShadowRows.SelectSql, from, to, ShadowRows.Read, cancellationToken);

    /// <summary>Streams the rows of <paramref name="selectSql"/> with from &lt;= time &lt; to, oldest first.</summary>
    private async IAsyncEnumerable<T> ReadTimeRangeAsync<T>(
        string selectSql,
        DateTimeOffset? from,
        DateTimeOffset? to,
        Func<SqliteDataReader, T> read,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        // rowid breaks ties in arrival order; both come from the time index.
        command.CommandText = selectSql + SqliteValues.Rows.TimeRange(command, from, to, "WHERE") + " ORDER BY time, rowid";
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return read(reader);
        }
    }

    /// <summary>
    /// Whole UTC days come from the daily totals (<see cref="UsageDaily"/>); only the part days at either end of the range are
    /// read from the ledger (<see cref="UsageDays"/>). Summed here in decimal: SQLite would add the cost text as floating point.
    /// </summary>
    public async Task<IReadOnlyList<UsageTotal>> GetUsageTotalsAsync(DateTimeOffset? from, DateTimeOffset? to, string? tenantId, CancellationToken cancellationToken)
    {
        await CatchUpLedgerAsync(cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        var tenant = SqliteValues.Rows.Tenant(command, tenantId);
        var days = UsageDays.Of(from, to);
        var parts = new List<string>();
        foreach (var (i, (start, end)) in days.LedgerSpans().Index())
        {
            parts.Add($"SELECT tenant_id, model, 1, input_tokens, output_tokens, cost, cache_read_tokens, cache_write_tokens FROM ledger WHERE billable = 1 AND {tenant} AND time >= $from{i}"
                + (end is null ? "" : $" AND time < $to{i}"));
            command.Parameters.AddWithValue($"$from{i}", SqliteValues.ToUnixMs(start));
            if (end is { } e)
            {
                command.Parameters.AddWithValue($"$to{i}", SqliteValues.ToUnixMs(e));
            }
        }

        if (days.HasWholeDays)
        {
            var where = new List<string> { tenant };
            if (days.FirstDay is { } first)
            {
                where.Add("day >= $first_day");
                command.Parameters.AddWithValue("$first_day", UsageDaily.DayText(first));
            }

            if (days.EndDay is { } endDay)
            {
                where.Add("day < $end_day");
                command.Parameters.AddWithValue("$end_day", UsageDaily.DayText(endDay));
            }

            parts.Add("SELECT tenant_id, model, requests, input_tokens, output_tokens, cost, cache_read_tokens, cache_write_tokens FROM usage_daily WHERE "
                + string.Join(" AND ", where));
        }

        command.CommandText = string.Join(" UNION ALL ", parts);
        var totals = new Dictionary<(string Tenant, string Model), UsageDaily.Totals>();
        using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var group = (reader.GetString(0), reader.GetString(1));
                totals.TryGetValue(group, out var t);
                totals[group] = t + new UsageDaily.Totals(reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                    SqliteValues.ParseDecimal(reader.GetString(5)), reader.GetInt64(6), reader.GetInt64(7));
            }
        }

        return
        [
            .. totals
                .OrderBy(t => t.Key.Tenant, StringComparer.Ordinal)
                .ThenBy(t => t.Key.Model, StringComparer.Ordinal)
                .Select(t => new UsageTotal(t.Key.Tenant, t.Key.Model, t.Value.Requests, t.Value.InputTokens, t.Value.OutputTokens, t.Value.Cost)
                {
                    CacheReadTokens = t.Value.CacheReadTokens, CacheWriteTokens = t.Value.CacheWriteTokens,
                }),
        ];
    }

    public Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken) =>
        AppendAuditAsync(entries, again: false, cancellationToken);

    public Task<IReadOnlyList<AuditRecord>> AppendAuditAgainAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken) =>
        AppendAuditAsync(entries, again: true, cancellationToken);

    private async Task<IReadOnlyList<AuditRecord>> AppendAuditAsync(IReadOnlyList<AuditEntry> entries, bool again, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return [];
        }

        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        var records = await SqliteAudit.AppendAsync(connection, transaction, entries, cancellationToken, again);
        transaction.Commit();
        return records;
    }

    public async Task<StoreBackup> BackupAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var target = System.IO.Path.GetFullPath(path);
        if (File.Exists(target) || Directory.Exists(target))
        {
            throw new IOException($"'{target}' exists: a backup is written to a new file, never over one.");
        }
        if (string.Equals(target, Path, StringComparison.Ordinal))
        {
            throw new IOException("a backup cannot be written over the database it copies.");
        }
        if (System.IO.Path.GetDirectoryName(target) is { } folder && !Directory.Exists(folder))
        {
            throw new IOException($"the folder '{folder}' does not exist: create it, or name a file in another one.");
        }
        await using (var connection = await OpenAsync(cancellationToken))
        {
            using var command = connection.CreateCommand();
            command.CommandText = "VACUUM INTO $target";
            command.Parameters.AddWithValue("$target", target);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        return await CheckCopyAsync(target, cancellationToken);
    }

    /// <summary>
    /// Reads a copy of the store (one <see cref="BackupAsync"/> wrote, or one <c>corridor restore</c> is given) through a
    /// read-only connection of its own, so nothing is written beside it (no journal, no WAL), and checks it: SQLite's
    /// integrity check and the audit chain from its first record. A file that is not a SQLite database, or one without
    /// Corridor's tables, throws <see cref="InvalidDataException"/>.
    /// </summary>
    internal static async Task<StoreBackup> CheckCopyAsync(string target, CancellationToken cancellationToken)
    {
        var connectionString = new SqliteConnectionStringBuilder { DataSource = target, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        await using var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            var hasAuditLog = await RequireCorridorTablesAsync(connection, target, cancellationToken);
            string integrity;
            using (var check = connection.CreateCommand())
            {
                check.CommandText = "PRAGMA integrity_check";
                integrity = (string)(await check.ExecuteScalarAsync(cancellationToken))!;
            }
            var version = await SqliteMigrations.GetNewestVersionAsync(connection, null, cancellationToken);
            long ledgerRows;
            using (var count = connection.CreateCommand())
            {
                count.CommandText = "SELECT COUNT(*) FROM ledger";
                ledgerRows = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
            }
            var verifier = new AuditVerifier();
            // A store from before the audit log has no chain to check: an empty one, intact.
            await foreach (var record in hasAuditLog ? ReadAuditAsync(connection, cancellationToken) : AsyncEnumerable.Empty<AuditRecord>())
            {
                if (!verifier.Add(record))
                {
                    break;
                }
            }
            return new StoreBackup(target, new FileInfo(target).Length, integrity, version, ledgerRows, verifier.Complete());
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteNotADatabase or SqliteCorrupt)
        {
            throw new InvalidDataException($"'{target}' cannot be read as a SQLite database: {e.Message}", e);
        }
    }

    /// <summary>
    /// The audit log of the store file at <paramref name="path"/> from its first record, through a read-only connection of its
    /// own, as <see cref="CheckCopyAsync"/> reads a copy: the file is not migrated and nothing is written into it or beside it
    /// (a backup verified against the head noted down when it was taken stays the file it was). A file that is not there
    /// throws <see cref="FileNotFoundException"/>; one that is not a Corridor store, <see cref="InvalidDataException"/>.
    /// </summary>
    internal static async IAsyncEnumerable<AuditRecord> ReadAuditReadOnlyAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"there is no store at '{full}'.", full);
        }
        var connectionString = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString();
        await using var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            if (!await RequireCorridorTablesAsync(connection, full, cancellationToken))
            {
                throw new InvalidDataException(
                    $"'{full}' is a Corridor store at schema version {await SqliteMigrations.GetNewestVersionAsync(connection, null, cancellationToken)}, "
                    + $"from before the audit log (schema version {SqliteMigrations.AuditLogVersion}): it has no audit log to verify.");
            }
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteNotADatabase or SqliteCorrupt)
        {
            throw new InvalidDataException($"'{full}' cannot be read as a SQLite database: {e.Message}", e);
        }
        await foreach (var record in ReadAuditAsync(connection, cancellationToken))
        {
            yield return record;
        }
    }

    private static async IAsyncEnumerable<AuditRecord> ReadAuditAsync(SqliteConnection connection, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SqliteAudit.Columns} FROM audit_log ORDER BY sequence";
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return SqliteValues.Rows.Audit(reader);
        }
    }

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> unless the database has Corridor's tables; returns whether it has the audit
    /// log, which a store an early Corridor kept (recorded in <c>schema_migrations</c> at a version before
    /// <see cref="SqliteMigrations.AuditLogVersion"/>) does not: that is a Corridor store still, which migrations bring up to date.
    /// </summary>
    private static async Task<bool> RequireCorridorTablesAsync(SqliteConnection connection, string target, CancellationToken cancellationToken)
    {
        string[] required = ["schema_migrations", "ledger", "audit_log"];
        var found = new HashSet<string>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table'";
            using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                found.Add(reader.GetString(0));
            }
        }
        var missing = required.Where(t => !found.Contains(t)).ToList();
        if (missing is ["audit_log"] && await SqliteMigrations.GetNewestVersionAsync(connection, null, cancellationToken) < SqliteMigrations.AuditLogVersion)
        {
            return false;
        }
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"'{target}' is a SQLite database but not a Corridor store: it has no {string.Join(", ", missing)} table.");
        }
        return true;
    }

    public async IAsyncEnumerable<AuditRecord> ReadAuditAsync(long fromSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {SqliteAudit.Columns} FROM audit_log WHERE sequence >= $from ORDER BY sequence";
        command.Parameters.AddWithValue("$from", fromSequence);
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return SqliteValues.Rows.Audit(reader);
        }
    }

    public async Task<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        return await SqliteValues.Rows.SearchAuditAsync(command, query, cancellationToken);
    }

    public async Task<DeniedPartyList> GetDeniedPartyListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // One read transaction, so the list and its settings are of the same import.
        using var transaction = connection.BeginTransaction(deferred: true);
        var entries = new List<DeniedPartyEntry>();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT name, aliases, country, program FROM denied_parties ORDER BY position";
            using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var aliases = reader.GetString(1);
                entries.Add(new DeniedPartyEntry(
                    reader.GetString(0),
                    aliases.Length == 0 ? [] : aliases.Split(';'),
                    StoreRows.GetStringOrNull(reader, 2),
                    reader.GetString(3)));
            }
        }

        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = "SELECT threshold, list_file, list_sha256, list_imported_at FROM screening WHERE id = 1";
            using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var source = reader.IsDBNull(1)
                ? null
                : new DeniedPartyListSource(reader.GetString(1), reader.GetString(2), SqliteValues.FromUnixMs(reader.GetInt64(3)));
            return new DeniedPartyList(entries, reader.GetDouble(0), source);
        }
    }

    public async Task ReplaceDeniedPartyListAsync(
        IReadOnlyList<DeniedPartyEntry> entries,
        DeniedPartyListSource source,
        IReadOnlyList<Tenant> flagged,
        IReadOnlyList<AuditEntry> audit,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(flagged);
        await AuditedAsync(audit, async (connection, transaction) =>
        {
            using (var clear = Command(connection, transaction, "DELETE FROM denied_parties"))
            {
                await clear.ExecuteNonQueryAsync(cancellationToken);
            }

            using var insert = Command(connection, transaction,
                "INSERT INTO denied_parties (position, name, aliases, country, program) VALUES ($position, $name, $aliases, $country, $program)");
            var position = insert.Parameters.Add("$position", SqliteType.Integer);
            var name = insert.Parameters.Add("$name", SqliteType.Text);
            var aliases = insert.Parameters.Add("$aliases", SqliteType.Text);
            var country = insert.Parameters.Add("$country", SqliteType.Text);
            var program = insert.Parameters.Add("$program", SqliteType.Text);
            insert.Prepare();
            for (var i = 0; i < entries.Count; i++)
            {
                position.Value = i + 1;
                name.Value = entries[i].Name;
                aliases.Value = string.Join(';', entries[i].Aliases);
                country.Value = SqliteValues.OrNull(entries[i].Country);
                program.Value = entries[i].Program;
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            using (var settings = Command(connection, transaction, "UPDATE screening SET list_file = $file, list_sha256 = $sha256, list_imported_at = $at WHERE id = 1"))
            {
                settings.Parameters.AddWithValue("$file", source.FileName);
                settings.Parameters.AddWithValue("$sha256", source.Sha256);
                settings.Parameters.AddWithValue("$at", SqliteValues.ToUnixMs(source.ImportedAt));
                await settings.ExecuteNonQueryAsync(cancellationToken);
            }

            foreach (var tenant in flagged)
            {
                using var update = Command(connection, transaction, "UPDATE tenants SET denied_party = $denied_party WHERE id = $id");
                update.Parameters.AddWithValue("$id", tenant.Id);
                update.Parameters.AddWithValue("$denied_party", TenantNames.Name(tenant.DeniedParty));
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            return true;
        }, cancellationToken);
    }

    public async Task SetScreeningThresholdAsync(double threshold, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        if (!DeniedPartyScreener.IsValidThreshold(threshold))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The threshold must be above 0 and at most 1.");
        }

        await AuditedAsync(audit, async (connection, transaction) =>
        {
            using var command = Command(connection, transaction, "UPDATE screening SET threshold = $threshold WHERE id = 1");
            command.Parameters.AddWithValue("$threshold", threshold);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return true;
        }, cancellationToken);
    }

    public async Task<GatewaySecret> GetSecretAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await using var connection = await OpenAsync(cancellationToken);
        // Read first: every call but a database's first finds it, and a read takes no write lock (gateways read it again
        // whenever the revision moves).
        if (await ReadSecretAsync(connection, null, name, cancellationToken) is { } kept)
        {
            return kept;
        }

        using var transaction = connection.BeginTransaction();
        using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO gateway_secrets (name, value, created_at) VALUES ($name, $value, $at) ON CONFLICT (name) DO NOTHING";
            insert.Parameters.AddWithValue("$name", name);
            insert.Parameters.AddWithValue("$value", GatewaySecrets.Make());
            insert.Parameters.AddWithValue("$at", SqliteValues.ToUnixMs(_timeProvider.GetUtcNow()));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        var secret = (await ReadSecretAsync(connection, transaction, name, cancellationToken))!;
        transaction.Commit();
        return secret;
    }

    public Task<bool> RotateSecretAsync(string name, DateTimeOffset at, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return AuditedAsync(audit, async (connection, transaction) =>
        {
            // The right-hand sides read the row as it was: the value replaced becomes the previous one.
            using var update = Command(connection, transaction,
                "UPDATE gateway_secrets SET previous_value = value, value = $value, rotated_at = $at WHERE name = $name");
            update.Parameters.AddWithValue("$name", name);
            update.Parameters.AddWithValue("$value", GatewaySecrets.Make());
            update.Parameters.AddWithValue("$at", SqliteValues.ToUnixMs(at));
            return await update.ExecuteNonQueryAsync(cancellationToken) > 0;
        }, cancellationToken);
    }

    private static async Task<GatewaySecret?> ReadSecretAsync(SqliteConnection connection, SqliteTransaction? transaction, string name, CancellationToken cancellationToken)
    {
        using var select = connection.CreateCommand();
        select.Transaction = transaction;
        select.CommandText = "SELECT value, previous_value, rotated_at FROM gateway_secrets WHERE name = $name";
        select.Parameters.AddWithValue("$name", name);
        using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        return new GatewaySecret(
            (byte[])reader.GetValue(0),
            reader.IsDBNull(1) ? null : (byte[])reader.GetValue(1),
            reader.IsDBNull(2) ? null : SqliteValues.FromUnixMs(reader.GetInt64(2)));
    }

    public async ValueTask DisposeAsync()
    {
        LedgerJournal? last;
        lock (_journalGate)
        {
            // No journal is taken from here on (TryTakeJournal looks under the same lock).
            _closing = true;
            last = _journal;
            _journal = null;
        }
        if (last is not null)
        {
            // Its last pass inserts what is left, before the ledger's connection closes.
            await last.DisposeAsync();
        }

        await _stopping.CancelAsync();
        if (_checkpoints is { } checkpoints)
        {
            await checkpoints;
        }
        _stopping.Dispose();
        await _ledgerTurn.WaitAsync();
        _ledger?.Dispose();
        _ledger = null;
        _ledgerTurn.Dispose();
        _noRestartWaiting.Dispose();
        // Close the idle pooled connections to this file so it can be moved or deleted (the last one checkpoints the WAL).
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <summary>
    /// A pooled connection with Corridor's pragmas. Microsoft.Data.Sqlite opens and runs statements synchronously even
    /// through its async methods, so the async callers share <see cref="Open"/>.
    /// </summary>
    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Open());
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            // synchronous: NORMAL (default) makes a commit survive a crash of the process, FULL also a power loss, with a
            // disk sync per commit (StorageOptions.SqliteFullSync, docs/durability.md). Per connection: SQLite does not keep it.
            Execute(connection, _openPragmas);
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<T>> QueryAsync<T>(
        string sql,
        string? parameterName,
        string? parameterValue,
        Func<System.Data.Common.DbDataReader, T> read,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (parameterName is not null)
        {
            command.Parameters.AddWithValue(parameterName, parameterValue);
        }

        var results = new List<T>();
        using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            results.Add(read(reader));
        }

        return results;
    }

    /// <summary>Runs one prepared statement per item, all in one transaction: a batch lands whole or not at all.</summary>
    private async Task ExecuteBatchAsync<T>(
        IReadOnlyCollection<T> items,
        string sql,
        Action<SqliteCommand> addParameters,
        Action<SqliteParameterCollection, T> bind,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        addParameters(command);
        command.Prepare();
        foreach (var item in items)
        {
            bind(command.Parameters, item);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        transaction.Commit();
    }

    /// <summary>
    /// A change and its audit records in one transaction: <paramref name="change"/> runs its statements and says whether
    /// there was anything to change. Only then are the records appended and both committed; otherwise nothing is written
    /// and the answer is false.
    /// </summary>
    private async Task<bool> AuditedAsync(IReadOnlyList<AuditEntry> audit, Func<SqliteConnection, SqliteTransaction, Task<bool>> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audit);
        await using var connection = await OpenAsync(cancellationToken);
        using var transaction = connection.BeginTransaction();
        if (!await change(connection, transaction))
        {
            return false;
        }

        await SqliteAudit.AppendAsync(connection, transaction, audit, cancellationToken);
        transaction.Commit();
        return true;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static async Task<bool> ExistsAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, string id, CancellationToken cancellationToken)
    {
        using var exists = Command(connection, transaction, sql);
        exists.Parameters.AddWithValue("$id", id);
        return (long)(await exists.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    private async Task<T?> QueryByIdAsync<T>(string sql, string id, Func<System.Data.Common.DbDataReader, T> read, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(id);
        var rows = await QueryAsync(sql, "$id", id, read, cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    private static void BindTenant(SqliteCommand command, Tenant tenant)
    {
        command.Parameters.AddWithValue("$id", tenant.Id);
        command.Parameters.AddWithValue("$legal_name", tenant.LegalName);
        command.Parameters.AddWithValue("$country", tenant.Country);
        command.Parameters.AddWithValue("$controlling_country", SqliteValues.OrNull(tenant.ControllingCountry));
        command.Parameters.AddWithValue("$entity_type", TenantNames.Name(tenant.EntityType));
        command.Parameters.AddWithValue("$tier", TenantNames.Name(tenant.Tier));
        command.Parameters.AddWithValue("$verification_expires_at", SqliteValues.OrNull(tenant.VerificationExpiresAt));
        command.Parameters.AddWithValue("$use_case", SqliteValues.OrNull(tenant.UseCase));
        command.Parameters.AddWithValue("$denied_party", TenantNames.Name(tenant.DeniedParty));
    }

    private static string ScopeName(LimitScope scope) => scope == LimitScope.Tenant ? "tenant" : "key";

    private static SubjectLimits ReadLimits(System.Data.Common.DbDataReader r) => new(
        r.GetString(0) == "tenant" ? LimitScope.Tenant : LimitScope.Key,
        r.GetString(1),
        new Limits
        {
            RequestsPerMinute = r.IsDBNull(2) ? null : r.GetInt32(2),
            TokensPerMinute = r.IsDBNull(3) ? null : r.GetInt64(3),
            ConcurrentStreams = r.IsDBNull(4) ? null : r.GetInt32(4),
            DailySoftBudget = Money(r, 5),
            DailyHardBudget = Money(r, 6),
            MonthlySoftBudget = Money(r, 7),
            MonthlyHardBudget = Money(r, 8),
        });

    private static decimal? Money(System.Data.Common.DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : SqliteValues.ParseDecimal(r.GetString(ordinal));
}
