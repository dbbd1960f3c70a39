using System.Globalization;
using Corridor.Gateway.Pipeline;

namespace Corridor.Gateway.Tests.Pipeline;

public sealed class RequestIdTests
{
    [Fact]
    public void NewRequestId_IsAVersion7UuidCarryingItsTime()
    {
        var at = new DateTimeOffset(2026, 11, 22, 5, 30, 0, 123, TimeSpan.Zero);

        var id = RequestPipeline.NewRequestId(at);

        Assert.Matches("^req_[0-9a-f]{32}$", id);
        Assert.Equal('7', id[4 + 12]);
        Assert.Contains(id[4 + 16], "89ab");
        var milliseconds = long.Parse(id.AsSpan(4, 12), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        Assert.Equal(at.ToUnixTimeMilliseconds(), milliseconds);
        Assert.True(Guid.TryParseExact(id[4..], "N", out var guid));
        Assert.Equal(7, guid.Version);
    }

    [Fact]
    public void NewRequestId_DiffersEveryTime()
    {
        var at = DateTimeOffset.UnixEpoch;

        var ids = Enumerable.Range(0, 10_000).Select(_ => RequestPipeline.NewRequestId(at)).ToHashSet();

        Assert.Equal(10_000, ids.Count);
    }
}
