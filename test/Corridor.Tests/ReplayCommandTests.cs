using System.Text.Json;
using Corridor.Testing;

namespace Corridor.Tests;

public sealed class ReplayCommandTests
{
    [Fact]
    public async Task Replay_WritesADetectorReport_AndReportsBadLinesWithTheirNumbers()
    {
        using var dir = new TempDirectory();
        var log = Path.Combine(dir.Path, "traffic.jsonl");
        var report = Path.Combine(dir.Path, "report.json");
        var good = """{"v":1,"id":"r-1","ts":"2026-06-01T08:00:00.123Z","tenant":"acme","key":"key-acme-01","model":"gpt-4.1","endpoint":"/v1/chat/completions","request":{"model":"gpt-4.1","messages":[{"role":"user","content":"hello"}]},"response":{"status":200,"usage":{"prompt_tokens":5,"completion_tokens":9}}}""";
        await File.WriteAllLinesAsync(log, [good, "{oops", good.Replace("\"key\":\"key-acme-01\",", string.Empty, StringComparison.Ordinal)]);

        var result = await CliRunner.RunRawAsync("replay", log, "--out", report);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Replayed 1 requests (2 lines skipped)", result.Out, StringComparison.Ordinal);
        Assert.Contains("traffic.jsonl:2: skipped: not JSON", result.Error, StringComparison.Ordinal);
        Assert.Contains("traffic.jsonl:3: skipped: missing \"key\"", result.Error, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(report));
        Assert.Equal(1, json.RootElement.GetProperty("v").GetInt32());
        Assert.Equal(1, json.RootElement.GetProperty("requests").GetInt32());
        Assert.Equal(2, json.RootElement.GetProperty("skipped_lines").GetInt32());
    }

    /// <summary>A report already at <c>--out</c> is kept unless <c>--force</c>, as <c>corridor export</c> and <c>corridor backup</c> keep theirs.</summary>
    [Fact]
    public async Task Replay_RefusesToWriteOverAReport_UnlessForced()
    {
        using var dir = new TempDirectory();
        var log = Path.Combine(dir.Path, "traffic.jsonl");
        var report = Path.Combine(dir.Path, "report.json");
        await File.WriteAllTextAsync(log, "");
        await File.WriteAllTextAsync(report, "kept");

        var refused = await CliRunner.RunRawAsync("replay", log, "--out", report);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"'{report}' exists; pass --force to write over it.", refused.Error, StringComparison.Ordinal);
        Assert.Equal("kept", await File.ReadAllTextAsync(report));

        var forced = await CliRunner.RunRawAsync("replay", log, "--out", report, "--force");

        Assert.Equal(0, forced.ExitCode);
        Assert.Equal(1, JsonDocument.Parse(await File.ReadAllBytesAsync(report)).RootElement.GetProperty("v").GetInt32());
    }

    [Fact]
    public async Task Replay_OfAMissingLog_IsAnError()
    {
        var result = await CliRunner.RunRawAsync("replay", "/nonexistent/traffic.jsonl", "--out", "/tmp/report.json");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("not found", result.Error, StringComparison.Ordinal);
    }
}
