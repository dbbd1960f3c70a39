using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Corridor.Monitor.Features;
using Corridor.Monitor.Replay;
using Corridor.Monitor.Scoring;

namespace Corridor.Monitor.Tests.Replay;

public sealed partial class ReplayTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("corridor-replay-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static string Line(int i, string key = "key-h", string tenant = "tenant-h", int minutes = 10, string? prompt = null, int output = 1800, string? batch = null)
    {
        var batchField = batch is null ? string.Empty : $"\"batch\":{JsonSerializer.Serialize(batch)},";
        var ts = TestRequests.Start.AddMinutes(minutes * i).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var content = JsonSerializer.Serialize(prompt ?? $"{TestRequests.Task(i)}\n\nThink step by step and show all your reasoning in detail.");
        return $$$"""{"v":1,"id":"r-{{{i}}}","ts":"{{{ts}}}","tenant":"{{{tenant}}}","key":"{{{key}}}","model":"gpt-4.1","endpoint":"/v1/chat/completions",{{{batchField}}}"client":{"ip":"203.0.113.9","user_agent":"harvester/1.0"},"request":{"model":"gpt-4.1","messages":[{"role":"user","content":{{{content}}}}],"max_tokens":8192,"temperature":{{{((i % 3) * 0.4) + 0.2}}}},"response":{"status":200,"text":"...","finish_reason":"stop","usage":{"prompt_tokens":90,"completion_tokens":{{{output}}}}},"latency_ms":900}""";
    }

    private static (ReplayResult Result, List<BadLine> Bad, DistillationMonitor Monitor) Replay(string text)
    {
        var monitor = new DistillationMonitor();
        var bad = new List<BadLine>();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(text));
        var result = TrafficLogReplay.Run(stream, monitor, bad.Add);
        return (result, bad, monitor);
    }

    [Fact]
    public void BadLines_AreReportedWithTheirNumbers_AndSkipped()
    {
        var lines = new List<string>
        {
            Line(0),
            "{this is not json",
            Line(1).Replace("\"key\":\"key-h\",", string.Empty, StringComparison.Ordinal),
            Line(2).Replace("2026-06-01", "June first", StringComparison.Ordinal),
            Line(3).Replace("\"v\":1", "\"v\":2", StringComparison.Ordinal),
            string.Empty,
            "   ",
            "[1,2,3]",
            Line(4) + "\r",
            Line(5)[..200],
        };
        var (result, bad, _) = Replay(string.Join("\n", lines));
        Assert.Equal(2, result.Requests);
        Assert.Equal(6, result.SkippedLines);
        Assert.Equal(new long[] { 2, 3, 4, 5, 8, 10 }, bad.Select(b => b.Number));
        Assert.Contains("not JSON", bad[0].Error, StringComparison.Ordinal);
        Assert.Contains("\"key\"", bad[1].Error, StringComparison.Ordinal);
        Assert.Contains("\"ts\"", bad[2].Error, StringComparison.Ordinal);
        Assert.Contains("version", bad[3].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void GzipLogs_AreRead_WhateverTheirName()
    {
        var text = string.Join("\n", Enumerable.Range(0, 50).Select(i => Line(i))) + "\n";
        foreach (var name in new[] { "log.jsonl.gz", "log-without-extension" })
        {
            var path = Path.Combine(_dir, name);
            using (var file = File.Create(path))
            using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            {
                gzip.Write(Encoding.UTF8.GetBytes(text));
            }

            using var stream = TrafficLogReplay.Open(path);
            Assert.Equal(50, TrafficLogReplay.Run(stream, new DistillationMonitor()).Requests);
        }

        var plain = Path.Combine(_dir, "log.jsonl");
        File.WriteAllText(plain, text);
        using var plainStream = TrafficLogReplay.Open(plain);
        Assert.Equal(50, TrafficLogReplay.Run(plainStream, new DistillationMonitor()).Requests);
    }

    [Fact]
    public void TheLogsTimestamps_AreTheClock()
    {
        // 200 requests 10 minutes apart: the flag time is a log time, not the wall clock.
        var (_, _, monitor) = Replay(string.Join("\n", Enumerable.Range(0, 200).Select(i => Line(i))));
        var subject = monitor.Snapshot().Subjects.Single(s => s.Subject == SubjectRef.Key("key-h"));
        Assert.NotNull(subject.FirstFlagAt);
        Assert.InRange(subject.FirstFlagAt!.Value, TestRequests.Start, TestRequests.Start.AddMinutes(2000));
        Assert.Equal(TestRequests.Start.AddMinutes(10 * (subject.FirstFlagRequest - 1)), subject.FirstFlagAt.Value);
    }

    [Fact]
    public void ABatchField_NamesTheRequestsBatch_WhichReplayLeavesOutOfTheTimingSignals()
    {
        var parser = new TrafficLogLine();
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(Line(0, batch: "batch_6a1f")), out var metadata, out var features, out _, out _));
        Assert.Equal("batch_6a1f", metadata.BatchId);
        Assert.True(features.Has(RequestTraits.Batch));

        // A line without it is a live request, as before.
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes(Line(0)), out metadata, out features, out _, out _));
        Assert.Null(metadata.BatchId);
        Assert.False(features.Has(RequestTraits.Batch));

        // A harvest every 10 minutes for 33 hours: sent live, its pacing is a machine's; exported as a batch's requests, the pacing
        // was Corridor's runner's, and only the content is the client's.
        var (_, _, live) = Replay(string.Join("\n", Enumerable.Range(0, 200).Select(i => Line(i))));
        var (_, _, batch) = Replay(string.Join("\n", Enumerable.Range(0, 200).Select(i => Line(i, batch: "batch_6a1f"))));
        Assert.Equal(0, live.Stats.ObservedBatch);
        Assert.Equal(200, batch.Stats.ObservedBatch);
        Assert.Contains(Reasons(live), r => r.Signal == Signal.MachineCadence);
        Assert.DoesNotContain(Reasons(batch), r => r.Signal == Signal.MachineCadence);
        Assert.Contains(Reasons(batch), r => r.Signal == Signal.CotElicitation);

        static IReadOnlyList<SignalContribution> Reasons(DistillationMonitor monitor) =>
            monitor.Snapshot().Subjects.Single(s => s.Subject == SubjectRef.Key("key-h")).Reasons;
    }

    [Fact]
    public void TheReport_FollowsDetectorReportV1()
    {
        var lines = Enumerable.Range(0, 200).Select(i => Line(i)).Append("garbage");
        var (result, _, monitor) = Replay(string.Join("\n", lines));
        using var output = new MemoryStream();
        DetectorReportWriter.Write(output, monitor.Snapshot(), result.Requests, result.SkippedLines);
        using var report = JsonDocument.Parse(output.ToArray());
        var root = report.RootElement;
        Assert.Equal(["v", "requests", "skipped_lines", "subjects", "clusters"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, root.GetProperty("v").GetInt32());
        Assert.Equal(200, root.GetProperty("requests").GetInt32());
        Assert.Equal(1, root.GetProperty("skipped_lines").GetInt32());

        var key = root.GetProperty("subjects").EnumerateArray().Single(s => s.GetProperty("kind").GetString() == "key");
        Assert.Equal(["kind", "id", "tenant", "level", "score", "first_flag_ts", "first_flag_request", "reasons"], key.EnumerateObject().Select(p => p.Name));
        Assert.Equal("key-h", key.GetProperty("id").GetString());
        Assert.Equal("tenant-h", key.GetProperty("tenant").GetString());
        Assert.Contains(key.GetProperty("level").GetString(), new[] { "flag", "throttle", "suspend" });
        Assert.InRange(key.GetProperty("score").GetDouble(), 0, 1);
        Assert.Matches(TimestampPattern(), key.GetProperty("first_flag_ts").GetString()!);
        var reasons = key.GetProperty("reasons").EnumerateArray().ToList();
        Assert.All(reasons, r => Assert.Equal(["signal", "value", "contribution"], r.EnumerateObject().Select(p => p.Name)));
        var contributions = reasons.Select(r => r.GetProperty("contribution").GetDouble()).ToList();
        Assert.Equal(contributions.OrderDescending(), contributions);

        var tenant = root.GetProperty("subjects").EnumerateArray().Single(s => s.GetProperty("kind").GetString() == "tenant");
        Assert.False(tenant.TryGetProperty("tenant", out _));
        Assert.Equal(JsonValueKind.Array, root.GetProperty("clusters").ValueKind);
    }

    [Fact]
    public void ClustersInTheReport_ListTheirMembers()
    {
        var monitor = new DistillationMonitor();
        var snapshot = new MonitorSnapshot(10, [], [new ClusterReport("cl-1", EnforcementLevel.Flag, EnforcementLevel.Flag, true, 0.61, 0.5,
            TestRequests.Start, [SubjectRef.Key("key-a"), SubjectRef.Tenant("tenant-a")], [new SignalContribution(Signal.SharedTemplate, 0.9, 0.045)])]);
        using var output = new MemoryStream();
        DetectorReportWriter.Write(output, snapshot, 10, 0);
        using var report = JsonDocument.Parse(output.ToArray());
        var cluster = report.RootElement.GetProperty("clusters")[0];
        Assert.Equal(["id", "level", "score", "first_flag_ts", "members", "reasons"], cluster.EnumerateObject().Select(p => p.Name));
        Assert.Equal("2026-06-01T00:00:00.000Z", cluster.GetProperty("first_flag_ts").GetString());
        Assert.Equal("tenant", cluster.GetProperty("members")[1].GetProperty("kind").GetString());
        Assert.Equal("shared_template", cluster.GetProperty("reasons")[0].GetProperty("signal").GetString());
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex TimestampPattern();
}
