using System.Globalization;
using Corridor.Core.Audit;
using Microsoft.Data.Sqlite;

namespace Corridor.Storage.Sqlite;

/// <summary>
/// Puts a backup in the place of the embedded store's file (docs/operations.md, "Restoring"), never while anything has
/// the store open and never losing the store it replaces:
/// <list type="number">
/// <item>the backup is checked as <see cref="SqliteStore.BackupAsync"/> checks its copy (<see cref="SqliteStore.CheckCopyAsync"/>),
/// and refused when it fails a check or its schema is newer than this build's;</item>
/// <item>the store's ledger journal lock is taken (a gateway or command owning the journal holds it), then the database
/// itself in SQLite's exclusive locking mode: in WAL mode that takes the file's exclusive lock as the WAL is opened, which
/// fails while any other connection has the file open, since each keeps a shared lock on it as long as it is open;</item>
/// <item>holding it, the store's WAL is checkpointed into the file and the file taken out of WAL mode (one file, whole);
/// a process that opened the file meanwhile and waits for the lock then finds a rollback-journal database that was moved,
/// which SQLite refuses to write (<c>SQLITE_READONLY_DBMOVED</c>), instead of a WAL named after the new file;</item>
/// <item>a copy of the backup is made in the same folder, migrated to this build's schema and given its <c>store.restore</c>
/// audit record, then synced;</item>
/// <item>the store is renamed aside (<c>corridor.db.before-restore-TIME</c>, with its <c>-wal</c>, <c>-shm</c>,
/// <c>-journal</c> and <c>-ledger</c> named after it, so it opens as a store of its own and a crash's journal segments are
/// inserted into it, not into the restored store), and the copy renamed into its place, never over a file.</item>
/// </list>
/// </summary>
internal static class SqliteRestore
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;

    /// <summary>How long the lock on the store is waited for: a command ending, or a gateway's last checkpoint.</summary>
    private const int LockWaitSeconds = 2;

    private static readonly string[] Companions = ["-wal", "-shm", "-journal"];

    public static async Task<StoreRestore> RestoreAsync(string databasePath, string backupPath, string actor, TimeProvider time, CancellationToken cancellationToken)
    {
        var database = Path.GetFullPath(databasePath);
        var source = Path.GetFullPath(backupPath);
        if (!File.Exists(source))
        {
            throw new FileNotFoundException($"the backup '{source}' does not exist.", source);
        }
        if (string.Equals(source, database, StringComparison.Ordinal) || Companions.Any(c => string.Equals(source, database + c, StringComparison.Ordinal)))
        {
            throw new IOException($"'{source}' is the store's own file; restore a backup that 'corridor backup' wrote elsewhere.");
        }

        var backup = await SqliteStore.CheckCopyAsync(source, cancellationToken);
        var restore = new StoreRestore(backup, database);
        if (!backup.IsSound)
        {
            return restore;
        }
        if (backup.SchemaVersion > SqliteMigrations.LatestVersion)
        {
            throw new InvalidDataException(
                $"'{source}' is at schema version {backup.SchemaVersion}, newer than this Corridor knows ({SqliteMigrations.LatestVersion}): restore it with the Corridor that wrote it.");
        }

        var folder = Path.GetDirectoryName(database)!;
        Directory.CreateDirectory(folder);
        var journal = LedgerJournal.FolderFor(database);
        using var journalLock = Directory.Exists(journal)
            ? LedgerJournal.TryLock(journal) ?? throw InUse(database, $"its ledger journal {journal} is held")
            : null;
        var current = await HoldAsync(database, cancellationToken);
        var temp = $"{database}.restoring-{Guid.NewGuid():N}";
        var moving = false;
        try
        {
            var now = time.GetUtcNow();
            var aside = File.Exists(database) ? AsidePath(database, now) : null;
            var entry = new AuditEntry(now, actor, AuditActions.StoreRestore, database, AuditDetails.Write(json =>
            {
                json.WriteString("from", source);
                json.WriteString("from_audit_head", backup.Audit.Last is { } head ? $"{head.Sequence}:{head.Hash}" : null);
                json.WriteNumber("from_schema_version", backup.SchemaVersion);
                json.WriteString("replaced", aside);
                json.WriteString("replaced_audit_head", current.Head);
            }));
            var (record, version) = await PrepareAsync(source, temp, entry, time, cancellationToken);

            moving = true;
            try
            {
                if (aside is not null)
                {
                    File.Move(database, aside);
                    foreach (var companion in Companions)
                    {
                        if (File.Exists(database + companion))
                        {
                            File.Move(database + companion, aside + companion);
                        }
                    }
                    if (Directory.Exists(journal))
                    {
                        Directory.Move(journal, LedgerJournal.FolderFor(aside));
                    }
                }
                // Never over a file: one that appeared since the store was moved aside is another process's new store.
                File.Move(temp, database, overwrite: false);
                FolderSync.Sync(folder);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException(
                    $"the restore stopped half way: {e.Message} The replaced store is at {aside ?? "(there was none)"}, the checked copy of the backup at "
                    + $"{temp}; {database} is as the error left it. Stop whatever uses the folder, then move the copy into place.", e);
            }
            return restore with
            {
                ReplacedPath = aside,
                ReplacedAuditHead = current.Head,
                ReplacedProblem = current.Problem,
                SchemaVersion = version,
                Record = record,
            };
        }
        finally
        {
            // Closed only now, after the copy is in place: in rollback mode, with nothing pending, it removes no file by name.
            if (current.Connection is { } connection)
            {
                await connection.DisposeAsync();
            }
            if (!moving)
            {
                // The copy never came near the store (its migration failed, or this was cancelled): it is this command's own file.
                TryDelete(temp);
                TryDelete(temp + "-journal");
            }
        }
    }

    private sealed record Current(SqliteConnection? Connection, string? Head, string? Problem);

    /// <summary>
    /// Takes the store's file for this process alone and makes it one whole file (the WAL checkpointed into it, out of WAL
    /// mode), reading its audit head on the way. Throws when another connection has it open; a file SQLite cannot read is
    /// left as it is, with the reason.
    /// </summary>
    private static async Task<Current> HoldAsync(string database, CancellationToken cancellationToken)
    {
        if (!File.Exists(database))
        {
            return new Current(null, null, null);
        }
        if (!HasSqliteHeader(database))
        {
            // Not opened with SQLite at all: it would take a -wal beside it for the file's and, closing, delete it by name.
            return new Current(null, null, "its first bytes are not a SQLite database's header");
        }

        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = database,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            DefaultTimeout = LockWaitSeconds,
        }.ToString());
        try
        {
            connection.Open();
            // Before the first read: in WAL mode the exclusive locking mode takes the file's exclusive lock when it opens
            // the WAL (and keeps the WAL's index in its own memory), in rollback mode at BEGIN EXCLUSIVE; it is kept until close.
            await ExecuteAsync(connection, $"PRAGMA busy_timeout = {LockWaitSeconds * 1000}; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT;", cancellationToken);
            string? head = null;
            try
            {
                using var command = connection.CreateCommand();
                var (sequence, hash) = await StoreRows.ReadAuditHeadAsync(command, cancellationToken);
                head = sequence == 0 ? null : $"{sequence}:{hash}";
            }
            catch (SqliteException) when (!cancellationToken.IsCancellationRequested)
            {
                // A file without an audit log (or one damaged there) is still moved aside whole.
            }
            using (var mode = connection.CreateCommand())
            {
                // Checkpoints the WAL into the file and deletes it, under the lock held.
                mode.CommandText = "PRAGMA journal_mode = DELETE";
                var now = (string?)await mode.ExecuteScalarAsync(cancellationToken);
                if (!string.Equals(now, "delete", StringComparison.OrdinalIgnoreCase))
                {
                    throw new IOException($"the store {database} could not be taken out of WAL mode (journal mode: {now}); nothing was changed.");
                }
            }
            return new Current(connection, head, null);
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteBusy or SqliteLocked)
        {
            await connection.DisposeAsync();
            throw InUse(database, "SQLite could not lock it");
        }
        catch (SqliteException e) when (e.SqliteErrorCode is SqliteCorrupt or SqliteNotADatabase)
        {
            // Not a database SQLite can read (damaged, or not SQLite at all): nothing can have it open as a store; it is
            // moved aside as it is, its -wal and -journal with it, so a later look finds them together.
            await connection.DisposeAsync();
            return new Current(null, null, e.Message);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Whether the file is empty (an empty database to SQLite) or starts as every SQLite database does.</summary>
    private static bool HasSqliteHeader(string path)
    {
        ReadOnlySpan<byte> magic = "SQLite format 3\0"u8;
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Span<byte> start = stackalloc byte[16];
        var read = file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        return read == 0 || start[..read].SequenceEqual(magic);
    }

    /// <summary>Copies the backup to <paramref name="temp"/>, migrates it, appends <paramref name="entry"/> and syncs it.</summary>
    private static async Task<(AuditRecord Record, long Version)> PrepareAsync(string source, string temp, AuditEntry entry, TimeProvider time, CancellationToken cancellationToken)
    {
        await using (var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read))
        await using (var to = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            await from.CopyToAsync(to, cancellationToken);
        }

        AuditRecord record;
        long version;
        await using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = temp,
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
            ForeignKeys = true,
        }.ToString()))
        {
            connection.Open();
            // One file while it is prepared; the next start puts it in WAL mode, as it does any file.
            await ExecuteAsync(connection, "PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL", cancellationToken);
            try
            {
                await SqliteMigrations.ApplyAsync(connection, time, cancellationToken);
            }
            catch (CorridorStoreException ex) when (ex.Error == StoreError.MigrationFailed)
            {
                throw new InvalidDataException(
                    $"the backup '{source}' could not be migrated to this Corridor's schema: {ex.Message} Nothing was changed.", ex);
            }
            using (var transaction = connection.BeginTransaction())
            {
                record = (await SqliteAudit.AppendAsync(connection, transaction, [entry], cancellationToken))[0];
                transaction.Commit();
            }
            version = await SqliteMigrations.GetNewestVersionAsync(connection, null, cancellationToken);
        }

        await using (var synced = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            synced.Flush(flushToDisk: true);
        }
        return (record, version);
    }

    /// <summary><c>DB.before-restore-YYYYMMDDTHHMMSSZ</c>, with <c>-2</c> and on when a name of it (or of its companions) is taken.</summary>
    private static string AsidePath(string database, DateTimeOffset now)
    {
        var stem = $"{database}.before-restore-{now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}";
        var aside = stem;
        for (var n = 2; Taken(aside); n++)
        {
            aside = $"{stem}-{n}";
        }
        return aside;

        static bool Taken(string path) =>
            File.Exists(path) || Directory.Exists(path) || Directory.Exists(LedgerJournal.FolderFor(path))
            || Companions.Any(c => File.Exists(path + c));
    }

    private static IOException InUse(string database, string how) => new(
        $"the store {database} is open ({how}): a gateway, a corridor command or another program is using it. Stop it, then restore; nothing was changed.");

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
