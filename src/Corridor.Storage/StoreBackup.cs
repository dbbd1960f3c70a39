using Corridor.Core.Audit;

namespace Corridor.Storage;

/// <summary>
/// A copy of the whole store written by <see cref="ICorridorStore.BackupAsync"/> (or one given to
/// <see cref="CorridorStores.RestoreAsync"/>, checked the same way before it is restored), and what was found reading it back:
/// SQLite's integrity check of the copy (<see cref="Integrity"/> is <c>ok</c> when sound), its schema version, the ledger
/// rows and audit records it holds, and the audit chain verified from its first record (<see cref="Audit"/>; its
/// <c>Last</c> is the head to note down, as <c>corridor audit verify</c> prints it).
/// </summary>
public sealed record StoreBackup(string Path, long Bytes, string Integrity, long SchemaVersion, long LedgerRows, AuditVerification Audit)
{
    /// <summary>The schema version that began the audit log; a store at an earlier one has none (<see cref="PredatesAuditLog"/>).</summary>
    public const int AuditLogSchemaVersion = Sqlite.SqliteMigrations.AuditLogVersion;

    /// <summary>Whether the copy is a store an early Corridor kept, from before the audit log: there is no chain to check.</summary>
    public bool PredatesAuditLog => SchemaVersion < AuditLogSchemaVersion;

    /// <summary>Whether the copy read back whole: an intact file and an unbroken audit chain.</summary>
    public bool IsSound => Integrity == "ok" && Audit.IsValid;
}
