namespace Corridor.Storage.Tests.Contract;

/// <summary>
/// A contract test class: each test gets an empty database of the subclass's backend and a store open on it.
/// A backend runs a contract by subclassing it and naming its backend (see Sqlite/ and Postgres/).
/// </summary>
public abstract class StoreContract : IAsyncLifetime
{
    protected ICorridorStore Store { get; private set; } = null!;

    protected StoreBackend Backend { get; private set; } = null!;

    protected abstract Task<StoreBackend> CreateBackendAsync();

    public async Task InitializeAsync()
    {
        Backend = await CreateBackendAsync();
        Store = await Backend.OpenAsync();
    }

    public async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        await Backend.DisposeAsync();
    }
}
