using System.Runtime.CompilerServices;
using Corridor.Core.Admission;

namespace Corridor.Core.Tests.Admission;

/// <summary>What the gateway's lease worker (FleetLeaseWorker) does at a wake, synchronously, on a <see cref="MemoryLeaseBook"/>.</summary>
internal static class LeaseWorkerSteps
{
    /// <summary>A replica id for <paramref name="replica"/>, the same at every call.</summary>
    public static string Id(LeaseHoldings replica) => $"replica-{RuntimeHelpers.GetHashCode(replica)}";

    /// <summary>Beats (registering when the book does not know the replica), gives back what is due, leases what is wanted and beats again.</summary>
    public static void Pump(LeaseHoldings replica, MemoryLeaseBook book, string id, TimeProvider clock, bool all = false)
    {
        if (!Beat(replica, book, id, clock))
        {
            replica.Fenced();
            Register(replica, book, id, clock);
        }
        foreach (var back in replica.TakeReturns(all))
        {
            book.Return(back, id);
        }
        foreach (var want in replica.TakeWants())
        {
            replica.Granted(want, book.Lease(want.Key, want.Limit, want.Amount, id));
        }
        Beat(replica, book, id, clock);
    }

    public static void Register(LeaseHoldings replica, MemoryLeaseBook book, string id, TimeProvider clock)
    {
        var sent = clock.GetTimestamp();
        book.Register(id);
        replica.Confirmed(sent);
    }

    /// <summary>One heartbeat with what the replica holds; false when the book says its registration is gone.</summary>
    public static bool Beat(LeaseHoldings replica, MemoryLeaseBook book, string id, TimeProvider clock)
    {
        var sent = clock.GetTimestamp();
        if (!book.Heartbeat(id, replica.Unspent()))
        {
            return false;
        }
        replica.Confirmed(sent);
        return true;
    }
}
