using Corridor.Core.Audit;
using Corridor.Gateway.Recording;
using Corridor.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corridor.Gateway.Tests.Recording;

public sealed class AuditWriterTests : SqliteStoreTestBase
{
    private AuditWriter NewWriter(TimeSpan flushInterval) =>
        new(Store, new AuditWriterOptions(BatchSize: 16, FlushInterval: flushInterval), TimeProvider.System, NullLogger<AuditWriter>.Instance);

    private static AuditEntry Decision(int thread, int i) =>
        new(DateTimeOffset.UtcNow, AuditActors.Gateway, AuditActions.Decision, $"req-{thread}-{i}", AuditDetails.Write(json => json.WriteString("outcome", "allow")));

    [Fact]
    public async Task EntriesFromManyThreads_LandInBatches_AsOneValidChain()
    {
        using var writer = NewWriter(TimeSpan.FromMilliseconds(5));
        await writer.StartAsync(CancellationToken.None).WithTimeout();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 100; i++)
            {
                Assert.True(writer.Enqueue(Decision(t, i)));
            }
        }))).WithTimeout();
        await writer.FlushAsync(CancellationToken.None).WithTimeout();
        await writer.StopAsync(CancellationToken.None).WithTimeout();

        var records = await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync();
        Assert.Equal(400, records.Count);
        Assert.Equal(400, writer.Written);
        Assert.Equal(0, writer.Pending);
        Assert.True(AuditVerifier.Verify(records).IsValid);
        // Each thread's entries keep their order.
        Assert.All(records.GroupBy(r => r.Subject.Split('-')[1]), g =>
            Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), g.Select(r => r.Subject.Split('-')[2])));
    }

    [Fact]
    public async Task OnShutdown_EveryQueuedEntryIsWritten()
    {
        // A long gathering interval: nothing would be written before the stop without the drain.
        using var writer = NewWriter(TimeSpan.FromMinutes(5));
        await writer.StartAsync(CancellationToken.None).WithTimeout();
        for (var i = 0; i < 50; i++)
        {
            writer.Enqueue(Decision(0, i));
        }

        await writer.StopAsync(CancellationToken.None).WithTimeout();

        Assert.Equal(50, (await Store.ReadAuditAsync(1, CancellationToken.None).ToListWithTimeoutAsync()).Count);
        Assert.False(writer.Enqueue(Decision(0, 99)));
    }
}
