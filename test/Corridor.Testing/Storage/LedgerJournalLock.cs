namespace Corridor.Testing.Storage;

/// <summary>
/// Holds the SQLite store's ledger journal as another process would (docs/durability.md): a store opened on that database
/// while the returned file is open cannot take the journal and writes its ledger rows straight into SQLite.
/// </summary>
public static class LedgerJournalLock
{
    public static FileStream Hold(string databasePath)
    {
        var folder = Directory.CreateDirectory(Path.GetFullPath(databasePath) + "-ledger").FullName;
        return new FileStream(Path.Combine(folder, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
    }
}
