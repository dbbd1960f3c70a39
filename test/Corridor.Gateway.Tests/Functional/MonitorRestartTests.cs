using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Corridor.Core.Audit;
using Corridor.Gateway.Monitoring;
using Corridor.Monitor;
using Corridor.Monitor.Scoring;
using Corridor.Storage;
using Corridor.Testing;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// Levels the monitor set on its own — a key's suspension, a cluster's level — and an operator's cluster pin, kept across a
/// real restart of the gateway on the same store: the restarted gateway puts them back before its first request.
/// </summary>
public sealed class MonitorRestartTests
{
    // Suspends on its own, at low scores, and relinks clusters every few milliseconds, so a scripted harvest of two
    // light accounts shows within a test.
    private const string Monitor = """

        monitor:
          tickIntervalMs: 50
          confidenceHours: 0
          confidenceRequests: 4
          scoreEveryRequests: 1
          clusterIntervalMinutes: 0.0002
          thresholds: { watch: 0.05, flag: 0.1, throttle: 0.15, suspend: 0.2 }
        """;

    [Fact]
    public async Task AnAutomaticSuspension_AClusterLevel_AndAClusterPin_SurviveARestart()
    {
        var tokenEnv = "CORRIDOR_MONITOR_RESTART_TOKEN_" + Guid.NewGuid().ToString("N");
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        Environment.SetEnvironmentVariable(tokenEnv, token);
        try
        {
            await using var live = await LiveGateway.StartAsync(simulator => TestCatalog.Yaml(simulator, tokenEnv) + Monitor).WithTimeout();
            var keys = new List<(string KeyId, string Secret)>();
            foreach (var tenant in new[] { "light-one", "light-two" })
            {
                var secret = await live.AddTenantWithKeyAsync(tenant, "SG");
                keys.Add(((await live.Store.ListKeysAsync(tenant, CancellationToken.None).WithTimeout())[0].Id, secret));
            }

            // Two light accounts of two tenants run one script (same template, same client, same network) until refused.
            for (var i = 0; i < 40 && keys.Any(k => !IsSuspended(live, k.KeyId)); i++)
            {
                foreach (var (_, secret) in keys)
                {
                    try
                    {
                        await live.OpenAI(secret).GetChatClient("gpt-4.1").CompleteChatAsync(
                            [new UserChatMessage($"### Instruction\nExplain topic {i}. Think step by step, show your work and explain your reasoning in detail.\n### Response")],
                            new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 5, MaxOutputTokenCount = 2000 }).WithTimeout();
                    }
                    catch (ClientResultException e) when (e.Status == 403)
                    {
                    }
                }
            }

            // Stored by the gateway: a key's own suspension, and the cluster with its members. (A key the cluster's level
            // refuses first is not observed any more, so its own level may stay below suspend.)
            var stored = await MonitorGatewayFixture.EventuallyAsync(async () =>
            {
                var rows = await live.Store.ListEnforcementAsync(CancellationToken.None);
                return keys.Any(k => rows.Any(r => r.Subject == $"key:{k.KeyId}" && r.AutomaticLevel == "suspend"))
                    && rows.FirstOrDefault(r => r.Subject.StartsWith("cluster:", StringComparison.Ordinal) && r.AutomaticLevel != "none") is { } c
                    && keys.All(k => c.Members!.Contains($"key:{k.KeyId}", StringComparison.Ordinal)) ? rows : null;
            });
            var clusterRow = stored.First(r => r.Subject.StartsWith("cluster:", StringComparison.Ordinal));
            var suspended = keys.First(k => stored.Any(r => r.Subject == $"key:{k.KeyId}" && r.AutomaticLevel == "suspend"));
            Assert.True(SubjectRef.TryParse(clusterRow.Subject, out var cluster));

            // The analyst holds the cluster at suspend through the admin API: audited with the members it holds.
            using (var admin = new HttpClient { BaseAddress = live.BaseAddress, Timeout = TestTimeouts.Default })
            {
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
                using var pinned = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = clusterRow.Subject, level = "suspend", note = "hydra confirmed" }).WithTimeout();
                Assert.Equal(HttpStatusCode.OK, pinned.StatusCode);
                using var unknown = await admin.PostAsJsonAsync("/admin/enforcement/pin", new { subject = "cluster:cl-999", level = "suspend", note = "?" }).WithTimeout();
                Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
            }

            var audit = Assert.Single(await live.Store.SearchAuditAsync(new AuditQuery(cluster.Id, AuditActions.MonitorPin), CancellationToken.None).WithTimeout());
            Assert.All(keys, k => Assert.Contains($"key:{k.KeyId}", audit.Details, StringComparison.Ordinal));

            await live.RestartGatewayAsync().WithTimeout();

            // The very first request after the restart is refused: the automatic suspension came back from the store.
            var refused = await Assert.ThrowsAsync<ClientResultException>(
                () => live.OpenAI(suspended.Secret).GetChatClient("gpt-4.1").CompleteChatAsync([new UserChatMessage("hi")])).WithTimeout();
            Assert.Equal(403, refused.Status);

            var monitor = live.Gateway.Services.GetRequiredService<MonitorService>().Monitor;
            Assert.Equal(EnforcementLevel.Suspend, monitor.Standing(SubjectRef.Key(suspended.KeyId))!.Automatic);
            var storedNow = await live.Store.ListEnforcementAsync(CancellationToken.None).WithTimeout();
            Assert.All(keys, k => Assert.Equal(storedNow.Single(r => r.Subject == $"key:{k.KeyId}").AutomaticLevel, monitor.Standing(SubjectRef.Key(k.KeyId))!.Automatic.Name()));
            var restored = monitor.Standing(cluster)!;
            Assert.Equal(EnforcementLevel.Suspend, restored.Pinned);
            var storedCluster = (await live.Store.ListEnforcementAsync(CancellationToken.None).WithTimeout()).Single(r => r.Subject == clusterRow.Subject);
            Assert.Equal(storedCluster.AutomaticLevel, restored.Automatic.Name());
            Assert.True(restored.Automatic > EnforcementLevel.None);
            Assert.All(keys, k => Assert.Contains(SubjectRef.Key(k.KeyId), restored.Members));

            // The cluster's pin holds its members on its own: with the key's own level pinned down, the cluster still refuses it.
            await CaseBook.PinAsync(live.Store, SubjectRef.Key(keys[1].KeyId), EnforcementLevel.None, "cli:analyst", "test", DateTimeOffset.UtcNow, CancellationToken.None);
            await CaseBook.PinAsync(live.Store, SubjectRef.Tenant("light-two"), EnforcementLevel.None, "cli:analyst", "test", DateTimeOffset.UtcNow, CancellationToken.None);
            var decision = await MonitorGatewayFixture.EventuallyAsync(async () =>
            {
                await Task.Yield();
                // Both pins applied (the tenant's too: before it, the tenant's own suspension could decide first).
                return monitor.Standing(SubjectRef.Key(keys[1].KeyId))?.Pinned == EnforcementLevel.None
                    && monitor.Standing(SubjectRef.Tenant("light-two"))?.Pinned == EnforcementLevel.None
                    ? (object)monitor.GetEnforcement("light-two", keys[1].KeyId) : null;
            });
            Assert.Equal(new EnforcementDecision(EnforcementLevel.Suspend, cluster), (EnforcementDecision)decision);
        }
        finally
        {
            Environment.SetEnvironmentVariable(tokenEnv, null);
        }
    }

    private static bool IsSuspended(LiveGateway live, string keyId) =>
        live.Gateway.Services.GetRequiredService<MonitorService>().Monitor.GetLevel(SubjectRef.Key(keyId)) == EnforcementLevel.Suspend;
}
