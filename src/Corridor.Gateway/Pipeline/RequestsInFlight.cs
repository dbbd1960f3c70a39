namespace Corridor.Gateway.Pipeline;

/// <summary>
/// How many requests the pipeline is handling at this moment: the load signal of the ledger's group commit. With no
/// other request in flight a row is written by its own request; under load rows wait for the writer, and batch
/// (<see cref="Recording.LedgerWriter.Enqueue"/>).
/// </summary>
internal sealed class RequestsInFlight
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Enter() => Interlocked.Increment(ref _count);

    public void Exit() => Interlocked.Decrement(ref _count);
}
