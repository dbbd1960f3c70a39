using Corridor.Storage;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Gateway.Tests.Recording;

/// <summary>A fresh SQLite store in a temporary folder for each test of the writers.</summary>
public abstract class SqliteStoreTestBase : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _folder = new();
    private FileStream? _journalHeld;

    protected ICorridorStore Store { get; private set; } = null!;

    protected string DatabasePath => _folder.File("corridor.db");

    /// <summary>
    /// Whether the test holds the ledger journal's lock, as another process would, so that the store writes each batch
    /// straight into SQLite: the path of every ledger batch with PostgreSQL (docs/durability.md).
    /// </summary>
    protected virtual bool WithoutTheJournal => false;

    public async Task InitializeAsync()
    {
        if (WithoutTheJournal)
        {
            _journalHeld = LedgerJournalLock.Hold(DatabasePath);
        }
        Store = await CorridorStores.OpenAsync(new StorageOptions(DatabasePath), CancellationToken.None).WithTimeout();
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        _journalHeld?.Dispose();
    }

    public void Dispose()
    {
        _folder.Dispose();
        GC.SuppressFinalize(this);
    }
}
