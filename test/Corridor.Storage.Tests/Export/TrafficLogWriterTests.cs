using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Corridor.Core.Metering;
using Corridor.Storage.Export;
using Corridor.Testing;
using Corridor.Testing.Storage;

namespace Corridor.Storage.Tests.Export;

public sealed class TrafficLogWriterTests : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Write_ProducesOneTrafficLogV1LinePerRequest()
    {
        var entry = LedgerSamples.Entry("r-0000001", new DateTimeOffset(2026, 6, 1, 16, 0, 0, 123, TimeSpan.FromHours(8))) with
        {
            ClientIp = "203.0.113.7",
            UserAgent = "openai-python/1.40.0",
            RequestBody = Utf8Text.From("""
                {
                  "model": "gpt-4.1",
                  "messages": [{"role": "user", "content": "Grüße, 世界\nline two"}],
                  "max_tokens": 512,
                  "temperature": 0.7
                }
                """),
            ResponseText = "Hallo \"Welt\"",
            FinishReason = "stop",
            InputTokens = 182,
            OutputTokens = 240,
        };

        var lines = await WriteAsync(entry);

        var line = Assert.Single(lines);
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("v").GetInt32());
        Assert.Equal("r-0000001", root.GetProperty("id").GetString());
        Assert.Equal("2026-06-01T08:00:00.123Z", root.GetProperty("ts").GetString());
        Assert.Equal("acme", root.GetProperty("tenant").GetString());
        Assert.Equal("key_0000000000000001", root.GetProperty("key").GetString());
        Assert.Equal("gpt-4.1", root.GetProperty("model").GetString());
        Assert.Equal("/v1/chat/completions", root.GetProperty("endpoint").GetString());
        Assert.Equal("203.0.113.7", root.GetProperty("client").GetProperty("ip").GetString());
        Assert.Equal("openai-python/1.40.0", root.GetProperty("client").GetProperty("user_agent").GetString());
        var request = root.GetProperty("request");
        Assert.Equal("Grüße, 世界\nline two", request.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(512, request.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.7, request.GetProperty("temperature").GetDouble());
        var response = root.GetProperty("response");
        Assert.Equal(200, response.GetProperty("status").GetInt32());
        Assert.Equal("Hallo \"Welt\"", response.GetProperty("text").GetString());
        Assert.Equal("stop", response.GetProperty("finish_reason").GetString());
        Assert.Equal(182, response.GetProperty("usage").GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(240, response.GetProperty("usage").GetProperty("completion_tokens").GetInt64());
        Assert.Equal(812, root.GetProperty("latency_ms").GetInt32());
        Assert.Contains("世界", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Write_SaysWhichPromptTokensThePromptCacheServedOrTook_OnlyWhenItDid()
    {
        var lines = await WriteAsync(
            LedgerSamples.Entry("r-1") with { InputTokens = 2510, CacheReadTokens = 2000, CacheWriteTokens = 500 },
            LedgerSamples.Entry("r-2") with { InputTokens = 182 });

        using var cached = JsonDocument.Parse(lines[0]);
        var usage = cached.RootElement.GetProperty("response").GetProperty("usage");
        Assert.Equal(2510, usage.GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(2000, usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt64());
        Assert.Equal(500, usage.GetProperty("cache_creation_input_tokens").GetInt64());
        using var plain = JsonDocument.Parse(lines[1]);
        Assert.Equal(["prompt_tokens", "completion_tokens"],
            plain.RootElement.GetProperty("response").GetProperty("usage").EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Write_NamesTheBatchARequestWasRunFor_OnlyWhenItWas()
    {
        var lines = await WriteAsync(
            LedgerSamples.Entry("r-1") with { BatchId = "batch_0123456789abcdef0123456789abcdef" },
            LedgerSamples.Entry("r-2"));

        using var batch = JsonDocument.Parse(lines[0]);
        Assert.Equal("batch_0123456789abcdef0123456789abcdef", batch.RootElement.GetProperty("batch").GetString());
        using var live = JsonDocument.Parse(lines[1]);
        Assert.False(live.RootElement.TryGetProperty("batch", out _));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("""{"model":"gpt-4.1","messages":[{"role":"user","content":"cut sho""")]
    [InlineData("""["not","an","object"]""")]
    [InlineData("plain text")]
    public async Task Write_FallsBackToTheModel_WhenTheBodyIsMissingOrNotAJsonObject(string? body)
    {
        var lines = await WriteAsync(LedgerSamples.Entry("r-1") with { RequestBody = Utf8Text.From(body) });

        using var doc = JsonDocument.Parse(Assert.Single(lines));
        var request = doc.RootElement.GetProperty("request");
        Assert.Equal("""{"model":"gpt-4.1"}""", request.GetRawText());
        Assert.False(doc.RootElement.TryGetProperty("client", out _));
        Assert.False(doc.RootElement.GetProperty("response").TryGetProperty("text", out _));
    }

    [Fact]
    public async Task Write_KeepsABodyAsDeepAsTheFrontDoorAccepts()
    {
        // The front door accepts bodies nested up to 128 levels (RequestParser.MaxDepth); the export must not swap such a
        // retained body for {"model": ...}, or replay scores a request other than the one the tenant sent.
        var deep = string.Concat(Enumerable.Repeat("""{"a":""", 100)) + "1" + new string('}', 100);
        var body = $$"""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"metadata":{{deep}}}""";

        var lines = await WriteAsync(LedgerSamples.Entry("r-1") with { RequestBody = Utf8Text.From(body) });

        using var doc = JsonDocument.Parse(Assert.Single(lines), new JsonDocumentOptions { MaxDepth = 256 });
        var request = doc.RootElement.GetProperty("request");
        Assert.Equal("hi", request.GetProperty("messages")[0].GetProperty("content").GetString());
        Assert.Equal(body, request.GetRawText());
    }

    [Fact]
    public async Task Write_KeepsABodyWithALoneSurrogateEscape_AndTheExportGoesOn()
    {
        // JSON allows "\ud800" on its own and the front door passes it upstream; one such body must not stop the export.
        var body = """{"model":"gpt-4.1","messages":[{"role":"user","content":"half \ud800 a pair"}]}""";

        var lines = await WriteAsync(LedgerSamples.Entry("r-1") with { RequestBody = Utf8Text.From(body) }, LedgerSamples.Entry("r-2"));

        Assert.Equal(2, lines.Count);
        using var doc = JsonDocument.Parse(lines[0]);
        Assert.Equal("gpt-4.1", doc.RootElement.GetProperty("request").GetProperty("model").GetString());
        Assert.True(doc.RootElement.GetProperty("request").TryGetProperty("messages", out _));
    }

    [Fact]
    public async Task Write_EscapesLineAndParagraphSeparators_InACopiedBody()
    {
        // An escaped backslash before an escaped quote checks that the copy knows where each string ends.
        var body = """
            {
              "model": "gpt-4.1",
              "messages": [{"role": "user", "content": "one{LS}two{PS}three \\\"q\\\" end"}]
            }
            """.Replace("{LS}", "\u2028", StringComparison.Ordinal).Replace("{PS}", "\u2029", StringComparison.Ordinal);

        var lines = await WriteAsync(LedgerSamples.Entry("r-1") with { RequestBody = Utf8Text.From(body) });

        var line = Assert.Single(lines);
        Assert.DoesNotContain('\u2028', line);
        Assert.DoesNotContain('\u2029', line);
        using var doc = JsonDocument.Parse(line);
        Assert.Equal("one\u2028two\u2029three \\\"q\\\" end", doc.RootElement.GetProperty("request").GetProperty("messages")[0].GetProperty("content").GetString());
    }

    [Fact]
    public async Task Write_KeepsEveryLineValidUtf8_WhenARetainedBodyIsNot()
    {
        // The retained body is the client's bytes; a string holding a byte that is not UTF-8 must not stop the export
        // nor make the file something other than UTF-8.
        var body = Utf8Text.Copy([.. """{"model":"gpt-4.1","messages":[{"role":"user","content":"bad """u8, 0xC3, 0x28, .. """ byte"}]}"""u8]);

        var lines = await WriteAsync(LedgerSamples.Entry("r-1") with { RequestBody = body }, LedgerSamples.Entry("r-2"));

        Assert.Equal(2, lines.Count);
        using var doc = JsonDocument.Parse(lines[0]);
        Assert.Equal("gpt-4.1", doc.RootElement.GetProperty("request").GetProperty("model").GetString());
    }

    [Fact]
    public async Task Write_SkipsRowsWithoutATenant_AndShadowRows()
    {
        var stream = new MemoryStream();
        await using (var writer = new TrafficLogWriter(stream, leaveOpen: true))
        {
            Assert.True(await writer.WriteAsync(LedgerSamples.Entry("r-1"), CancellationToken.None).AsTask().WithTimeout());
            Assert.False(await writer.WriteAsync(LedgerSamples.Entry("r-2", tenantId: null, keyId: null, billable: false), CancellationToken.None).AsTask().WithTimeout());
            // A shadow request is the operator's traffic, not the tenant's: the monitor must not score the tenant for it.
            Assert.False(await writer.WriteAsync(LedgerSamples.Entry("r-3", billable: false) with { ShadowOf = "r-1" }, CancellationToken.None).AsTask().WithTimeout());
            Assert.Equal(1, writer.Written);
            Assert.Equal(1, writer.Skipped);
            Assert.Equal(1, writer.Shadow);
        }

        Assert.Single(ReadLines(stream.ToArray()));
    }

    [Fact]
    public async Task Write_LeavesOutTokenCounts_WhichTheMonitorDoesNotObserve()
    {
        var stream = new MemoryStream();
        await using (var writer = new TrafficLogWriter(stream, leaveOpen: true))
        {
            Assert.True(await writer.WriteAsync(LedgerSamples.Entry("r-1"), CancellationToken.None).AsTask().WithTimeout());
            // Free, unbilled and without output: replayed, they would dilute the caller's signals as the live monitor's are not.
            Assert.False(await writer.WriteAsync(LedgerSamples.Entry("r-2", billable: false) with { Endpoint = LedgerEntry.TokenCountEndpoint }, CancellationToken.None).AsTask().WithTimeout());
            Assert.Equal(1, writer.Written);
            Assert.Equal(1, writer.TokenCounts);
        }

        Assert.Single(ReadLines(stream.ToArray()));
    }

    [Theory]
    [InlineData("june.jsonl")]
    [InlineData("exports/june.jsonl.gz")]
    public async Task ExportAsync_WritesEveryLineAndGzipsByExtension(string name)
    {
        var path = _folder.File(name);
        var entries = Enumerable.Range(0, 2000).Select(i => LedgerSamples.Entry($"r-{i}", LedgerSamples.Start.AddSeconds(i))).ToAsyncEnumerable();

        var result = await TrafficLogWriter.ExportAsync(entries, path, overwrite: false, CancellationToken.None).WithTimeout();

        Assert.Equal(new TrafficLogExportResult(2000, 0, 0), result);
        var bytes = await File.ReadAllBytesAsync(path).WithTimeout();
        var isGzip = bytes is [0x1f, 0x8b, ..];
        Assert.Equal(name.EndsWith(".gz", StringComparison.Ordinal), isGzip);
        var lines = ReadLines(isGzip ? Gunzip(bytes) : bytes);
        Assert.Equal(2000, lines.Count);
        using var last = JsonDocument.Parse(lines[^1]);
        Assert.Equal("r-1999", last.RootElement.GetProperty("id").GetString());
        Assert.False(File.Exists(path + ".partial"));
    }

    [Fact]
    public async Task ExportAsync_LeavesNoFile_WhenTheExportFails()
    {
        var path = _folder.File("broken.jsonl");

        await Assert.ThrowsAsync<InvalidOperationException>(
            () => TrafficLogWriter.ExportAsync(Failing(), path, overwrite: false, CancellationToken.None)).WithTimeout();

        Assert.False(File.Exists(path));
        Assert.False(File.Exists(path + ".partial"));

        static async IAsyncEnumerable<LedgerEntry> Failing()
        {
            yield return LedgerSamples.Entry("r-1");
            await Task.Yield();
            throw new InvalidOperationException("store went away");
        }
    }

    [Fact]
    public async Task ExportAsync_KeepsAFileThatAppearedWhileExporting_UnlessToOverwrite()
    {
        var path = _folder.File("june.jsonl");

        await Assert.ThrowsAsync<IOException>(
            () => TrafficLogWriter.ExportAsync(WritingTheTarget(), path, overwrite: false, CancellationToken.None)).WithTimeout();

        Assert.Equal("someone else's", await File.ReadAllTextAsync(path).WithTimeout());
        Assert.False(File.Exists(path + ".partial"));

        await TrafficLogWriter.ExportAsync(WritingTheTarget(), path, overwrite: true, CancellationToken.None).WithTimeout();

        Assert.Single(ReadLines(await File.ReadAllBytesAsync(path).WithTimeout()));

        async IAsyncEnumerable<LedgerEntry> WritingTheTarget()
        {
            await File.WriteAllTextAsync(path, "someone else's").WithTimeout();
            yield return LedgerSamples.Entry("r-1");
        }
    }

    private static async Task<List<string>> WriteAsync(params LedgerEntry[] entries)
    {
        var stream = new MemoryStream();
        await using (var writer = new TrafficLogWriter(stream, leaveOpen: true))
        {
            foreach (var entry in entries)
            {
                await writer.WriteAsync(entry, CancellationToken.None).AsTask().WithTimeout();
            }
        }

        return ReadLines(stream.ToArray());
    }

    private static List<string> ReadLines(byte[] utf8)
    {
        Assert.True(System.Text.Unicode.Utf8.IsValid(utf8), "a traffic log is UTF-8");
        var text = Encoding.UTF8.GetString(utf8);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }

    private static byte[] Gunzip(byte[] bytes)
    {
        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }
}
