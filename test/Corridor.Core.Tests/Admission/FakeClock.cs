namespace Corridor.Core.Tests.Admission;

/// <summary>A clock that moves only when told; timestamps in nanoseconds.</summary>
internal sealed class FakeClock(DateTimeOffset start) : TimeProvider
{
    private long _elapsedTicks;

    public FakeClock()
        : this(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero))
    {
    }

    public override long TimestampFrequency => 1_000_000_000;

    public override DateTimeOffset GetUtcNow() => start + TimeSpan.FromTicks(Interlocked.Read(ref _elapsedTicks));

    public override long GetTimestamp() => Interlocked.Read(ref _elapsedTicks) * 100;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _elapsedTicks, by.Ticks);
}
