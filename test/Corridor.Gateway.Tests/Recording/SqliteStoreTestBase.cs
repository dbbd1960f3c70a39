using Corridor.Storage;
using Corridor.Testing;

namespace Corridor.Gateway.Tests.Recording;

/// <summary>A fresh SQLite store in a temporary folder for each test of the writers.</summary>
public abstract class SqliteStoreTestBase : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _folder = new();

    protected ICorridorStore Store { get; private set; } = null!;

    public async Task InitializeAsync() =>
        Store = await CorridorStores.OpenAsync(new StorageOptions(_folder.File("corridor.db")), CancellationToken.None).WithTimeout();

    public async Task DisposeAsync() => await Store.DisposeAsync();

    public void Dispose()
    {
        _folder.Dispose();
        GC.SuppressFinalize(this);
    }
}
