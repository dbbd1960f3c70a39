namespace Corridor.Gateway.Recording;

/// <summary>
/// How long responses waited for their ledger rows to become durable: a count, a sum and a histogram, cumulative since
/// start, so a reader (bench/run.sh through <c>/healthz</c>) takes the difference of two readings for one period.
/// Buckets double from 50 µs; the last one holds everything above 400 ms.
/// </summary>
internal sealed class CommitWaits
{
    /// <summary>The upper bound of each bucket but the last, in microseconds.</summary>
    public static readonly long[] BucketBounds = [50, 100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200, 102_400, 204_800, 409_600];

    private readonly long[] _counts = new long[BucketBounds.Length + 1];
    private long _count;
    private long _totalMicroseconds;

    public long Count => Interlocked.Read(ref _count);

    public long TotalMicroseconds => Interlocked.Read(ref _totalMicroseconds);

    public long BucketCount(int bucket) => Interlocked.Read(ref _counts[bucket]);

    public void Record(TimeSpan waited)
    {
        var microseconds = (long)waited.TotalMicroseconds;
        var bucket = 0;
        while (bucket < BucketBounds.Length && microseconds > BucketBounds[bucket])
        {
            bucket++;
        }
        Interlocked.Increment(ref _counts[bucket]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _totalMicroseconds, microseconds);
    }
}
