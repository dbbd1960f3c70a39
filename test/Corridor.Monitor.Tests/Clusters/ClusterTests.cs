using Corridor.Monitor.Scoring;
using Corridor.Monitor.Tests.Scoring;

namespace Corridor.Monitor.Tests.Clusters;

public sealed class ClusterTests
{
    [Fact]
    public void LightAccountsSharingATemplateAndACadence_AreOneCluster_ScoredAsOne()
    {
        var monitor = new DistillationMonitor();
        var random = new Random(2);
        var task = 0;
        for (var slot = 0; slot < 400; slot++)
        {
            // One scheduler, six accounts in six tenants: each slot two or three of them send within a few seconds.
            var at = TestRequests.Start.AddMinutes(15 * slot);
            for (var account = 0; account < 6; account++)
            {
                if ((slot + account) % 3 == 0 || random.NextDouble() < 0.15)
                {
                    monitor.Observe(MonitorTests.Harvest(task++, $"key-light-{account}", $"tenant-light-{account}", at.AddSeconds(random.Next(0, 6)), ip: $"198.51.{100 + account}.9"));
                }
            }
        }

        monitor.Flush();
        var cluster = monitor.Snapshot().Clusters.OrderByDescending(c => c.Members.Count).First();
        Assert.True(cluster.HighestLevel >= EnforcementLevel.Flag);
        Assert.Equal(6, cluster.Members.Count(m => m.Kind == SubjectKind.Key));
        Assert.Equal(6, cluster.Members.Count(m => m.Kind == SubjectKind.Tenant));
        Assert.Contains(cluster.Reasons, r => r.Signal is Signal.SharedTemplate or Signal.SynchronisedCadence);
        Assert.True(monitor.GetEnforcement("tenant-light-3", "key-light-3").Level >= EnforcementLevel.Flag);
    }

    [Fact]
    public void TenantsThatOnlyShareAPromptTemplate_AreNotACluster()
    {
        // Six shops on the same chatbot product: same system prompt skeleton, same canned customer phrases.
        var monitor = new DistillationMonitor();
        for (var i = 0; i < 3000; i++)
        {
            var shop = i % 6;
            monitor.Observe(MonitorTests.Chat(i, $"key-shop-{shop}", $"tenant-shop-{shop}", TestRequests.Start.AddHours(9).AddMinutes(i * 1.3)));
        }

        monitor.Flush();
        Assert.Empty(monitor.Snapshot().Clusters);
    }
}
