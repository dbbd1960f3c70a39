using Corridor.Core.Audit;

namespace Corridor.Storage;

/// <summary>
/// What <see cref="CorridorStores.RestoreAsync"/> did. <see cref="Backup"/> is the backup as it was checked (the same
/// checks <see cref="ICorridorStore.BackupAsync"/> makes of its copy); when it failed them nothing was changed and
/// <see cref="Record"/> is null.
/// </summary>
/// <param name="Backup">The backup file and what was found reading it.</param>
/// <param name="DatabasePath">The store's file, as an absolute path.</param>
public sealed record StoreRestore(StoreBackup Backup, string DatabasePath)
{
    /// <summary>Where the store the backup replaced was moved (its <c>-wal</c>, <c>-shm</c>, <c>-journal</c> and <c>-ledger</c> beside it); null when there was none.</summary>
    public string? ReplacedPath { get; init; }

    /// <summary>The replaced store's last audit record, as <c>SEQUENCE:HASH</c>; null when it had none or could not be read.</summary>
    public string? ReplacedAuditHead { get; init; }

    /// <summary>Why the replaced store was moved aside as it was, without a checkpoint (SQLite could not read it); null when it was checkpointed.</summary>
    public string? ReplacedProblem { get; init; }

    /// <summary>The schema version of the restored store: the backup's, migrated to this build's.</summary>
    public long SchemaVersion { get; init; }

    /// <summary>The <c>store.restore</c> record written into the restored store: its audit head. Null when nothing was restored.</summary>
    public AuditRecord? Record { get; init; }

    public bool Restored => Record is not null;
}
