using System.Diagnostics;
using System.Net;
using System.Text;
using Corridor.Core.Metering;
using Corridor.Simulator;
using Corridor.Testing;
using Xunit.Abstractions;

namespace Corridor.Gateway.Tests.Functional;

/// <summary>
/// Thousands of streams open at once through one gateway: every one is served to its end and billed once. The memory the
/// test process (gateway, simulator and clients together) holds before, while all streams are open, and after, is
/// printed for the record; only the functional outcome is asserted.
/// </summary>
public sealed class ConcurrentStreamsTests(ITestOutputHelper output)
{
    private const int Streams = 2000;

    [Fact]
    public async Task TwoThousandConcurrentStreams_AreAllServedToTheirEnd_AndBilledOnce()
    {
        // A pause between tokens keeps each stream open while the others start.
        // A generous idle timeout: on a busy machine two thousand connections take a while to be accepted.
        await using var live = await LiveGateway.StartAsync(
            sim => TestCatalog.Yaml(sim).Replace("streamIdleTimeoutSeconds: 5", "streamIdleTimeoutSeconds: 60", StringComparison.Ordinal),
            new SimulatorOptions { TokenInterval = TimeSpan.FromMilliseconds(20) }).WithTimeout();
        var secret = await live.AddTenantWithKeyAsync("swarm", "SG").WithTimeout();
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(1) };
        using var http = new HttpClient(handler) { BaseAddress = live.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var before = Memory();
        var clock = Stopwatch.StartNew();
        var allOpen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var open = 0;
        var failed = 0;

        async Task<string> StreamAsync(int i)
        {
            var counted = false;
            try
            {
                return await StreamCoreAsync(i, () => counted = true);
            }
            catch
            {
                Interlocked.Increment(ref failed);
                throw;
            }
            finally
            {
                // A stream that failed before its first event must not hold the others back.
                if (!counted && Interlocked.Increment(ref open) == Streams)
                {
                    allOpen.TrySetResult();
                }
            }
        }

        async Task<string> StreamCoreAsync(int i, Action counted)
        {
            var anthropic = i % 2 == 1;
            // Half in each dialect; every fourth crosses dialects (an OpenAI client on an Anthropic model and back).
            var model = (anthropic, i % 4 == 3) switch
            {
                (false, _) when i % 4 == 2 => "claude-sonnet-4",
                (false, _) => "gpt-4.1",
                (true, true) => "gpt-4.1",
                (true, _) => "claude-sonnet-4",
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, anthropic ? "/v1/messages" : "/v1/chat/completions")
            {
                Content = new StringContent($$"""{"model":"{{model}}","stream":true,"max_tokens":12,"messages":[{"role":"user","content":"Stream {{i}}, please."}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("authorization", "Bearer " + secret);
            request.Headers.Add("anthropic-version", "2023-06-01");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
            var lines = new List<string>();
            while (await reader.ReadLineAsync(timeout.Token) is { } line)
            {
                lines.Add(line);
                if (lines.Count == 1)
                {
                    counted();
                    if (Interlocked.Increment(ref open) == Streams)
                    {
                        allOpen.TrySetResult();
                    }
                    // Hold this stream open until every other one has begun.
                    await allOpen.Task.WaitAsync(timeout.Token);
                }
            }
            Assert.Contains(anthropic ? "event: message_stop" : "data: [DONE]", lines);
            return response.Headers.GetValues("x-corridor-request-id").Single();
        }

        // Opened in waves of 200, each once the previous one is streaming, so the listeners' accept queues never overflow;
        // every stream stays open until the last has begun.
        var streams = new List<Task<string>>(Streams);
        for (var i = 0; i < Streams; i++)
        {
            if (i % 200 == 0)
            {
                while (Volatile.Read(ref open) < i)
                {
                    await Task.Delay(20, timeout.Token);
                }
            }
            streams.Add(StreamAsync(i));
        }
        await allOpen.Task.WaitAsync(timeout.Token);
        Assert.Equal(0, failed);
        output.WriteLine($"all open after {clock.Elapsed}");
        var whileOpen = Memory();
        var requestIds = await Task.WhenAll(streams).WaitAsync(timeout.Token);
        output.WriteLine($"all done after {clock.Elapsed}");
        await live.Gateway.FlushLedgerAsync(timeout.Token);
        output.WriteLine($"ledger flushed after {clock.Elapsed}");
        handler.Dispose();
        var after = Memory();

        var rows = new List<LedgerEntry>();
        await foreach (var row in live.Store.ReadLedgerAsync(null, null, timeout.Token))
        {
            if (row.TenantId == "swarm")
            {
                rows.Add(row);
            }
        }
        Assert.Equal(Streams, requestIds.Distinct().Count());
        Assert.Equal(requestIds.Order(StringComparer.Ordinal), rows.Select(r => r.RequestId).Order(StringComparer.Ordinal));
        Assert.All(rows, r =>
        {
            Assert.Equal(RequestOutcome.Success, r.Outcome);
            Assert.True(r.Billable);
            Assert.False(r.Estimated);
            Assert.True(r.OutputTokens is > 0 and <= 12);
        });
        output.WriteLine($"{Streams} concurrent streams; test process (gateway + simulator + clients):");
        output.WriteLine($"  before:           working set {before.WorkingSet / 1048576} MiB, managed heap {before.Managed / 1048576} MiB");
        output.WriteLine($"  all streams open: working set {whileOpen.WorkingSet / 1048576} MiB, managed heap {whileOpen.Managed / 1048576} MiB");
        output.WriteLine($"  after:            working set {after.WorkingSet / 1048576} MiB, managed heap {after.Managed / 1048576} MiB");
    }

    private static (long WorkingSet, long Managed) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return (process.WorkingSet64, GC.GetTotalMemory(forceFullCollection: true));
    }
}
